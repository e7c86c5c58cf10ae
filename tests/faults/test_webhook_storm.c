/*
 * A webhook storm straight at a daemon: 2,000 targets, each with a
 * post.published event, a post.failed one, or both; 20% of the events
 * delivered twice; all deliveries in a seeded random order over eight
 * concurrent senders, one connection per delivery. Every event is stored and
 * applied once (the first delivery answered "accepted", every repeat
 * "duplicate"), and each target ends as the rules say whatever the order:
 * published when any event says published, failed when only failures came.
 * Three writers store batches side by side, so an event and its repeat (or
 * two events of one target) are often in two transactions at once.
 */
#include <pthread.h>
#include <signal.h>
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
#include "pgtest.h"
#include "whclient.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define TARGETS 2000
#define SENDERS 8
#define DUP_PERCENT 20

enum fate { PUBLISHED_ONLY, BOTH, FAILED_ONLY };

struct delivery {
    char url[128];
    char id[48];
    char body[384];
};

struct storm {
    struct delivery *d;
    int n;
    atomic_int next, accepted, duplicate, other;
};

static void *sender_main(void *arg)
{
    struct storm *s = arg;
    for (int i; (i = atomic_fetch_add(&s->next, 1)) < s->n;) {
        char resp[256];
        long st = 0;
        /* A sender retries what was not accepted (bounded); none is expected here. */
        for (int tries = 0; tries < 20; tries++) {
            st = wh_send(s->d[i].url, SECRET, s->d[i].id, 0, s->d[i].body, resp, sizeof resp);
            if (st == 200)
                break;
            usleep(100 * 1000);
        }
        if (st == 200 && strstr(resp, "\"duplicate\""))
            atomic_fetch_add(&s->duplicate, 1);
        else if (st == 200)
            atomic_fetch_add(&s->accepted, 1);
        else
            atomic_fetch_add(&s->other, 1);
    }
    return NULL;
}

static void add(struct storm *s, int port, const char *provider, const char *type, const char *ref,
                int i)
{
    struct delivery *d = &s->d[s->n++];
    snprintf(d->url, sizeof d->url, "http://127.0.0.1:%d/webhooks/%s", port, provider);
    snprintf(d->id, sizeof d->id, "storm-%s-%d", type + 5, i);
    wh_event(d->body, sizeof d->body, type, ref, NULL, NULL);
}

static void test_storm_with_duplicates_and_reordering_applies_each_event_once(void **state)
{
    (void)state;
    unsigned seed = ffx_seed("webhook_storm");
    curl_global_init(CURL_GLOBAL_ALL);
    char *db = pgt_create_migrated_db();
    PGconn *c = pgt_connect(db);
    pgt_exec(c, "INSERT INTO provider_keys (provider, label, plan, secret_ref, webhook_secret_ref) "
                "VALUES ('jestha', 'je', 'default', 'env:JK', 'env:PP_STORM_WHSEC'), "
                "('postlark', 'pl', 'scale', 'env:PK', 'env:PP_STORM_WHSEC')");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
             "SELECT 1 + g %% 2, '{acct}', 'storm post ' || g, now() FROM generate_series(1, %d) g",
             TARGETS);
    pgt_exec(c, sql);
    pgt_exec(c, "UPDATE post_targets SET status = 'submitted', attempts = 1");

    char *envs[] = {"PP_STORM_WHSEC=" SECRET, "POSTPACE_SCHEDULER=0", "POSTPACE_HTTP_THREADS=2",
                    "POSTPACE_WEBHOOK_WRITERS=3", NULL};
    static struct proc server;
    int port = proc_serve(&server, db, envs);
    assert_true(port > 0);

    /* Each target's events, then the duplicates, then a seeded shuffle. */
    static struct storm s;
    memset(&s, 0, sizeof s);
    s.d = calloc(TARGETS * 4, sizeof *s.d);
    PGresult *r = PQexec(c, "SELECT t.idempotency_key, k.provider FROM post_targets t "
                            "JOIN provider_keys k ON k.id = t.provider_key_id ORDER BY t.id");
    assert_int_equal(PQntuples(r), TARGETS);
    int want_published = 0, want_failed = 0;
    for (int i = 0; i < TARGETS; i++) {
        int roll = ffx_rand(0, 99);
        enum fate fate = roll < 60 ? PUBLISHED_ONLY : roll < 85 ? BOTH : FAILED_ONLY;
        const char *ref = PQgetvalue(r, i, 0), *prov = PQgetvalue(r, i, 1);
        if (fate != FAILED_ONLY)
            add(&s, port, prov, "post.published", ref, i);
        if (fate != PUBLISHED_ONLY)
            add(&s, port, prov, "post.failed", ref, i);
        if (fate == FAILED_ONLY)
            want_failed++;
        else
            want_published++;
    }
    PQclear(r);
    int unique = s.n;
    for (int i = 0; i < unique; i++)
        if (ffx_rand(0, 99) < DUP_PERCENT)
            s.d[s.n++] = s.d[i];
    int dups = s.n - unique;
    for (int i = s.n - 1; i > 0; i--) {
        int j = ffx_rand(0, i);
        struct delivery tmp = s.d[i];
        s.d[i] = s.d[j];
        s.d[j] = tmp;
    }

    long t0 = ffx_now_ms();
    pthread_t th[SENDERS];
    for (int i = 0; i < SENDERS; i++)
        pthread_create(&th[i], NULL, sender_main, &s);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(th[i], NULL);
    long ms = ffx_now_ms() - t0;

    r = PQexec(c,
               "SELECT (SELECT count(*) FROM webhook_events), "
               "(SELECT count(*) FROM webhook_events WHERE applied_at IS NOT NULL), "
               "(SELECT count(*) FROM post_targets WHERE status = 'published'), "
               "(SELECT count(*) FROM post_targets WHERE status = 'failed' "
               "  AND last_error ->> 'source' = 'webhook'), "
               "(SELECT count(*) FROM post_targets WHERE status NOT IN ('published', 'failed'))");
    long stored = atol(PQgetvalue(r, 0, 0)), applied = atol(PQgetvalue(r, 0, 1)),
         published = atol(PQgetvalue(r, 0, 2)), failed = atol(PQgetvalue(r, 0, 3)),
         left = atol(PQgetvalue(r, 0, 4));
    PQclear(r);
    int ok = stored == unique && applied == unique && published == want_published &&
             failed == want_failed && left == 0 && atomic_load(&s.accepted) == unique &&
             atomic_load(&s.duplicate) == dups && atomic_load(&s.other) == 0;
    printf("webhook_storm: verdict %s: seed=%u deliveries=%d (events=%d, duplicates=%d) over %d "
           "senders in %ld ms (%.0f/s); answered accepted=%d duplicate=%d other=%d; stored=%ld "
           "applied=%ld; targets published=%ld/%d failed=%ld/%d unsettled=%ld\n",
           ok ? "PASS" : "FAIL", seed, s.n, unique, dups, SENDERS, ms,
           ms > 0 ? 1000.0 * s.n / (double)ms : 0.0, atomic_load(&s.accepted),
           atomic_load(&s.duplicate), atomic_load(&s.other), stored, applied, published,
           want_published, failed, want_failed, left);
    assert_int_equal(atomic_load(&s.other), 0);
    assert_int_equal(atomic_load(&s.accepted), unique);
    assert_int_equal(atomic_load(&s.duplicate), dups);
    assert_int_equal(stored, unique);
    assert_int_equal(applied, unique);
    assert_int_equal(published, want_published);
    assert_int_equal(failed, want_failed);
    assert_int_equal(left, 0);

    kill(server.pid, SIGTERM);
    assert_int_equal(proc_wait(&server), 0);
    free(s.d);
    PQfinish(c);
    pgt_drop_db(db);
    curl_global_cleanup();
}

/* Senders that keep delivering until the daemon stops answering. */
struct siege {
    char url[128];
    atomic_int next, accepted, refused, stop;
    int limit;
    atomic_int ids[SENDERS * 4096];
};

static void *siege_main(void *arg)
{
    struct siege *s = arg;
    for (int i; !atomic_load(&s->stop) && (i = atomic_fetch_add(&s->next, 1)) < s->limit;) {
        char id[48], body[384], resp[256];
        snprintf(id, sizeof id, "siege-%d", i);
        wh_event(body, sizeof body, "post.published", "no-such-reference", NULL, NULL);
        long st = wh_send(s->url, SECRET, id, 0, body, resp, sizeof resp);
        if (st == 200)
            atomic_store(&s->ids[atomic_fetch_add(&s->accepted, 1)], i);
        else if (st <= 0)
            atomic_fetch_add(&s->refused, 1); /* the daemon has closed its listener */
    }
    return NULL;
}

/*
 * SIGTERM while webhooks keep arriving on both loops: the daemon stops
 * accepting, answers or refuses what is in flight, frees the intake only
 * after the loops are gone, and exits 0 (under ASan a use-after-free or a
 * leak would make it exit non-zero). Every delivery answered 200 is stored.
 */
static void test_sigterm_during_a_storm_exits_cleanly_and_loses_nothing_accepted(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_ALL);
    char *db = pgt_create_migrated_db();
    PGconn *c = pgt_connect(db);
    pgt_exec(c, "INSERT INTO provider_keys (provider, label, plan, secret_ref, webhook_secret_ref) "
                "VALUES ('jestha', 'je', 'default', 'env:JK', 'env:PP_STORM_WHSEC')");
    char *envs[] = {"PP_STORM_WHSEC=" SECRET, "POSTPACE_SCHEDULER=0", "POSTPACE_HTTP_THREADS=2",
                    "POSTPACE_WEBHOOK_WRITERS=2", NULL};
    static struct proc server;
    int port = proc_serve(&server, db, envs);
    assert_true(port > 0);

    static struct siege s;
    memset(&s, 0, sizeof s);
    s.limit = SENDERS * 4096;
    snprintf(s.url, sizeof s.url, "http://127.0.0.1:%d/webhooks/jestha", port);
    pthread_t th[SENDERS];
    for (int i = 0; i < SENDERS; i++)
        pthread_create(&th[i], NULL, siege_main, &s);
    /* Stop once the storm is well under way, and let it go on meanwhile. */
    assert_int_equal(pgt_await(c, "SELECT (count(*) >= 300)::int FROM webhook_events"), 1);
    kill(server.pid, SIGTERM);
    int rc = proc_wait(&server);
    atomic_store(&s.stop, 1);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(th[i], NULL);

    int accepted = atomic_load(&s.accepted), lost = 0;
    for (int i = 0; i < accepted; i++) {
        char id[48];
        snprintf(id, sizeof id, "siege-%d", atomic_load(&s.ids[i]));
        const char *p[] = {id};
        PGresult *r = PQexecParams(c, "SELECT count(*) FROM webhook_events WHERE event_id = $1", 1,
                                   NULL, p, NULL, NULL, 0);
        lost += atoi(PQgetvalue(r, 0, 0)) != 1;
        PQclear(r);
    }
    printf("webhook_storm: sigterm verdict %s: sent=%d accepted=%d refused_after_stop=%d "
           "lost=%d exit=%d\n",
           rc == 0 && lost == 0 ? "PASS" : "FAIL", atomic_load(&s.next), accepted,
           atomic_load(&s.refused), lost, rc);
    char *log = ffx_log(&server);
    if (rc != 0)
        fprintf(stderr, "%s\n", log);
    free(log);
    assert_int_equal(rc, 0);
    assert_int_equal(lost, 0);
    PQfinish(c);
    pgt_drop_db(db);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storm_with_duplicates_and_reordering_applies_each_event_once),
        cmocka_unit_test(test_sigterm_during_a_storm_exits_cleanly_and_loses_nothing_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
