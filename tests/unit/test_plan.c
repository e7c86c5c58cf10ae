/* Unit tests for plan: the calendar simulation in virtual time over the
 * seeded provider profiles, and the text helpers of `plan` and `limits`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan/plan.h"

#define SEC 1000ULL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* 2024-03-05 14:00:00 UTC, a clock hour. */
#define T0 1709647200000ULL

/* The seeded rows of migrations/0001_baseline.sql that these tests use. */
static const struct lim_row rows[] = {
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, MIN, 60, LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, HOUR, 1000, LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, DAY, 10000, LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /posts", LIM_ROLLING, MIN, 20,
     LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /posts", LIM_ROLLING, HOUR, 100,
     LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /posts", LIM_ROLLING, DAY, 500,
     LIM_COST_REQUEST},
    {"schedpilot", NULL, 0, LIM_SCOPE_USER, "read", LIM_FIXED, HOUR, 60, LIM_COST_REQUEST},
    {"schedpilot", NULL, 0, LIM_SCOPE_USER, "write", LIM_FIXED, HOUR, 30, LIM_COST_REQUEST},
    {"postlark", "free", 0, LIM_SCOPE_KEY, "*", LIM_FIXED, HOUR, 60, LIM_COST_REQUEST},
    {"postlark", "free", 0, LIM_SCOPE_ACCOUNT, "POST /posts", LIM_LIFETIME, 0, 10, LIM_COST_POST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, MIN, 60, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, DAY, 10000, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "POST /api/posts", LIM_ROLLING, MIN, 10, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_ACCOUNT, "POST /api/posts", LIM_FIXED, DAY, 1000, LIM_COST_POST},
};
#define NROWS (sizeof rows / sizeof rows[0])

/* A key as the registry builds it: its key-scope buckets, then its user and
 * account buckets (shared when `share` gives them: user then account). */
struct tkey {
    uint32_t buckets[16];
    size_t n;
};

static void add_scope(struct lim_set *s, const struct lim_row **sel, size_t nsel,
                      enum lim_scope scope, struct tkey *k)
{
    k->n += lim_set_add_rows(s, sel, nsel, scope, 1, k->buckets + k->n);
}

static struct tkey make_key(struct lim_set *s, const char *provider, const char *plan,
                            const struct tkey *share)
{
    const struct lim_row *sel[NROWS];
    size_t nsel = lim_rows_select(rows, NROWS, provider, plan, 0, sel);
    struct tkey k = {{0}, 0};
    add_scope(s, sel, nsel, LIM_SCOPE_KEY, &k);
    if (share) {
        size_t own = k.n;
        for (size_t i = own; i < share->n; i++)
            k.buckets[k.n++] = share->buckets[i];
        return k;
    }
    add_scope(s, sel, nsel, LIM_SCOPE_USER, &k);
    add_scope(s, sel, nsel, LIM_SCOPE_ACCOUNT, &k);
    return k;
}

static struct plan_key plan_key_of(const struct tkey *k, const char *route, uint32_t batch)
{
    struct plan_key pk = {k->buckets, k->n, route, batch};
    return pk;
}

/* n targets of key `key`, one per post (post ids from `post0`), all due at `due`. */
static void fill(struct plan_target *t, size_t n, uint32_t key, int64_t post0, uint64_t due)
{
    for (size_t i = 0; i < n; i++) {
        struct plan_target x = {
            (int64_t)(post0 + (int64_t)i), post0 + (int64_t)i, key, due, due, 0};
        t[i] = x;
    }
}

static struct plan_opts opts_at(uint64_t now, uint64_t to)
{
    struct plan_opts o = {now, now, to};
    return o;
}

/* ---- the simulation ---- */

static void test_jestha_100_posts_in_one_minute_leave_10_per_minute_paced(void **state)
{
    struct lim_set *s = lim_set_create(NULL);
    struct tkey k = make_key(s, "jestha", "default", NULL);
    struct plan_key pk = plan_key_of(&k, "POST /api/posts", 1);
    struct plan_target t[100];
    fill(t, 100, 0, 1, T0);
    struct plan_opts o = opts_at(T0, T0 + DAY);
    struct plan_result *res;
    size_t n;
    struct plan_summary sum;
    plan_run(s, &pk, 1, t, 100, &o, &res, &n, &sum);
    assert_int_equal(n, 100);
    int per_minute[10] = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(res[i].post_id, (int64_t)i + 1);
        assert_int_equal(res[i].leave_ms, T0 + i * 6 * SEC); /* evenly spread: 60 s / 10 */
        per_minute[(res[i].leave_ms - T0) / MIN]++;
        if (i > 0) {
            assert_int_equal(res[i].state, PLAN_LATE);
            assert_int_equal(res[i].why.reason, LIM_WHY_PACE);
        }
    }
    for (int m = 0; m < 10; m++)
        assert_int_equal(per_minute[m], 10);
    assert_int_equal(res[0].state, PLAN_ON_TIME);
    assert_int_equal(sum.on_time, 1);
    assert_int_equal(sum.late, 99);
    assert_int_equal(sum.max_late_ms, 99 * 6 * SEC);
    assert_int_equal(sum.never, 0);
    free(res);
    lim_set_destroy(s);
}

static void test_postlark_free_11th_post_never_goes(void **state)
{
    struct lim_set *s = lim_set_create(NULL);
    struct tkey k = make_key(s, "postlark", "free", NULL);
    struct plan_key pk = plan_key_of(&k, "POST /posts", 1);
    struct plan_target t[12];
    for (size_t i = 0; i < 12; i++)
        fill(&t[i], 1, 0, (int64_t)i + 1, T0 + i * HOUR);
    struct plan_opts o = opts_at(T0, T0 + 7 * DAY);
    struct plan_result *res;
    size_t n;
    struct plan_summary sum;
    plan_run(s, &pk, 1, t, 12, &o, &res, &n, &sum);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(res[i].state, PLAN_ON_TIME);
    for (size_t i = 10; i < 12; i++) {
        assert_int_equal(res[i].state, PLAN_NEVER);
        assert_int_equal(res[i].why.reason, LIM_WHY_WINDOW);
        assert_int_equal(res[i].why.bucket, (int32_t)k.buckets[1]); /* the account's quota */
    }
    assert_int_equal(sum.never, 2);
    assert_int_equal(sum.exhausted, 10);
    assert_int_equal(sum.exhausted_at, T0 + 10 * HOUR);
    char why[128];
    struct plan_bucket_label labels[8] = {{0}};
    plan_label_buckets(s, rows, NROWS, "postlark", "free", 1, k.buckets, k.n, labels);
    plan_describe(s, labels, &res[10].why, why, sizeof why);
    assert_string_equal(why, "account POST /posts lifetime 10 posts total");
    free(res);
    lim_set_destroy(s);
}

static void test_batched_posteverywhere_post_to_3_accounts_is_one_request(void **state)
{
    struct lim_set *s = lim_set_create(NULL);
    struct tkey k = make_key(s, "posteverywhere", "default", NULL);
    struct plan_key keys[2] = {plan_key_of(&k, "POST /posts", 100),
                               plan_key_of(&k, "POST /posts", 1)};
    struct plan_target t[6];
    for (int i = 0; i < 6; i++) {
        struct plan_target x = {10 + i, i < 3 ? 7 : 8, i < 3 ? 0 : 1, T0, T0, 0};
        t[i] = x;
    }
    struct plan_opts o = opts_at(T0, T0 + DAY);
    struct plan_result *res;
    size_t n;
    struct plan_summary sum;
    plan_run(s, keys, 2, t, 6, &o, &res, &n, &sum);
    assert_int_equal(n, 4); /* one batched request, three single ones */
    assert_int_equal(res[0].post_id, 7);
    assert_int_equal(res[0].ntargets, 3);
    assert_int_equal(t[res[0].first].id, 10);
    assert_int_equal(t[res[0].first + 2].id, 12);
    for (size_t i = 1; i < 4; i++) {
        assert_int_equal(res[i].post_id, 8);
        assert_int_equal(res[i].ntargets, 1);
    }
    assert_int_equal(sum.requests, 4);
    assert_int_equal(sum.posts, 2);
    assert_int_equal(sum.targets, 6);
    free(res);
    lim_set_destroy(s);
}

static void test_schedpilot_31st_write_waits_for_the_top_of_the_hour(void **state)
{
    struct lim_set *s = lim_set_create(NULL);
    struct tkey k = make_key(s, "schedpilot", "default", NULL);
    struct plan_key pk = plan_key_of(&k, "POST /post", 100);
    struct plan_target t[31];
    fill(t, 31, 0, 1, T0 + MIN); /* a burst of 3, the other 27 spread over the hour */
    struct plan_opts o = opts_at(T0, T0 + DAY);
    struct plan_result *res;
    size_t n;
    struct plan_summary sum;
    plan_run(s, &pk, 1, t, 31, &o, &res, &n, &sum);
    assert_int_equal(n, 31);
    assert_true(res[29].leave_ms > T0 + 55 * MIN && res[29].leave_ms < T0 + HOUR);
    assert_int_equal(res[30].leave_ms, T0 + HOUR);
    assert_int_equal(res[30].why.reason, LIM_WHY_WINDOW);
    char why[128];
    struct plan_bucket_label labels[8] = {{0}};
    plan_label_buckets(s, rows, NROWS, "schedpilot", "default", 1, k.buckets, k.n, labels);
    plan_describe(s, labels, &res[30].why, why, sizeof why);
    assert_string_equal(why, "user write fixed 30/1h");
    free(res);
    lim_set_destroy(s);
}

static void test_two_keys_of_one_user_share_the_hourly_writes(void **state)
{
    struct lim_set *s = lim_set_create(NULL);
    struct tkey a = make_key(s, "schedpilot", "default", NULL);
    struct tkey b = make_key(s, "schedpilot", "default", &a);
    struct plan_key keys[2] = {plan_key_of(&a, "POST /post", 100),
                               plan_key_of(&b, "POST /post", 100)};
    struct plan_target t[40];
    fill(t, 20, 0, 1, T0);
    fill(t + 20, 20, 1, 21, T0);
    struct plan_opts o = opts_at(T0, T0 + DAY);
    struct plan_result *res;
    size_t n;
    struct plan_summary sum;
    plan_run(s, keys, 2, t, 40, &o, &res, &n, &sum);
    size_t first_hour = 0;
    for (size_t i = 0; i < n; i++)
        first_hour += res[i].leave_ms < T0 + HOUR;
    assert_int_equal(first_hour, 30);
    free(res);
    lim_set_destroy(s);
}

static void test_history_delays_the_plan_and_the_live_set_is_untouched(void **state)
{
    struct lim_set *s = lim_set_create(NULL);
    struct tkey k = make_key(s, "postlark", "free", NULL);
    struct lim_req sent = {"POST /posts", k.buckets, k.n, 1, 1};
    for (int i = 0; i < 9; i++)
        lim_commit(s, &sent, T0 - DAY + (uint64_t)i * HOUR);
    struct plan_key pk = plan_key_of(&k, "POST /posts", 1);
    struct plan_target t[3];
    fill(t, 3, 0, 1, T0);
    struct plan_opts o = opts_at(T0, T0 + DAY);
    struct plan_result *res;
    size_t n;
    struct plan_summary sum;
    plan_run(s, &pk, 1, t, 3, &o, &res, &n, &sum);
    assert_int_equal(res[0].state, PLAN_ON_TIME);
    assert_int_equal(res[1].state, PLAN_NEVER); /* 9 sent before + 1 planned = 10 */
    assert_int_equal(sum.never, 2);
    assert_int_equal(lim_next_slot(s, &sent, T0), T0); /* the live set still has room for 1 */
    free(res);
    lim_set_destroy(s);
}

static void test_beyond_the_range_marks_the_rest_of_the_key(void **state)
{
    struct lim_set *s = lim_set_create(NULL);
    struct tkey k = make_key(s, "jestha", "default", NULL);
    struct plan_key pk = plan_key_of(&k, "POST /api/posts", 1);
    struct plan_target t[20];
    fill(t, 20, 0, 1, T0);
    struct plan_opts o = opts_at(T0, T0 + 30 * SEC);
    struct plan_result *res;
    size_t n;
    struct plan_summary sum;
    plan_run(s, &pk, 1, t, 20, &o, &res, &n, &sum);
    assert_int_equal(sum.on_time + sum.late, 6); /* T0, +6 s, ... +30 s */
    assert_int_equal(sum.beyond, 14);
    assert_int_equal(res[6].state, PLAN_BEYOND);
    assert_int_equal(res[6].leave_ms, T0 + 36 * SEC);
    assert_int_equal(res[7].leave_ms, 0);
    free(res);
    lim_set_destroy(s);
}

static void test_in_flight_is_shown_not_simulated_and_overdue_goes_now(void **state)
{
    struct lim_set *s = lim_set_create(NULL);
    struct tkey k = make_key(s, "jestha", "default", NULL);
    struct plan_key pk = plan_key_of(&k, "POST /api/posts", 1);
    struct plan_target t[2] = {{1, 1, 0, T0 - HOUR, T0 - HOUR, 1},
                               {2, 2, 0, T0 - MIN, T0 - MIN, 0}};
    struct plan_opts o = opts_at(T0, T0 + DAY);
    struct plan_result *res;
    size_t n;
    struct plan_summary sum;
    plan_run(s, &pk, 1, t, 2, &o, &res, &n, &sum);
    assert_int_equal(res[0].state, PLAN_IN_FLIGHT);
    assert_int_equal(res[1].state, PLAN_LATE);
    assert_int_equal(res[1].leave_ms, T0);
    assert_int_equal(res[1].late_ms, MIN);
    assert_int_equal(sum.in_flight, 1);
    free(res);
    lim_set_destroy(s);
}

static void test_targets_before_a_future_from_spend_budget_but_are_not_listed(void **state)
{
    struct lim_set *s = lim_set_create(NULL);
    struct tkey k = make_key(s, "postlark", "free", NULL);
    struct plan_key pk = plan_key_of(&k, "POST /posts", 1);
    struct plan_target t[12];
    for (size_t i = 0; i < 12; i++)
        fill(&t[i], 1, 0, (int64_t)i + 1, T0 + i * HOUR);
    struct plan_opts o = {T0, T0 + 10 * HOUR, T0 + 7 * DAY};
    struct plan_result *res;
    size_t n;
    struct plan_summary sum;
    plan_run(s, &pk, 1, t, 12, &o, &res, &n, &sum);
    assert_int_equal(sum.requests, 2);
    assert_int_equal(sum.never, 2);
    assert_true(res[0].before_range);
    free(res);
    lim_set_destroy(s);
}

/* ---- text ---- */

static void test_parse_time_reads_offsets_and_rejects_bad_dates(void **state)
{
    uint64_t ms;
    assert_int_equal(plan_parse_time("2024-03-05T14:00:00Z", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(plan_parse_time("2024-03-05T15:00+01:00", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(plan_parse_time("2024-03-05 09:30:00.250-0430", &ms), 0);
    assert_int_equal(ms, T0 + 250);
    assert_int_equal(plan_parse_time("2024-02-29T00:00:00Z", &ms), 0);
    assert_int_equal(plan_parse_time("2023-02-29T00:00:00Z", &ms), -1);
    assert_int_equal(plan_parse_time("2024-03-05T14:00:00", &ms), -1); /* no offset */
    assert_int_equal(plan_parse_time("2024-13-05T14:00:00Z", &ms), -1);
    assert_int_equal(plan_parse_time("tomorrow", &ms), -1);
}

static void test_format_time_and_duration(void **state)
{
    char buf[40];
    plan_format_time(T0, buf, sizeof buf);
    assert_string_equal(buf, "2024-03-05T14:00:00Z");
    plan_format_time(T0 + 5, buf, sizeof buf);
    assert_string_equal(buf, "2024-03-05T14:00:00.005Z");
    plan_format_duration(0, buf, sizeof buf);
    assert_string_equal(buf, "0s");
    plan_format_duration(297 * SEC, buf, sizeof buf);
    assert_string_equal(buf, "4m57s");
    plan_format_duration(2 * HOUR + 5 * MIN, buf, sizeof buf);
    assert_string_equal(buf, "2h05m");
    plan_format_duration(3 * DAY + 4 * HOUR, buf, sizeof buf);
    assert_string_equal(buf, "3d04h");
}

static void test_labels_and_descriptions_follow_the_rows(void **state)
{
    struct lim_set *s = lim_set_create(NULL);
    struct tkey k = make_key(s, "posteverywhere", "default", NULL);
    struct plan_bucket_label labels[8] = {{0}};
    plan_label_buckets(s, rows, NROWS, "posteverywhere", "default", 1, k.buckets, k.n, labels);
    assert_int_equal(k.n, 2);
    assert_string_equal(labels[k.buckets[1]].route, "POST /posts");
    char buf[128];
    struct lim_why w = {LIM_WHY_WINDOW, (int32_t)k.buckets[0], 0};
    plan_describe(s, labels, &w, buf, sizeof buf);
    assert_string_equal(buf, "key rolling 60/1m");
    w.window = 2;
    plan_describe(s, labels, &w, buf, sizeof buf);
    assert_string_equal(buf, "key rolling 10000/1d");
    struct lim_why p = {LIM_WHY_PACE, (int32_t)k.buckets[1], -1};
    plan_describe(s, labels, &p, buf, sizeof buf);
    assert_string_equal(buf, "key POST /posts pacing (rolling 20/1m)");
    lim_set_destroy(s);

    s = lim_set_create(NULL);
    k = make_key(s, "jestha", "default", NULL);
    plan_label_buckets(s, rows, NROWS, "jestha", "default", 1, k.buckets, k.n, labels);
    struct lim_why a = {LIM_WHY_WINDOW, (int32_t)k.buckets[2], 0};
    plan_describe(s, labels, &a, buf, sizeof buf);
    assert_string_equal(buf, "account POST /api/posts fixed 1000 posts/1d");
    lim_set_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jestha_100_posts_in_one_minute_leave_10_per_minute_paced),
        cmocka_unit_test(test_postlark_free_11th_post_never_goes),
        cmocka_unit_test(test_batched_posteverywhere_post_to_3_accounts_is_one_request),
        cmocka_unit_test(test_schedpilot_31st_write_waits_for_the_top_of_the_hour),
        cmocka_unit_test(test_two_keys_of_one_user_share_the_hourly_writes),
        cmocka_unit_test(test_history_delays_the_plan_and_the_live_set_is_untouched),
        cmocka_unit_test(test_beyond_the_range_marks_the_rest_of_the_key),
        cmocka_unit_test(test_in_flight_is_shown_not_simulated_and_overdue_goes_now),
        cmocka_unit_test(test_targets_before_a_future_from_spend_budget_but_are_not_listed),
        cmocka_unit_test(test_parse_time_reads_offsets_and_rejects_bad_dates),
        cmocka_unit_test(test_format_time_and_duration),
        cmocka_unit_test(test_labels_and_descriptions_follow_the_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
