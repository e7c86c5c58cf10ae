/* Unit tests for config: defaults, precedence, and errors that name the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static void test_defaults_fill_every_key(void **state)
{
    struct config c;
    cfg_init(&c);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_int_equal(c.http_threads, 1);
    assert_int_equal(c.body_limit, 262144);
    assert_string_equal(c.log_level, "info");
    cfg_finish(&c);
}

static void test_flag_overrides_env_which_overrides_file(void **state)
{
    char path[] = "/tmp/postpace-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    dprintf(fd, "# comment\nlisten = 127.0.0.1:1111\nhttp_threads = 3\nlog_level = \"warn\"\n");
    close(fd);
    setenv("POSTPACE_LISTEN", "127.0.0.1:2222", 1);
    setenv("POSTPACE_CONFIG", path, 1);

    struct config c;
    cfg_init(&c);
    char *argv[] = {"--http-threads=5", "extra", "--", "--listen"};
    char *rest[4], err[256];
    int nrest;
    assert_int_equal(cfg_load(&c, 4, argv, rest, &nrest, 0, err, sizeof err), 0);
    assert_string_equal(c.listen, "127.0.0.1:2222"); /* env beat the file */
    assert_int_equal(c.http_threads, 5);             /* flag beat the file */
    assert_string_equal(c.log_level, "warn");        /* file beat the default */
    assert_int_equal(nrest, 2);
    assert_string_equal(rest[0], "extra");
    assert_string_equal(rest[1], "--listen"); /* after "--" nothing is a flag */
    cfg_finish(&c);
    unsetenv("POSTPACE_LISTEN");
    unsetenv("POSTPACE_CONFIG");
    unlink(path);
}

static void test_unknown_flag_is_named(void **state)
{
    struct config c;
    cfg_init(&c);
    char *argv[] = {"--no-such-thing=1"};
    char *rest[1], err[256];
    int nrest;
    assert_int_equal(cfg_load(&c, 1, argv, rest, &nrest, 0, err, sizeof err), -1);
    assert_string_equal(err, "--no-such-thing: unknown flag");
    cfg_finish(&c);
}

static void test_bad_integer_names_key_and_range(void **state)
{
    struct config c;
    cfg_init(&c);
    char *argv[] = {"--http-threads", "0"};
    char *rest[2], err[256];
    int nrest;
    assert_int_equal(cfg_load(&c, 2, argv, rest, &nrest, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "--http-threads"));
    assert_non_null(strstr(err, "from 1 to 64"));
    assert_int_equal(c.http_threads, 1);
    cfg_finish(&c);
}

static void test_flag_without_value_is_an_error(void **state)
{
    struct config c;
    cfg_init(&c);
    char *argv[] = {"--listen"};
    char *rest[1], err[256];
    int nrest;
    assert_int_equal(cfg_load(&c, 1, argv, rest, &nrest, 0, err, sizeof err), -1);
    assert_string_equal(err, "--listen: needs a value");
    cfg_finish(&c);
}

static void test_bad_log_level_in_env_names_variable(void **state)
{
    setenv("POSTPACE_LOG_LEVEL", "loud", 1);
    struct config c;
    cfg_init(&c);
    char err[256];
    assert_int_equal(cfg_load_env(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "POSTPACE_LOG_LEVEL"));
    assert_non_null(strstr(err, "\"loud\""));
    cfg_finish(&c);
    unsetenv("POSTPACE_LOG_LEVEL");
}

static void test_config_file_error_names_line(void **state)
{
    char path[] = "/tmp/postpace-cfg-XXXXXX";
    int fd = mkstemp(path);
    dprintf(fd, "listen = 127.0.0.1:1\n\nthis line has no equals\n");
    close(fd);
    struct config c;
    cfg_init(&c);
    char err[512];
    assert_int_equal(cfg_load_file(&c, path, err, sizeof err), -1);
    char want[600];
    snprintf(want, sizeof want, "%s:3: expected \"key = value\"", path);
    assert_memory_equal(err, want, strlen(want));
    cfg_finish(&c);
    unlink(path);
}

static void test_missing_config_file_is_an_error(void **state)
{
    struct config c;
    cfg_init(&c);
    char *argv[] = {"--config=/nonexistent/postpace.conf"};
    char *rest[1], err[256];
    int nrest;
    assert_int_equal(cfg_load(&c, 1, argv, rest, &nrest, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/postpace.conf"));
    cfg_finish(&c);
}

/* Loads `text` as a config file into c; returns cfg_load_file's result, err set. */
static int load_text(struct config *c, const char *text, char *err, size_t errlen)
{
    char path[] = "/tmp/postpace-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = cfg_load_file(c, path, err, errlen);
    unlink(path);
    return rc;
}

static void test_inline_comment_is_not_part_of_the_value(void **state)
{
    struct config c;
    char err[512];
    cfg_init(&c);
    assert_int_equal(load_text(&c,
                               "  # a comment\n"
                               "api_tokens = realtoken_1234567890 # rotate monthly\n"
                               "listen = a#b\t# not part of it\n"
                               "instance_id = \"web #1 \\\"x\\\" \\\\\"   # quoted\r\n",
                               err, sizeof err),
                     0);
    assert_string_equal(c.api_tokens, "realtoken_1234567890");
    assert_string_equal(c.listen, "a#b");
    assert_string_equal(c.instance_id, "web #1 \"x\" \\");
    cfg_finish(&c);
}

static void test_file_refuses_what_the_grammar_does_not_allow(void **state)
{
    static char long_line[5000], many[65 * 20 + 32];
    memset(long_line, 'x', sizeof long_line - 2);
    memcpy(long_line, "listen = ", 9);
    long_line[sizeof long_line - 2] = '\n';
    size_t o = (size_t)sprintf(many, "api_tokens =");
    for (int i = 0; i < 65; i++)
        o += (size_t)sprintf(many + o, " tok-%014d", i);
    many[o++] = '\n';
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"listen = 1\n\nlisten = 2\n", ":3: listen is already set on line 1"},
        {"listen = 1\nno_such = 1\n", ":2: unknown setting \"no_such\""},
        {"listen 1\n", ":1: expected \"key = value\""},
        {"Listen = 1\n", ":1: expected \"key = value\""},
        {"instance_id = \"open\n", ":1: the quoted value is not closed"},
        {"instance_id = \"a\" b\n", ":1: only a comment may follow a quoted value"},
        {"instance_id = a\"b\n", ":1: a quote inside an unquoted value"},
        {"instance_id = a \\\n", ":1: a value ends with \\ (continuation lines are not allowed)"},
        {"instance_id = \"\\n\"\n", ":1: only \\\" and \\\\ are escapes"},
        {"instance_id = a\x01\n", ":1: a control character"},
        {"#\n#\napi_tokens = short-token\n", ":3: api_tokens: token 1 is shorter than 16 bytes"},
        {"api_tokens = aaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbb aaaaaaaaaaaaaaaa\n",
         ":1: api_tokens: tokens 1 and 3 are the same"},
        {"api_tokens = aaaaaaaaaaaaaaaa b\xc3\xa9\x62\x62\x62\x62\x62\x62\x62\x62\x62\x62\x62\x62\x62\n",
         ":1: api_tokens: token 2 has a byte outside"},
        {"http_threads = 2 # ok\nhttp_threads = 0\n", ":2: http_threads is already set on line 1"},
        {long_line, ":1: the line is longer than 4096 bytes"},
        {many, ":1: api_tokens: more than 64 tokens"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config c;
        char err[512];
        cfg_init(&c);
        if (load_text(&c, cases[i].text, err, sizeof err) != -1 || !strstr(err, cases[i].want))
            fail_msg("case %zu: want \"%s\", got \"%s\"", i, cases[i].want, err);
        assert_null(strstr(err, "aaaaaaaaaaaaaaaa")); /* a token is named by position only */
        cfg_finish(&c);
    }
}

static void test_config_naming_a_directory_is_refused(void **state)
{
    struct config c;
    cfg_init(&c);
    char *argv[] = {"--config", "/tmp"};
    char *rest[2], err[256];
    int nrest;
    assert_int_equal(cfg_load(&c, 2, argv, rest, &nrest, 0, err, sizeof err), -1);
    assert_string_equal(err, "config file /tmp: is a directory");
    cfg_finish(&c);
}

static void test_short_token_in_env_or_flag_is_refused(void **state)
{
    struct config c;
    cfg_init(&c);
    char *argv[] = {"--api-tokens", "0123456789abcdef 0123"};
    char *rest[2], err[256];
    int nrest;
    assert_int_equal(cfg_load(&c, 2, argv, rest, &nrest, 0, err, sizeof err), -1);
    assert_string_equal(err, "--api-tokens: api_tokens: token 2 is shorter than 16 bytes");
    cfg_finish(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_fill_every_key),
        cmocka_unit_test(test_flag_overrides_env_which_overrides_file),
        cmocka_unit_test(test_unknown_flag_is_named),
        cmocka_unit_test(test_bad_integer_names_key_and_range),
        cmocka_unit_test(test_flag_without_value_is_an_error),
        cmocka_unit_test(test_bad_log_level_in_env_names_variable),
        cmocka_unit_test(test_config_file_error_names_line),
        cmocka_unit_test(test_missing_config_file_is_an_error),
        cmocka_unit_test(test_inline_comment_is_not_part_of_the_value),
        cmocka_unit_test(test_file_refuses_what_the_grammar_does_not_allow),
        cmocka_unit_test(test_config_naming_a_directory_is_refused),
        cmocka_unit_test(test_short_token_in_env_or_flag_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
