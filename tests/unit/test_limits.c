/* Unit tests for limits: each window kind at its edges, cost rules, routes,
 * time scale, skew, pacing, replay, clone, and limit-row selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "limits/limiter.h"

#define SEC 1000ULL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* 2024-03-05 14:00:00 UTC, a clock hour. */
#define T0 1709647200000ULL
#define FEB28_2024 1709078400000ULL
#define FEB29_2024 1709164800000ULL
#define MAR01_2024 1709251200000ULL
#define FEB01_2023 1675209600000ULL
#define MAR01_2023 1677628800000ULL
#define DEC01_2024 1733011200000ULL
#define JAN01_2025 1735689600000ULL

static struct lim_set *set_without_pacing(uint64_t skew)
{
    struct lim_config cfg;
    lim_config_init(&cfg);
    cfg.pace_max_window_ms = 0;
    cfg.skew_ms = skew;
    return lim_set_create(&cfg);
}

static uint32_t add_one(struct lim_set *s, const char *route, enum lim_kind kind,
                        uint64_t window_ms, uint64_t max, enum lim_cost cost, double scale)
{
    struct lim_window_spec w = {kind, window_ms, max, cost};
    struct lim_bucket_spec b = {route, &w, 1, scale, 0};
    return lim_set_add_bucket(s, &b);
}

static struct lim_req req_for(const uint32_t *buckets, size_t n, const char *route)
{
    struct lim_req r = {route, buckets, n, 1, 1};
    return r;
}

/* Sends n requests as soon as allowed from `from`; returns the last send time. */
static uint64_t send_n(struct lim_set *s, const struct lim_req *r, uint64_t from, int n)
{
    uint64_t t = from;
    for (int i = 0; i < n; i++) {
        t = lim_next_slot(s, r, t);
        assert_int_not_equal(t, LIM_NEVER);
        lim_commit(s, r, t);
    }
    return t;
}

/* ---- windows ---- */

static void test_rolling_minute_61st_waits_for_first_to_expire(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t b = add_one(s, "*", LIM_ROLLING, MIN, 60, LIM_COST_REQUEST, 1);
    struct lim_req r = req_for(&b, 1, "GET /posts");
    for (int i = 0; i < 60; i++) {
        uint64_t t = T0 + 123 + (uint64_t)i * 100;
        assert_int_equal(lim_next_slot(s, &r, t), t);
        lim_commit(s, &r, t);
    }
    assert_int_equal(lim_next_slot(s, &r, T0 + 7000), T0 + 123 + MIN);
    lim_commit(s, &r, T0 + 123 + MIN);
    assert_int_equal(lim_next_slot(s, &r, T0 + 123 + MIN), T0 + 223 + MIN);
    lim_set_destroy(s);
}

static void test_fixed_hour_window_resets_at_top_of_hour(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t bk[2];
    bk[0] = add_one(s, "read", LIM_FIXED, HOUR, 60, LIM_COST_REQUEST, 1);
    bk[1] = add_one(s, "write", LIM_FIXED, HOUR, 30, LIM_COST_REQUEST, 1);
    struct lim_req w = req_for(bk, 2, "POST /developers/v1/post");
    struct lim_req rd = req_for(bk, 2, "GET /developers/v1/accounts");
    uint64_t last = send_n(s, &w, T0 + 37 * MIN, 30);
    assert_int_equal(last, T0 + 37 * MIN);
    assert_int_equal(lim_next_slot(s, &w, last), T0 + HOUR);
    assert_int_equal(lim_next_slot(s, &rd, last), last); /* reads count apart */
    lim_commit(s, &w, T0 + HOUR);
    assert_int_equal(lim_next_slot(s, &w, T0 + HOUR), T0 + HOUR);
    lim_set_destroy(s);
}

static void test_fixed_day_window_resets_at_utc_midnight(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t b = add_one(s, "POST /api/posts", LIM_FIXED, DAY, 1000, LIM_COST_POST, 1);
    struct lim_req r = req_for(&b, 1, "POST /api/posts");
    send_n(s, &r, FEB29_2024 - HOUR, 1000);
    assert_int_equal(lim_next_slot(s, &r, FEB29_2024 - HOUR), FEB29_2024);
    lim_set_destroy(s);
}

static void test_calendar_month_resets_on_the_first_across_leap_day(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t b = add_one(s, "POST /posts", LIM_CALENDAR_MONTH, 0, 15, LIM_COST_POST, 1);
    struct lim_req r = req_for(&b, 1, "POST /posts");
    send_n(s, &r, FEB28_2024, 14);
    /* Feb 29 is still February in a leap year. */
    lim_commit(s, &r, FEB29_2024 + 23 * HOUR);
    assert_int_equal(lim_next_slot(s, &r, FEB29_2024 + 23 * HOUR), MAR01_2024);
    lim_set_destroy(s);
}

static void test_calendar_month_resets_after_feb_28_in_common_year(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t b = add_one(s, "POST /posts", LIM_CALENDAR_MONTH, 0, 15, LIM_COST_POST, 1);
    struct lim_req r = req_for(&b, 1, "POST /posts");
    send_n(s, &r, FEB01_2023, 15);
    assert_int_equal(lim_next_slot(s, &r, FEB01_2023), MAR01_2023);
    lim_set_destroy(s);
}

static void test_calendar_month_turns_the_year(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t b = add_one(s, "POST /posts", LIM_CALENDAR_MONTH, 0, 50, LIM_COST_POST, 1);
    struct lim_req r = req_for(&b, 1, "POST /posts");
    send_n(s, &r, DEC01_2024 + 30 * DAY, 50);
    assert_int_equal(lim_next_slot(s, &r, DEC01_2024 + 30 * DAY), JAN01_2025);
    lim_set_destroy(s);
}

static void test_lifetime_never_resets(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t b = add_one(s, "POST /posts", LIM_LIFETIME, 0, 10, LIM_COST_POST, 1);
    struct lim_req r = req_for(&b, 1, "POST /posts");
    send_n(s, &r, T0, 10);
    assert_int_equal(lim_next_slot(s, &r, T0), LIM_NEVER);
    assert_int_equal(lim_next_slot(s, &r, T0 + 400 * DAY), LIM_NEVER);
    struct lim_why why;
    assert_int_equal(lim_next_slot_why(s, &r, T0, &why), LIM_NEVER);
    assert_int_equal(why.reason, LIM_WHY_WINDOW);
    assert_int_equal(why.window, 0);
    lim_set_destroy(s);
}

static void test_cost_above_max_units_is_never(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t b = add_one(s, "*", LIM_ROLLING, MIN, 10, LIM_COST_ACCOUNT, 1);
    struct lim_req r = req_for(&b, 1, "POST /posts");
    r.accounts = 11;
    assert_int_equal(lim_next_slot(s, &r, T0), LIM_NEVER);
    lim_set_destroy(s);
}

static void test_cost_rules_count_requests_posts_and_accounts(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t bk[3];
    bk[0] = add_one(s, "*", LIM_FIXED, HOUR, 10, LIM_COST_REQUEST, 1);
    bk[1] = add_one(s, "*", LIM_FIXED, HOUR, 10, LIM_COST_POST, 1);
    bk[2] = add_one(s, "*", LIM_FIXED, HOUR, 10, LIM_COST_ACCOUNT, 1);
    struct lim_req r = req_for(bk, 3, "POST /posts");
    r.accounts = 4; /* one post to four accounts in one request */
    send_n(s, &r, T0, 2);
    struct lim_window_state st;
    lim_window_state(s, bk[0], 0, T0, &st);
    assert_int_equal(st.used, 2);
    lim_window_state(s, bk[1], 0, T0, &st);
    assert_int_equal(st.used, 2);
    lim_window_state(s, bk[2], 0, T0, &st);
    assert_int_equal(st.used, 8);
    assert_int_equal(lim_next_slot(s, &r, T0), T0 + HOUR); /* 8 + 4 > 10 accounts */
    r.accounts = 2;
    assert_int_equal(lim_next_slot(s, &r, T0), T0);
    struct lim_req read = req_for(bk, 3, "GET /posts");
    read.posts = 0;
    read.accounts = 0;
    lim_commit(s, &read, T0);
    lim_window_state(s, bk[1], 0, T0, &st);
    assert_int_equal(st.used, 2); /* a read creates no post */
    lim_set_destroy(s);
}

static void test_request_draws_only_on_matching_routes(void **state)
{
    assert_true(lim_route_matches("*", "GET /x"));
    assert_true(lim_route_matches("*", NULL));
    assert_true(lim_route_matches("read", "GET /accounts"));
    assert_false(lim_route_matches("read", "POST /posts"));
    assert_true(lim_route_matches("write", "POST /posts"));
    assert_true(lim_route_matches("write", "DELETE /posts/1"));
    assert_true(lim_route_matches("write", "PATCH /posts/1"));
    assert_false(lim_route_matches("write", "GET /posts"));
    assert_false(lim_route_matches("write", "POSTX /posts"));
    assert_true(lim_route_matches("POST /posts", "POST /posts"));
    assert_false(lim_route_matches("POST /posts", "POST /posts/1"));
    assert_false(lim_route_matches("POST /posts", NULL));

    struct lim_set *s = set_without_pacing(0);
    uint32_t bk[2];
    bk[0] = add_one(s, "*", LIM_ROLLING, MIN, 60, LIM_COST_REQUEST, 1);
    bk[1] = add_one(s, "POST /posts", LIM_ROLLING, MIN, 20, LIM_COST_REQUEST, 1);
    struct lim_req post = req_for(bk, 2, "POST /posts");
    struct lim_req get = req_for(bk, 2, "GET /posts");
    send_n(s, &post, T0, 20);
    assert_int_equal(lim_next_slot(s, &post, T0), T0 + MIN);
    send_n(s, &get, T0, 40);
    assert_int_equal(lim_next_slot(s, &get, T0), T0 + MIN);
    lim_set_destroy(s);
}

static void test_time_scale_divides_windows_and_aligns_fixed(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t roll = add_one(s, "*", LIM_ROLLING, MIN, 2, LIM_COST_REQUEST, 60);
    uint32_t fix = add_one(s, "*", LIM_FIXED, HOUR, 2, LIM_COST_REQUEST, 60);
    uint32_t mon = add_one(s, "*", LIM_CALENDAR_MONTH, 0, 2, LIM_COST_REQUEST, 30);
    struct lim_req r = req_for(&roll, 1, "GET /");
    send_n(s, &r, T0 + 10, 2);
    assert_int_equal(lim_next_slot(s, &r, T0 + 10), T0 + 10 + SEC);
    r.buckets = &fix;
    send_n(s, &r, T0 + 10, 2);
    assert_int_equal(lim_next_slot(s, &r, T0 + 10), T0 + MIN); /* next multiple of 60 s */
    r.buckets = &mon; /* a scaled month is a fixed 30 days / 30 = one UTC day */
    send_n(s, &r, T0 + 10, 2);
    assert_int_equal(lim_next_slot(s, &r, T0 + 10), T0 - 14 * HOUR + DAY);
    struct lim_window_state st;
    lim_window_state(s, mon, 0, T0, &st);
    assert_int_equal(st.len_ms, DAY);
    lim_set_destroy(s);
}

static void test_skew_margin_delays_rolling_expiry_and_fixed_opening(void **state)
{
    struct lim_set *s = set_without_pacing(500);
    uint32_t roll = add_one(s, "*", LIM_ROLLING, MIN, 3, LIM_COST_REQUEST, 1);
    uint32_t fix = add_one(s, "*", LIM_FIXED, HOUR, 3, LIM_COST_REQUEST, 1);
    struct lim_req r = req_for(&roll, 1, "GET /");
    send_n(s, &r, T0, 3);
    assert_int_equal(lim_next_slot(s, &r, T0), T0 + MIN + 500);

    r.buckets = &fix;
    send_n(s, &r, T0 + 10 * MIN, 3);
    assert_int_equal(lim_next_slot(s, &r, T0 + 10 * MIN), T0 + HOUR + 500);
    lim_set_destroy(s);

    /* A send within the margin before the hour also counts in the next hour. */
    s = set_without_pacing(500);
    fix = add_one(s, "*", LIM_FIXED, HOUR, 1, LIM_COST_REQUEST, 1);
    r.buckets = &fix;
    lim_commit(s, &r, T0 + HOUR - 200);
    assert_int_equal(lim_next_slot(s, &r, T0 + HOUR - 200), T0 + 2 * HOUR + 500);
    lim_set_destroy(s);
}

/* A skew of half a period or more (a scaled demo: a minute lasting a second,
 * a 1 s skew) puts a send in three periods or more; it counts in every one.
 * Counting only the outer two left the send's own period empty, so a second
 * send could have joined it there. */
static void test_skew_wider_than_half_a_period_counts_in_every_period_it_spans(void **state)
{
    (void)state;
    struct lim_set *s = set_without_pacing(SEC);
    uint32_t fix = add_one(s, "*", LIM_FIXED, SEC, 1, LIM_COST_REQUEST, 1);
    struct lim_req r = req_for(&fix, 1, "POST /");
    lim_commit(s, &r, T0 + 2500); /* periods 1, 2 and 3 (seconds after T0) */
    /* The next send may not count in any of them: it waits until x - skew is
     * in period 4. */
    assert_int_equal(lim_next_slot(s, &r, T0 + 2600), T0 + 5000);
    struct lim_window_state ws;
    lim_window_state(s, fix, 0, T0 + 2500, &ws);
    assert_int_equal(ws.used, 1);
    lim_set_destroy(s);

    /* Wider than the periods kept (21 periods): the send is counted in the
     * newest ones, the older ones count as full, and the next send still
     * waits until it can count in none of them: x - skew in period 41. */
    s = set_without_pacing(10 * SEC);
    fix = add_one(s, "*", LIM_FIXED, SEC, 1, LIM_COST_REQUEST, 1);
    lim_commit(s, &r, T0 + 30500);
    assert_int_equal(lim_next_slot(s, &r, T0 + 30600), T0 + 51000);
    lim_set_destroy(s);
}

static void test_rolling_log_bounded_by_max_units_stays_conservative(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t b = add_one(s, "*", LIM_ROLLING, MIN, 3, LIM_COST_REQUEST, 1);
    struct lim_req r = req_for(&b, 1, "GET /");
    /* Forced sends beyond the limit (a replayed log) overflow the ring. */
    for (int i = 0; i < 5; i++)
        lim_commit(s, &r, T0 + (uint64_t)i * SEC);
    struct lim_window_state st;
    lim_window_state(s, b, 0, T0 + 4 * SEC, &st);
    assert_int_equal(st.used, 5);
    /* Three units must expire: the third send's at T0+2s+60s at the earliest. */
    assert_true(lim_next_slot(s, &r, T0 + 4 * SEC) >= T0 + 2 * SEC + MIN);
    lim_set_destroy(s);
}

/* ---- pacing ---- */

static struct lim_set *paced_set(uint32_t burst, uint32_t *b, uint64_t window, uint64_t max)
{
    struct lim_set *s = lim_set_create(NULL);
    struct lim_window_spec w = {LIM_ROLLING, window, max, LIM_COST_REQUEST};
    struct lim_bucket_spec spec = {"*", &w, 1, 1, burst};
    *b = lim_set_add_bucket(s, &spec);
    return s;
}

static void test_pacing_spaces_sends_by_window_over_limit_after_burst(void **state)
{
    uint32_t b;
    struct lim_set *s = paced_set(10, &b, MIN, 100); /* FeedHorizon: 600 ms apart */
    struct lim_req r = req_for(&b, 1, "GET /posts");
    for (int i = 0; i < 10; i++) {
        assert_int_equal(lim_next_slot(s, &r, T0), T0);
        lim_commit(s, &r, T0);
    }
    struct lim_why why;
    for (uint64_t k = 1; k <= 20; k++) {
        uint64_t t = lim_next_slot_why(s, &r, T0, &why);
        assert_int_equal(t, T0 + k * 600);
        assert_int_equal(why.reason, LIM_WHY_PACE);
        lim_commit(s, &r, t);
    }
    lim_set_destroy(s);
}

static void test_pacing_burst_refills_while_idle(void **state)
{
    uint32_t b;
    struct lim_set *s = paced_set(5, &b, MIN, 60);
    struct lim_req r = req_for(&b, 1, "GET /posts");
    uint64_t last = send_n(s, &r, T0, 8);
    assert_int_equal(last, T0 + 3 * SEC);
    /* Idle for 10 s: the full burst of 5 is available again at once. */
    uint64_t t = T0 + 13 * SEC;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(lim_next_slot(s, &r, t), t);
        lim_commit(s, &r, t);
    }
    assert_int_equal(lim_next_slot(s, &r, t), t + SEC);
    lim_set_destroy(s);
}

static void test_pacing_fractional_spacing_does_not_drift(void **state)
{
    uint32_t b;
    struct lim_set *s = paced_set(1, &b, MIN, 7); /* 8571.43 ms apart */
    struct lim_req r = req_for(&b, 1, "GET /");
    uint64_t first = lim_next_slot(s, &r, T0);
    lim_commit(s, &r, first);
    uint64_t t = first;
    for (int i = 1; i < 700; i++) {
        uint64_t n = lim_next_slot(s, &r, t);
        assert_true(n - t >= 8571 && n - t <= 8572);
        lim_commit(s, &r, n);
        t = n;
    }
    /* 700 sends span 699 * 60000 / 7 ms, rounded up once, not 699 times. */
    assert_true(t - first <= 699 * MIN / 7 + 1);
    lim_set_destroy(s);
}

/* A SchedPilot-like bucket: 30 writes per clock hour, paced, burst 3. */
static struct lim_set *fixed_hour_set(uint32_t *b, uint64_t skew)
{
    struct lim_config cfg;
    lim_config_init(&cfg);
    cfg.skew_ms = skew;
    struct lim_set *s = lim_set_create(&cfg);
    struct lim_window_spec w = {LIM_FIXED, HOUR, 30, LIM_COST_REQUEST};
    struct lim_bucket_spec spec = {"*", &w, 1, 1, 3};
    *b = lim_set_add_bucket(s, &spec);
    return s;
}

/* Sends as soon as allowed from `from` until `until`; returns how many. */
static int send_until(struct lim_set *s, const struct lim_req *r, uint64_t from, uint64_t until,
                      uint64_t *first, uint64_t *last)
{
    int n = 0;
    for (uint64_t t = lim_next_slot(s, r, from); t < until; t = lim_next_slot(s, r, t)) {
        if (n++ == 0)
            *first = t;
        *last = t;
        lim_commit(s, r, t);
    }
    return n;
}

static void test_fixed_window_entered_part_way_still_spends_its_budget(void **state)
{
    uint32_t b;
    struct lim_set *s = fixed_hour_set(&b, 1000);
    struct lim_req r = req_for(&b, 1, "POST /post");
    /* Starting at :40, what is left of the hour (20 min) gets all 30 sends,
     * spread over it; W/L spacing (2 min) would have fitted only 13. */
    uint64_t first = 0, last = 0;
    assert_int_equal(send_until(s, &r, T0 + 40 * MIN, T0 + HOUR, &first, &last), 30);
    assert_int_equal(first, T0 + 40 * MIN);
    assert_true(last > T0 + 55 * MIN); /* spread to the end, not bunched at the start */
    /* The next hour is a full one: 30 again, about W/L apart after the burst. */
    uint64_t next_first = 0;
    assert_int_equal(send_until(s, &r, T0 + HOUR, T0 + 2 * HOUR, &next_first, &last), 30);
    assert_int_equal(next_first, T0 + HOUR + SEC); /* the window's skew margin */
    assert_true(last > T0 + HOUR + 55 * MIN);
    lim_set_destroy(s);
}

static void test_fixed_window_pacing_leaves_the_budget_spent_elsewhere(void **state)
{
    uint32_t b;
    struct lim_set *s = fixed_hour_set(&b, 0);
    struct lim_req r = req_for(&b, 1, "POST /post");
    uint64_t first = 0, last = 0;
    assert_int_equal(send_until(s, &r, T0, T0 + 10 * MIN, &first, &last), 7);
    /* Another client spent 13 (the provider reports 20 used): only the 10
     * left go this hour, and the next hour starts afresh with its 30. */
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 201;
    fb.limit = 30;
    fb.remaining = 10;
    lim_apply_feedback(s, &r, &fb, T0 + 10 * MIN);
    assert_int_equal(send_until(s, &r, T0 + 10 * MIN, T0 + HOUR, &first, &last), 10);
    assert_int_equal(send_until(s, &r, T0 + HOUR, T0 + 2 * HOUR, &first, &last), 30);
    assert_int_equal(first, T0 + HOUR);
    lim_set_destroy(s);
}

static void test_long_windows_are_not_paced(void **state)
{
    uint32_t b;
    struct lim_set *s = lim_set_create(NULL);
    struct lim_window_spec w = {LIM_FIXED, DAY, 1000, LIM_COST_POST};
    struct lim_bucket_spec spec = {"POST /api/posts", &w, 1, 1, 0};
    b = lim_set_add_bucket(s, &spec);
    struct lim_req r = req_for(&b, 1, "POST /api/posts");
    assert_int_equal(send_n(s, &r, T0, 200), T0);
    lim_set_destroy(s);
}

/* ---- replay, clone, reset ---- */

static void test_replay_rebuilds_windows_from_unsorted_history(void **state)
{
    struct lim_set *live = set_without_pacing(0);
    uint32_t bk[2];
    bk[0] = add_one(live, "*", LIM_ROLLING, MIN, 5, LIM_COST_REQUEST, 1);
    bk[1] = add_one(live, "*", LIM_FIXED, HOUR, 8, LIM_COST_ACCOUNT, 1);
    struct lim_set *rebuilt = lim_set_clone(live);
    struct lim_sent log[5];
    for (int i = 0; i < 5; i++) {
        log[i].sent_ms = T0 + (uint64_t)(4 - i) * SEC;
        log[i].req = req_for(bk, 2, "POST /posts");
        log[i].req.accounts = 1 + (uint32_t)(i % 2);
    }
    for (int i = 4; i >= 0; i--)
        lim_commit(live, &log[i].req, log[i].sent_ms);
    lim_replay(rebuilt, log, 5);
    struct lim_req r = req_for(bk, 2, "POST /posts");
    assert_int_equal(lim_next_slot(rebuilt, &r, T0 + 5 * SEC),
                     lim_next_slot(live, &r, T0 + 5 * SEC));
    assert_int_equal(lim_next_slot(rebuilt, &r, T0 + 5 * SEC), T0 + MIN);
    r.accounts = 2;
    lim_set_reset(rebuilt);
    assert_int_equal(lim_next_slot(rebuilt, &r, T0), T0);
    lim_set_destroy(live);
    lim_set_destroy(rebuilt);
}

static void test_clone_is_independent_for_plan_simulation(void **state)
{
    struct lim_set *s = set_without_pacing(0);
    uint32_t b = add_one(s, "*", LIM_ROLLING, MIN, 2, LIM_COST_REQUEST, 1);
    struct lim_req r = req_for(&b, 1, "GET /");
    lim_commit(s, &r, T0);
    struct lim_set *sim = lim_set_clone(s);
    lim_commit(sim, &r, T0);
    assert_int_equal(lim_next_slot(sim, &r, T0), T0 + MIN);
    assert_int_equal(lim_next_slot(s, &r, T0), T0);
    lim_set_destroy(sim);
    lim_set_destroy(s);
    lim_set_destroy(NULL);
}

/* ---- limit rows ---- */

static const struct lim_row rows[] = {
    {"postlark", "free", 0, LIM_SCOPE_KEY, "*", LIM_FIXED, HOUR, 60, LIM_COST_REQUEST},
    {"postlark", "starter", 0, LIM_SCOPE_KEY, "*", LIM_FIXED, HOUR, 300, LIM_COST_REQUEST},
    {"postlark", "free", 0, LIM_SCOPE_ACCOUNT, "POST /posts", LIM_LIFETIME, 0, 10, LIM_COST_POST},
    {"postlark", "starter", 0, LIM_SCOPE_ACCOUNT, "POST /posts", LIM_CALENDAR_MONTH, 0, 15,
     LIM_COST_POST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, MIN, 60, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, DAY, 10000, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "POST /api/posts", LIM_ROLLING, MIN, 10, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_ACCOUNT, "POST /api/posts", LIM_FIXED, DAY, 1000, LIM_COST_POST},
    {"jestha", NULL, 7, LIM_SCOPE_ACCOUNT, "POST /api/posts", LIM_FIXED, DAY, 5000, LIM_COST_POST},
    {"postlark", NULL, 9, LIM_SCOPE_KEY, "*", LIM_FIXED, HOUR, 20000, LIM_COST_REQUEST},
};
#define NROWS (sizeof rows / sizeof rows[0])

static void test_rows_filter_by_plan(void **state)
{
    const struct lim_row *out[NROWS];
    size_t n = lim_rows_select(rows, NROWS, "postlark", "starter", 1, out);
    assert_int_equal(n, 2);
    assert_ptr_equal(out[0], &rows[1]);
    assert_ptr_equal(out[1], &rows[3]);
    n = lim_rows_select(rows, NROWS, "postlark", "scale", 1, out);
    assert_int_equal(n, 0);
}

static void test_rows_key_override_replaces_provider_row(void **state)
{
    const struct lim_row *out[NROWS];
    size_t n = lim_rows_select(rows, NROWS, "jestha", "default", 7, out);
    assert_int_equal(n, 4);
    assert_ptr_equal(out[3], &rows[8]); /* 5,000/day for key 7 */
    n = lim_rows_select(rows, NROWS, "jestha", "default", 8, out);
    assert_int_equal(n, 4);
    assert_ptr_equal(out[3], &rows[7]);
    /* A key row overrides the plan row too. */
    n = lim_rows_select(rows, NROWS, "postlark", "free", 9, out);
    assert_int_equal(n, 2);
    assert_ptr_equal(out[0], &rows[2]);
    assert_ptr_equal(out[1], &rows[9]);
}

static void test_rows_become_one_bucket_per_scope_and_route(void **state)
{
    const struct lim_row *sel[NROWS];
    size_t n = lim_rows_select(rows, NROWS, "jestha", "default", 1, sel);
    struct lim_set *s = lim_set_create(NULL);
    uint32_t key[NROWS], acct[NROWS];
    assert_int_equal(lim_set_add_rows(s, sel, n, LIM_SCOPE_KEY, 1, key), 2);
    assert_int_equal(lim_set_add_rows(s, sel, n, LIM_SCOPE_ACCOUNT, 1, acct), 1);
    assert_int_equal(lim_set_nbuckets(s), 3);
    assert_int_equal(lim_bucket_nwindows(s, key[0]), 2);
    assert_int_equal(lim_bucket_nwindows(s, key[1]), 1);
    assert_int_equal(lim_bucket_nwindows(s, acct[0]), 1);
    lim_set_destroy(s);
}

static void test_enum_labels_parse(void **state)
{
    assert_int_equal(lim_kind_parse("calendar_month"), LIM_CALENDAR_MONTH);
    assert_int_equal(lim_kind_parse("weekly"), -1);
    assert_int_equal(lim_cost_parse("account"), LIM_COST_ACCOUNT);
    assert_int_equal(lim_scope_parse("user"), LIM_SCOPE_USER);
    assert_int_equal(lim_reset_kind_parse("seconds"), LIM_RESET_SECONDS);
    assert_int_equal(lim_reset_kind_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rolling_minute_61st_waits_for_first_to_expire),
        cmocka_unit_test(test_fixed_hour_window_resets_at_top_of_hour),
        cmocka_unit_test(test_fixed_day_window_resets_at_utc_midnight),
        cmocka_unit_test(test_calendar_month_resets_on_the_first_across_leap_day),
        cmocka_unit_test(test_calendar_month_resets_after_feb_28_in_common_year),
        cmocka_unit_test(test_calendar_month_turns_the_year),
        cmocka_unit_test(test_lifetime_never_resets),
        cmocka_unit_test(test_cost_above_max_units_is_never),
        cmocka_unit_test(test_cost_rules_count_requests_posts_and_accounts),
        cmocka_unit_test(test_request_draws_only_on_matching_routes),
        cmocka_unit_test(test_time_scale_divides_windows_and_aligns_fixed),
        cmocka_unit_test(test_skew_margin_delays_rolling_expiry_and_fixed_opening),
        cmocka_unit_test(test_skew_wider_than_half_a_period_counts_in_every_period_it_spans),
        cmocka_unit_test(test_rolling_log_bounded_by_max_units_stays_conservative),
        cmocka_unit_test(test_pacing_spaces_sends_by_window_over_limit_after_burst),
        cmocka_unit_test(test_pacing_burst_refills_while_idle),
        cmocka_unit_test(test_pacing_fractional_spacing_does_not_drift),
        cmocka_unit_test(test_fixed_window_entered_part_way_still_spends_its_budget),
        cmocka_unit_test(test_fixed_window_pacing_leaves_the_budget_spent_elsewhere),
        cmocka_unit_test(test_long_windows_are_not_paced),
        cmocka_unit_test(test_replay_rebuilds_windows_from_unsorted_history),
        cmocka_unit_test(test_clone_is_independent_for_plan_simulation),
        cmocka_unit_test(test_rows_filter_by_plan),
        cmocka_unit_test(test_rows_key_override_replaces_provider_row),
        cmocka_unit_test(test_rows_become_one_bucket_per_scope_and_route),
        cmocka_unit_test(test_enum_labels_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
