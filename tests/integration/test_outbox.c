/*
 * Status changes pushed to the application (issue #24), end to end against
 * the simulator: the postpace_status NOTIFY channel carries each target
 * status change exactly once, and nothing else; outgoing webhooks reach a
 * subscriber that fails its first tries and then is down for a while, every
 * event at least once, under a stable id, signed, none invented; a dead
 * delivery is listed and replayed.
 *
 * The oracle is a row trigger the test adds: it logs every status change
 * the drain makes, independently of the statement trigger under test.
 */
#include <jansson.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "drainfx.h"
#include "pgtest.h"
#include "proc.h"
#include "subscriber.h"

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/* Waits (bounded: 60 s) until the SQL count reaches at least `want`. */
static int await_count(struct drainfx *f, const char *sql, long want)
{
    for (int i = 0; i < 600; i++) {
        if (drainfx_count(f, sql) >= want)
            return 0;
        usleep(100 * 1000);
    }
    drainfx_dump(f);
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every "target:old:new" of the oracle, sorted. */
static char **oracle_changes(struct drainfx *f, size_t *n)
{
    PGresult *r = PQexec(f->conn, "SELECT target_id || ':' || old || ':' || new FROM test_changes");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    *n = (size_t)PQntuples(r);
    char **v = calloc(*n + 1, sizeof *v);
    for (size_t i = 0; i < *n; i++)
        v[i] = strdup(PQgetvalue(r, (int)i, 0));
    PQclear(r);
    qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void test_every_status_change_is_notified_exactly_once(void **state)
{
    (void)state;
    struct drainfx f;
    assert_int_equal(drainfx_setup_scaled(&f, 60), 0);
    sub_add_oracle(f.conn);
    PGconn *listener = PQconnectdb(f.db);
    assert_int_equal(PQstatus(listener), CONNECTION_OK);
    pgt_exec(listener, "LISTEN postpace_status");

    assert_int_equal(drainfx_start(&f, 0, NULL), 0);
    drainfx_posts(&f, "pe", 30, "{pe-a,pe-b}", 0);
    drainfx_posts(&f, "fh", 40, "{x,y,z}", 0);
    drainfx_posts(&f, "je", 20, "{main}", 0);
    assert_int_equal(drainfx_await_settled(&f, 120), 0);
    /* A write that changes no status announces nothing. */
    pgt_exec(f.conn, "UPDATE post_targets SET updated_at = now()");
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);

    size_t want;
    char **expected = oracle_changes(&f, &want);
    assert_true(want >= 90 * 3);
    /* Gather the notifications until they cover the oracle (bounded). */
    size_t cap = want * 2 + 16, got = 0, notifies = 0;
    char **seen = calloc(cap, sizeof *seen);
    for (int round = 0; round < 300 && got < want; round++) {
        PQclear(PQexec(listener, "SELECT 1"));
        PQconsumeInput(listener);
        PGnotify *n;
        while ((n = PQnotifies(listener))) {
            notifies++;
            assert_string_equal(n->relname, "postpace_status");
            assert_true(strlen(n->extra) < 8000);
            json_error_t jerr;
            json_t *arr = json_loads(n->extra, 0, &jerr);
            assert_non_null(arr);
            assert_true(json_is_array(arr));
            size_t i;
            json_t *it;
            json_array_foreach(arr, i, it)
            {
                char item[128];
                snprintf(item, sizeof item, "%lld:%s:%s",
                         (long long)json_integer_value(json_object_get(it, "target_id")),
                         json_string_value(json_object_get(it, "old")),
                         json_string_value(json_object_get(it, "new")));
                /* The post, its external id and the account are the target's. */
                char q[512];
                snprintf(q, sizeof q,
                         "SELECT count(*) FROM post_targets t JOIN posts p ON p.id = t.post_id "
                         "WHERE t.id = %lld AND p.id = %lld AND p.external_id = '%s' AND "
                         "t.account_id = '%s'",
                         (long long)json_integer_value(json_object_get(it, "target_id")),
                         (long long)json_integer_value(json_object_get(it, "post_id")),
                         json_string_value(json_object_get(it, "external_id")),
                         json_string_value(json_object_get(it, "account")));
                assert_int_equal(drainfx_count(&f, q), 1);
                assert_true(got < cap);
                seen[got++] = strdup(item);
            }
            json_decref(arr);
            PQfreemem(n);
        }
        if (got < want) {
            struct pollfd p = {PQsocket(listener), POLLIN, 0};
            poll(&p, 1, 100);
        }
    }
    qsort(seen, got, sizeof *seen, cmp_str);
    printf("notify: %zu status changes in %zu notifications\n", got, notifies);
    assert_int_equal(got, want);
    for (size_t i = 0; i < want; i++)
        assert_string_equal(seen[i], expected[i]);
    /* Batched per statement: far fewer notifications than changes. */
    assert_true(notifies < want);
    free_strs(seen, got);
    free_strs(expected, want);
    PQfinish(listener);
    drainfx_teardown(&f);
}

static void add_subscription(struct drainfx *f, int port, const char *events)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO subscriptions (url, secret_ref, event_types) VALUES "
             "('http://127.0.0.1:%d/hooks', 'env:TEST_APP_WHSEC', '%s')",
             port, events);
    pgt_exec(f->conn, sql);
}

static void test_outgoing_webhooks_survive_failures_and_an_outage(void **state)
{
    (void)state;
    struct drainfx f;
    struct subscriber sub;
    assert_int_equal(sub_start(&sub, 1), 0);
    assert_int_equal(drainfx_setup_scaled(&f, 60), 0);
    sub_add_oracle(f.conn);
    add_subscription(&f, sub.port, "{}");
    sub_fail_first(&sub, 5);
    char *env[] = {"TEST_APP_WHSEC=" WHSEC, "POSTPACE_OUTBOX_BACKOFF_MS=50",
                   "POSTPACE_OUTBOX_BACKOFF_MAX_MS=400", "POSTPACE_OUTBOX_TIMEOUT_MS=2000", NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    drainfx_posts(&f, "pe", 10, "{pe-a,pe-b}", 0);
    drainfx_posts(&f, "je", 10, "{main}", 0);
    assert_int_equal(sub_await_ok(&sub, 3, 60), 0);
    /* Down for a while: until tries have met a refused connection. */
    sub_set_down(&sub, 1);
    drainfx_posts(&f, "fh", 20, "{x,y}", 0);
    assert_int_equal(await_count(&f,
                                 "SELECT count(*) FROM outbox WHERE state = 'pending' AND "
                                 "attempts >= 2 AND last_status IS NULL AND last_error IS NOT NULL",
                                 5),
                     0);
    sub_set_down(&sub, 0);
    assert_int_equal(drainfx_await_settled(&f, 120), 0);
    long events = drainfx_count(&f, "SELECT count(*) FROM outbox");
    assert_int_equal(sub_await_ok(&sub, (size_t)events, 60), 0);
    assert_int_equal(await_count(&f, "SELECT count(*) FROM outbox WHERE state = 'delivered'",
                                 events),
                     0);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    sub_check_deliveries(&f, &sub, WHSEC);
    assert_true(sub.requests > (size_t)events); /* the failures were retried */
    drainfx_teardown(&f);
    sub_stop(&sub);
}

static void test_a_dead_delivery_is_listed_and_replayed(void **state)
{
    (void)state;
    struct drainfx f;
    struct subscriber sub;
    assert_int_equal(sub_start(&sub, 1), 0);
    assert_int_equal(drainfx_setup_scaled(&f, 60), 0);
    sub_add_oracle(f.conn);
    add_subscription(&f, sub.port, "{post.published}");
    sub_set_down(&sub, 1);
    char *env[] = {"TEST_APP_WHSEC=" WHSEC, "POSTPACE_OUTBOX_BACKOFF_MS=20",
                   "POSTPACE_OUTBOX_BACKOFF_MAX_MS=50", "POSTPACE_OUTBOX_RETRY_FOR_MS=300", NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    drainfx_posts(&f, "je", 5, "{main}", 0);
    assert_int_equal(drainfx_await_settled(&f, 60), 0);
    assert_int_equal(await_count(&f, "SELECT count(*) FROM outbox WHERE state = 'dead'", 5), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM outbox"), 5);

    char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", f.db);
    char *cenv[] = {env_db, NULL};
    struct proc p;
    char *list[] = {(char *)pgt_postpace_bin(), "deliveries", "--state", "dead", NULL};
    assert_int_equal(proc_run(&p, list, cenv), 0);
    assert_non_null(strstr(p.out, "post.published"));
    assert_non_null(strstr(p.out, "dead"));

    sub_set_down(&sub, 0);
    char *replay[] = {(char *)pgt_postpace_bin(), "deliveries", "replay", "--dead", NULL};
    assert_int_equal(proc_run(&p, replay, cenv), 0);
    assert_non_null(strstr(p.out, "replayed 5"));
    assert_int_equal(sub_await_ok(&sub, 5, 60), 0);
    assert_int_equal(await_count(&f, "SELECT count(*) FROM outbox WHERE state = 'delivered'", 5),
                     0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions WHERE actor = 'cli' "
                                       "AND action = 'replay'"),
                     1);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    sub_check_deliveries(&f, &sub, WHSEC);
    drainfx_teardown(&f);
    sub_stop(&sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_status_change_is_notified_exactly_once),
        cmocka_unit_test(test_outgoing_webhooks_survive_failures_and_an_outage),
        cmocka_unit_test(test_a_dead_delivery_is_listed_and_replayed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
