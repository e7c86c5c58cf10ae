/*
 * provider: the create body each provider is sent, with the built-in member
 * names and with configured ones (reqfields.h). The docs are silent on most
 * of these names, so they are configuration; the defaults are pinned here
 * byte for byte, because changing one silently would break every deployment
 * that relies on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider/provider.h"

#define MEDIA "[{\"url\":\"https://cdn.example/a.png\",\"mime_type\":\"image/png\",\"size_bytes\":1200}]"

static const char *const two[] = {"acc1", "acc2"};
static const char *const one[] = {"main"};

/* The body provider id sends for `accounts` with fields f (NULL: defaults). */
static char *encode(enum prov_id id, const char *const *accounts, size_t n,
                    const struct prov_fields *f)
{
    struct prov_post post = {"hello", MEDIA, accounts, n, "pp-1-abc", f};
    return prov_ops(id)->encode_create(&post);
}

static void assert_body(char *body, const char *want)
{
    assert_string_equal(body, want);
    free(body);
}

/* Defaults + one config text, which must apply. */
static struct prov_fields configured(enum prov_id id, const char *json)
{
    struct prov_fields f = *prov_fields_default(id);
    char err[256] = "";
    int rc = prov_fields_apply(&f, json, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", json, err);
    return f;
}

static void test_default_bodies_are_what_postpace_always_sent(void **state)
{
    (void)state;
    const char *media = "\"media\":" MEDIA ",\"reference\":\"pp-1-abc\"}";
    char want[512];
    snprintf(want, sizeof want, "{\"content\":\"hello\",\"account_ids\":[\"acc1\",\"acc2\"],%s", media);
    assert_body(encode(PROV_POSTEVERYWHERE, two, 2, NULL), want);
    snprintf(want, sizeof want, "{\"content\":\"hello\",\"accounts\":[\"acc1\",\"acc2\"],%s", media);
    assert_body(encode(PROV_SCHEDPILOT, two, 2, NULL), want);
    snprintf(want, sizeof want, "{\"content\":\"hello\",\"platforms\":[\"acc1\",\"acc2\"],%s", media);
    assert_body(encode(PROV_FEEDHORIZON, two, 2, NULL), want);
    assert_body(encode(PROV_POSTLARK, one, 1, NULL),
                "{\"content\":\"hello\",\"blog_id\":\"main\",\"reference\":\"pp-1-abc\"}");
    snprintf(want, sizeof want, "{\"content\":\"hello\",%s", media);
    assert_body(encode(PROV_JESTHA, one, 1, NULL), want);
}

static void test_explicit_defaults_encode_like_no_fields(void **state)
{
    (void)state;
    for (int id = 0; id < PROV_COUNT; id++) {
        const char *const *acc = prov_ops((enum prov_id)id)->max_batch > 1 ? two : one;
        size_t n = acc == two ? 2 : 1;
        char *a = encode((enum prov_id)id, acc, n, NULL);
        assert_body(encode((enum prov_id)id, acc, n, prov_fields_default((enum prov_id)id)), a);
        free(a);
    }
}

static void test_jestha_media_items_take_configured_names(void **state)
{
    (void)state;
    struct prov_fields f = configured(
        PROV_JESTHA, "{\"media\":{\"url\":\"src\",\"mime_type\":\"type\",\"size_bytes\":\"bytes\"},"
                     "\"reference\":\"client_ref\"}");
    assert_body(encode(PROV_JESTHA, one, 1, &f),
                "{\"content\":\"hello\",\"media\":[{\"src\":\"https://cdn.example/a.png\","
                "\"type\":\"image/png\",\"bytes\":1200}],\"client_ref\":\"pp-1-abc\"}");
}

static void test_batch_provider_account_list_and_media_list_are_renamed(void **state)
{
    (void)state;
    struct prov_fields f = configured(PROV_FEEDHORIZON,
                                      "{\"accounts\":\"platform_ids\",\"media_list\":\"attachments\","
                                      "\"media\":{\"size_bytes\":null},\"reference\":\"externalId\"}");
    assert_body(encode(PROV_FEEDHORIZON, two, 2, &f),
                "{\"content\":\"hello\",\"platform_ids\":[\"acc1\",\"acc2\"],\"attachments\":"
                "[{\"url\":\"https://cdn.example/a.png\",\"mime_type\":\"image/png\"}],"
                "\"externalId\":\"pp-1-abc\"}");
}

static void test_single_account_providers_send_one_string(void **state)
{
    (void)state;
    struct prov_fields pl = configured(PROV_POSTLARK, "{\"accounts\":\"blog\",\"reference\":null}");
    assert_body(encode(PROV_POSTLARK, one, 1, &pl), "{\"content\":\"hello\",\"blog\":\"main\"}");
    struct prov_fields je = configured(PROV_JESTHA, "{\"accounts\":\"account\",\"media_list\":null}");
    assert_body(encode(PROV_JESTHA, one, 1, &je),
                "{\"content\":\"hello\",\"account\":\"main\",\"reference\":\"pp-1-abc\"}");
}

static void test_key_level_overrides_only_the_members_it_names(void **state)
{
    (void)state;
    struct prov_fields f = configured(PROV_SCHEDPILOT,
                                      "{\"accounts\":\"targets\",\"media\":{\"url\":\"href\"}}");
    char err[256];
    assert_int_equal(prov_fields_apply(&f, "{\"media\":{\"mime_type\":\"kind\"}}", err, sizeof err), 0);
    assert_string_equal(f.accounts, "targets");
    assert_string_equal(f.media[PRF_MEDIA_URL], "href");
    assert_string_equal(f.media[PRF_MEDIA_MIME_TYPE], "kind");
    assert_string_equal(f.media[PRF_MEDIA_SIZE_BYTES], "size_bytes");
    assert_string_equal(f.reference, "reference");
}

static void test_bad_configs_are_refused_and_change_nothing(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[]", "not json", "{\"acounts\":\"x\"}", "{\"accounts\":3}", "{\"media\":\"src\"}",
        "{\"media\":{\"href\":\"src\"}}", "{\"reference\":\"x\",\"media\":{\"url\":[]}}",
        "{\"reference\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct prov_fields f = *prov_fields_default(PROV_POSTEVERYWHERE);
        char err[256] = "";
        assert_int_equal(prov_fields_apply(&f, bad[i], err, sizeof err), -1);
        assert_true(err[0] != '\0');
        assert_memory_equal(&f, prov_fields_default(PROV_POSTEVERYWHERE), sizeof f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_bodies_are_what_postpace_always_sent),
        cmocka_unit_test(test_explicit_defaults_encode_like_no_fields),
        cmocka_unit_test(test_jestha_media_items_take_configured_names),
        cmocka_unit_test(test_batch_provider_account_list_and_media_list_are_renamed),
        cmocka_unit_test(test_single_account_providers_send_one_string),
        cmocka_unit_test(test_key_level_overrides_only_the_members_it_names),
        cmocka_unit_test(test_bad_configs_are_refused_and_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
