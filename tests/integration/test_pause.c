/*
 * Operator control without SQL (issue #24): `postpace pause` stops a key's
 * sends from the scheduler's next claim on, mid-drain, while the key keeps
 * its lease and shows as paused; `postpace resume` drains the rest at the
 * limiter's pace (0 × 429, 0 duplicates); both are recorded in
 * operator_actions. Bad usage names the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drainfx.h"
#include "pgtest.h"
#include "proc.h"

/* Runs `postpace ARGS...` against the fixture's database; its exit status. */
static int cli(struct drainfx *f, struct proc *p, const char *a1, const char *a2, const char *a3)
{
    char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", f->db);
    char *envs[] = {env_db, NULL};
    char *argv[] = {(char *)pgt_postpace_bin(), (char *)a1, (char *)a2, (char *)a3, NULL};
    return proc_run(p, argv, envs);
}

static const char *fh_attempts = "SELECT count(*) FROM attempts a JOIN provider_keys k "
                                 "ON k.id = a.provider_key_id WHERE k.label = 'fh'";
static const char *fh_sent = "SELECT count(*) FROM post_targets t JOIN provider_keys k "
                             "ON k.id = t.provider_key_id WHERE k.label = 'fh' "
                             "AND t.status IN ('submitted', 'published')";

static void test_pause_stops_a_key_mid_drain_and_resume_drains_it(void **state)
{
    (void)state;
    struct drainfx f;
    assert_int_equal(drainfx_setup_scaled(&f, 6), 0); /* FeedHorizon: 100 a minute = 10 s */
    assert_int_equal(drainfx_start(&f, 0, NULL), 0);
    drainfx_posts(&f, "fh", 200, "{twitter}", 0);
    assert_int_equal(drainfx_await_count(&f, fh_sent, 20), 0);

    struct proc p;
    assert_int_equal(cli(&f, &p, "pause", "--key", "fh"), 0);
    assert_non_null(strstr(p.out, "paused fh (feedhorizon"));
    /* Committed now: a claim begun before it may still commit (one), none after. */
    long at_pause = drainfx_count(&f, fh_attempts);
    /* Other keys go on, so the scheduler takes turn after turn meanwhile. */
    drainfx_posts(&f, "pe", 10, "{pe-a}", 0);
    drainfx_posts(&f, "je", 10, "{main}", 0);
    assert_int_equal(
        drainfx_await_count(&f,
                            "SELECT count(*) FROM post_targets t JOIN provider_keys k ON "
                            "k.id = t.provider_key_id WHERE k.label IN ('pe', 'je') AND "
                            "t.status = 'published'",
                            20),
        0);
    long after = drainfx_count(&f, fh_attempts);
    printf("pause: %ld attempts at the pause, %ld after other keys sent 20\n", at_pause, after);
    assert_true(after <= at_pause + 1);
    assert_true(drainfx_count(&f, "SELECT count(*) FROM post_targets t JOIN provider_keys k ON "
                                  "k.id = t.provider_key_id WHERE k.label = 'fh' AND "
                                  "t.status = 'scheduled'") > 0);
    /* It keeps its lease, and shows as paused. */
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM key_leases l JOIN provider_keys k "
                                       "ON k.id = l.group_id WHERE k.label = 'fh' AND "
                                       "l.expires_at > now()"),
                     1);
    assert_int_equal(cli(&f, &p, "status", NULL, NULL), 0);
    assert_non_null(strstr(p.out, "paused"));

    assert_int_equal(cli(&f, &p, "resume", "--provider", "feedhorizon"), 0);
    assert_non_null(strstr(p.out, "resumed fh (feedhorizon"));
    assert_int_equal(drainfx_await_settled(&f, 60), 0);
    json_t *st = sim_ctl_stats(&f.sim);
    long limited = sim_ctl_total(st, "rate_limited"), dups = sim_ctl_total(st, "duplicates");
    json_decref(st);
    assert_int_equal(limited, 0);
    assert_int_equal(dups, 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions WHERE actor = 'cli' "
                                       "AND ((action = 'pause' AND subject->>'key' = 'fh') OR "
                                       "(action = 'resume' AND subject->>'provider' = "
                                       "'feedhorizon'))"),
                     2);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    drainfx_teardown(&f);
}

static void test_bad_usage_is_named(void **state)
{
    (void)state;
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    struct proc p;
    assert_int_equal(cli(&f, &p, "pause", NULL, NULL), 2);
    assert_non_null(strstr(p.out, "--key ID|LABEL, --provider P, or --all"));
    assert_int_equal(cli(&f, &p, "pause", "--provider", "nope"), 2);
    assert_non_null(strstr(p.out, "--provider: unknown provider \"nope\""));
    assert_int_equal(cli(&f, &p, "resume", "--key", "nosuch"), 1);
    assert_non_null(strstr(p.out, "no enabled key matches"));
    assert_int_equal(cli(&f, &p, "pause", "--all", "--key"), 2);
    /* Nothing was done, so nothing was recorded. */
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions"), 0);
    assert_int_equal(cli(&f, &p, "pause", "--all", NULL), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM provider_keys WHERE paused_at IS NULL"),
                     0);
    drainfx_teardown(&f);
}

/* POSTs a JSON body to daemon 0's route with a bearer token (NULL: none). */
static long post(struct drainfx *f, const char *path, const char *token, const char *json,
                 char *out, size_t size)
{
    char url[128], auth[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->ports[0], path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token ? token : "");
    const char *headers[] = {"Content-Type: application/json", token ? auth : NULL, NULL};
    return http_request("POST", url, headers, json, strlen(json), out, size);
}

static void test_the_api_pauses_and_resumes_and_names_bad_requests(void **state)
{
    (void)state;
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    char *env[] = {"POSTPACE_API_TOKENS=token-one-0123456789 token-two-0123456789", NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    char body[4096];
    assert_int_equal(post(&f, "/v1/keys/pause", "token-two-0123456789", "{\"provider\": \"jestha\"}", body,
                          sizeof body),
                     200);
    assert_non_null(strstr(body, "\"label\":\"je\""));
    assert_non_null(strstr(body, "\"paused\":true"));
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM provider_keys WHERE label = 'je' "
                                       "AND paused_at IS NOT NULL"),
                     1);
    /* The actor is the token's place in api_tokens, never the token. */
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions WHERE actor = "
                                       "'api:token-2' AND action = 'pause' AND "
                                       "subject->>'provider' = 'jestha'"),
                     1);
    assert_int_equal(post(&f, "/v1/keys/resume", "token-one-0123456789", "{\"key\": \"je\"}", body,
                          sizeof body),
                     200);
    assert_non_null(strstr(body, "\"paused\":false"));

    /* Bad requests are named, and change nothing. */
    const struct {
        const char *json, *field;
        long status;
    } bad[] = {
        {"{}", "\"key\"", 422},
        {"{\"provider\": \"nope\"}", "\"provider\"", 422},
        {"{\"key\": 5}", "\"key\"", 422},
        {"{\"all\": true, \"key\": \"je\"}", "\"all\"", 422},
        {"{\"bogus\": 1, \"all\": true}", "\"bogus\"", 422},
        {"[1]", "malformed_json", 400},
        {"{\"key\": \"nosuch\"}", "no enabled key matches", 404},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        long st = post(&f, "/v1/keys/pause", "token-one-0123456789", bad[i].json, body, sizeof body);
        if (st != bad[i].status || !strstr(body, bad[i].field))
            fprintf(stderr, "pause %s: %ld %s\n", bad[i].json, st, body);
        assert_int_equal(st, bad[i].status);
        assert_non_null(strstr(body, bad[i].field));
    }
    assert_int_equal(post(&f, "/v1/keys/pause", NULL, "{\"all\": true}", body, sizeof body), 401);
    assert_int_equal(post(&f, "/v1/keys/pause", "wrong", "{\"all\": true}", body, sizeof body),
                     401);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM provider_keys WHERE paused_at IS NOT "
                                       "NULL"),
                     0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM operator_actions"), 2);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    drainfx_teardown(&f);
}

/*
 * The same through the API, counted where it matters, at the simulator: once
 * POST /v1/keys/pause has answered, FeedHorizon receives at most the request
 * a claim already committed (attempts then + 1) while the other keys go on
 * for many turns; POST /v1/keys/resume drains the rest, 0 × 429, 0 duplicates.
 */
static void test_api_pause_mid_drain_stops_sends_at_the_simulator(void **state)
{
    (void)state;
    struct drainfx f;
    assert_int_equal(drainfx_setup_scaled(&f, 6), 0); /* FeedHorizon: 100 a minute = 10 s */
    char *env[] = {"POSTPACE_API_TOKENS=token-one-0123456789", NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    drainfx_posts(&f, "fh", 200, "{twitter}", 0);
    assert_int_equal(drainfx_await_count(&f, fh_sent, 20), 0);

    char body[4096];
    assert_int_equal(post(&f, "/v1/keys/pause", "token-one-0123456789", "{\"key\": \"fh\"}", body,
                          sizeof body),
                     200);
    long at_pause = drainfx_count(&f, fh_attempts);
    drainfx_posts(&f, "pe", 10, "{pe-a}", 0);
    drainfx_posts(&f, "je", 10, "{main}", 0);
    assert_int_equal(
        drainfx_await_count(&f,
                            "SELECT count(*) FROM post_targets t JOIN provider_keys k ON "
                            "k.id = t.provider_key_id WHERE k.label IN ('pe', 'je') AND "
                            "t.status = 'published'",
                            20),
        0);
    json_t *st = sim_ctl_stats(&f.sim);
    long received = sim_ctl_stat(st, "feedhorizon", "create_requests");
    json_decref(st);
    printf("api pause: %ld attempts at the pause, %ld creates received after 20 others sent\n",
           at_pause, received);
    assert_true(received <= at_pause + 1);
    assert_true(received < 200);

    assert_int_equal(post(&f, "/v1/keys/resume", "token-one-0123456789",
                          "{\"provider\": \"feedhorizon\"}", body, sizeof body),
                     200);
    assert_int_equal(drainfx_await_settled(&f, 60), 0);
    st = sim_ctl_stats(&f.sim);
    assert_int_equal(sim_ctl_stat(st, "feedhorizon", "created"), 200);
    assert_int_equal(sim_ctl_total(st, "rate_limited"), 0);
    assert_int_equal(sim_ctl_total(st, "duplicates"), 0);
    json_decref(st);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    drainfx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pause_stops_a_key_mid_drain_and_resume_drains_it),
        cmocka_unit_test(test_bad_usage_is_named),
        cmocka_unit_test(test_the_api_pauses_and_resumes_and_names_bad_requests),
        cmocka_unit_test(test_api_pause_mid_drain_stops_sends_at_the_simulator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
