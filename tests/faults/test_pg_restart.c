/*
 * PostgreSQL restarted twice under load, once with a fast shutdown and once
 * with an immediate one (a crash), while the daemon drains 1,000 targets and
 * a webhook storm of its own runs against it. The daemon survives both,
 * answers webhooks 503 while the database is away (never 2xx for what was not
 * committed), reconnects by itself, and loses nothing: every target is
 * created once at the simulator and settled, every storm event stored once.
 * Uses a cluster of its own, since it stops it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "faultfx.h"
#include "whclient.h"

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define STORM 600 /* storm events, one per target */
#define STORM_THREADS 2
#define STORM_GAP_MS 25 /* each sender paces its events, so the storm spans both outages */

struct storm {
    char url[160];
    char refs[STORM][64]; /* the idempotency key each event names */
    atomic_int accepted, duplicate, refused, other, done;
    atomic_int stop;
};

struct sender {
    struct storm *s;
    int first;
};

/* Sends events first, first+STORM_THREADS, ... each until it is answered 200 (bounded). */
static void *storm_main(void *arg)
{
    struct sender *me = arg;
    struct storm *s = me->s;
    for (int i = me->first; i < STORM && !atomic_load(&s->stop); i += STORM_THREADS) {
        char body[512], id[32], resp[256];
        snprintf(id, sizeof id, "storm-%d", i);
        wh_event(body, sizeof body, "post.published", s->refs[i], NULL, NULL);
        long deadline = ffx_now_ms() + 90000;
        for (;;) {
            long st = wh_send(s->url, WHSEC, id, 0, body, resp, sizeof resp);
            if (st == 200) {
                if (strstr(resp, "duplicate"))
                    atomic_fetch_add(&s->duplicate, 1);
                else
                    atomic_fetch_add(&s->accepted, 1);
                break;
            }
            if (st == 503)
                atomic_fetch_add(&s->refused, 1);
            else
                atomic_fetch_add(&s->other, 1);
            if (ffx_now_ms() > deadline || atomic_load(&s->stop))
                break;
            usleep(100 * 1000); /* the sender retries, as providers do */
        }
        usleep(STORM_GAP_MS * 1000);
    }
    atomic_fetch_add(&s->done, 1);
    return NULL;
}

/* File-scope, so main removes it even when an assertion ends the test early. */
static struct ffx_cluster cluster;

static long readyz(struct drainfx *f)
{
    char url[128], resp[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", f->ports[0]);
    return http_request("GET", url, NULL, NULL, 0, resp, sizeof resp);
}

/* Polls /readyz until it answers `want` (bounded by timeout_ms). 0 or -1. */
static int await_readyz(struct drainfx *f, long want, int timeout_ms)
{
    long deadline = ffx_now_ms() + timeout_ms;
    while (ffx_now_ms() < deadline) {
        if (readyz(f) == want)
            return 0;
        usleep(50 * 1000);
    }
    return -1;
}

static const char *unsettled_sql = "SELECT count(*) FROM post_targets t JOIN provider_keys k "
                                   "ON k.id = t.provider_key_id WHERE t.status NOT IN "
                                   "('published', 'failed', 'cancelled', 'expired') "
                                   "AND t.next_attempt_at < now() + interval '1 hour'";

/* One outage: the database goes away (`verb`: stop = fast, kill = immediate) for down_ms. */
static void outage(struct ffx_cluster *c, struct drainfx *f, const char *verb, int down_ms,
                   long *unsettled, int *saw_503)
{
    *unsettled = drainfx_count(f, unsettled_sql);
    assert_int_equal(ffx_cluster(c, verb), 0);
    /* Live, not cached: the very first probe after the database went away says so. */
    assert_int_equal(readyz(f), 503);
    long until = ffx_now_ms() + down_ms;
    *saw_503 = 0;
    while (ffx_now_ms() < until) {
        *saw_503 |= readyz(f) == 503;
        usleep(100 * 1000);
    }
    assert_true(ffx_alive(&f->daemons[0]));
    assert_int_equal(ffx_cluster(c, "start"), 0);
    PQreset(f->conn);
    assert_int_equal(PQstatus(f->conn), CONNECTION_OK);
    assert_int_equal(await_readyz(f, 200, 30000), 0);
}

static void test_database_restarts_mid_drain_and_mid_storm_lose_nothing(void **state)
{
    (void)state;
    unsigned seed = ffx_seed("pg_restart");
    curl_global_init(CURL_GLOBAL_ALL);
    assert_int_equal(ffx_cluster(&cluster, "start"), 0);
    /* The simulator keeps retrying its webhooks through the outages. */
    const char *sim_args[] = {"--webhook-attempts", "12", NULL};
    struct drainfx f;
    assert_int_equal(drainfx_setup_cluster(&f, cluster.conninfo, 600, sim_args), 0);
    char *env[] = {"POSTPACE_UNCONFIRMED_RETRY_MS=2000",
                   "POSTPACE_REQUEST_TIMEOUT_MS=2000",
                   "POSTPACE_LEASE_TTL_MS=3000",
                   "POSTPACE_MAX_ATTEMPTS=20",
                   "POSTPACE_BACKOFF_MS=200",
                   "POSTPACE_HTTP_THREADS=2",
                   NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);

    /* The storm's targets are a day away, so only webhooks settle them. */
    drainfx_posts(&f, "pl", STORM, "{storm-blog}", 86400);
    /* The drain: 1,000 targets due now. */
    drainfx_posts(&f, "fh", 150, "{twitter,linkedin}", 0);
    drainfx_posts(&f, "pe", 50, "{pe-a,pe-b,pe-c,pe-d}", 0);
    drainfx_posts(&f, "sp", 60, "{sp-a,sp-b}", 0);
    drainfx_posts(&f, "pl", 200, "{blog1}", 0);
    drainfx_posts(&f, "je", 180, "{main}", 0);
    const long drain_total = 1000;

    static struct storm s;
    memset(&s, 0, sizeof s);
    snprintf(s.url, sizeof s.url, "http://127.0.0.1:%d/webhooks/postlark", f.ports[0]);
    PGresult *r = PQexec(f.conn, "SELECT t.idempotency_key FROM post_targets t "
                                 "WHERE account_id = 'storm-blog' ORDER BY id");
    assert_int_equal(PQntuples(r), STORM);
    for (int i = 0; i < STORM; i++)
        snprintf(s.refs[i], sizeof s.refs[i], "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    pthread_t th[STORM_THREADS];
    struct sender senders[STORM_THREADS];
    for (int i = 0; i < STORM_THREADS; i++) {
        senders[i] = (struct sender){&s, i};
        pthread_create(&th[i], NULL, storm_main, &senders[i]);
    }

    /* First outage once the drain is under way: a fast shutdown. */
    assert_int_equal(ffx_await_count(&f, "SELECT count(*) FROM attempts", ffx_rand(50, 250), 20000),
                     0);
    long unsettled1, unsettled2;
    int stormed1 = atomic_load(&s.accepted), stormed2, r503_1, r503_2;
    outage(&cluster, &f, "stop", ffx_rand(1500, 3000), &unsettled1, &r503_1);
    printf("pg_restart: fast shutdown with %ld drain targets unsettled, %d of %d storm events in\n",
           unsettled1, stormed1, STORM);

    /* Second outage a moment later: an immediate shutdown (crash recovery on start). */
    usleep((useconds_t)ffx_rand(500, 2000) * 1000);
    stormed2 = atomic_load(&s.accepted);
    outage(&cluster, &f, "kill", ffx_rand(1500, 3000), &unsettled2, &r503_2);
    printf("pg_restart: immediate shutdown with %ld drain targets unsettled, %d of %d storm "
           "events in\n",
           unsettled2, stormed2, STORM);

    int settled = drainfx_await_settled(&f, 120);
    long storm_deadline = ffx_now_ms() + 60000;
    while (atomic_load(&s.done) < STORM_THREADS && ffx_now_ms() < storm_deadline)
        usleep(50 * 1000);
    atomic_store(&s.stop, 1);
    for (int i = 0; i < STORM_THREADS; i++)
        pthread_join(th[i], NULL);

    struct ffx_verdict v;
    assert_int_equal(ffx_sim_verdict(&f, &v), 0);
    long published = drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'published' AND account_id <> 'storm-blog'");
    long storm_published = drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                             "'published' AND account_id = 'storm-blog'");
    long storm_events =
        drainfx_count(&f, "SELECT count(*) FROM webhook_events "
                          "WHERE event_id LIKE 'storm-%' AND applied_at IS NOT NULL");
    long sim_events = drainfx_count(&f, "SELECT count(*) FROM webhook_events "
                                        "WHERE event_id NOT LIKE 'storm-%'");
    int alive = ffx_alive(&f.daemons[0]);
    char *log = ffx_log(&f.daemons[0]);
    int lost_db = strstr(log, "intake lost the database") != NULL;
    free(log);
    int ok = settled == 0 && alive && v.duplicates == 0 && v.rate_limited == 0 &&
             v.created == drain_total && published == drain_total && storm_published == STORM &&
             storm_events == STORM && (int)atomic_load(&s.refused) > 0;
    printf("pg_restart: verdict %s: seed=%u restarts=2 (fast, immediate); drain targets=%ld "
           "published=%ld; sim created=%ld duplicates=%ld 429s=%ld, its webhooks stored=%ld; "
           "storm events=%d stored once=%ld, 503s=%d (readyz 503 seen: %d/%d), accepted=%d "
           "duplicate answers=%d other=%d; daemon alive=%d\n",
           ok ? "PASS" : "FAIL", seed, drain_total, published, v.created, v.duplicates,
           v.rate_limited, sim_events, STORM, storm_events, atomic_load(&s.refused), r503_1, r503_2,
           atomic_load(&s.accepted), atomic_load(&s.duplicate), atomic_load(&s.other), alive);
    assert_int_equal(settled, 0);
    assert_true(alive);
    assert_true(lost_db);
    assert_true(unsettled1 > 0 && unsettled2 > 0);     /* both outages hit mid-drain */
    assert_true(stormed1 < STORM && stormed2 < STORM); /* ... and mid-storm */
    assert_true(r503_1 && r503_2);
    assert_true(atomic_load(&s.refused) > 0);
    assert_int_equal(atomic_load(&s.other), 0);
    assert_int_equal(atomic_load(&s.accepted) + atomic_load(&s.duplicate), STORM);
    assert_int_equal(v.duplicates, 0);
    assert_int_equal(v.rate_limited, 0);
    assert_int_equal(v.created, drain_total);
    assert_int_equal(published, drain_total);
    assert_int_equal(storm_events, STORM);
    assert_int_equal(storm_published, STORM);

    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    drainfx_teardown_cluster(&f);
    ffx_cluster_destroy(&cluster);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_database_restarts_mid_drain_and_mid_storm_lose_nothing),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ffx_cluster_destroy(&cluster);
    return rc;
}
