/*
 * provider: reading a 2xx create answer, in more than one dialect per
 * provider. The docs show none of these bodies, and our simulator was written
 * with our client, so each provider is read in the simulator's dialect and in
 * others an independent implementation could plausibly speak. The rule being
 * pinned: a 2xx means created; an account is failed only where the body
 * clearly says so, and what cannot be read is "created, id unknown".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "provider/provider.h"

static const char *const pe_accounts[] = {"acc1", "acc2"};
static const char *const sp_accounts[] = {"a1", "a2"};
static const char *const fh_accounts[] = {"twitter", "linkedin"};
static const char *const pl_accounts[] = {"blog1"};
static const char *const je_accounts[] = {"jestha-acct"};

/* Decodes `body` as provider `id`'s answer to a create for `accounts`. */
static size_t decode(enum prov_id id, const char *body, const char *const *accounts, size_t n,
                     struct prov_result *out)
{
    struct prov_post post = {"hello", "[]", accounts, n, "pp-1-abc", NULL};
    memset(out, 0xff, n * sizeof *out); /* nothing left over from the caller */
    return prov_ops(id)->decode_created(body, strlen(body), &post, out);
}

static void assert_created(const struct prov_result *r, const char *post_id)
{
    assert_int_equal(r->outcome, PROV_CREATED);
    assert_string_equal(r->post_id, post_id);
}

static void assert_id_unknown(const struct prov_result *r)
{
    assert_int_equal(r->outcome, PROV_CREATED_NO_ID);
    assert_string_equal(r->post_id, "");
}

static void assert_failed(const struct prov_result *r, const char *code, const char *message)
{
    assert_int_equal(r->outcome, PROV_FAILED);
    assert_string_equal(r->error_code, code);
    assert_string_equal(r->error_message, message);
    assert_string_equal(r->post_id, "");
}

/* ---- PostEverywhere ---- */

static void test_posteverywhere_reads_data_results_with_a_partial_failure(void **state)
{
    (void)state;
    struct prov_result r[2];
    size_t unknown =
        decode(PROV_POSTEVERYWHERE,
               "{\"data\":{\"id\":\"pe_1\",\"results\":["
               "{\"account_id\":\"acc1\",\"status\":\"scheduled\",\"post_id\":\"pep_1\"},"
               "{\"account_id\":\"acc2\",\"status\":\"failed\","
               "\"error\":{\"code\":\"platform_error\",\"message\":\"nope\"}}]},"
               "\"meta\":{\"request_id\":\"req_1\",\"timestamp\":\"2026-03-02T10:30:00Z\"}}",
               pe_accounts, 2, r);
    assert_int_equal(unknown, 0);
    assert_created(&r[0], "pep_1");
    assert_failed(&r[1], "platform_error", "nope");
}

static void test_posteverywhere_reads_camel_case_posts_at_the_top_in_any_order(void **state)
{
    (void)state;
    struct prov_result r[2];
    size_t unknown = decode(PROV_POSTEVERYWHERE,
                            "{\"id\":\"pe_1\",\"posts\":["
                            "{\"accountId\":\"acc2\",\"postId\":\"x2\",\"extra\":{\"a\":[1,2]}},"
                            "{\"accountId\":\"acc1\",\"postId\":\"x1\"}]}",
                            pe_accounts, 2, r);
    assert_int_equal(unknown, 0);
    assert_created(&r[0], "x1");
    assert_created(&r[1], "x2");
}

static void
test_posteverywhere_account_as_object_and_unmentioned_account_is_not_failed(void **state)
{
    (void)state;
    struct prov_result r[2];
    size_t unknown =
        decode(PROV_POSTEVERYWHERE,
               "{\"data\":{\"results\":[{\"account\":{\"id\":\"acc1\",\"name\":\"Me\"},"
               "\"id\":\"p1\",\"status\":\"scheduled\"}]}}",
               pe_accounts, 2, r);
    assert_int_equal(unknown, 1);
    assert_created(&r[0], "p1");
    assert_id_unknown(&r[1]);
}

/* The request's own id is not any account's post id. */
static void test_posteverywhere_request_id_alone_leaves_ids_unknown(void **state)
{
    (void)state;
    struct prov_result r[2];
    assert_int_equal(decode(PROV_POSTEVERYWHERE,
                            "{\"data\":{\"id\":\"pe_1\",\"status\":\"scheduled\"}}", pe_accounts, 2,
                            r),
                     2);
    assert_id_unknown(&r[0]);
    assert_id_unknown(&r[1]);
}

/* ---- SchedPilot ---- */

static void test_schedpilot_reads_top_level_accounts(void **state)
{
    (void)state;
    struct prov_result r[2];
    size_t unknown = decode(PROV_SCHEDPILOT,
                            "{\"id\":\"sp_1\",\"accounts\":["
                            "{\"account\":\"a1\",\"status\":\"scheduled\",\"post_id\":\"spp_1\"},"
                            "{\"account\":\"a2\",\"status\":\"scheduled\",\"post_id\":\"spp_2\"}]}",
                            sp_accounts, 2, r);
    assert_int_equal(unknown, 0);
    assert_created(&r[0], "spp_1");
    assert_created(&r[1], "spp_2");
}

static void test_schedpilot_reads_results_keyed_by_account(void **state)
{
    (void)state;
    struct prov_result r[2];
    size_t unknown = decode(PROV_SCHEDPILOT,
                            "{\"id\":\"sp_1\",\"results\":{\"a1\":{\"post_id\":\"s1\"},"
                            "\"a2\":{\"state\":\"error\",\"message\":\"token expired\"}}}",
                            sp_accounts, 2, r);
    assert_int_equal(unknown, 0);
    assert_created(&r[0], "s1");
    assert_failed(&r[1], "error", "token expired");
}

static void test_schedpilot_reads_plain_string_ids_by_position(void **state)
{
    (void)state;
    struct prov_result r[2];
    assert_int_equal(
        decode(PROV_SCHEDPILOT, "{\"success\":true,\"posts\":[\"s1\",\"s2\"]}", sp_accounts, 2, r),
        0);
    assert_created(&r[0], "s1");
    assert_created(&r[1], "s2");
}

static void test_schedpilot_reads_integer_ids_under_a_data_array(void **state)
{
    (void)state;
    struct prov_result r[2];
    assert_int_equal(decode(PROV_SCHEDPILOT,
                            "{\"data\":[{\"account_id\":\"a1\",\"id\":123},"
                            "{\"account_id\":\"a2\",\"id\":456}]}",
                            sp_accounts, 2, r),
                     0);
    assert_created(&r[0], "123");
    assert_created(&r[1], "456");
}

/* ---- FeedHorizon ---- */

static void test_feedhorizon_reads_data_platforms_objects(void **state)
{
    (void)state;
    struct prov_result r[2];
    size_t unknown =
        decode(PROV_FEEDHORIZON,
               "{\"data\":{\"id\":\"fh_1\",\"platforms\":["
               "{\"platform\":\"twitter\",\"status\":\"queued\",\"post_id\":\"fhp_1\"},"
               "{\"platform\":\"linkedin\",\"status\":\"queued\",\"post_id\":\"fhp_2\"}]}}",
               fh_accounts, 2, r);
    assert_int_equal(unknown, 0);
    assert_created(&r[0], "fhp_1");
    assert_created(&r[1], "fhp_2");
}

/* The answer that made every account of a post `failed` (missing_result)
 * although the post existed: platforms listed as plain strings. */
static void test_feedhorizon_platforms_as_plain_strings_are_created_ids_unknown(void **state)
{
    (void)state;
    struct prov_result r[2];
    size_t unknown = decode(PROV_FEEDHORIZON,
                            "{\"data\":{\"id\":\"fh_1\",\"platforms\":[\"twitter\",\"linkedin\"]}}",
                            fh_accounts, 2, r);
    assert_int_equal(unknown, 2);
    assert_id_unknown(&r[0]);
    assert_id_unknown(&r[1]);
}

static void test_feedhorizon_error_object_without_id_fails_only_that_platform(void **state)
{
    (void)state;
    struct prov_result r[2];
    size_t unknown = decode(PROV_FEEDHORIZON,
                            "{\"platforms\":[{\"platform\":\"twitter\",\"postId\":\"t1\"},"
                            "{\"platform\":\"linkedin\",\"post_id\":null,"
                            "\"error\":{\"code\":\"AUTH_EXPIRED\",\"message\":\"reconnect\"}}]}",
                            fh_accounts, 2, r);
    assert_int_equal(unknown, 0);
    assert_created(&r[0], "t1");
    assert_failed(&r[1], "AUTH_EXPIRED", "reconnect");
}

static void test_feedhorizon_failed_status_in_any_case_with_an_error_string(void **state)
{
    (void)state;
    struct prov_result r[2];
    size_t unknown = decode(PROV_FEEDHORIZON,
                            "{\"results\":[{\"platform\":\"linkedin\",\"status\":\"FAILED\","
                            "\"error\":\"rate_limited\",\"message\":\"LinkedIn said no\"}]}",
                            fh_accounts, 2, r);
    assert_int_equal(unknown, 1);
    assert_id_unknown(&r[0]);
    assert_failed(&r[1], "rate_limited", "LinkedIn said no");
}

/* ---- Postlark ---- */

static void test_postlark_reads_a_top_level_id(void **state)
{
    (void)state;
    struct prov_result r[1];
    assert_int_equal(
        decode(PROV_POSTLARK, "{\"id\":\"pl_1\",\"status\":\"published\"}", pl_accounts, 1, r), 0);
    assert_created(&r[0], "pl_1");
}

static void test_postlark_reads_an_id_under_data_or_post(void **state)
{
    (void)state;
    struct prov_result r[1];
    assert_int_equal(decode(PROV_POSTLARK,
                            "{\"data\":{\"post_id\":\"pl_2\",\"blog_id\":\"blog1\","
                            "\"url\":\"https://blog1.postlark.ai/hello\"}}",
                            pl_accounts, 1, r),
                     0);
    assert_created(&r[0], "pl_2");
    assert_int_equal(
        decode(PROV_POSTLARK, "{\"post\":{\"id\":\"pl_3\",\"slug\":\"hello\"}}", pl_accounts, 1, r),
        0);
    assert_created(&r[0], "pl_3");
}

/* ---- Jestha ---- */

static void test_jestha_reads_a_top_level_id(void **state)
{
    (void)state;
    struct prov_result r[1];
    assert_int_equal(decode(PROV_JESTHA, "{\"id\":\"jes_1\"}", je_accounts, 1, r), 0);
    assert_created(&r[0], "jes_1");
}

static void test_jestha_reads_post_id_in_camel_case_or_under_data(void **state)
{
    (void)state;
    struct prov_result r[1];
    assert_int_equal(
        decode(PROV_JESTHA, "{\"success\":true,\"postId\":\"jes_2\"}", je_accounts, 1, r), 0);
    assert_created(&r[0], "jes_2");
    assert_int_equal(
        decode(PROV_JESTHA, "{\"data\":{\"id\":\"jes_3\",\"type\":\"jes\"}}", je_accounts, 1, r),
        0);
    assert_created(&r[0], "jes_3");
}

/* ---- every provider ---- */

struct dialect_case {
    enum prov_id id;
    const char *const *accounts;
    size_t n;
};

static const struct dialect_case every_provider[] = {
    {PROV_POSTEVERYWHERE, pe_accounts, 2}, {PROV_SCHEDPILOT, sp_accounts, 2},
    {PROV_FEEDHORIZON, fh_accounts, 2},    {PROV_POSTLARK, pl_accounts, 1},
    {PROV_JESTHA, je_accounts, 1},
};

/* Bodies a 2xx may carry that say nothing about any account: the accounts
 * are created, ids unknown; none is failed, even where the body talks of an
 * error without naming an account. */
static void test_every_provider_reads_an_unreadable_2xx_as_created_id_unknown(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "",
        "Created",
        "<html><body>201 Created</body></html>",
        "null",
        "{}",
        "[]",
        "{\"ok\":true}",
        "{\"status\":\"failed\",\"error\":{\"code\":\"weird\"}}",
        "{\"results\":[{\"account_id\":\"someone-else\",\"status\":\"failed\"}]}",
        "{\"data\":{\"id\":\"" /* an id too long to keep whole is no id */
        "0123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789012345678901234567890123456789\"}}",
        "{\"data\":",
    };
    for (size_t c = 0; c < sizeof every_provider / sizeof *every_provider; c++) {
        for (size_t b = 0; b < sizeof bodies / sizeof *bodies; b++) {
            const struct dialect_case *d = &every_provider[c];
            struct prov_result r[2];
            assert_int_equal(decode(d->id, bodies[b], d->accounts, d->n, r), d->n);
            for (size_t a = 0; a < d->n; a++)
                assert_id_unknown(&r[a]);
        }
    }
}

/* Each provider in the dialect another provider's simulator speaks. */
static void test_every_provider_reads_every_simulated_dialect(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof every_provider / sizeof *every_provider; c++) {
        const struct dialect_case *d = &every_provider[c];
        const char *a0 = d->accounts[0];
        char bodies[3][512];
        snprintf(bodies[0], sizeof bodies[0],
                 "{\"data\":{\"id\":\"req\",\"results\":[{\"account_id\":\"%s\","
                 "\"status\":\"scheduled\",\"post_id\":\"p0\"}]}}",
                 a0);
        snprintf(bodies[1], sizeof bodies[1],
                 "{\"id\":\"req\",\"accounts\":[{\"account\":\"%s\",\"status\":\"scheduled\","
                 "\"post_id\":\"p0\"}]}",
                 a0);
        snprintf(bodies[2], sizeof bodies[2],
                 "{\"data\":{\"id\":\"req\",\"platforms\":[{\"platform\":\"%s\","
                 "\"status\":\"queued\",\"post_id\":\"p0\"}]}}",
                 a0);
        for (size_t b = 0; b < 3; b++) {
            struct prov_result r[2];
            decode(d->id, bodies[b], d->accounts, d->n, r);
            assert_created(&r[0], "p0");
            if (d->n > 1)
                assert_id_unknown(&r[1]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posteverywhere_reads_data_results_with_a_partial_failure),
        cmocka_unit_test(test_posteverywhere_reads_camel_case_posts_at_the_top_in_any_order),
        cmocka_unit_test(
            test_posteverywhere_account_as_object_and_unmentioned_account_is_not_failed),
        cmocka_unit_test(test_posteverywhere_request_id_alone_leaves_ids_unknown),
        cmocka_unit_test(test_schedpilot_reads_top_level_accounts),
        cmocka_unit_test(test_schedpilot_reads_results_keyed_by_account),
        cmocka_unit_test(test_schedpilot_reads_plain_string_ids_by_position),
        cmocka_unit_test(test_schedpilot_reads_integer_ids_under_a_data_array),
        cmocka_unit_test(test_feedhorizon_reads_data_platforms_objects),
        cmocka_unit_test(test_feedhorizon_platforms_as_plain_strings_are_created_ids_unknown),
        cmocka_unit_test(test_feedhorizon_error_object_without_id_fails_only_that_platform),
        cmocka_unit_test(test_feedhorizon_failed_status_in_any_case_with_an_error_string),
        cmocka_unit_test(test_postlark_reads_a_top_level_id),
        cmocka_unit_test(test_postlark_reads_an_id_under_data_or_post),
        cmocka_unit_test(test_jestha_reads_a_top_level_id),
        cmocka_unit_test(test_jestha_reads_post_id_in_camel_case_or_under_data),
        cmocka_unit_test(test_every_provider_reads_an_unreadable_2xx_as_created_id_unknown),
        cmocka_unit_test(test_every_provider_reads_every_simulated_dialect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
