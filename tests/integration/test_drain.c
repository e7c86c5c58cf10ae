/*
 * The main job end to end: postpace serve drains a calendar across all five
 * providers of the simulator (time scale 60: a minute lasts a second), and
 * learns each post's fate from the simulator's signed webhooks. The verdict
 * is the simulator's: zero 429s, zero duplicates, everything created once.
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

#include "pgtest.h"
#include "proc.h"
#include "simctl.h"

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SCALE 60

static const char *sim_config(char *buf, size_t size, const char *webhook_base)
{
    char hook[200] = "";
    if (webhook_base)
        snprintf(hook, sizeof hook, "\"webhook_url\":\"%s\",", webhook_base);
    snprintf(buf, size,
             "{%s\"webhook_secret\":\"" WHSEC "\",\"keys\":["
             "{\"provider\":\"posteverywhere\",\"key\":\"pe_live_1\",\"label\":\"pe\"},"
             "{\"provider\":\"schedpilot\",\"key\":\"smm_a\",\"label\":\"sp\",\"user\":\"u1\"},"
             "{\"provider\":\"feedhorizon\",\"key\":\"fh_1\",\"label\":\"fh\"},"
             "{\"provider\":\"postlark\",\"key\":\"pk_live_1\",\"label\":\"pl\",\"plan\":\"scale\","
             "\"account\":\"pl-acct\"},"
             "{\"provider\":\"jestha\",\"key\":\"jk_1\",\"label\":\"je\",\"account\":\"je-acct\"}]}",
             hook);
    return buf;
}

static void add_key(PGconn *c, const char *provider, const char *label, const char *plan,
                    const char *user, const char *account, const char *env, const char *base)
{
    const char *p[] = {provider, label, plan, user, account, env, base};
    PGresult *r = PQexecParams(
        c,
        "INSERT INTO provider_keys (provider, label, plan, provider_user_id, provider_account_id, "
        "secret_ref, webhook_secret_ref, base_url, time_scale) "
        "VALUES ($1, $2, $3, $4, $5, 'env:' || $6, 'env:PP_SIM_WHSEC', $7, 60)",
        7, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static void add_posts(PGconn *c, const char *label, int n, const char *accounts)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at, external_id) "
             "SELECT (SELECT id FROM provider_keys WHERE label = '%s'), '%s', "
             "'post ' || g || ' for %s', now(), '%s-' || g FROM generate_series(1, %d) g",
             label, accounts, label, label, n);
    pgt_exec(c, sql);
}

static int count(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

/* Waits (bounded: 120 s) until every target is settled. */
static int await_settled(PGconn *c, int total)
{
    for (int i = 0; i < 1200; i++) {
        if (count(c, "SELECT count(*) FROM post_targets WHERE status IN ('published', 'failed')") ==
            total)
            return 0;
        usleep(100 * 1000);
    }
    return -1;
}

static void test_drain_all_providers_without_429_or_duplicates(void **state)
{
    struct simctl sim;
    char cfg[2048];
    assert_int_equal(sim_ctl_start(&sim, sim_config(cfg, sizeof cfg, NULL), SCALE, NULL), 0);

    char *db = pgt_create_migrated_db();
    PGconn *c = pgt_connect(db);
    char base[5][128];
    const char *prefix[] = {"/posteverywhere/api/v1", "/schedpilot/developers/v1",
                            "/feedhorizon/v1", "/postlark/v1", "/jestha"};
    for (int i = 0; i < 5; i++)
        snprintf(base[i], sizeof base[i], "%s%s", sim.base, prefix[i]);
    add_key(c, "posteverywhere", "pe", "default", NULL, NULL, "PP_PE", base[0]);
    add_key(c, "schedpilot", "sp", "default", "u1", NULL, "PP_SP", base[1]);
    add_key(c, "feedhorizon", "fh", "default", NULL, NULL, "PP_FH", base[2]);
    add_key(c, "postlark", "pl", "scale", NULL, "pl-acct", "PP_PL", base[3]);
    add_key(c, "jestha", "je", "default", NULL, "je-acct", "PP_JE", base[4]);
    add_posts(c, "pe", 30, "{pe-a,pe-b,pe-c}");
    add_posts(c, "sp", 12, "{sp-a,sp-b}");
    add_posts(c, "fh", 30, "{twitter,linkedin}");
    add_posts(c, "pl", 30, "{blog1}");
    add_posts(c, "je", 30, "{main}");
    int total = count(c, "SELECT count(*) FROM post_targets");
    assert_int_equal(total, 90 + 24 + 60 + 30 + 30);

    char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db);
    char *envs[] = {env_db, "PP_PE=pe_live_1", "PP_SP=smm_a", "PP_FH=fh_1", "PP_PL=pk_live_1",
                    "PP_JE=jk_1", "PP_SIM_WHSEC=" WHSEC, "POSTPACE_SKEW_MS=50",
                    "POSTPACE_LOG_LEVEL=info", NULL};
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    struct proc daemon;
    proc_start(&daemon, argv, envs);
    const char *at = proc_await(&daemon, " port=");
    assert_non_null(at);
    char hook[64];
    snprintf(hook, sizeof hook, "http://127.0.0.1:%d", atoi(at + 6));
    assert_int_equal(sim_ctl_reset(&sim, sim_config(cfg, sizeof cfg, hook)), 0);

    int settled = await_settled(c, total);
    json_t *stats = sim_ctl_stats(&sim);
    assert_non_null(stats);
    long created = sim_ctl_total(stats, "created"), limited = sim_ctl_total(stats, "rate_limited"),
         dups = sim_ctl_total(stats, "duplicates"), requests = sim_ctl_total(stats, "create_requests");
    printf("drain: %d targets, %ld create requests, %ld created, %ld 429s, %ld duplicates, "
           "%d published\n",
           total, requests, created, limited, dups,
           count(c, "SELECT count(*) FROM post_targets WHERE status = 'published'"));
    if (settled != 0 || limited != 0) {
        char *text = json_dumps(json_object_get(stats, "providers"), JSON_INDENT(1));
        fprintf(stderr, "%s\n%s\n", text, daemon.out);
        free(text);
    }
    assert_int_equal(settled, 0);
    assert_int_equal(limited, 0);
    assert_int_equal(dups, 0);
    assert_int_equal(created, total);
    /* Batching: one request per post where the provider takes several accounts. */
    assert_int_equal(requests, 30 + 12 + 30 + 30 + 30);
    assert_int_equal(count(c, "SELECT count(*) FROM post_targets WHERE status = 'published'"),
                     total);
    json_decref(stats);

    kill(daemon.pid, SIGTERM);
    assert_int_equal(proc_wait(&daemon), 0);
    assert_int_equal(count(c, "SELECT count(*) FROM key_leases"), 0);
    PQfinish(c);
    pgt_drop_db(db);
    sim_ctl_stop(&sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drain_all_providers_without_429_or_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
