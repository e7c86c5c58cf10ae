/*
 * Visibility without SQL (issue #24): GET /v1/keys and `postpace status
 * --json` print one document per key (state, lease, backlog by status, lag,
 * the forecast's ETA and the window binding it), built by one function, so
 * their shapes and values agree; a paused key shows no forecast.
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

static json_t *api_keys(struct drainfx *f)
{
    char url[128], body[65536];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/keys", f->ports[0]);
    const char *headers[] = {"Authorization: Bearer " TOKEN, NULL};
    assert_int_equal(http_request("GET", url, headers, NULL, 0, body, sizeof body), 200);
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    return doc;
}

static json_t *cli_status(struct drainfx *f, const char *flag, const char *a2, const char *a3)
{
    char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", f->db);
    char *envs[] = {env_db, NULL};
    char *argv[] = {(char *)pgt_postpace_bin(), (char *)flag, (char *)a2, (char *)a3, NULL};
    struct proc p;
    assert_int_equal(proc_run(&p, argv, envs), 0);
    return json_loads(p.out, 0, NULL);
}

static const json_t *key_labelled(const json_t *doc, const char *label)
{
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(doc, "keys"), i, k) {
        if (strcmp(json_string_value(json_object_get(k, "label")), label) == 0)
            return k;
    }
    fail_msg("no key %s", label);
    return NULL;
}

/* Every member a key has, in both documents, with these (stable meanwhile) equal. */
static void assert_same_key(const json_t *a, const json_t *b)
{
    static const char *const members[] = {
        "id",      "provider", "label",     "plan",   "enabled", "paused", "paused_at",
        "lease",   "backlog",  "due",       "lag_s",  "eta",     "eta_state", "binding"};
    static const char *const stable[] = {"id",     "provider", "label",     "plan",
                                         "enabled", "paused",  "paused_at", "eta_state"};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++) {
        if (!json_object_get(a, members[i]) || !json_object_get(b, members[i]))
            fail_msg("member %s missing", members[i]);
    }
    assert_int_equal(json_object_size(a), sizeof members / sizeof *members);
    assert_int_equal(json_object_size(b), sizeof members / sizeof *members);
    for (size_t i = 0; i < sizeof stable / sizeof *stable; i++)
        assert_true(json_equal(json_object_get(a, stable[i]), json_object_get(b, stable[i])));
    assert_int_equal(json_object_size(json_object_get(a, "backlog")), 8);
}

static void test_keys_route_and_status_json_print_one_document(void **state)
{
    (void)state;
    struct drainfx f;
    assert_int_equal(drainfx_setup_scaled(&f, 1), 0); /* Jestha: 10 a minute, paced */
    char *env[] = {"POSTPACE_API_TOKENS=" TOKEN, NULL};
    drainfx_posts(&f, "je", 30, "{main}", 0);
    drainfx_posts(&f, "fh", 3, "{twitter}", 3600);
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    json_t *st = cli_status(&f, "pause", "--key", "fh");
    json_decref(st); /* not JSON: it says what it paused */
    assert_int_equal(drainfx_await_count(&f,
                                         "SELECT count(*) FROM attempts a JOIN provider_keys k ON "
                                         "k.id = a.provider_key_id WHERE k.label = 'je'",
                                         1),
                     0);
    assert_int_equal(
        drainfx_await_count(&f, "SELECT count(*) FROM key_leases WHERE expires_at > now()", 5), 0);

    json_t *api = api_keys(&f), *cli = cli_status(&f, "status", "--json", NULL);
    assert_non_null(cli);
    assert_true(json_is_string(json_object_get(api, "now")));
    assert_int_equal(json_array_size(json_object_get(api, "keys")), 5);
    assert_int_equal(json_array_size(json_object_get(cli, "keys")), 5);
    for (size_t i = 0; i < 5; i++)
        assert_same_key(json_array_get(json_object_get(api, "keys"), i),
                        json_array_get(json_object_get(cli, "keys"), i));

    /* Jestha drains at its pace: leased, a backlog of 30 in all, an ETA, and its pacing binds. */
    const json_t *je = key_labelled(api, "je");
    const json_t *backlog = json_object_get(je, "backlog");
    long total = 0;
    const char *s;
    json_t *n;
    json_object_foreach((json_t *)backlog, s, n) total += (long)json_integer_value(n);
    assert_int_equal(total, 30);
    assert_true(json_is_string(json_object_get(json_object_get(je, "lease"), "owner")));
    assert_string_equal(json_string_value(json_object_get(je, "eta_state")), "at");
    assert_true(json_is_string(json_object_get(je, "eta")));
    const char *binding = json_string_value(json_object_get(je, "binding"));
    assert_non_null(binding);
    assert_non_null(strstr(binding, "POST /api/posts"));
    assert_true(json_integer_value(json_object_get(je, "due")) > 0);

    /* FeedHorizon is paused: no forecast, its time given. */
    const json_t *fh = key_labelled(api, "fh");
    assert_true(json_is_true(json_object_get(fh, "paused")));
    assert_true(json_is_string(json_object_get(fh, "paused_at")));
    assert_string_equal(json_string_value(json_object_get(fh, "eta_state")), "paused");
    assert_true(json_is_null(json_object_get(fh, "eta")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(fh, "backlog"),
                                                        "scheduled")),
                     3);
    /* A key with nothing to send has nothing pending. */
    assert_string_equal(json_string_value(json_object_get(key_labelled(api, "pe"), "eta_state")),
                        "none");
    json_decref(api);
    json_decref(cli);
    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    drainfx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_route_and_status_json_print_one_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
