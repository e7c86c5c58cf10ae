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

/* A calendar with the simulator at time scale 60, the oracle, and a recording subscriber. */
static void setup(struct drainfx *f, struct subscriber *sub)
{
    assert_int_equal(sub_start(sub, 1), 0);
    assert_int_equal(drainfx_setup_scaled(f, 60), 0);
    sub_add_oracle(f->conn);
}

static void teardown(struct drainfx *f, struct subscriber *sub)
{
    drainfx_teardown(f);
    sub_stop(sub);
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
    setup(&f, &sub);
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
    assert_int_equal(
        drainfx_await_count(&f,
                            "SELECT count(*) FROM outbox WHERE state = 'pending' AND "
                            "attempts >= 2 AND last_status IS NULL AND last_error IS NOT NULL",
                            5),
        0);
    sub_set_down(&sub, 0);
    assert_int_equal(drainfx_await_settled(&f, 120), 0);
    long events = drainfx_count(&f, "SELECT count(*) FROM outbox");
    assert_int_equal(sub_await_ok(&sub, (size_t)events, 60), 0);
    assert_int_equal(
        drainfx_await_count(&f, "SELECT count(*) FROM outbox WHERE state = 'delivered'", events),
        0);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    sub_check_deliveries(&f, &sub, WHSEC);
    assert_true(sub.requests > (size_t)events); /* the failures were retried */
    teardown(&f, &sub);
}

static void test_a_dead_delivery_is_listed_and_replayed(void **state)
{
    (void)state;
    struct drainfx f;
    struct subscriber sub;
    setup(&f, &sub);
    char env_db[1024], url[64];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", f.db);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks", sub.port);
    char *cenv[] = {env_db, NULL};
    struct proc p;
    /* Subscribed by the CLI; bad usage is named. */
    char *nourl[] = {(char *)pgt_postpace_bin(), "subscribe", "--secret-ref", "env:X", NULL};
    assert_int_equal(proc_run(&p, nourl, cenv), 2);
    assert_non_null(strstr(p.out, "--url"));
    char *badev[] = {(char *)pgt_postpace_bin(), "subscribe", "--url", url, "--secret-ref",
                     "env:X", "--events", "post.nope", NULL};
    assert_int_equal(proc_run(&p, badev, cenv), 2);
    assert_non_null(strstr(p.out, "--events: unknown event type \"post.nope\""));
    char *subscribe[] = {(char *)pgt_postpace_bin(), "subscribe", "--url", url, "--secret-ref",
                         "env:TEST_APP_WHSEC", "--events", "post.published", NULL};
    assert_int_equal(proc_run(&p, subscribe, cenv), 0);
    assert_non_null(strstr(p.out, "subscription 1"));
    sub_set_down(&sub, 1);
    char *env[] = {"TEST_APP_WHSEC=" WHSEC, "POSTPACE_OUTBOX_BACKOFF_MS=20",
                   "POSTPACE_OUTBOX_BACKOFF_MAX_MS=50", "POSTPACE_OUTBOX_RETRY_FOR_MS=300", NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    drainfx_posts(&f, "je", 5, "{main}", 0);
    assert_int_equal(drainfx_await_settled(&f, 60), 0);
    assert_int_equal(drainfx_await_count(&f, "SELECT count(*) FROM outbox WHERE state = 'dead'", 5),
                     0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM outbox"), 5);
    char *subs[] = {(char *)pgt_postpace_bin(), "subscriptions", NULL};
    assert_int_equal(proc_run(&p, subs, cenv), 0);
    assert_non_null(strstr(p.out, "pending=0 delivered=0 dead=5"));
    char *list[] = {(char *)pgt_postpace_bin(), "deliveries", "--state", "dead", NULL};
    assert_int_equal(proc_run(&p, list, cenv), 0);
    assert_non_null(strstr(p.out, "post.published"));
    assert_non_null(strstr(p.out, "dead"));

    sub_set_down(&sub, 0);
    char *replay[] = {(char *)pgt_postpace_bin(), "deliveries", "replay", "--dead", NULL};
    assert_int_equal(proc_run(&p, replay, cenv), 0);
    assert_non_null(strstr(p.out, "replayed 5"));
    assert_int_equal(sub_await_ok(&sub, 5, 60), 0);
    assert_int_equal(
        drainfx_await_count(&f, "SELECT count(*) FROM outbox WHERE state = 'delivered'", 5), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions WHERE actor = 'cli' "
                                       "AND action IN ('subscribe', 'replay')"),
                     2);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    sub_check_deliveries(&f, &sub, WHSEC);
    char *unsub[] = {(char *)pgt_postpace_bin(), "unsubscribe", "--id", "1", NULL};
    assert_int_equal(proc_run(&p, unsub, cenv), 0);
    assert_int_equal(proc_run(&p, unsub, cenv), 1);
    assert_non_null(strstr(p.out, "no subscription 1"));
    teardown(&f, &sub);
}

/* A request to daemon 0's API with the test's token; the status. */
static long api(struct drainfx *f, const char *method, const char *path, const char *json,
                char *out, size_t size)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->ports[0], path);
    const char *headers[] = {"Content-Type: application/json",
                             "Authorization: Bearer token-one-0123456789", NULL};
    return http_request(method, url, headers, json, json ? strlen(json) : 0, out, size);
}

static void test_the_api_subscribes_lists_replays_and_names_bad_requests(void **state)
{
    (void)state;
    struct drainfx f;
    struct subscriber sub;
    setup(&f, &sub);
    char *env[] = {"TEST_APP_WHSEC=" WHSEC, "POSTPACE_API_TOKENS=token-one-0123456789",
                   "POSTPACE_OUTBOX_BACKOFF_MS=20", "POSTPACE_OUTBOX_BACKOFF_MAX_MS=50",
                   "POSTPACE_OUTBOX_RETRY_FOR_MS=200", NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    char body[65536], json[512];

    /* Bad requests are named, and change nothing. */
    const struct {
        const char *json, *field;
    } bad[] = {
        {"{\"secret_ref\": \"env:X\"}", "\"url\""},
        {"{\"url\": \"ftp://x\", \"secret_ref\": \"env:X\"}", "\"url\""},
        {"{\"url\": \"http://x\", \"secret_ref\": \"whsec_abc\"}", "\"secret_ref\""},
        {"{\"url\": \"http://x\", \"secret_ref\": \"env:X\", \"events\": [\"post.nope\"]}",
         "\"events\""},
        {"{\"url\": \"http://x\", \"secret_ref\": \"env:X\", \"provider\": \"nope\"}",
         "\"provider\""},
        {"{\"url\": \"http://x\", \"secret_ref\": \"env:X\", \"key\": \"nosuch\"}", "\"key\""},
        {"{\"url\": \"http://x\", \"secret_ref\": \"env:X\", \"bogus\": 1}", "\"bogus\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        long st = api(&f, "POST", "/v1/subscriptions", bad[i].json, body, sizeof body);
        if (st != 422 || !strstr(body, bad[i].field))
            fprintf(stderr, "subscribe %s: %ld %s\n", bad[i].json, st, body);
        assert_int_equal(st, 422);
        assert_non_null(strstr(body, bad[i].field));
    }
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM subscriptions"), 0);

    /* Only je's published posts, to a subscriber that is down: they die. */
    sub_set_down(&sub, 1);
    snprintf(json, sizeof json,
             "{\"url\": \"http://127.0.0.1:%d/h\", \"secret_ref\": \"env:TEST_APP_WHSEC\", "
             "\"events\": [\"post.published\"], \"key\": \"je\"}",
             sub.port);
    assert_int_equal(api(&f, "POST", "/v1/subscriptions", json, body, sizeof body), 201);
    drainfx_posts(&f, "je", 3, "{main}", 0);
    drainfx_posts(&f, "pe", 3, "{pe-a}", 0);
    assert_int_equal(drainfx_await_settled(&f, 60), 0);
    assert_int_equal(drainfx_await_count(&f, "SELECT count(*) FROM outbox WHERE state = 'dead'", 3),
                     0);
    assert_int_equal(api(&f, "GET", "/v1/deliveries?state=dead", NULL, body, sizeof body), 200);
    json_t *list = json_loads(body, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(list, "deliveries")), 3);
    json_decref(list);
    assert_int_equal(api(&f, "GET", "/v1/deliveries?state=lost", NULL, body, sizeof body), 422);
    assert_non_null(strstr(body, "\"state\""));
    assert_int_equal(api(&f, "GET", "/v1/subscriptions", NULL, body, sizeof body), 200);
    assert_non_null(strstr(body, "\"dead\":3"));
    /* A post shows its deliveries. */
    char path[64];
    snprintf(path, sizeof path, "/v1/posts/%ld",
             drainfx_count(&f, "SELECT min(post_id) FROM outbox"));
    assert_int_equal(api(&f, "GET", path, NULL, body, sizeof body), 200);
    assert_non_null(strstr(body, "\"deliveries\":[{"));
    assert_non_null(strstr(body, "\"type\":\"post.published\""));

    assert_int_equal(api(&f, "POST", "/v1/deliveries/replay", "{}", body, sizeof body), 422);
    assert_int_equal(api(&f, "POST", "/v1/deliveries/replay", "{\"id\": 999999}", body, sizeof body),
                     404);
    sub_set_down(&sub, 0);
    assert_int_equal(api(&f, "POST", "/v1/deliveries/replay", "{\"dead\": true}", body, sizeof body),
                     200);
    assert_non_null(strstr(body, "\"replayed\":3"));
    assert_int_equal(sub_await_ok(&sub, 3, 60), 0);
    assert_int_equal(
        drainfx_await_count(&f, "SELECT count(*) FROM outbox WHERE state = 'delivered'", 3), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions WHERE actor = "
                                       "'api:token-1' AND action IN ('subscribe', 'replay')"),
                     2);
    assert_int_equal(api(&f, "DELETE", "/v1/subscriptions/1", NULL, body, sizeof body), 200);
    assert_int_equal(api(&f, "DELETE", "/v1/subscriptions/1", NULL, body, sizeof body), 404);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM outbox"), 0);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    teardown(&f, &sub);
}

static void test_key_events_pause_and_a_spent_quota_are_delivered_once(void **state)
{
    (void)state;
    struct drainfx f;
    struct subscriber sub;
    setup(&f, &sub);
    add_subscription(&f, sub.port, "{key.paused,key.quota_exhausted}");
    /* A lifetime quota of 3 posts on pl (stricter than the simulator's). */
    pgt_exec(f.conn, "INSERT INTO rate_limits (provider, key_id, scope, route, kind, max_units, "
                     "cost) SELECT 'postlark', id, 'account', 'POST /posts', 'lifetime', 3, "
                     "'post' FROM provider_keys WHERE label = 'pl'");
    char *env[] = {"TEST_APP_WHSEC=" WHSEC, NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    drainfx_posts(&f, "pl", 6, "{blog1}", 0);
    assert_int_equal(drainfx_await_settled(&f, 60), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'failed' AND last_error->>'code' = 'quota_exhausted'"),
                     3);
    pgt_exec(f.conn, "UPDATE provider_keys SET paused_at = now() WHERE label = 'je'");
    assert_int_equal(sub_await_ok(&sub, 2, 60), 0);
    /* More housekeeping passes go by: the quota is not announced again. */
    drainfx_posts(&f, "pl", 2, "{blog1}", 0);
    assert_int_equal(drainfx_await_settled(&f, 60), 0);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM outbox WHERE event_type = "
                                       "'key.quota_exhausted' AND data->>'key' = 'pl' AND "
                                       "data->'until' = 'null' AND "
                                       "data->'window'->>'kind' = 'lifetime'"),
                     1);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM outbox WHERE event_type = "
                                       "'key.paused' AND data->>'key' = 'je'"),
                     1);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM outbox"), 2);
    pthread_mutex_lock(&sub.lock);
    int quota = 0, paused = 0;
    for (size_t i = 0; i < sub.nmsgs; i++) {
        quota += strstr(sub.msgs[i].body, "\"type\": \"key.quota_exhausted\"") != NULL;
        paused += strstr(sub.msgs[i].body, "\"type\": \"key.paused\"") != NULL;
    }
    pthread_mutex_unlock(&sub.lock);
    assert_int_equal(quota, 1);
    assert_int_equal(paused, 1);
    teardown(&f, &sub);
}

/* A change whose ids are long is announced without them; a big statement in several arrays. */
static void test_long_items_are_truncated_and_big_statements_split(void **state)
{
    (void)state;
    char *db = pgt_create_migrated_db();
    PGconn *c = pgt_connect(db), *listener = pgt_connect(db);
    pgt_exec(listener, "LISTEN postpace_status");
    pgt_exec(c, "INSERT INTO provider_keys (provider, label, secret_ref) VALUES ('jestha', 'je', "
                "'env:X')");
    pgt_exec(c, "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) SELECT 1, "
                "'{main}', 'post ' || g, now() + interval '1 day' FROM generate_series(1, 300) g");
    pgt_exec(
        c,
        "UPDATE post_targets SET status = 'submitted', provider_post_id = CASE WHEN id = 7 * 128 "
        "THEN repeat('x', 2000) ELSE 'p' || id END");
    PQclear(PQexec(listener, "SELECT 1"));
    int notes = 0, items = 0, truncated = 0;
    for (int round = 0; round < 100 && items < 300; round++) {
        PQconsumeInput(listener);
        PGnotify *n;
        while ((n = PQnotifies(listener))) {
            assert_true(strlen(n->extra) < 8000);
            json_t *arr = json_loads(n->extra, 0, NULL);
            assert_true(json_is_array(arr));
            size_t i;
            json_t *it;
            json_array_foreach(arr, i, it)
            {
                items++;
                if (json_is_true(json_object_get(it, "truncated"))) {
                    truncated++;
                    assert_int_equal(json_integer_value(json_object_get(it, "target_id")), 7 * 128);
                    assert_null(json_object_get(it, "provider_post_id"));
                    assert_string_equal(json_string_value(json_object_get(it, "new")), "submitted");
                }
            }
            json_decref(arr);
            PQfreemem(n);
            notes++;
        }
        if (items < 300) {
            struct pollfd p = {PQsocket(listener), POLLIN, 0};
            poll(&p, 1, 100);
        }
    }
    printf("notify: 300 changes of one statement in %d notifications\n", notes);
    assert_int_equal(items, 300);
    assert_int_equal(truncated, 1);
    assert_true(notes > 1);
    PQfinish(listener);
    PQfinish(c);
    pgt_drop_db(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_status_change_is_notified_exactly_once),
        cmocka_unit_test(test_long_items_are_truncated_and_big_statements_split),
        cmocka_unit_test(test_outgoing_webhooks_survive_failures_and_an_outage),
        cmocka_unit_test(test_a_dead_delivery_is_listed_and_replayed),
        cmocka_unit_test(test_the_api_subscribes_lists_replays_and_names_bad_requests),
        cmocka_unit_test(test_key_events_pause_and_a_spent_quota_are_delivered_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
