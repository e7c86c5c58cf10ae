/*
 * The README's answer table ("Publishing"), row by row, in virtual time:
 * each provider answer's move for a target and the attempt's outcome.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/outcome.h"

#define NOW UINT64_C(1800000000000)

/* A deterministic backoff: 1 s times the attempt, so each row shows which attempt it used. */
static uint64_t backoff(void *arg, int attempt)
{
    (void)arg;
    return 1000 * (uint64_t)attempt;
}

static const struct outcome_rules rules = {5, 300000, backoff, NULL};

struct row {
    const char *what;
    enum answer_kind kind;
    long status;
    int attempts;
    uint64_t blocked_until;
    enum target_status want;
    uint64_t want_next; /* 0: none */
    int want_uncount, want_records;
    enum attempt_outcome want_attempt;
};

static const struct row table[] = {
    /* 429: back at the end of the block the limiter learned, not counted. */
    {"429 with a learned block", ANS_HTTP, 429, 2, NOW + 42000, TS_SCHEDULED, NOW + 42000, 1, 0,
     AO_RATE_LIMITED},
    {"429 with no block known", ANS_HTTP, 429, 3, 0, TS_SCHEDULED, NOW + 1000, 1, 0,
     AO_RATE_LIMITED},
    {"429 whose block already passed", ANS_HTTP, 429, 1, NOW - 5, TS_SCHEDULED, NOW + 1000, 1, 0,
     AO_RATE_LIMITED},
    /* 4xx: failed at once, the provider's words kept. */
    {"400", ANS_HTTP, 400, 1, 0, TS_FAILED, 0, 0, 1, AO_PERMANENT},
    {"401", ANS_HTTP, 401, 1, 0, TS_FAILED, 0, 0, 1, AO_PERMANENT},
    {"402", ANS_HTTP, 402, 1, 0, TS_FAILED, 0, 0, 1, AO_PERMANENT},
    {"404", ANS_HTTP, 404, 4, 0, TS_FAILED, 0, 0, 1, AO_PERMANENT},
    {"a redirect is no creation", ANS_HTTP, 302, 1, 0, TS_FAILED, 0, 0, 1, AO_PERMANENT},
    /* 5xx, timeout, connection lost after sending: unconfirmed, never re-sent blindly. */
    {"500", ANS_HTTP, 500, 1, 0, TS_UNCONFIRMED, NOW + 300000, 0, 1, AO_UNKNOWN},
    {"503", ANS_HTTP, 503, 5, 0, TS_UNCONFIRMED, NOW + 300000, 0, 1, AO_UNKNOWN},
    {"lost after sending", ANS_LOST, 0, 1, 0, TS_UNCONFIRMED, NOW + 300000, 0, 1, AO_UNKNOWN},
    {"lost on the last try", ANS_LOST, 0, 5, 0, TS_UNCONFIRMED, NOW + 300000, 0, 1, AO_UNKNOWN},
    /* Could not connect: nothing left, so back after a backoff, failed after max_attempts. */
    {"never left, first try", ANS_NEVER_LEFT, 0, 1, 0, TS_SCHEDULED, NOW + 1000, 0, 1,
     AO_RETRYABLE},
    {"never left, fourth try", ANS_NEVER_LEFT, 0, 4, 0, TS_SCHEDULED, NOW + 4000, 0, 1,
     AO_RETRYABLE},
    {"never left, last try", ANS_NEVER_LEFT, 0, 5, 0, TS_FAILED, 0, 0, 1, AO_RETRYABLE},
};

static void test_every_row_of_the_answer_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct row *r = &table[i];
        struct target_move m = out_move(&rules, r->kind, r->status, r->attempts, NOW,
                                        r->blocked_until);
        if (m.status != r->want || m.next_ms != r->want_next || m.uncount != r->want_uncount ||
            m.records != r->want_records || out_attempt(r->kind, r->status) != r->want_attempt)
            fail_msg("%s: got %s next=%+lld uncount=%d records=%d attempt=%s", r->what,
                     ts_name(m.status), m.next_ms ? (long long)(m.next_ms - NOW) : 0LL, m.uncount,
                     m.records, ao_name(out_attempt(r->kind, r->status)));
    }
}

/* 2xx: submitted whatever the body, failed only where it clearly says so. */
static void test_a_2xx_is_submitted_unless_the_account_clearly_failed(void **state)
{
    (void)state;
    assert_int_equal(out_attempt(ANS_HTTP, 200), AO_OK);
    assert_int_equal(out_attempt(ANS_HTTP, 201), AO_OK);
    assert_int_equal(out_attempt(ANS_HTTP, 202), AO_OK);
    assert_int_equal(out_created(PROV_CREATED), TS_SUBMITTED);
    assert_int_equal(out_created(PROV_CREATED_NO_ID), TS_SUBMITTED);
    assert_int_equal(out_created(PROV_FAILED), TS_FAILED);
}

/* The C names are the SQL ones, in the SQL enum's order. */
static void test_names_match_the_sql_spellings(void **state)
{
    (void)state;
    static const char *const sql[] = {"scheduled", "publishing", "submitted", "published",
                                      "failed",    "unconfirmed", "cancelled", "expired"};
    for (int i = TS_SCHEDULED; i <= TS_EXPIRED; i++)
        assert_string_equal(ts_name((enum target_status)i), sql[i]);
    assert_string_equal(ao_name(AO_RATE_LIMITED), "rate_limited");
    assert_string_equal(ao_name(AO_UNKNOWN), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row_of_the_answer_table),
        cmocka_unit_test(test_a_2xx_is_submitted_unless_the_account_clearly_failed),
        cmocka_unit_test(test_names_match_the_sql_spellings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
