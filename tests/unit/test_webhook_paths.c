/*
 * Unit tests for paths: each provider's webhook read in two dialects, the
 * default shape with the default config and another shape (other key names,
 * ids nested under data.post or metadata, numbers instead of strings, type
 * names like "published") with the defaults where they cover it and with a
 * provider's configuration where they do not; key overrides; refusals of a
 * configuration that cannot be one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "provider/paths.h"

/* What a body should read as: NULL for a field that is absent. */
struct expect {
    enum whpath_verdict verdict;
    const char *type, *post_id, *reference, *account;
};

static void check(const char *provider_cfg, const char *key_cfg, const char *body,
                  const struct expect *e)
{
    char err[256];
    struct whpath_config *c = whpath_config_create(provider_cfg, key_cfg, err, sizeof err);
    assert_non_null(c);
    json_error_t jerr;
    json_t *root = json_loads(body, JSON_DECODE_ANY, &jerr);
    assert_non_null(root);
    struct whpath_values v;
    whpath_extract(c, root, &v);
    json_decref(root);
    whpath_config_destroy(c);
    assert_int_equal(v.verdict, e->verdict);
    const char *want[WHPATH_FIELD_COUNT] = {e->type, e->post_id, e->reference, e->account};
    for (int f = 0; f < WHPATH_FIELD_COUNT; f++) {
        if (!want[f]) {
            assert_int_equal(v.has[f], 0);
            assert_string_equal(v.value[f], "");
        } else {
            assert_int_equal(v.has[f], 1);
            assert_string_equal(v.value[f], want[f]);
        }
    }
}

/* The shape the simulator and today's senders use, for every provider. */
static void test_default_shape_reads_with_the_defaults(void **state)
{
    const struct expect pub = {WHPATH_PUBLISHED, "post.published", "p-1", "ref-1", "acct"};
    check(NULL, NULL,
          "{\"type\":\"post.published\",\"timestamp\":\"2026-12-05T10:00:00Z\",\"data\":"
          "{\"reference\":\"ref-1\",\"post_id\":\"p-1\",\"account_id\":\"acct\"}}",
          &pub);
    const struct expect fail = {WHPATH_FAILED, "post.failed", NULL, "ref-2", NULL};
    check("{}", NULL,
          "{\"type\":\"post.failed\",\"data\":{\"reference\":\"ref-2\",\"error\":{\"code\":\"x\"}}}",
          &fail);
}

/* posteverywhere, another dialect the defaults read: "event": "published",
 * the post nested under data.post with a numeric id and our reference as
 * its external_id, the account as an object. */
static void test_posteverywhere_nested_post_and_numbers(void **state)
{
    const struct expect e = {WHPATH_PUBLISHED, "published", "12345", "ref-pe", "acc-1"};
    check(NULL, NULL,
          "{\"id\":\"evt_1\",\"event\":\"published\",\"data\":{\"post\":{\"id\":12345,"
          "\"external_id\":\"ref-pe\"},\"account\":{\"id\":\"acc-1\"}}}",
          &e);
}

/* postlark: "post.succeeded", our key under data.metadata, a 12-digit id;
 * the top-level "id" (the event's) is not taken for the post's. */
static void test_postlark_metadata_reference(void **state)
{
    const struct expect e = {WHPATH_PUBLISHED, "post.succeeded", "987654321012", "ref-pl", NULL};
    check(NULL, NULL,
          "{\"id\":\"evt_9\",\"type\":\"post.succeeded\",\"data\":{\"metadata\":"
          "{\"idempotency_key\":\"ref-pl\"},\"id\":987654321012}}",
          &e);
}

/* schedpilot in a shape no default guesses: unreadable with the defaults,
 * read once the provider's row names its paths and type names. */
static void test_schedpilot_needs_its_configuration(void **state)
{
    const char *body = "{\"kind\":\"post_success\",\"payload\":{\"postId\":\"sp_9\","
                       "\"meta\":{\"ref\":\"ref-sp\"},\"channel\":\"ch-1\"}}";
    const struct expect unread = {WHPATH_UNKNOWN, NULL, NULL, NULL, NULL};
    check(NULL, NULL, body, &unread);
    const char *cfg = "{\"type\":[\"kind\"],\"published\":[\"post_success\"],"
                      "\"post_id\":[\"payload.postId\"],\"reference\":[\"payload.meta.ref\"],"
                      "\"account\":[\"payload.channel\"]}";
    const struct expect e = {WHPATH_PUBLISHED, "post_success", "sp_9", "ref-sp", "ch-1"};
    check(cfg, NULL, body, &e);
}

/* jestha: a status in capitals (names compare without case), numbers for
 * ids, under keys of its own. */
static void test_jestha_status_and_numeric_ids(void **state)
{
    const char *cfg = "{\"type\":[\"status\"],\"post_id\":[\"result.jes_id\"],"
                      "\"reference\":[\"result.client_ref\"]}";
    const struct expect e = {WHPATH_FAILED, "FAILED", "4711", "ref-je", NULL};
    check(cfg, NULL,
          "{\"status\":\"FAILED\",\"result\":{\"jes_id\":4711,\"client_ref\":\"ref-je\"}}", &e);
}

/* feedhorizon: the posts in an array, addressed by index; a type name added
 * to the failed list. */
static void test_feedhorizon_array_index(void **state)
{
    const char *cfg = "{\"post_id\":[\"data.posts.0.id\"],\"reference\":[\"data.posts.0.ref\"],"
                      "\"failed\":[\"delivery.dropped\"]}";
    const struct expect e = {WHPATH_FAILED, "delivery.dropped", "fh-1", "ref-fh", NULL};
    check(cfg, NULL,
          "{\"type\":\"delivery.dropped\",\"data\":{\"posts\":[{\"id\":\"fh-1\",\"ref\":\"ref-fh\"}]}}",
          &e);
}

/* A key's member replaces the provider's, the others stay the provider's. */
static void test_key_override_replaces_only_what_it_names(void **state)
{
    const char *prov = "{\"reference\":[\"data.ref\"]}";
    const char *key = "{\"post_id\":[\"data.native.id\"]}";
    const struct expect e = {WHPATH_PUBLISHED, "post.published", "n-1", "r-1", NULL};
    check(prov, key,
          "{\"type\":\"post.published\",\"data\":{\"ref\":\"r-1\",\"native\":{\"id\":\"n-1\"},"
          "\"post_id\":\"ignored\"}}",
          &e);
}

/* Not values: empty strings, booleans, objects, fractions; the next path
 * is tried. A type in neither list is kept raw and names no verdict, and a
 * later type path that names one wins. */
static void test_odd_values_fall_through(void **state)
{
    const struct expect e = {WHPATH_UNKNOWN, "post.deleted", "p-2", NULL, NULL};
    check(NULL, NULL,
          "{\"type\":\"post.deleted\",\"data\":{\"post_id\":\"\",\"provider_post_id\":true,"
          "\"post\":{\"id\":1.5},\"id\":\"p-2\",\"reference\":{\"x\":1}}}",
          &e);
    const struct expect later = {WHPATH_PUBLISHED, "published", NULL, "r", NULL};
    check(NULL, NULL, "{\"type\":\"post.updated\",\"event\":\"published\",\"reference\":\"r\"}",
          &later);
    const struct expect scalar = {WHPATH_UNKNOWN, NULL, NULL, NULL, NULL};
    check(NULL, NULL, "[1,2,3]", &scalar);
    check(NULL, NULL, "\"just a string\"", &scalar);
}

static void test_bad_configuration_is_refused(void **state)
{
    char err[256];
    const char *bad[] = {"[]", "{\"type\":\"type\"}", "{\"type\":[1]}", "{\"type\":[\"\"]}",
                         "{\"colour\":[\"x\"]}", "not json"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(whpath_config_create(bad[i], NULL, err, sizeof err));
        assert_true(strlen(err) > 0);
        assert_null(whpath_config_create(NULL, bad[i], err, sizeof err));
    }
    struct whpath_config *c = whpath_config_create(whpath_default_json(), NULL, err, sizeof err);
    assert_non_null(c);
    whpath_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_shape_reads_with_the_defaults),
        cmocka_unit_test(test_posteverywhere_nested_post_and_numbers),
        cmocka_unit_test(test_postlark_metadata_reference),
        cmocka_unit_test(test_schedpilot_needs_its_configuration),
        cmocka_unit_test(test_jestha_status_and_numeric_ids),
        cmocka_unit_test(test_feedhorizon_array_index),
        cmocka_unit_test(test_key_override_replaces_only_what_it_names),
        cmocka_unit_test(test_odd_values_fall_through),
        cmocka_unit_test(test_bad_configuration_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
