/*
 * The database goes away mid-stream: deliveries get 503 (never a 2xx for an
 * uncommitted event), the daemon recovers by itself, and every event
 * retried by its sender is applied exactly once. Uses a cluster of its own,
 * since it stops it.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgtest.h"
#include "proc.h"
#include "whclient.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define EVENTS 60

static char cluster_dir[] = "/tmp/postpace-outage-XXXXXX";

static int cluster(const char *verb, char *out, size_t size)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/deploy/pg-private.sh %s %s", POSTPACE_SOURCE_DIR, verb,
             cluster_dir);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    if (out && !fgets(out, (int)size, f))
        out[0] = '\0';
    if (out)
        out[strcspn(out, "\n")] = '\0';
    return pclose(f);
}

static long send_event(const char *url, int i)
{
    char body[512], id[32], ref[32], resp[256];
    snprintf(ref, sizeof ref, "ref-%d", i);
    snprintf(id, sizeof id, "evt-%d", i);
    wh_event(body, sizeof body, "post.published", ref, NULL, NULL);
    return wh_send(url, SECRET, id, 0, body, resp, sizeof resp);
}

/* Polls /readyz until it answers 200 or 30 s pass. */
static int await_ready(const char *base)
{
    char url[256], resp[128];
    snprintf(url, sizeof url, "%s/readyz", base);
    for (int i = 0; i < 600; i++) {
        if (http_request("GET", url, NULL, NULL, 0, resp, sizeof resp) == 200)
            return 0;
        usleep(50 * 1000);
    }
    return -1;
}

static void test_database_outage_gets_503_then_everything_once(void **state)
{
    assert_non_null(mkdtemp(cluster_dir));
    char base_ci[512];
    assert_int_equal(cluster("start", base_ci, sizeof base_ci), 0);
    PGconn *c = pgt_connect(base_ci);
    pgt_exec(c, "CREATE DATABASE outage");
    PQfinish(c);
    char ci[600];
    snprintf(ci, sizeof ci, "%s dbname=outage", base_ci);

    char env_db[700];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", ci);
    char *envs[] = {env_db, "PP_OUTAGE_WHSEC=" SECRET, "POSTPACE_SCHEDULER=0", NULL};
    struct proc p;
    char *mig[] = {(char *)pgt_postpace_bin(), "migrate", NULL};
    assert_int_equal(proc_run(&p, mig, envs), 0);

    c = pgt_connect(ci);
    pgt_exec(c, "INSERT INTO provider_keys (provider, label, secret_ref, webhook_secret_ref) "
                "VALUES ('jestha', 'k', 'env:JK', 'env:PP_OUTAGE_WHSEC')");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
             "SELECT 1, '{acct}', 'post ' || g, now() FROM generate_series(1, %d) g",
             EVENTS);
    pgt_exec(c, sql);
    pgt_exec(c, "UPDATE post_targets SET status = 'submitted', attempts = 1, "
                "request_ref = 'ref-' || post_id");
    PQfinish(c);

    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    struct proc server;
    proc_start(&server, argv, envs);
    const char *at = proc_await(&server, " port=");
    assert_non_null(at);
    char base[128], url[160];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", atoi(at + 6));
    snprintf(url, sizeof url, "%s/webhooks/jestha", base);

    int third = EVENTS / 3;
    for (int i = 1; i <= third; i++)
        assert_int_equal(send_event(url, i), 200);

    assert_int_equal(cluster("kill", NULL, 0), 0);
    /* Live, not cached: an idle daemon's first probe after the kill says so. */
    char readyz[160], resp[128];
    snprintf(readyz, sizeof readyz, "%s/readyz", base);
    assert_int_equal(http_request("GET", readyz, NULL, NULL, 0, resp, sizeof resp), 503);
    int refused = 0;
    for (int i = third + 1; i <= 2 * third; i++) {
        long st = send_event(url, i);
        assert_int_equal(st, 503); /* never 2xx for what was not committed */
        refused++;
    }

    assert_int_equal(cluster("start", base_ci, sizeof base_ci), 0);
    assert_int_equal(await_ready(base), 0);
    /* The senders retry everything they were refused, replay the first third, and go on. */
    for (int i = 1; i <= EVENTS; i++)
        assert_int_equal(send_event(url, i), 200);

    c = pgt_connect(ci);
    PGresult *r = PQexec(c, "SELECT (SELECT count(*) FROM webhook_events), "
                            "(SELECT count(*) FROM webhook_events WHERE applied_at IS NOT NULL), "
                            "(SELECT count(*) FROM post_targets WHERE status = 'published')");
    assert_int_equal(atoi(PQgetvalue(r, 0, 0)), EVENTS);
    assert_int_equal(atoi(PQgetvalue(r, 0, 1)), EVENTS);
    assert_int_equal(atoi(PQgetvalue(r, 0, 2)), EVENTS);
    PQclear(r);
    PQfinish(c);
    printf("outage: %d delivered before, %d refused with 503 during, %d applied once after\n",
           third, refused, EVENTS);

    kill(server.pid, SIGTERM);
    assert_int_equal(proc_wait(&server), 0);
    assert_non_null(strstr(server.out, "intake lost the database"));
    cluster("stop", NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_database_outage_gets_503_then_everything_once),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cluster("stop", NULL, 0);
    return rc;
}
