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
    assert_string_equal(err, want);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
