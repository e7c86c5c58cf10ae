/* Unit tests for limits feedback: each provider's headers and 429 bodies,
 * shared keys, blocks and the skew margin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "limits/limiter.h"

#define SEC 1000ULL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 1709647200000ULL /* 2024-03-05 14:00:00 UTC */

static struct lim_set *new_set(uint64_t skew)
{
    struct lim_config cfg;
    lim_config_init(&cfg);
    cfg.pace_max_window_ms = 0;
    cfg.skew_ms = skew;
    return lim_set_create(&cfg);
}

static uint32_t add(struct lim_set *s, const char *route, const struct lim_window_spec *w, size_t n)
{
    struct lim_bucket_spec b = {route, w, n, 1, 0};
    return lim_set_add_bucket(s, &b);
}

static struct lim_req req(const uint32_t *b, size_t n, const char *route)
{
    struct lim_req r = {route, b, n, 1, 1};
    return r;
}

static void send_now(struct lim_set *s, const struct lim_req *r, uint64_t t, int n)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(lim_next_slot(s, r, t), t);
        lim_commit(s, r, t);
    }
}

/* PostEverywhere: 60/min, 1000/h, 10000/day per key, POST /posts 20/min on top. */
static struct lim_set *posteverywhere(uint64_t skew, uint32_t b[2])
{
    static const struct lim_window_spec key[] = {
        {LIM_ROLLING, MIN, 60, LIM_COST_REQUEST},
        {LIM_ROLLING, HOUR, 1000, LIM_COST_REQUEST},
        {LIM_ROLLING, DAY, 10000, LIM_COST_REQUEST},
    };
    static const struct lim_window_spec posts[] = {{LIM_ROLLING, MIN, 20, LIM_COST_REQUEST}};
    struct lim_set *s = new_set(skew);
    b[0] = add(s, "*", key, 3);
    b[1] = add(s, "POST /posts", posts, 1);
    return s;
}

static void test_reset_is_unix_time_for_posteverywhere_postlark_jestha(void **state)
{
    assert_int_equal(lim_reset_ms(LIM_RESET_UNIX, 1740912072, T0), 1740912072000ULL);
    assert_int_equal(lim_reset_ms(LIM_RESET_UNIX, -1, T0), 0);
    assert_int_equal(lim_reset_ms(LIM_RESET_NONE, 1740912072, T0), 0);
}

static void test_reset_is_seconds_left_for_feedhorizon(void **state)
{
    assert_int_equal(lim_reset_ms(LIM_RESET_SECONDS, 42, T0 + 5), T0 + 5 + 42 * SEC);
    /* A "unix" value too small to be a date is read as seconds left. */
    assert_int_equal(lim_reset_ms(LIM_RESET_UNIX, 42, T0), T0 + 42 * SEC);
}

static void test_posteverywhere_429_retry_after_blocks_drawn_buckets(void **state)
{
    uint32_t b[2];
    struct lim_set *s = posteverywhere(0, b);
    struct lim_req post = req(b, 2, "POST /posts");
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 429;
    fb.reset_kind = LIM_RESET_UNIX;
    fb.retry_after_s = 12;
    fb.limit = 60;
    fb.remaining = 0;
    fb.reset = (int64_t)((T0 + 12 * SEC) / 1000);
    lim_commit(s, &post, T0);
    lim_apply_feedback(s, &post, &fb, T0);
    struct lim_why why;
    assert_int_equal(lim_next_slot_why(s, &post, T0, &why), T0 + 12 * SEC);
    assert_true(why.reason == LIM_WHY_BLOCK || why.reason == LIM_WHY_WINDOW);
    assert_int_equal(lim_bucket_blocked_until(s, b[0]), T0 + 12 * SEC);
    /* Remaining 0 of 60 also filled the minute window for one window length. */
    struct lim_window_state st;
    lim_window_state(s, b[0], 0, T0, &st);
    assert_int_equal(st.used, 60);
    lim_set_destroy(s);
}

static void test_posteverywhere_limit_header_selects_the_route_window(void **state)
{
    uint32_t b[2];
    struct lim_set *s = posteverywhere(0, b);
    struct lim_req post = req(b, 2, "POST /posts");
    struct lim_req get = req(b, 2, "GET /posts");
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 201;
    fb.reset_kind = LIM_RESET_UNIX;
    fb.limit = 20;
    fb.remaining = 0;
    lim_commit(s, &post, T0);
    lim_apply_feedback(s, &post, &fb, T0);
    assert_int_equal(lim_next_slot(s, &post, T0), T0 + MIN);
    assert_int_equal(lim_next_slot(s, &get, T0), T0);
    lim_set_destroy(s);
}

static void test_feedhorizon_shared_key_remaining_lowers_budget(void **state)
{
    static const struct lim_window_spec w[] = {{LIM_ROLLING, MIN, 100, LIM_COST_REQUEST}};
    struct lim_set *s = new_set(0);
    uint32_t b = add(s, "*", w, 1);
    struct lim_req r = req(&b, 1, "GET /posts");
    send_now(s, &r, T0, 10);
    /* Another client on the key spent 40 more than we know. */
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 200;
    fb.reset_kind = LIM_RESET_SECONDS;
    fb.limit = 100;
    fb.remaining = 50;
    fb.reset = 42;
    lim_apply_feedback(s, &r, &fb, T0 + 10 * SEC);
    send_now(s, &r, T0 + 10 * SEC, 50);
    /* Full: the unseen 40 are held until the reported reset, 42 s later. */
    assert_int_equal(lim_next_slot(s, &r, T0 + 10 * SEC), T0 + 52 * SEC);
    send_now(s, &r, T0 + 52 * SEC, 40);
    /* Then our own first ten expire, at T0 + 60 s. */
    assert_int_equal(lim_next_slot(s, &r, T0 + 52 * SEC), T0 + MIN);
    lim_set_destroy(s);
}

static void test_postlark_shared_key_remaining_holds_until_hour_reset(void **state)
{
    static const struct lim_window_spec w[] = {{LIM_FIXED, HOUR, 60, LIM_COST_REQUEST}};
    struct lim_set *s = new_set(0);
    uint32_t b = add(s, "*", w, 1);
    struct lim_req r = req(&b, 1, "GET /posts");
    send_now(s, &r, T0 + 5 * MIN, 5);
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 200;
    fb.reset_kind = LIM_RESET_UNIX;
    fb.limit = 60;
    fb.remaining = 10;
    fb.reset = (int64_t)((T0 + HOUR) / 1000);
    lim_apply_feedback(s, &r, &fb, T0 + 6 * MIN);
    send_now(s, &r, T0 + 6 * MIN, 10);
    assert_int_equal(lim_next_slot(s, &r, T0 + 6 * MIN), T0 + HOUR);
    lim_set_destroy(s);
}

/* At a demo's time scale a clock-aligned window can be shorter than a
 * second, but X-RateLimit-Reset is whole unix seconds, rounded up: it may
 * name a time several periods ahead. A response describes the period it was
 * answered in, never a later one, or the window would look full (and block)
 * until that later period had passed. */
static void test_reset_rounded_past_a_short_period_counts_in_the_current_one(void **state)
{
    static const struct lim_window_spec w[] = {{LIM_FIXED, HOUR, 1000, LIM_COST_REQUEST}};
    struct lim_set *s = new_set(0);
    struct lim_bucket_spec spec = {"*", w, 1, 172800, 0}; /* an hour lasts 21 ms */
    uint32_t b = lim_set_add_bucket(s, &spec);
    struct lim_req r = req(&b, 1, "POST /posts");
    uint64_t now = T0 + 2; /* early in a 21 ms period */
    send_now(s, &r, now, 3);
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 201;
    fb.reset_kind = LIM_RESET_UNIX;
    fb.limit = 1000;
    fb.remaining = 997;
    fb.reset = (int64_t)(now / 1000 + 1); /* the period's end, rounded up to a second */
    lim_apply_feedback(s, &r, &fb, now);
    assert_int_equal(lim_next_slot(s, &r, now), now);
    lim_set_destroy(s);
}

static void test_remaining_above_local_count_never_frees_budget(void **state)
{
    static const struct lim_window_spec w[] = {{LIM_ROLLING, MIN, 60, LIM_COST_REQUEST}};
    struct lim_set *s = new_set(0);
    uint32_t b = add(s, "*", w, 1);
    struct lim_req r = req(&b, 1, "GET /posts");
    send_now(s, &r, T0, 60);
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.reset_kind = LIM_RESET_UNIX;
    fb.limit = 60;
    fb.remaining = 30;
    lim_apply_feedback(s, &r, &fb, T0 + SEC);
    assert_int_equal(lim_next_slot(s, &r, T0 + SEC), T0 + MIN);
    lim_set_destroy(s);
}

static void test_postlark_body_retry_after_blocks(void **state)
{
    static const struct lim_window_spec w[] = {{LIM_FIXED, HOUR, 60, LIM_COST_REQUEST}};
    struct lim_set *s = new_set(0);
    uint32_t b = add(s, "*", w, 1);
    struct lim_req r = req(&b, 1, "POST /posts");
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 429;
    fb.reset_kind = LIM_RESET_UNIX;
    fb.body_retry_after_s = 1823;
    lim_apply_feedback(s, &r, &fb, T0 + 29 * MIN + 37 * SEC);
    assert_int_equal(lim_next_slot(s, &r, T0), T0 + 29 * MIN + 37 * SEC + 1823 * SEC);
    lim_set_destroy(s);
}

static void test_jestha_daily_quota_429_blocks_only_the_account_bucket(void **state)
{
    static const struct lim_window_spec key[] = {{LIM_ROLLING, MIN, 60, LIM_COST_REQUEST},
                                                 {LIM_ROLLING, DAY, 10000, LIM_COST_REQUEST}};
    static const struct lim_window_spec acct[] = {{LIM_FIXED, DAY, 1000, LIM_COST_POST}};
    struct lim_set *s = new_set(0);
    uint32_t b[2] = {add(s, "*", key, 2), add(s, "POST /api/posts", acct, 1)};
    struct lim_req post = req(b, 2, "POST /api/posts");
    struct lim_req get = req(b, 2, "GET /api/posts");
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 429;
    fb.reset_kind = LIM_RESET_UNIX;
    fb.body_retry_after_s = 72345;
    fb.bucket = (int32_t)b[1]; /* "Daily content quota exceeded" names the account */
    lim_apply_feedback(s, &post, &fb, T0);
    assert_int_equal(lim_next_slot(s, &post, T0), T0 + 72345 * SEC);
    assert_int_equal(lim_next_slot(s, &get, T0), T0);
    lim_set_destroy(s);
}

static void test_jestha_lockout_only_extends_and_nothing_goes_inside(void **state)
{
    static const struct lim_window_spec key[] = {{LIM_ROLLING, MIN, 60, LIM_COST_REQUEST}};
    struct lim_set *s = new_set(0);
    uint32_t b = add(s, "*", key, 1);
    struct lim_req r = req(&b, 1, "POST /api/posts");
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 429;
    fb.reset_kind = LIM_RESET_UNIX;
    fb.body_retry_after_s = 300; /* an extended lockout */
    lim_apply_feedback(s, &r, &fb, T0);
    fb.body_retry_after_s = 17;
    lim_apply_feedback(s, &r, &fb, T0 + SEC);
    for (uint64_t t = T0; t < T0 + 300 * SEC; t += 7777)
        assert_true(lim_next_slot(s, &r, t) >= T0 + 300 * SEC);
    assert_int_equal(lim_next_slot(s, &r, T0 + 300 * SEC), T0 + 300 * SEC);
    lim_set_destroy(s);
}

static void test_schedpilot_429_waits_for_top_of_next_hour(void **state)
{
    static const struct lim_window_spec rd[] = {{LIM_FIXED, HOUR, 60, LIM_COST_REQUEST}};
    static const struct lim_window_spec wr[] = {{LIM_FIXED, HOUR, 30, LIM_COST_REQUEST}};
    struct lim_set *s = new_set(0);
    uint32_t b[2] = {add(s, "read", rd, 1), add(s, "write", wr, 1)};
    struct lim_req post = req(b, 2, "POST /developers/v1/post");
    struct lim_req get = req(b, 2, "GET /developers/v1/accounts");
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 429; /* {"code":429,...}: no time at all */
    lim_apply_feedback(s, &post, &fb, T0 + 37 * MIN + 12 * SEC);
    assert_int_equal(lim_next_slot(s, &post, T0 + 37 * MIN), T0 + HOUR);
    assert_int_equal(lim_next_slot(s, &get, T0 + 37 * MIN), T0 + 37 * MIN);
    lim_set_destroy(s);
}

static void test_skew_margin_extends_blocks_and_hour_turn(void **state)
{
    static const struct lim_window_spec wr[] = {{LIM_FIXED, HOUR, 30, LIM_COST_REQUEST}};
    struct lim_set *s = new_set(1500);
    uint32_t b = add(s, "write", wr, 1);
    struct lim_req post = req(&b, 1, "POST /developers/v1/post");
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 429;
    lim_apply_feedback(s, &post, &fb, T0 + 37 * MIN);
    assert_int_equal(lim_next_slot(s, &post, T0 + 37 * MIN), T0 + HOUR + 1500);
    fb.retry_after_s = 3600;
    lim_apply_feedback(s, &post, &fb, T0 + 37 * MIN);
    assert_int_equal(lim_next_slot(s, &post, T0 + 37 * MIN), T0 + 97 * MIN + 1500);
    lim_set_destroy(s);
}

static void test_429_with_relative_reset_blocks_until_reset(void **state)
{
    static const struct lim_window_spec w[] = {{LIM_ROLLING, MIN, 100, LIM_COST_REQUEST}};
    struct lim_set *s = new_set(0);
    uint32_t b = add(s, "*", w, 1);
    struct lim_req r = req(&b, 1, "GET /posts");
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 429;
    fb.reset_kind = LIM_RESET_SECONDS;
    fb.limit = 100;
    fb.remaining = 0;
    fb.reset = 42;
    lim_apply_feedback(s, &r, &fb, T0);
    struct lim_why why;
    uint64_t t = lim_next_slot_why(s, &r, T0, &why);
    assert_int_equal(t, T0 + 42 * SEC);
    assert_int_equal(lim_bucket_blocked_until(s, b), T0 + 42 * SEC);
    for (uint64_t x = T0; x < T0 + 42 * SEC; x += 999)
        assert_true(lim_next_slot(s, &r, x) >= T0 + 42 * SEC);
    lim_set_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_is_unix_time_for_posteverywhere_postlark_jestha),
        cmocka_unit_test(test_reset_is_seconds_left_for_feedhorizon),
        cmocka_unit_test(test_posteverywhere_429_retry_after_blocks_drawn_buckets),
        cmocka_unit_test(test_posteverywhere_limit_header_selects_the_route_window),
        cmocka_unit_test(test_feedhorizon_shared_key_remaining_lowers_budget),
        cmocka_unit_test(test_postlark_shared_key_remaining_holds_until_hour_reset),
        cmocka_unit_test(test_reset_rounded_past_a_short_period_counts_in_the_current_one),
        cmocka_unit_test(test_remaining_above_local_count_never_frees_budget),
        cmocka_unit_test(test_postlark_body_retry_after_blocks),
        cmocka_unit_test(test_jestha_daily_quota_429_blocks_only_the_account_bucket),
        cmocka_unit_test(test_jestha_lockout_only_extends_and_nothing_goes_inside),
        cmocka_unit_test(test_schedpilot_429_waits_for_top_of_next_hour),
        cmocka_unit_test(test_skew_margin_extends_blocks_and_hour_turn),
        cmocka_unit_test(test_429_with_relative_reset_blocks_until_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
