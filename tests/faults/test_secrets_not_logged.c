/*
 * Secrets never reach the logs or an answer. A daemon at log level debug
 * drains a calendar through keys whose secrets are distinctive strings (one
 * of them wrong, so the provider answers 401), takes signed webhooks, serves
 * the API with bearer tokens (and refuses a wrong one), with a DATABASE_URL
 * holding a password; `postpace serve` and `migrate` are also pointed at a
 * database that is not there (their errors name the URL). Then the daemon's
 * whole log, the answers it gave, /metrics, `postpace status`, those errors
 * and what it stored in the database are searched for every secret. Then
 * every command is run with connection strings libpq cannot parse or use
 * (malformed URLs, %-escapes, IPv6 hosts, password= keywords) and its
 * output searched for the password and the string.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "faultfx.h"
#include "pgtest.h"
#include "util/xmalloc.h"
#include "whclient.h"

#define WHSEC "whsec_cG9zdHBhY2UtZmF1bHQtc3VpdGUtc2lnbmluZy1rZXkh"
#define DB_PASSWORD "pwSECRET-db-4711-e3b0c442"

static const char *const secrets[] = {
    "peSECRET-key-9f8e7d6c",
    "spSECRET-key-5b4a3928",
    "fhSECRET-key-17160504",
    "plSECRET-key-f3e2d1c0",
    "jeSECRET-key-bfae9d8c",
    "jeSECRET-wrong-7b6a5948",
    "tokSECRET-api-1c2d3e4f",
    "tokSECRET-api-5a6b7c8d",
    "tokSECRET-guess-0f1e2d3c",
    WHSEC,
    "cG9zdHBhY2UtZmF1bHQtc3VpdGUtc2lnbmluZy1rZXkh",
    DB_PASSWORD,
};
#define NSECRETS (sizeof secrets / sizeof secrets[0])

/* Counts the secrets found in text, naming each on stderr. */
static int leaks(const char *where, const char *text)
{
    int n = 0;
    for (size_t i = 0; i < NSECRETS; i++)
        if (text && strstr(text, secrets[i])) {
            fprintf(stderr, "secrets_not_logged: LEAK of \"%s\" in %s\n", secrets[i], where);
            n++;
        }
    return n;
}

static const char sim_json[] =
    "{\"webhook_secret\":\"" WHSEC "\",\"keys\":["
    "{\"provider\":\"posteverywhere\",\"key\":\"peSECRET-key-9f8e7d6c\",\"label\":\"pe\"},"
    "{\"provider\":\"schedpilot\",\"key\":\"spSECRET-key-5b4a3928\",\"label\":\"sp\",\"user\":"
    "\"u1\"},"
    "{\"provider\":\"feedhorizon\",\"key\":\"fhSECRET-key-17160504\",\"label\":\"fh\"},"
    "{\"provider\":\"postlark\",\"key\":\"plSECRET-key-f3e2d1c0\",\"label\":\"pl\",\"plan\":"
    "\"scale\"},"
    "{\"provider\":\"jestha\",\"key\":\"jeSECRET-key-bfae9d8c\",\"label\":\"je\"}]";

static void add_key(PGconn *c, const char *sim_base, const char *provider, const char *label,
                    const char *plan, const char *env, const char *prefix)
{
    char base[200];
    snprintf(base, sizeof base, "%s%s", sim_base, prefix);
    const char *p[] = {provider, label, plan, env, base};
    assert_string_equal(
        pgt_try(c,
                "INSERT INTO provider_keys (provider, label, plan, secret_ref, webhook_secret_ref, "
                "base_url, time_scale) VALUES ($1, $2, $3, 'env:' || $4, 'env:FT_WHSEC', $5, 600)",
                5, p),
        "00000");
}

/* postgresql://postpace:PASSWORD@/DB?host=SOCKET&port=PORT from the fixture's conninfo. */
static char *url_with_password(const char *conninfo)
{
    char host[256] = "", db[128] = "";
    int port = 0;
    const char *h = strstr(conninfo, "host="), *p = strstr(conninfo, "port="),
               *d = strrchr(conninfo, '=');
    assert_non_null(h);
    assert_non_null(p);
    sscanf(h + 5, "%255s", host);
    port = atoi(p + 5);
    snprintf(db, sizeof db, "%s", d + 1);
    return xasprintf("postgresql://postpace:%s@/%s?host=%s&port=%d", DB_PASSWORD, db, host, port);
}

static void test_no_secret_in_logs_answers_or_rows(void **state)
{
    (void)state;
    ffx_seed("secrets_not_logged");
    struct simctl sim;
    char cfg[2048];
    snprintf(cfg, sizeof cfg, "%s}", sim_json);
    assert_int_equal(sim_ctl_start(&sim, cfg, 600, NULL), 0);
    char *db = pgt_create_migrated_db();
    PGconn *c = pgt_connect(db);
    add_key(c, sim.base, "posteverywhere", "pe", "default", "FT_PE", "/posteverywhere/api/v1");
    add_key(c, sim.base, "schedpilot", "sp", "default", "FT_SP", "/schedpilot/developers/v1");
    add_key(c, sim.base, "feedhorizon", "fh", "default", "FT_FH", "/feedhorizon/v1");
    add_key(c, sim.base, "postlark", "pl", "scale", "FT_PL", "/postlark/v1");
    add_key(c, sim.base, "jestha", "je", "default", "FT_JE", "/jestha");
    add_key(c, sim.base, "jestha", "je-wrong", "default", "FT_JE_WRONG", "/jestha");
    pgt_exec(c, "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
                "SELECT k.id, CASE WHEN k.provider IN ('postlark', 'jestha') "
                "THEN '{acct-1}'::text[] ELSE '{acct-1,acct-2}' END, "
                "'secret test ' || k.label || ' ' || g, now() "
                "FROM provider_keys k, generate_series(1, 8) g");

    char *url = url_with_password(db);
    char *env_db = xasprintf("DATABASE_URL=%s", url);
    char *envs[] = {env_db,
                    "FT_PE=peSECRET-key-9f8e7d6c",
                    "FT_SP=spSECRET-key-5b4a3928",
                    "FT_FH=fhSECRET-key-17160504",
                    "FT_PL=plSECRET-key-f3e2d1c0",
                    "FT_JE=jeSECRET-key-bfae9d8c",
                    "FT_JE_WRONG=jeSECRET-wrong-7b6a5948",
                    "FT_WHSEC=" WHSEC,
                    "POSTPACE_API_TOKENS=tokSECRET-api-1c2d3e4f tokSECRET-api-5a6b7c8d",
                    "POSTPACE_LOG_LEVEL=debug",
                    "POSTPACE_SKEW_MS=50",
                    NULL};
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    static struct proc server;
    proc_start(&server, argv, envs);
    const char *at = proc_await(&server, " port=");
    assert_non_null(at);
    int port = atoi(at + 6);
    snprintf(cfg, sizeof cfg, "%s,\"webhook_url\":\"http://127.0.0.1:%d\"}", sim_json, port);
    assert_int_equal(sim_ctl_reset(&sim, cfg), 0);

    /* Everything that may answer with a secret in it. */
    static char answers[1 << 20];
    size_t alen = 0;
    char base[64], u[256], resp[65536];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    const char *good[] = {"Authorization: Bearer tokSECRET-api-1c2d3e4f", NULL};
    const char *bad[] = {"Authorization: Bearer tokSECRET-guess-0f1e2d3c", NULL};
    struct {
        const char *method, *path, *const *headers, *body;
    } calls[] = {
        {"GET", "/v1/posts?limit=5", good, NULL},
        {"GET", "/v1/posts", bad, NULL},
        {"POST", "/v1/posts", bad, "{\"content\":\"x\"}"},
        {"GET", "/v1/limits", good, NULL},
        {"POST", "/v1/posts", good, "{\"provider_key\":\"je\",\"content\":\"tokSECRET\"}"},
        {"GET", "/metrics", NULL, NULL},
        {"GET", "/readyz", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        snprintf(u, sizeof u, "%s%s", base, calls[i].path);
        http_request(calls[i].method, u, calls[i].headers, calls[i].body,
                     calls[i].body ? strlen(calls[i].body) : 0, resp, sizeof resp);
        alen += (size_t)snprintf(answers + alen, sizeof answers - alen, "%s\n", resp);
    }
    /* Webhooks signed with a wrong secret, and a good one. */
    char ev[512];
    snprintf(u, sizeof u, "%s/webhooks/jestha", base);
    wh_event(ev, sizeof ev, "post.published", "no-such-ref", NULL, NULL);
    wh_send(u, "whsec_d3Jvbmctc2VjcmV0LWZvci10aGUtdGVzdA==", "evt-wrong", 0, ev, resp, sizeof resp);
    alen += (size_t)snprintf(answers + alen, sizeof answers - alen, "%s\n", resp);
    wh_send(u, WHSEC, "evt-right", 0, ev, resp, sizeof resp);
    alen += (size_t)snprintf(answers + alen, sizeof answers - alen, "%s\n", resp);

    int settled = -1;
    for (int i = 0; i < 600 && settled != 0; i++) {
        PGresult *r = PQexec(c, "SELECT count(*) FROM post_targets WHERE status NOT IN "
                                "('published', 'failed')");
        settled = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
        usleep(100 * 1000);
    }
    snprintf(u, sizeof u, "%s/metrics", base);
    http_request("GET", u, NULL, NULL, 0, resp, sizeof resp);
    alen += (size_t)snprintf(answers + alen, sizeof answers - alen, "%s\n", resp);

    /* The CLI reads the same settings. */
    struct proc status;
    char *st_argv[] = {(char *)pgt_postpace_bin(), "status", NULL};
    int st_rc = proc_run(&status, st_argv, envs);

    /* Errors that name the connection string: nothing listens on port 1. */
    char *dead =
        xasprintf("DATABASE_URL=postgresql://postpace:%s@127.0.0.1:1/postpace", DB_PASSWORD);
    char *dead_envs[] = {dead, "POSTPACE_LOG_LEVEL=debug", NULL};
    struct proc mig, srv;
    char *mig_argv[] = {(char *)pgt_postpace_bin(), "migrate", NULL};
    int mig_rc = proc_run(&mig, mig_argv, dead_envs);
    int srv_rc = proc_run(&srv, argv, dead_envs);
    free(dead);

    kill(server.pid, SIGTERM);
    char *log = ffx_log(&server);
    assert_int_equal(proc_wait(&server), 0);

    /* What the daemon stored: response excerpts, errors, events. */
    PGresult *r = PQexec(c, "SELECT coalesce(string_agg(response_excerpt, ' '), '') FROM attempts");
    char *excerpts = xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    r = PQexec(c, "SELECT coalesce(string_agg(last_error::text, ' '), '') FROM post_targets");
    char *errors = xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    long failed_401 = 0;
    r = PQexec(c, "SELECT count(*) FROM post_targets t JOIN provider_keys k ON k.id = "
                  "t.provider_key_id WHERE k.label = 'je-wrong' AND t.status = 'failed'");
    failed_401 = atol(PQgetvalue(r, 0, 0));
    PQclear(r);

    int n = leaks("the daemon's log", log) + leaks("HTTP answers", answers) +
            leaks("postpace status", status.out) + leaks("migrate's error", mig.out) +
            leaks("serve's error", srv.out) + leaks("attempts.response_excerpt", excerpts) +
            leaks("post_targets.last_error", errors);
    size_t lines = 0;
    for (const char *p = log; *p; p++)
        lines += *p == '\n';
    int masked = strstr(mig.out, ":***@") != NULL || strstr(srv.out, ":***@") != NULL;
    printf("secrets_not_logged: verdict %s: %zu secrets searched in %zu log lines (%zu bytes, "
           "level debug), %zu bytes of answers, status output, %zu bytes of stored excerpts and "
           "errors: %d found; targets unsettled=%d, 401-key targets failed=%ld, status rc=%d, "
           "migrate/serve without a database rc=%d/%d, password shown masked: %s\n",
           n == 0 ? "PASS" : "FAIL", NSECRETS, lines, strlen(log), alen,
           strlen(excerpts) + strlen(errors), n, settled, failed_401, st_rc, mig_rc, srv_rc,
           masked ? "yes" : "no");
    assert_int_equal(n, 0);
    assert_int_equal(settled, 0);
    assert_int_equal(failed_401, 8); /* the wrong key really was refused */
    assert_true(lines >= 10);        /* the log really said things (19-30 lines here) */
    assert_int_not_equal(mig_rc, 0);
    assert_int_not_equal(srv_rc, 0);
    free(log), free(excerpts), free(errors), free(url), free(env_db);
    PQfinish(c);
    pgt_drop_db(db);
    sim_ctl_stop(&sim);
}

/*
 * Connection strings libpq cannot parse or cannot connect with, in every form
 * a password can take: every command must fail without showing any of it,
 * whatever libpq's message quotes. Each case's password holds "pwLEAK".
 */
static const char *const bad_urls[] = {
    "postgresql://postpace:pwLEAK%Zz-1@127.0.0.1:1/postpace",      /* bad %-escape */
    "postgresql://postpace:pwLEAK%2Fenc-2@127.0.0.1:1/postpace",   /* good one, decoded */
    "postgresql://postpace:pwLEAK-v6-3@[::1]:1/postpace",          /* IPv6, refused */
    "postgresql://postpace:pwLEAK-v6bad-4@[::1:1/postpace",        /* IPv6 not closed */
    "postgresql://postpace:pwLEAK-5@/postpace?host=/nonexistent&port=1", /* no socket */
    "postgresql://postpace:pwLEAK-q-6@127.0.0.1:1/db?sslmode=pwLEAK-q-6", /* value echoed */
    "postgresql://postpace@127.0.0.1:1/db?password=pwLEAK-query-7&bogus=1",
    "postgresql://postpace:pwLEAK-8@127.0.0.1:pwLEAK-8/db",        /* port echoed */
    "pwLEAK-garbage-9",                                            /* not a conninfo at all */
    "host=127.0.0.1 port=1 password=pwLEAK-kw-10 dbname=x",
    "host=127.0.0.1 port=1 password = 'pwLEAK kw \\' 11' dbname=x",
    "host=127.0.0.1 port=pwLEAK-port-12 password=pwLEAK-port-12",
    "host=127.0.0.1 password='pwLEAK-unterminated-13",
    "host=127.0.0.1 port=1 sslpassword=pwLEAK-ssl-14 password=pwLEAK-14",
    "host=127.0.0.1 port=1 password=pwLEAK-15 nosuchoption=1",
};

static void test_no_connection_string_in_any_command_error(void **state)
{
    (void)state;
    static const char *const commands[][3] = {
        {"status", NULL}, {"migrate", NULL}, {"limits", NULL}, {"plan", NULL},
        {"import", "/dev/null"}, {"serve", "--listen=127.0.0.1:0"},
    };
    int leaked = 0, runs = 0;
    for (size_t u = 0; u < sizeof bad_urls / sizeof bad_urls[0]; u++) {
        char *env = xasprintf("DATABASE_URL=%s", bad_urls[u]);
        char *envs[] = {env, "POSTPACE_LOG_LEVEL=debug", NULL};
        for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
            char *argv[] = {(char *)pgt_postpace_bin(), (char *)commands[k][0],
                            (char *)commands[k][1], NULL};
            static struct proc p;
            int rc = proc_run(&p, argv, envs);
            runs++;
            if (strstr(p.out, "pwLEAK") || strstr(p.out, bad_urls[u]) || rc == 0) {
                fprintf(stderr, "secrets_not_logged: LEAK (rc=%d) from `%s` with %s:\n%s\n", rc,
                        commands[k][0], bad_urls[u], p.out);
                leaked++;
            }
        }
        free(env);
    }
    printf("secrets_not_logged: verdict %s: %d commands run with %zu bad connection strings: %d "
           "showed a secret\n",
           leaked ? "FAIL" : "PASS", runs, sizeof bad_urls / sizeof bad_urls[0], leaked);
    assert_int_equal(leaked, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_secret_in_logs_answers_or_rows),
        cmocka_unit_test(test_no_connection_string_in_any_command_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
