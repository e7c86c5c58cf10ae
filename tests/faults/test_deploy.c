/*
 * deploy/: postpace.service passes `systemd-analyze verify` without a single
 * warning (an unknown or misspelt key is only a warning there, so the output
 * must be empty) and keeps its hardening (skipped, saying so, where
 * systemd-analyze is not installed); postpace.env.example documents every
 * setting `postpace help` lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgtest.h"
#include "proc.h"
#include "util/xmalloc.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = xmalloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void test_unit_file_verifies_cleanly_and_is_hardened(void **state)
{
    (void)state;
    char *unit = slurp(POSTPACE_UNIT_FILE);
    static const char *const hardening[] = {
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=",
        "Restart=on-failure",
        "EnvironmentFile=/etc/postpace/postpace.env",
        "ExecStartPre=/usr/local/bin/postpace migrate",
        "ExecStart=/usr/local/bin/postpace serve",
    };
    for (size_t i = 0; i < sizeof hardening / sizeof hardening[0]; i++)
        if (!strstr(unit, hardening[i])) {
            fprintf(stderr, "deploy: missing %s\n", hardening[i]);
            fail();
        }
    if (system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
        printf("deploy: verdict SKIPPED: systemd-analyze is not installed "
               "(apt-get install systemd); the unit's keys were checked only by name\n");
        free(unit);
        skip();
    }
    /* The unit names the installed binary; verify checks that it is executable. */
    char dir[] = "/tmp/postpace-unit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/postpace.service", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (const char *p = unit; *p;) {
        const char *hit = strstr(p, "/usr/local/bin/postpace");
        size_t n = hit ? (size_t)(hit - p) : strlen(p);
        fwrite(p, 1, n, f);
        if (!hit)
            break;
        fputs(pgt_postpace_bin(), f);
        p = hit + strlen("/usr/local/bin/postpace");
    }
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "systemd-analyze verify --man=no '%s' 2>&1", path);
    FILE *out = popen(cmd, "r");
    char said[4096] = "";
    size_t len = fread(said, 1, sizeof said - 1, out);
    said[len] = '\0';
    int rc = pclose(out);
    printf("deploy: verdict %s: systemd-analyze verify exit=%d, %zu bytes of warnings%s%s\n",
           rc == 0 && len == 0 ? "PASS" : "FAIL", rc, len, len ? ":\n" : "", said);
    unlink(path);
    rmdir(dir);
    free(unit);
    assert_int_equal(rc, 0);
    assert_int_equal(len, 0);
}

static void test_env_example_documents_every_setting(void **state)
{
    (void)state;
    char example[512];
    snprintf(example, sizeof example, "%s/deploy/postpace.env.example", POSTPACE_SOURCE_DIR);
    char *text = slurp(example);
    struct proc help;
    char *argv[] = {(char *)pgt_postpace_bin(), "help", NULL};
    proc_run(&help, argv, NULL);
    int listed = 0, missing = 0;
    for (const char *p = help.out; (p = strpbrk(p, "DP")) != NULL; p++) {
        if (strncmp(p, "POSTPACE_", 9) != 0 && strncmp(p, "DATABASE_URL", 12) != 0)
            continue;
        char name[64];
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        snprintf(name, sizeof name, "%.*s=", (int)n, p);
        listed++;
        if (!strstr(text, name)) {
            fprintf(stderr, "env_example: %s is not documented\n", name);
            missing++;
        }
        p += n - 1;
    }
    printf("env_example: verdict %s: %d settings named by postpace help, %d missing from "
           "deploy/postpace.env.example\n",
           missing == 0 && listed >= 20 ? "PASS" : "FAIL", listed, missing);
    assert_true(listed >= 20);
    assert_int_equal(missing, 0);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_file_verifies_cleanly_and_is_hardened),
        cmocka_unit_test(test_env_example_documents_every_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
