/*
 * provider/lookup: reading a provider's list of posts for unconfirmed
 * targets. The docs show no list body, so both dialects the simulator
 * speaks are read (the default's names built in, the alt one's configured),
 * and absence is proven only by a whole list or one reaching back before
 * the send: a wrong "absent" would post twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "provider/lookup.h"

#define T0 1764000000000ULL /* a first send, epoch ms */

static struct lookup_config *config(const char *json)
{
    char err[256];
    struct lookup_config *c = lookup_config_create(json, err, sizeof err);
    assert_non_null(c);
    return c;
}

static void read1(const struct lookup_config *c, const char *body, const struct lookup_want *w,
                  struct lookup_result *out)
{
    lookup_read(c, body, strlen(body), 1000, w, 1, out);
}

static const struct lookup_want want = {"ref-1", "key-1", "acct-a", "hello", T0};

static void test_found_by_reference_in_the_default_shape(void **state)
{
    (void)state;
    struct lookup_config *c = config("{\"path\": \"/posts\"}");
    struct lookup_result r;
    read1(c,
          "{\"data\": [{\"id\": \"p9\", \"account_id\": \"acct-a\", \"status\": \"published\", "
          "\"reference\": \"ref-1\", \"content\": \"other\", \"created_at\": "
          "\"2025-11-24T16:00:00Z\"}], \"meta\": {}}",
          &want, &r);
    assert_int_equal(r.verdict, LOOK_FOUND);
    assert_string_equal(r.post_id, "p9");
    assert_int_equal(r.status, WHPATH_PUBLISHED);
    lookup_config_destroy(c);
}

static void test_found_in_the_alt_shape_once_configured(void **state)
{
    (void)state;
    const char *body = "[{\"uid\": \"u7\", \"channel\": \"acct-a\", \"state\": \"rejected\", "
                       "\"ref\": \"key-1\", \"text\": \"x\", \"at\": 1764000000}]";
    struct lookup_config *plain = config("{\"path\": \"/posts\"}");
    struct lookup_result r;
    read1(plain, body, &want, &r);
    assert_int_not_equal(r.verdict, LOOK_FOUND); /* its names are not the defaults */
    lookup_config_destroy(plain);
    struct lookup_config *alt =
        config("{\"path\": \"/posts\", \"post_id\": [\"uid\"], \"reference\": [\"ref\"], "
               "\"account\": [\"channel\"], \"type\": [\"state\"], \"failed\": [\"rejected\"]}");
    read1(alt, body, &want, &r);
    assert_int_equal(r.verdict, LOOK_FOUND);
    assert_string_equal(r.post_id, "u7");
    assert_int_equal(r.status, WHPATH_FAILED);
    lookup_config_destroy(alt);
}

static void test_found_by_content_and_account_without_a_reference(void **state)
{
    (void)state;
    struct lookup_config *c = config("{}");
    struct lookup_result r;
    read1(c, "{\"posts\": [{\"postId\": 5, \"accountId\": \"acct-b\", \"text\": \"hello\"}, "
             "{\"postId\": 6, \"accountId\": \"acct-a\", \"text\": \"hello\"}]}",
          &want, &r);
    assert_int_equal(r.verdict, LOOK_FOUND);
    assert_string_equal(r.post_id, "6");
    /* A reference that is not ours rules a post out, whatever its content. */
    read1(c, "{\"items\": [{\"id\": \"p\", \"reference\": \"someone-else\", \"text\": \"hello\"}]}",
          &want, &r);
    assert_int_not_equal(r.verdict, LOOK_FOUND);
    lookup_config_destroy(c);
}

static void test_absence_needs_a_whole_list_or_one_reaching_back(void **state)
{
    (void)state;
    struct lookup_config *c = config("{}");
    struct lookup_result r;
    read1(c, "{\"data\": []}", &want, &r); /* empty, no further page */
    assert_int_equal(r.verdict, LOOK_ABSENT);
    /* Older than the send by more than the skew (1 s): it reaches back. */
    read1(c, "{\"data\": [{\"id\": \"a\", \"created_at\": 1763999998}]}", &want, &r);
    assert_int_equal(r.verdict, LOOK_ABSENT);
    /* Only newer posts (or within the skew): it may not reach back. */
    read1(c, "{\"data\": [{\"id\": \"a\", \"created_at\": 1763999999.5}]}", &want, &r);
    assert_int_equal(r.verdict, LOOK_UNDECIDABLE);
    read1(c, "{\"data\": [{\"id\": \"a\"}]}", &want, &r); /* no time at all */
    assert_int_equal(r.verdict, LOOK_UNDECIDABLE);
    /* A further page, however it is said, leaves it undecided. */
    const char *paged[] = {
        "{\"data\": [], \"has_more\": true}",
        "{\"data\": [{\"id\": \"a\", \"created_at\": 1}], \"meta\": {\"next_cursor\": \"c2\"}}",
        "{\"data\": [], \"pagination\": {\"nextPageToken\": \"t\"}}",
        "{\"data\": [], \"links\": {\"next\": \"/posts?page=2\"}}",
    };
    for (size_t i = 0; i < sizeof paged / sizeof *paged; i++) {
        read1(c, paged[i], &want, &r);
        assert_int_equal(r.verdict, LOOK_UNDECIDABLE);
    }
    /* Explicitly none: absent. */
    read1(c, "{\"data\": [], \"has_more\": false, \"meta\": {\"next\": null}}", &want, &r);
    assert_int_equal(r.verdict, LOOK_ABSENT);
    lookup_config_destroy(c);
}

static void test_page_size_makes_a_short_list_whole(void **state)
{
    (void)state;
    const char *body = "{\"data\": [{\"id\": \"a\", \"reference\": \"other\"}]}";
    struct lookup_result r;
    struct lookup_config *unknown = config("{}");
    read1(unknown, body, &want, &r);
    assert_int_equal(r.verdict, LOOK_UNDECIDABLE);
    lookup_config_destroy(unknown);
    struct lookup_config *c = config("{\"page_size\": 2}");
    read1(c, body, &want, &r);
    assert_int_equal(r.verdict, LOOK_ABSENT);
    read1(c, "{\"data\": [{\"id\": \"a\"}, {\"id\": \"b\"}]}", &want, &r); /* a full page */
    assert_int_equal(r.verdict, LOOK_UNDECIDABLE);
    lookup_config_destroy(c);
}

static void test_unreadable_bodies_decide_nothing(void **state)
{
    (void)state;
    struct lookup_config *c = config("{}");
    struct lookup_result r;
    const char *bodies[] = {"", "not json", "{\"data\": {\"count\": 3}}", "42", "{\"error\": 1}"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        read1(c, bodies[i], &want, &r);
        assert_int_equal(r.verdict, LOOK_UNDECIDABLE);
    }
    lookup_config_destroy(c);
}

static void test_config_is_checked(void **state)
{
    (void)state;
    char err[256];
    const char *bad[] = {"[]", "{\"path\": 3}", "{\"path\": \"posts\"}", "{\"idempotent\": 1}",
                         "{\"page_size\": 0}", "{\"post_id\": \"id\"}", "{"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_null(lookup_config_create(bad[i], err, sizeof err));
    struct lookup_config *c = config("{\"idempotent\": true, \"path\": null}");
    assert_true(lookup_idempotent(c));
    assert_null(lookup_path(c));
    lookup_config_destroy(c);
    c = config(NULL);
    assert_false(lookup_idempotent(c));
    assert_null(lookup_path(c));
    lookup_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found_by_reference_in_the_default_shape),
        cmocka_unit_test(test_found_in_the_alt_shape_once_configured),
        cmocka_unit_test(test_found_by_content_and_account_without_a_reference),
        cmocka_unit_test(test_absence_needs_a_whole_list_or_one_reaching_back),
        cmocka_unit_test(test_page_size_makes_a_short_list_whole),
        cmocka_unit_test(test_unreadable_bodies_decide_nothing),
        cmocka_unit_test(test_config_is_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
