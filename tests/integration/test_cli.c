/* End-to-end tests of the postpace binary: commands, flags, exit codes, serve. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/migrate.h"
#include "pgtest.h"
#include "proc.h"

static char *env_db(const char *ci)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "DATABASE_URL=%s", ci);
    return buf;
}

static void test_version_prints_version(void **state)
{
    struct proc p;
    char *argv[] = {(char *)pgt_postpace_bin(), "version", NULL};
    assert_int_equal(proc_run(&p, argv, NULL), 0);
}

static void test_unknown_flag_exits_2_naming_it(void **state)
{
    struct proc p;
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--bogus=1", NULL};
    assert_int_equal(proc_run(&p, argv, NULL), 2);
    assert_string_equal(p.out, "postpace: --bogus: unknown flag (see `postpace help`)\n");
}

static void test_bad_value_exits_2_naming_flag(void **state)
{
    struct proc p;
    char *argv[] = {(char *)pgt_postpace_bin(), "migrate", "--http-threads", "many", NULL};
    assert_int_equal(proc_run(&p, argv, NULL), 2);
    assert_non_null(strstr(p.out, "--http-threads"));
    assert_ptr_equal(strchr(p.out, '\n'), p.out + strlen(p.out) - 1); /* one line */
}

static void test_unknown_command_exits_2(void **state)
{
    struct proc p;
    char *argv[] = {(char *)pgt_postpace_bin(), "frobnicate", NULL};
    assert_int_equal(proc_run(&p, argv, NULL), 2);
    assert_non_null(strstr(p.out, "unknown command \"frobnicate\""));
}

static void test_help_and_version_anywhere_on_the_line(void **state)
{
    static const char *const lines[][4] = {
        {"--version", NULL}, {"import", "--help", NULL}, {"serve", "-h", NULL},
        {"status", "--log-level=debug", "--help", NULL}, {"-h", NULL}, {"plan", "--version", NULL},
    };
    static const char *const want[] = {"postpace ", "usage: postpace import", "usage: postpace serve",
                                       "usage: postpace status", "usage: postpace COMMAND",
                                       "postpace "};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        static struct proc p;
        char *argv[6] = {(char *)pgt_postpace_bin()};
        for (int k = 0; lines[i][k]; k++)
            argv[k + 1] = (char *)lines[i][k];
        assert_int_equal(proc_run(&p, argv, NULL), 0);
        if (strncmp(p.out, want[i], strlen(want[i])) != 0)
            fail_msg("line %zu: want \"%s...\", got \"%.80s\"", i, want[i], p.out);
    }
}

/* A bad value in the config file is a bad setting: exit 2, which the unit does not restart. */
static void test_bad_config_file_value_exits_2(void **state)
{
    char path[] = "/tmp/postpace-cli-XXXXXX";
    int fd = mkstemp(path);
    dprintf(fd, "api_tokens = realtoken_123 # rotate monthly\n");
    close(fd);
    static struct proc p;
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--config", path, NULL};
    assert_int_equal(proc_run(&p, argv, NULL), 2);
    assert_non_null(strstr(p.out, ":1: api_tokens: token 1 is shorter than 16 bytes"));
    unlink(path);
}

static void test_serve_refuses_a_stale_schema_naming_the_migration(void **state)
{
    char *ci = pgt_create_db(), err[256];
    PGconn *c = pgt_connect(ci);
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    /* As an older build left it: a ledger without the newest migration. */
    struct mig_file older;
    assert_int_equal(mig_file_init(&older, "0000_older_build", "SELECT 1;"), 0);
    assert_int_equal(mig_apply(c, &older, 1, NULL, err, sizeof err), 1);
    assert_int_equal(mig_apply(c, files, n - 1, NULL, err, sizeof err), (int)(n - 1));
    PQfinish(c);
    char want[128];
    snprintf(want, sizeof want, "migration %s_%s is not applied", files[n - 1].version,
             files[n - 1].name);

    struct proc p;
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    char *envs[] = {env_db(ci), NULL};
    assert_int_equal(proc_run(&p, argv, envs), 1);
    assert_non_null(strstr(p.out, want));
    pgt_drop_db(ci);
}

static void test_migrate_then_serve_answers_healthz_and_stops_on_sigterm(void **state)
{
    char *ci = pgt_create_db();
    char *envs[] = {env_db(ci), NULL};
    struct proc p;
    char *mig[] = {(char *)pgt_postpace_bin(), "migrate", NULL};
    assert_int_equal(proc_run(&p, mig, envs), 0);
    size_t nmig;
    mig_builtin(&nmig);
    char want[32];
    snprintf(want, sizeof want, "applied=%zu", nmig);
    assert_non_null(strstr(p.out, want));
    assert_int_equal(proc_run(&p, mig, envs), 0); /* re-run: nothing to do */
    assert_non_null(strstr(p.out, "applied=0"));

    char *serve[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    proc_start(&p, serve, envs);
    const char *at = proc_await(&p, " port=");
    assert_non_null(at);
    int port = atoi(at + 6);
    char url[128], body[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
    assert_int_equal(http_request("GET", url, NULL, NULL, 0, body, sizeof body), 200);
    assert_string_equal(body, "{\"status\":\"ok\"}");
    assert_int_equal(http_request("DELETE", url, NULL, NULL, 0, body, sizeof body), 405);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/nowhere", port);
    assert_int_equal(http_request("GET", url, NULL, NULL, 0, body, sizeof body), 404);
    /* An idle keep-alive connection must not stall or crash the shutdown. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(fd, get, sizeof get - 1), (ssize_t)(sizeof get - 1));
    assert_true(read(fd, body, sizeof body) > 0);
    kill(p.pid, SIGTERM);
    assert_int_equal(proc_wait(&p), 0);
    assert_non_null(strstr(p.out, "msg=stopped"));
    close(fd);
    pgt_drop_db(ci);
}

static void test_password_is_never_logged(void **state)
{
    struct proc p;
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", NULL};
    char *envs[] = {"DATABASE_URL=postgresql://bob:hunter2secret@127.0.0.1:1/x?connect_timeout=2",
                    NULL};
    assert_int_equal(proc_run(&p, argv, envs), 1);
    assert_non_null(strstr(p.out, "cannot connect"));
    assert_null(strstr(p.out, "hunter2secret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_prints_version),
        cmocka_unit_test(test_unknown_flag_exits_2_naming_it),
        cmocka_unit_test(test_bad_value_exits_2_naming_flag),
        cmocka_unit_test(test_unknown_command_exits_2),
        cmocka_unit_test(test_help_and_version_anywhere_on_the_line),
        cmocka_unit_test(test_bad_config_file_value_exits_2),
        cmocka_unit_test(test_serve_refuses_a_stale_schema_naming_the_migration),
        cmocka_unit_test(test_migrate_then_serve_answers_healthz_and_stops_on_sigterm),
        cmocka_unit_test(test_password_is_never_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
