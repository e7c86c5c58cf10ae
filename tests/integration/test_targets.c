/*
 * Operator control of targets without SQL (issue #24): `POST
 * /v1/targets/retry` sends failed targets exactly once more when nothing the
 * provider did could have created a post, refuses those at risk unless
 * forced, and a dry run changes nothing; `postpace cancel` cancels scheduled
 * targets by filter and refuses those in flight. Every action is recorded in
 * operator_actions. Against the bundled simulator, over loopback HTTP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "drainfx.h"
#include "pgtest.h"
#include "proc.h"

#define TOKEN "token-one-0123456789"

/* Waits (bounded: 30 s) until the SQL count is exactly `want`. */
static int await_count(struct drainfx *f, const char *sql, long want)
{
    for (int i = 0; i < 300; i++) {
        if (drainfx_count(f, sql) == want)
            return 0;
        usleep(100 * 1000);
    }
    fprintf(stderr, "await_count: %s is %ld, not %ld\n", sql, drainfx_count(f, sql), want);
    drainfx_dump(f);
    return -1;
}

/* POSTs a JSON body to daemon 0 with the token; the answer parsed into *doc (may be NULL). */
static long post(struct drainfx *f, const char *path, const char *json, json_t **doc)
{
    char url[128], body[65536];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->ports[0], path);
    const char *headers[] = {"Content-Type: application/json", "Authorization: Bearer " TOKEN, NULL};
    long st = http_request("POST", url, headers, json, strlen(json), body, sizeof body);
    if (doc) {
        *doc = json_loads(body, 0, NULL);
        if (!*doc)
            fprintf(stderr, "%s: not JSON: %s\n", path, body);
    }
    return st;
}

static long member(const json_t *doc, const char *name)
{
    return (long)json_integer_value(json_object_get(doc, name));
}

/* The listed target `id`'s member `name` ("action", "reason", "status"), or NULL. */
static const char *target_field(const json_t *doc, long id, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "targets"), i, t) {
        if (json_integer_value(json_object_get(t, "id")) == id)
            return json_string_value(json_object_get(t, name));
    }
    return NULL;
}

/* Jestha refuses media without a type and size: 400, nothing created. */
static void add_refused_posts(struct drainfx *f, int n)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (provider_key_id, account_ids, content, media, scheduled_at) "
             "SELECT k.id, '{main}', 'refused ' || g, '[{\"url\": \"https://x.test/a.png\"}]', "
             "now() FROM provider_keys k, generate_series(1, %d) g WHERE k.label = 'je'",
             n);
    pgt_exec(f->conn, sql);
}

static const char *je_failed = "SELECT count(*) FROM post_targets t JOIN provider_keys k ON "
                               "k.id = t.provider_key_id WHERE k.label = 'je' AND "
                               "t.status = 'failed'";

static void test_retry_sends_refused_targets_once_more_and_refuses_the_unsafe(void **state)
{
    (void)state;
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    char *env[] = {"POSTPACE_API_TOKENS=" TOKEN, NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);

    /* An unsafe failure: FeedHorizon created the post, then its webhook said post.failed. */
    assert_int_equal(sim_ctl_faults(&f.sim, "{\"webhook_fail_ratio\":1}"), 0);
    drainfx_posts(&f, "fh", 1, "{twitter}", 0);
    assert_int_equal(await_count(&f, "SELECT count(*) FROM post_targets WHERE status = 'failed' "
                                     "AND provider_post_id IS NOT NULL",
                                 1),
                     0);
    long unsafe = drainfx_count(&f, "SELECT id FROM post_targets WHERE status = 'failed'");
    assert_int_equal(sim_ctl_faults(&f.sim, "{\"webhook_fail_ratio\":0}"), 0);

    /* Safe failures: five Jestha posts refused with a 400 before anything was created. */
    add_refused_posts(&f, 5);
    assert_int_equal(await_count(&f, je_failed, 5), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM attempts a JOIN provider_keys k ON "
                                       "k.id = a.provider_key_id WHERE k.label = 'je' AND "
                                       "a.http_status = 400"),
                     5);
    /* The operator fixes the media (nothing was sent that a PATCH could still change). */
    pgt_exec(f.conn, "UPDATE posts SET media = '[]' WHERE content LIKE 'refused %'");

    /* A dry run lists and counts, and changes nothing. */
    json_t *doc;
    assert_int_equal(post(&f, "/v1/targets/retry", "{\"key\": \"je\", \"dry_run\": true}", &doc),
                     200);
    assert_true(json_is_true(json_object_get(doc, "dry_run")));
    assert_int_equal(member(doc, "matched"), 5);
    assert_int_equal(member(doc, "done"), 5);
    assert_int_equal(json_array_size(json_object_get(doc, "targets")), 5);
    json_decref(doc);
    assert_int_equal(drainfx_count(&f, je_failed), 5);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions"), 0);

    /* Retried: each is sent exactly once more, and goes out. */
    assert_int_equal(post(&f, "/v1/targets/retry", "{\"provider\": \"jestha\"}", &doc), 200);
    assert_false(json_is_true(json_object_get(doc, "dry_run")));
    assert_int_equal(member(doc, "done"), 5);
    json_decref(doc);
    assert_int_equal(await_count(&f, "SELECT count(*) FROM post_targets t JOIN provider_keys k ON "
                                     "k.id = t.provider_key_id WHERE k.label = 'je' AND "
                                     "t.status = 'published'",
                                 5),
                     0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets t JOIN provider_keys k "
                                       "ON k.id = t.provider_key_id WHERE k.label = 'je' AND "
                                       "(SELECT count(*) FROM attempts a WHERE t.id = ANY "
                                       "(a.target_ids)) = 2"),
                     5);
    json_t *st = sim_ctl_stats(&f.sim);
    assert_int_equal(sim_ctl_stat(st, "jestha", "created"), 5);
    assert_int_equal(sim_ctl_total(st, "duplicates"), 0);
    json_decref(st);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions WHERE actor = "
                                       "'api:token-1' AND action = 'retry' AND "
                                       "subject->>'provider' = 'jestha' AND "
                                       "jsonb_array_length(subject->'target_ids') = 5"),
                     1);

    /* The unsafe one is refused, saying why, and stays failed. */
    char body[128];
    snprintf(body, sizeof body, "{\"target_id\": %ld}", unsafe);
    assert_int_equal(post(&f, "/v1/targets/retry", body, &doc), 200);
    assert_int_equal(member(doc, "matched"), 1);
    assert_int_equal(member(doc, "done"), 0);
    assert_string_equal(target_field(doc, unsafe, "action"), "refused");
    assert_non_null(strstr(target_field(doc, unsafe, "reason"), "double-post risk"));
    json_decref(doc);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = 'failed'"),
                     1);

    /* Forced, it goes: the provider now holds the post twice, as the refusal warned. */
    snprintf(body, sizeof body, "{\"target_id\": %ld, \"force\": true}", unsafe);
    assert_int_equal(post(&f, "/v1/targets/retry", body, &doc), 200);
    assert_string_equal(target_field(doc, unsafe, "action"), "retried");
    json_decref(doc);
    assert_int_equal(await_count(&f, "SELECT count(*) FROM post_targets WHERE status = 'published'",
                                 6),
                     0);
    st = sim_ctl_stats(&f.sim);
    assert_int_equal(sim_ctl_total(st, "duplicates"), 1);
    json_decref(st);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions WHERE action = "
                                       "'retry'"),
                     3);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    drainfx_teardown(&f);
}

static void test_bad_retry_requests_are_named(void **state)
{
    (void)state;
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    char *env[] = {"POSTPACE_API_TOKENS=" TOKEN, NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    const struct {
        const char *path, *json, *field;
        long status;
    } bad[] = {
        {"/v1/targets/retry", "{}", "\"target_id\"", 422},
        {"/v1/targets/retry", "{\"dry_run\": true}", "\"target_id\"", 422},
        {"/v1/targets/retry", "{\"target_id\": 0}", "\"target_id\"", 422},
        {"/v1/targets/retry", "{\"post_id\": \"x\"}", "\"post_id\"", 422},
        {"/v1/targets/retry", "{\"provider\": \"nope\"}", "\"provider\"", 422},
        {"/v1/targets/retry", "{\"key\": \"je\", \"since\": \"yesterday\"}", "\"since\"", 422},
        {"/v1/targets/retry",
         "{\"key\": \"je\", \"since\": \"2026-12-02T00:00:00Z\", \"until\": \"2026-12-01T00:00:00Z\"}",
         "\"until\"", 422},
        {"/v1/targets/retry", "{\"key\": \"je\", \"force\": 1}", "\"force\"", 422},
        {"/v1/targets/cancel", "{\"key\": \"je\", \"force\": true}", "\"force\"", 422},
        {"/v1/targets/cancel", "{\"key\": \"je\", \"bogus\": 1}", "\"bogus\"", 422},
        {"/v1/targets/cancel", "[1]", "malformed_json", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char url[128], body[4096];
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f.ports[0], bad[i].path);
        const char *headers[] = {"Authorization: Bearer " TOKEN, NULL};
        long st = http_request("POST", url, headers, bad[i].json, strlen(bad[i].json), body,
                               sizeof body);
        if (st != bad[i].status || !strstr(body, bad[i].field))
            fprintf(stderr, "%s %s: %ld %s\n", bad[i].path, bad[i].json, st, body);
        assert_int_equal(st, bad[i].status);
        assert_non_null(strstr(body, bad[i].field));
    }
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions"), 0);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    drainfx_teardown(&f);
}

/* Runs `postpace ARGS...` (at most 6) against the fixture's database; its exit status. */
static int cli(struct drainfx *f, struct proc *p, const char *const *args)
{
    char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", f->db);
    char *envs[] = {env_db, NULL};
    char *argv[8] = {(char *)pgt_postpace_bin()};
    for (int i = 0; i < 6 && args[i]; i++)
        argv[i + 1] = (char *)args[i];
    return proc_run(p, argv, envs);
}

static const char *pe_scheduled = "SELECT count(*) FROM post_targets t JOIN provider_keys k ON "
                                  "k.id = t.provider_key_id WHERE k.label = 'pe' AND "
                                  "t.status = 'scheduled'";

static void test_cancel_by_filter_cancels_scheduled_and_refuses_in_flight(void **state)
{
    (void)state;
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0); /* no daemon: nothing is claimed meanwhile */
    drainfx_posts(&f, "pe", 3, "{pe-a,pe-b}", 3600);
    drainfx_posts(&f, "je", 2, "{main}", 3600);
    /* One of pe's targets is in flight: the provider accepted it. */
    long in_flight = drainfx_count(&f, "SELECT min(t.id) FROM post_targets t JOIN provider_keys k "
                                       "ON k.id = t.provider_key_id WHERE k.label = 'pe'");
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE post_targets SET status = 'submitted', attempts = 1 WHERE id = %ld", in_flight);
    pgt_exec(f.conn, sql);

    struct proc p;
    const char *dry[] = {"cancel", "--provider", "posteverywhere", "--dry-run", "--json", NULL};
    assert_int_equal(cli(&f, &p, dry), 1); /* one is refused */
    json_t *doc = json_loads(p.out, 0, NULL);
    assert_non_null(doc);
    assert_true(json_is_true(json_object_get(doc, "dry_run")));
    assert_int_equal(member(doc, "matched"), 6);
    assert_int_equal(member(doc, "done"), 5);
    assert_string_equal(target_field(doc, in_flight, "action"), "refused");
    assert_non_null(strstr(target_field(doc, in_flight, "reason"), "in flight"));
    json_decref(doc);
    assert_int_equal(drainfx_count(&f, pe_scheduled), 5);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions"), 0);

    const char *real[] = {"cancel", "--key", "pe", "--since", "2020-01-01T00:00:00Z", NULL};
    assert_int_equal(cli(&f, &p, real), 1);
    assert_non_null(strstr(p.out, "cancel: 6 matched, 5 cancelled, 1 refused"));
    assert_int_equal(drainfx_count(&f, pe_scheduled), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'cancelled'"),
                     5);
    /* Jestha's were not named, and stay. */
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = "
                                       "'scheduled'"),
                     2);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions WHERE actor = 'cli' "
                                       "AND action = 'cancel' AND subject->>'key' = 'pe' AND "
                                       "jsonb_array_length(subject->'target_ids') = 5 AND "
                                       "(subject->>'refused')::int = 1"),
                     1);

    /* Bad usage names the flag, and does nothing. */
    const char *none[] = {"cancel", "--dry-run", NULL};
    assert_int_equal(cli(&f, &p, none), 2);
    assert_non_null(strstr(p.out, "name the targets"));
    const char *bad_id[] = {"retry", "--target", "x1", NULL};
    assert_int_equal(cli(&f, &p, bad_id), 2);
    assert_non_null(strstr(p.out, "--target"));
    const char *bad_time[] = {"cancel", "--key", "je", "--until", "tomorrow", NULL};
    assert_int_equal(cli(&f, &p, bad_time), 2);
    assert_non_null(strstr(p.out, "--until"));
    const char *no_force[] = {"cancel", "--key", "je", "--force", NULL};
    assert_int_equal(cli(&f, &p, no_force), 2);
    assert_non_null(strstr(p.out, "--force"));
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions"), 1);
    drainfx_teardown(&f);
}

/*
 * The retry-safety rule, row by row, on a dry run (no daemon): what the
 * attempts log and the target say decides whether a re-send could post twice.
 */
static void test_retry_safety_rule_reads_the_attempts_log(void **state)
{
    (void)state;
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    drainfx_posts(&f, "je", 9, "{main}", 0);
    /* Targets 1..9 of je, in id order: each failed in its own way. */
    pgt_exec(f.conn, "CREATE TEMP TABLE je AS SELECT t.id, row_number() OVER (ORDER BY t.id) AS n "
                     "FROM post_targets t JOIN provider_keys k ON k.id = t.provider_key_id "
                     "WHERE k.label = 'je'");
    pgt_exec(f.conn, "UPDATE post_targets t SET status = 'failed', attempts = 1, last_error = "
                     "CASE WHEN je.n = 6 THEN '{\"source\": \"webhook\", \"event_id\": \"e\"}' "
                     "ELSE '{\"source\": \"provider\", \"code\": \"x\"}' END::jsonb, "
                     "provider_post_id = CASE WHEN je.n = 7 THEN 'je_7' END "
                     "FROM je WHERE je.id = t.id");
    /* 1: a 400; 2: never left (connect failed); 3: a 429; 4: a 5xx; 5: a 2xx that failed the
     * account; 8: no answer recorded; 9: never tried (a quota spent before the slot). */
    pgt_exec(f.conn, "INSERT INTO attempts (provider_key_id, target_ids, route, sent_at, "
                     "http_status, outcome) "
                     "SELECT t.provider_key_id, ARRAY[t.id], 'POST /x', now(), v.status, v.outcome "
                     "FROM je JOIN post_targets t ON t.id = je.id JOIN (VALUES "
                     "(1, 400, 'permanent'), (2, NULL, 'retryable'), (3, 429, 'rate_limited'), "
                     "(4, 503, 'unknown'), (5, 201, 'ok'), (8, NULL, 'pending')) "
                     "AS v(n, status, outcome) ON v.n = je.n");
    struct proc p;
    const char *dry[] = {"retry", "--key", "je", "--dry-run", "--json", NULL};
    assert_int_equal(cli(&f, &p, dry), 1);
    json_t *doc = json_loads(p.out, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(member(doc, "matched"), 9);
    const struct {
        int n;
        const char *action, *reason;
    } want[] = {
        {1, "retried", NULL},
        {2, "retried", NULL},
        {3, "retried", NULL},
        {4, "refused", "may have created a post (5xx"},
        {5, "refused", "accepted a request for it (2xx)"},
        {6, "refused", "post.failed webhook"},
        {7, "refused", "created post je_7"},
        {8, "refused", "answer was never recorded"},
        {9, "retried", NULL},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT id FROM je WHERE n = %d", want[i].n);
        long id = drainfx_count(&f, sql);
        const char *action = target_field(doc, id, "action");
        const char *reason = target_field(doc, id, "reason");
        if (!action || strcmp(action, want[i].action) != 0 ||
            (want[i].reason && (!reason || !strstr(reason, want[i].reason))))
            fprintf(stderr, "target %d: %s (%s)\n", want[i].n, action ? action : "-",
                    reason ? reason : "-");
        assert_string_equal(action, want[i].action);
        if (want[i].reason)
            assert_non_null(strstr(reason, want[i].reason));
        else
            assert_null(reason);
    }
    json_decref(doc);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = 'failed'"),
                     9);
    drainfx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_sends_refused_targets_once_more_and_refuses_the_unsafe),
        cmocka_unit_test(test_bad_retry_requests_are_named),
        cmocka_unit_test(test_retry_safety_rule_reads_the_attempts_log),
        cmocka_unit_test(test_cancel_by_filter_cancels_scheduled_and_refuses_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
