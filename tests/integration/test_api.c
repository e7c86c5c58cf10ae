/*
 * The calendar API end to end: the postpace binary on loopback (scheduler
 * off, so nothing is published during the test), a fresh PostgreSQL
 * database, every route and every error over real HTTP.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "http/api_int.h"
#include "pgtest.h"
#include "proc.h"

#define TOKEN "tok-0123456789abcdef"
#define RESP_SIZE (4 << 20)

static char *db;
static PGconn *conn;
static struct proc server;
static char base[128];
static char *resp;

static int group_setup(void **state)
{
    db = pgt_create_migrated_db();
    conn = pgt_connect(db);
    pgt_exec(conn, "INSERT INTO provider_keys (provider, label, plan, secret_ref) VALUES "
                   "('jestha', 'je', 'default', 'env:JE_KEY'), "
                   "('posteverywhere', 'pe', 'default', 'env:PE_KEY'), "
                   "('postlark', 'dup', 'scale', 'env:PL_KEY'), "
                   "('feedhorizon', 'dup', 'default', 'env:FH_KEY'), "
                   "('schedpilot', 'pages', 'default', 'env:SP_KEY')");
    /* A length limit to check against (no provider documents one today). */
    pgt_exec(conn, "UPDATE providers SET max_content_len = 280 WHERE id = 'posteverywhere'");
    resp = malloc(RESP_SIZE);
    static char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db);
    char *envs[] = {env_db, "POSTPACE_API_TOKENS=other-token-0123456 " TOKEN, "POSTPACE_SCHEDULER=0",
                    "POSTPACE_BODY_LIMIT=65536", NULL};
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    proc_start(&server, argv, envs);
    const char *at = proc_await(&server, " port=");
    if (!at)
        return -1;
    snprintf(base, sizeof base, "http://127.0.0.1:%d", atoi(at + 6));
    return 0;
}

static int group_teardown(void **state)
{
    kill(server.pid, SIGTERM);
    int rc = proc_wait(&server);
    if (rc != 0)
        fprintf(stderr, "postpace exited with %d:\n%s\n", rc, server.out);
    PQfinish(conn);
    pgt_drop_db(db);
    free(resp);
    return rc == 0 ? 0 : -1;
}

/* Sends a request with `auth` as the Authorization header (NULL: none); *out gets the JSON. */
static long request_as(const char *auth, const char *method, const char *path, const char *body,
                       json_t **out)
{
    char url[1024], header[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(header, sizeof header, "Authorization: %s", auth ? auth : "");
    const char *headers[] = {"Content-Type: application/json", auth ? header : NULL, NULL};
    long status = http_request(method, url, headers, body, body ? strlen(body) : 0, resp,
                               RESP_SIZE);
    if (out) {
        *out = json_loads(resp, 0, NULL);
        if (!*out)
            fprintf(stderr, "not JSON (%ld): %s\n", status, resp);
    }
    return status;
}

static long api(const char *method, const char *path, const char *body, json_t **out)
{
    return request_as("Bearer " TOKEN, method, path, body, out);
}

static long count(const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static const char *str(json_t *o, const char *path)
{
    return json_string_value(json_object_get(o, path));
}

/* The error envelope's code, and its details object. */
static const char *error_code(json_t *o)
{
    return str(json_object_get(o, "error"), "code");
}

static const char *detail(json_t *o, const char *field)
{
    return str(json_object_get(json_object_get(o, "error"), "details"), field);
}

static json_int_t create(const char *body)
{
    json_t *o;
    long status = api("POST", "/v1/posts", body, &o);
    if (status != 201)
        fprintf(stderr, "create: %ld %s\n", status, resp);
    assert_int_equal(status, 201);
    json_int_t id = json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    return id;
}

static void test_every_route_refuses_missing_or_wrong_token(void **state)
{
    static const char *const routes[][2] = {
        {"POST", "/v1/posts"},     {"GET", "/v1/posts"},    {"GET", "/v1/posts/1"},
        {"PATCH", "/v1/posts/1"},  {"DELETE", "/v1/posts/1"}, {"GET", "/v1/limits"},
        {"GET", "/v1/plan"},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        json_t *o;
        assert_int_equal(request_as(NULL, routes[i][0], routes[i][1], "{}", &o), 401);
        assert_string_equal(error_code(o), "unauthorized");
        json_decref(o);
        assert_int_equal(request_as("Bearer wrong-token", routes[i][0], routes[i][1], "{}", &o),
                         401);
        assert_string_equal(error_code(o), "unauthorized");
        json_decref(o);
        assert_int_equal(request_as("Basic " TOKEN, routes[i][0], routes[i][1], "{}", NULL), 401);
        assert_int_equal(request_as("Bearer " TOKEN "x", routes[i][0], routes[i][1], "{}", NULL),
                         401);
    }
    /* The other configured token works too. */
    assert_int_equal(request_as("Bearer other-token-0123456", "GET", "/v1/posts?limit=1", NULL, NULL), 200);
}

static void test_create_returns_the_post_and_its_targets(void **state)
{
    json_t *o;
    assert_int_equal(
        api("POST", "/v1/posts",
            "{\"provider_key\":\"je\",\"account_ids\":[\"a1\",\"a2\"],\"content\":\"Hello\","
            "\"media\":[{\"url\":\"https://x/1.png\",\"mime_type\":\"image/png\",\"size_bytes\":1000}],"
            "\"scheduled_at\":\"2030-12-01T09:00:00+01:00\",\"time_zone\":\"Europe/Paris\"}",
            &o),
        201);
    assert_string_equal(str(o, "provider"), "jestha");
    assert_string_equal(str(o, "provider_key"), "je");
    assert_string_equal(str(o, "scheduled_at"), "2030-12-01T08:00:00Z");
    assert_string_equal(str(o, "scheduled_local"), "2030-12-01T09:00:00");
    assert_string_equal(str(o, "time_zone"), "Europe/Paris");
    assert_string_equal(str(o, "content"), "Hello");
    assert_int_equal(json_array_size(json_object_get(o, "media")), 1);
    json_t *targets = json_object_get(o, "targets");
    assert_int_equal(json_array_size(targets), 2);
    assert_string_equal(str(json_array_get(targets, 0), "account_id"), "a1");
    assert_string_equal(str(json_array_get(targets, 0), "status"), "scheduled");
    assert_string_equal(str(json_array_get(targets, 1), "next_attempt_at"), "2030-12-01T08:00:00Z");
    json_decref(o);

    /* A local time in its zone, and a key given by id. */
    assert_int_equal(api("POST", "/v1/posts",
                         "{\"provider_key\":2,\"account_ids\":[\"p1\"],\"content\":\"Local\","
                         "\"scheduled_at\":\"2030-07-01 09:30\",\"time_zone\":\"America/New_York\"}",
                         &o),
                     201);
    assert_string_equal(str(o, "scheduled_at"), "2030-07-01T13:30:00Z");
    assert_string_equal(str(o, "provider"), "posteverywhere");
    json_decref(o);
}

static void test_create_is_idempotent_on_external_id(void **state)
{
    const char *body = "{\"external_id\":\"crm-1\",\"provider_key\":\"je\",\"account_ids\":[\"a\"],"
                       "\"content\":\"Once\",\"scheduled_at\":\"2030-01-05T10:00:00Z\"}";
    json_t *o;
    json_int_t id = create(body);
    assert_int_equal(api("POST", "/v1/posts", body, &o), 200);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), id);
    json_decref(o);
    assert_int_equal(count("SELECT count(*) FROM posts WHERE external_id = 'crm-1'"), 1);

    assert_int_equal(
        api("POST", "/v1/posts",
            "{\"external_id\":\"crm-1\",\"provider_key\":\"je\",\"account_ids\":[\"a\"],"
            "\"content\":\"Twice\",\"scheduled_at\":\"2030-01-05T11:00:00Z\"}",
            &o),
        409);
    assert_string_equal(error_code(o), "external_id_conflict");
    assert_non_null(detail(o, "content"));
    assert_non_null(detail(o, "scheduled_at"));
    assert_null(detail(o, "account_ids"));
    json_decref(o);
    assert_int_equal(count("SELECT count(*) FROM posts WHERE external_id = 'crm-1'"), 1);
}

static void test_malformed_json_is_400(void **state)
{
    static const char *const bodies[] = {"{", "[1,2]", "\"text\"", "", "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        json_t *o;
        assert_int_equal(api("POST", "/v1/posts", bodies[i], &o), 400);
        assert_string_equal(error_code(o), "malformed_json");
        json_decref(o);
    }
    assert_int_equal(api("PATCH", "/v1/posts/1", "not json", NULL), 400);
}

/* Posts `body`, expects 422 and returns the error (json_decref it). */
static json_t *refused(const char *body)
{
    long before = count("SELECT count(*) FROM posts");
    json_t *o;
    long status = api("POST", "/v1/posts", body, &o);
    if (status != 422)
        fprintf(stderr, "expected 422: %ld %s\n", status, resp);
    assert_int_equal(status, 422);
    assert_string_equal(error_code(o), "invalid_post");
    assert_int_equal(count("SELECT count(*) FROM posts"), before);
    return o;
}

static void test_validation_names_every_bad_field(void **state)
{
    json_t *o = refused(
        "{\"provider_key\":\"je\",\"account_ids\":[\"a\"],\"content\":\"  \","
        "\"media\":[{\"url\":\"u1\",\"mime_type\":\"image/png\",\"size_bytes\":9000000},"
        "{\"url\":\"u2\",\"mime_type\":\"application/zip\",\"size_bytes\":10},"
        "{\"url\":\"u3\",\"mime_type\":\"image/png\",\"size_bytes\":10},"
        "{\"url\":\"u4\",\"mime_type\":\"image/png\",\"size_bytes\":10},"
        "{\"url\":\"u5\",\"mime_type\":\"image/png\",\"size_bytes\":10}],"
        "\"scheduled_at\":\"2030-01-01T10:00\",\"time_zone\":\"Mars/Olympus\"}");
    assert_string_equal(detail(o, "content"), "empty");
    const char *media = detail(o, "media");
    assert_non_null(media);
    assert_non_null(strstr(media, "5 files, jestha allows 4"));
    assert_non_null(strstr(media, "file 1: 9000000 bytes, jestha allows 8000000"));
    assert_non_null(strstr(media, "file 2: type application/zip is not allowed by jestha"));
    assert_non_null(strstr(detail(o, "time_zone"), "unknown time zone \"Mars/Olympus\""));
    json_decref(o);

    o = refused("{\"provider_key\":\"nokey\",\"account_ids\":[],\"content\":5,"
                "\"scheduled_at\":\"2030-02-30T10:00:00Z\",\"colour\":\"red\"}");
    assert_non_null(strstr(detail(o, "provider_key"), "unknown key \"nokey\""));
    assert_non_null(strstr(detail(o, "account_ids"), "empty"));
    assert_string_equal(detail(o, "content"), "must be a string");
    assert_non_null(strstr(detail(o, "scheduled_at"), "not an ISO 8601 time"));
    assert_string_equal(detail(o, "colour"), "unknown field");
    json_decref(o);

    o = refused("{}");
    assert_string_equal(detail(o, "provider_key"), "required");
    assert_string_equal(detail(o, "account_ids"), "required");
    assert_string_equal(detail(o, "content"), "required");
    assert_string_equal(detail(o, "scheduled_at"), "required");
    json_decref(o);

    o = refused("{\"provider_key\":\"dup\",\"account_ids\":[\"a\",\"a\"],\"content\":\"x\","
                "\"scheduled_at\":\"2030-01-01T10:00Z\"}");
    assert_non_null(strstr(detail(o, "provider_key"), "names 2 keys"));
    assert_non_null(strstr(detail(o, "account_ids"), "twice"));
    json_decref(o);

    char long_body[1024], text[300];
    memset(text, 'x', 281);
    text[281] = '\0';
    snprintf(long_body, sizeof long_body,
             "{\"provider_key\":\"pe\",\"account_ids\":[\"a\"],\"content\":\"%s\","
             "\"scheduled_at\":\"2030-01-01T10:00Z\"}",
             text);
    o = refused(long_body);
    assert_string_equal(detail(o, "content"), "281 characters, posteverywhere allows 280");
    json_decref(o);
}

static void test_daylight_saving_gaps_and_overlaps_are_refused(void **state)
{
    json_t *o = refused("{\"provider_key\":\"je\",\"account_ids\":[\"a\"],\"content\":\"gap\","
                        "\"scheduled_at\":\"2026-03-29T02:30:00\",\"time_zone\":\"Europe/Paris\"}");
    assert_string_equal(detail(o, "scheduled_at"),
                        "2026-03-29 02:30:00 does not exist in Europe/Paris (a daylight-saving "
                        "gap): give an offset or another time");
    json_decref(o);
    o = refused("{\"provider_key\":\"je\",\"account_ids\":[\"a\"],\"content\":\"overlap\","
                "\"scheduled_at\":\"2026-10-25T02:30:00\",\"time_zone\":\"Europe/Paris\"}");
    assert_string_equal(detail(o, "scheduled_at"),
                        "2026-10-25 02:30:00 happens twice in Europe/Paris (a daylight-saving "
                        "overlap): add its offset, +02:00 or +01:00");
    json_decref(o);
    /* With the offset it is that instant. */
    assert_int_equal(api("POST", "/v1/posts",
                         "{\"provider_key\":\"je\",\"account_ids\":[\"a\"],\"content\":\"ok\","
                         "\"scheduled_at\":\"2026-10-25T02:30:00+01:00\",\"time_zone\":\"Europe/Paris\"}",
                         &o),
                     201);
    assert_string_equal(str(o, "scheduled_at"), "2026-10-25T01:30:00Z");
    json_decref(o);
}

/* #21 item 6: one grammar and one range (1970 to 9999, in UTC after the offset) everywhere. */
static void test_times_outside_the_range_are_refused_with_the_reason(void **state)
{
    static const char *const post_times[] = {"0001-01-01T00:00:00+01:00",
                                             "9999-12-31T23:59:59-15:00",
                                             "2030-06-30T23:59:60Z"};
    static const char *const reasons[] = {"outside the supported range", "outside the supported range",
                                          "leap seconds"};
    char body[512];
    for (size_t i = 0; i < 3; i++) {
        snprintf(body, sizeof body,
                 "{\"provider_key\":\"je\",\"account_ids\":[\"a\"],\"content\":\"t\","
                 "\"scheduled_at\":\"%s\"}",
                 post_times[i]);
        json_t *o = refused(body);
        if (!strstr(detail(o, "scheduled_at"), reasons[i]))
            fprintf(stderr, "%s: %s\n", post_times[i], detail(o, "scheduled_at"));
        assert_non_null(strstr(detail(o, "scheduled_at"), reasons[i]));
        json_decref(o);
    }
    /* The list filters read the same grammar: the range is the reason, :60 is refused too. */
    json_t *o;
    assert_int_equal(api("GET", "/v1/posts?from=0001-01-01T00:00:00Z&to=2030-06-30T23:59:60Z",
                         NULL, &o),
                     422);
    assert_non_null(strstr(detail(o, "from"), "outside the supported range"));
    assert_non_null(strstr(detail(o, "to"), "leap seconds"));
    json_decref(o);
}

/* #21 item 5: a forged cursor with a huge time is a bad query, not a 500 from SQL. */
static void test_a_forged_cursor_names_the_cursor(void **state)
{
    char *forged = api_cursor_encode("999999999999999999", "1"), path[256];
    snprintf(path, sizeof path, "/v1/posts?cursor=%s", forged);
    free(forged);
    json_t *o;
    assert_int_equal(api("GET", path, NULL, &o), 422);
    assert_string_equal(error_code(o), "invalid_query");
    assert_non_null(detail(o, "cursor"));
    json_decref(o);
}

/* #21 item 6: from=1970-01-01T00:00:00Z is 0 ms, a time like any other, not "from now". */
static void test_plan_from_the_epoch_is_taken_as_given(void **state)
{
    json_t *o;
    assert_int_equal(api("GET", "/v1/plan?from=1970-01-01T00:00:00Z", NULL, &o), 200);
    assert_string_equal(str(o, "from"), "1970-01-01T00:00:00Z");
    assert_string_equal(str(o, "to"), "1970-01-08T00:00:00Z");
    json_decref(o);
}

/* #21 item 7: content (or an external_id) of Unicode spaces and invisible characters is blank. */
static void test_unicode_blank_content_is_empty(void **state)
{
    json_t *o = refused("{\"external_id\":\"\\u3000\",\"provider_key\":\"je\",\"account_ids\":[\"a\"],"
                        "\"content\":\"\\u00a0\\u2003\\u200b\",\"scheduled_at\":\"2030-01-01T10:00Z\"}");
    assert_string_equal(detail(o, "content"), "empty");
    assert_string_equal(detail(o, "external_id"), "must be a non-empty string");
    json_decref(o);
}

/* #21 item 6: a post in the past is accepted, and the answer says what becomes of it. */
static void test_a_post_in_the_past_is_accepted_with_a_warning(void **state)
{
    json_t *o;
    assert_int_equal(api("POST", "/v1/posts",
                         "{\"provider_key\":\"je\",\"account_ids\":[\"a\"],\"content\":\"late\","
                         "\"scheduled_at\":\"2020-01-01T00:00:00Z\"}",
                         &o),
                     201);
    const char *w = str(json_object_get(o, "warnings"), "scheduled_at");
    assert_non_null(w);
    assert_non_null(strstr(w, "in the past"));
    assert_non_null(strstr(w, "expire unsent"));
    json_decref(o);
    assert_int_equal(api("POST", "/v1/posts",
                         "{\"provider_key\":\"je\",\"account_ids\":[\"a\"],\"content\":\"on time\","
                         "\"scheduled_at\":\"2099-01-01T00:00:00Z\"}",
                         &o),
                     201);
    assert_null(json_object_get(o, "warnings"));
    json_decref(o);
}

static void test_get_one_shows_targets_and_attempts(void **state)
{
    json_int_t id = create("{\"provider_key\":\"je\",\"account_ids\":[\"g1\"],\"content\":\"get\","
                           "\"scheduled_at\":\"2030-03-01T10:00:00Z\"}");
    char sql[512], path[64];
    snprintf(sql, sizeof sql,
             "INSERT INTO attempts (provider_key_id, target_ids, route, sent_at, http_status, outcome) "
             "SELECT provider_key_id, ARRAY[id], 'POST /api/posts', now(), 503, 'retryable' "
             "FROM post_targets WHERE post_id = %lld",
             (long long)id);
    pgt_exec(conn, sql);
    snprintf(path, sizeof path, "/v1/posts/%lld", (long long)id);
    json_t *o;
    assert_int_equal(api("GET", path, NULL, &o), 200);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), id);
    json_t *t = json_array_get(json_object_get(o, "targets"), 0);
    json_t *log = json_object_get(t, "attempt_log");
    assert_int_equal(json_array_size(log), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(log, 0), "http_status")), 503);
    assert_string_equal(str(json_array_get(log, 0), "outcome"), "retryable");
    json_decref(o);

    assert_int_equal(api("GET", "/v1/posts/999999", NULL, &o), 404);
    assert_string_equal(error_code(o), "not_found");
    json_decref(o);
    assert_int_equal(api("GET", "/v1/posts/abc", NULL, NULL), 404);
    assert_int_equal(api("GET", "/v1/posts/1/2", NULL, NULL), 404);
}

static void test_patch_edits_and_reschedules_unsent_posts(void **state)
{
    json_int_t id = create("{\"provider_key\":\"je\",\"account_ids\":[\"k1\",\"k2\"],"
                           "\"content\":\"before\",\"scheduled_at\":\"2030-04-01T10:00:00Z\"}");
    char path[64], sql[256];
    snprintf(path, sizeof path, "/v1/posts/%lld", (long long)id);
    json_t *o;
    assert_int_equal(api("PATCH", path,
                         "{\"content\":\"after\",\"scheduled_at\":\"2030-04-02T09:00:00\","
                         "\"time_zone\":\"Europe/Paris\",\"account_ids\":[\"k2\",\"k3\"]}",
                         &o),
                     200);
    assert_string_equal(str(o, "content"), "after");
    assert_string_equal(str(o, "scheduled_at"), "2030-04-02T07:00:00Z");
    json_t *targets = json_object_get(o, "targets");
    assert_int_equal(json_array_size(targets), 2);
    json_decref(o);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM post_targets WHERE post_id = %lld AND account_id IN ('k2','k3') "
             "AND next_attempt_at = '2030-04-02T07:00:00Z'",
             (long long)id);
    assert_int_equal(count(sql), 2);

    /* Only the zone: the instant stays. */
    assert_int_equal(api("PATCH", path, "{\"time_zone\":\"Asia/Tokyo\"}", &o), 200);
    assert_string_equal(str(o, "scheduled_at"), "2030-04-02T07:00:00Z");
    assert_string_equal(str(o, "scheduled_local"), "2030-04-02T16:00:00");
    json_decref(o);

    /* Bad edits are refused, naming each field; nothing changes. */
    assert_int_equal(api("PATCH", path,
                         "{\"content\":\"\",\"time_zone\":\"Nowhere/Land\",\"provider_key\":\"pe\"}",
                         &o),
                     422);
    assert_string_equal(detail(o, "content"), "empty");
    assert_non_null(detail(o, "time_zone"));
    assert_non_null(detail(o, "provider_key"));
    json_decref(o);
    assert_int_equal(api("PATCH", path, "{}", &o), 422);
    json_decref(o);
    assert_int_equal(api("PATCH", "/v1/posts/999999", "{\"content\":\"x\"}", NULL), 404);
}

/* A PATCH may replace every account of a full post, twice: the targets of the
 * accounts it drops free their slots (ids post x 128 + 0..127) before the new
 * accounts take theirs. */
static void test_patch_replaces_all_accounts_of_a_full_post(void **state)
{
    (void)state;
    char body[4096], path[64], sql[256];
    int n = 0;
    n += snprintf(body + n, sizeof body - (size_t)n, "{\"provider_key\":\"je\",\"account_ids\":[");
    for (int i = 0; i < 100; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s\"f%d\"", i ? "," : "", i);
    snprintf(body + n, sizeof body - (size_t)n,
             "],\"content\":\"full\",\"scheduled_at\":\"2030-06-01T10:00:00Z\"}");
    json_int_t id = create(body);
    snprintf(path, sizeof path, "/v1/posts/%lld", (long long)id);
    for (int round = 1; round <= 2; round++) {
        n = snprintf(body, sizeof body, "{\"account_ids\":[");
        for (int i = 0; i < 100; i++)
            n +=
                snprintf(body + n, sizeof body - (size_t)n, "%s\"r%d_%d\"", i ? "," : "", round, i);
        snprintf(body + n, sizeof body - (size_t)n, "]}");
        json_t *o;
        assert_int_equal(api("PATCH", path, body, &o), 200);
        assert_int_equal(json_array_size(json_object_get(o, "targets")), 100);
        json_decref(o);
        snprintf(
            sql, sizeof sql,
            "SELECT count(DISTINCT account_id) FROM post_targets WHERE post_id = %lld "
            "AND account_id LIKE 'r%d\\_%%' AND id / 128 = post_id AND due_at = next_attempt_at",
            (long long)id, round);
        assert_int_equal(count(sql), 100);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM post_targets WHERE post_id = %lld",
                 (long long)id);
        assert_int_equal(count(sql), 100);
    }
}

static void test_patch_after_a_target_was_sent_is_409(void **state)
{
    json_int_t id = create("{\"provider_key\":\"je\",\"account_ids\":[\"s1\",\"s2\"],"
                           "\"content\":\"sent\",\"scheduled_at\":\"2030-05-01T10:00:00Z\"}");
    char path[64], sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE post_targets SET status = 'submitted', attempts = 1 "
             "WHERE post_id = %lld AND account_id = 's1'",
             (long long)id);
    pgt_exec(conn, sql);
    snprintf(path, sizeof path, "/v1/posts/%lld", (long long)id);
    json_t *o;
    assert_int_equal(api("PATCH", path, "{\"content\":\"changed\"}", &o), 409);
    assert_string_equal(error_code(o), "already_sent");
    json_decref(o);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM posts WHERE id = %lld AND content = 'sent'",
             (long long)id);
    assert_int_equal(count(sql), 1);
}

static void test_delete_cancels_what_was_not_sent(void **state)
{
    json_int_t id = create("{\"provider_key\":\"je\",\"account_ids\":[\"d1\",\"d2\"],"
                           "\"content\":\"del\",\"scheduled_at\":\"2030-06-01T10:00:00Z\"}");
    char path[64], sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE post_targets SET status = 'published', attempts = 1 "
             "WHERE post_id = %lld AND account_id = 'd1'",
             (long long)id);
    pgt_exec(conn, sql);
    snprintf(path, sizeof path, "/v1/posts/%lld", (long long)id);
    json_t *o;
    assert_int_equal(api("DELETE", path, NULL, &o), 200);
    assert_int_equal(json_integer_value(json_object_get(o, "cancelled_targets")), 1);
    json_t *targets = json_object_get(o, "targets");
    assert_string_equal(str(json_array_get(targets, 0), "status"), "published");
    assert_string_equal(str(json_array_get(targets, 1), "status"), "cancelled");
    json_decref(o);
    /* Nothing left to cancel: the rest was sent. */
    assert_int_equal(api("DELETE", path, NULL, &o), 409);
    assert_string_equal(error_code(o), "already_sent");
    json_decref(o);

    /* A post with nothing sent: everything goes; a repeat is harmless. */
    id = create("{\"provider_key\":\"je\",\"account_ids\":[\"d3\"],\"content\":\"del2\","
                "\"scheduled_at\":\"2030-06-01T10:00:00Z\"}");
    snprintf(path, sizeof path, "/v1/posts/%lld", (long long)id);
    assert_int_equal(api("DELETE", path, NULL, &o), 200);
    assert_int_equal(json_integer_value(json_object_get(o, "cancelled_targets")), 1);
    json_decref(o);
    assert_int_equal(api("DELETE", path, NULL, &o), 200);
    assert_int_equal(json_integer_value(json_object_get(o, "cancelled_targets")), 0);
    json_decref(o);
    assert_int_equal(api("DELETE", "/v1/posts/999999", NULL, NULL), 404);
}

static void test_pagination_walks_every_page_exactly_once(void **state)
{
    /* 23 posts on their own key; several share a time (ties go by id). */
    json_int_t ids[23];
    for (int i = 0; i < 23; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"provider_key\":\"pages\",\"account_ids\":[\"p\"],\"content\":\"page %d\","
                 "\"scheduled_at\":\"2031-01-01T%02d:00:00Z\"}",
                 i, 10 + i % 5);
        ids[i] = create(body);
    }
    int seen[23] = {0}, pages = 0, total = 0;
    char path[512] = "/v1/posts?key=pages&limit=5";
    double last = 0;
    for (int guard = 0; guard < 20; guard++) {
        json_t *o;
        assert_int_equal(api("GET", path, NULL, &o), 200);
        json_t *posts = json_object_get(o, "posts");
        pages++;
        for (size_t i = 0; i < json_array_size(posts); i++) {
            json_t *p = json_array_get(posts, i);
            json_int_t id = json_integer_value(json_object_get(p, "id"));
            int hour = atoi(str(p, "scheduled_at") + 11);
            double key = hour * 1e9 + (double)id;
            assert_true(key > last);
            last = key;
            for (int k = 0; k < 23; k++)
                seen[k] += ids[k] == id;
            total++;
        }
        const char *next = str(o, "next_cursor");
        if (!next) {
            json_decref(o);
            break;
        }
        snprintf(path, sizeof path, "/v1/posts?key=pages&limit=5&cursor=%s", next);
        json_decref(o);
    }
    assert_int_equal(pages, 5);
    assert_int_equal(total, 23);
    for (int k = 0; k < 23; k++)
        assert_int_equal(seen[k], 1);
}

static void test_list_filters_and_bad_queries(void **state)
{
    json_t *o;
    assert_int_equal(api("GET", "/v1/posts?provider=schedpilot&from=2031-01-01T11:00:00Z"
                                "&to=2031-01-01T12:00:00Z&limit=500",
                         NULL, &o),
                     200);
    json_t *posts = json_object_get(o, "posts");
    assert_true(json_array_size(posts) > 0);
    for (size_t i = 0; i < json_array_size(posts); i++)
        assert_string_equal(str(json_array_get(posts, i), "scheduled_at"), "2031-01-01T11:00:00Z");
    assert_true(json_is_null(json_object_get(o, "next_cursor")));
    json_decref(o);

    assert_int_equal(api("GET", "/v1/posts?status=cancelled&limit=500", NULL, &o), 200);
    posts = json_object_get(o, "posts");
    assert_true(json_array_size(posts) >= 2);
    json_decref(o);

    assert_int_equal(api("GET", "/v1/posts?status=bogus&limit=0&cursor=zz&from=yesterday"
                                "&provider=nope",
                         NULL, &o),
                     422);
    assert_string_equal(error_code(o), "invalid_query");
    assert_non_null(detail(o, "status"));
    assert_non_null(detail(o, "limit"));
    assert_non_null(detail(o, "cursor"));
    assert_non_null(detail(o, "from"));
    assert_non_null(detail(o, "provider"));
    json_decref(o);

    /* Not text once decoded (a lone surrogate, NUL): named, not a 500 from PostgreSQL. */
    const char *not_text[] = {"/v1/posts?key=%ED%A0%80", "/v1/posts?provider=a%00b",
                              "/v1/limits?key=%FF", "/v1/plan?from=%C0%80"};
    const char *field[] = {"key", "provider", "key", "from"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(api("GET", not_text[i], NULL, &o), 422);
        assert_string_equal(error_code(o), "invalid_query");
        assert_non_null(detail(o, field[i]));
        json_decref(o);
    }
}

/* A time of the server's clock, RFC 3339 with an offset, for updated_since. */
static void server_time(const char *sql, char *buf, size_t len)
{
    PGresult *r = PQexec(conn, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

static void test_updated_since_lists_only_posts_that_changed(void **state)
{
    json_int_t id = create("{\"provider_key\": \"pe\", \"account_ids\": [\"a\", \"b\"], "
                           "\"content\": \"polled\", \"scheduled_at\": \"2034-03-01T10:00:00Z\"}");
    const char *range = "/v1/posts?from=2034-03-01T00:00:00Z&to=2034-03-02T00:00:00Z";
    const char *stamp = "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
    char since[64], path[256];
    usleep(5000);
    server_time(stamp, since, sizeof since);
    usleep(5000);
    json_t *o;
    snprintf(path, sizeof path, "%s&updated_since=%s", range, since);
    assert_int_equal(api("GET", path, NULL, &o), 200);
    assert_int_equal(json_array_size(json_object_get(o, "posts")), 0);
    json_decref(o);
    /* One target moves on, as the scheduler or a webhook moves it (updated_at with it). */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE post_targets SET status = 'cancelled', updated_at = clock_timestamp() "
             "WHERE post_id = %lld AND account_id = 'b'",
             (long long)id);
    pgt_exec(conn, sql);
    assert_int_equal(api("GET", path, NULL, &o), 200);
    json_t *posts = json_object_get(o, "posts");
    assert_int_equal(json_array_size(posts), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(posts, 0), "id")), id);
    json_decref(o);
    /* Without it, the range lists the post as before. */
    assert_int_equal(api("GET", range, NULL, &o), 200);
    assert_int_equal(json_array_size(json_object_get(o, "posts")), 1);
    json_decref(o);
    assert_int_equal(api("GET", "/v1/posts?updated_since=soon", NULL, &o), 422);
    assert_non_null(detail(o, "updated_since"));
    json_decref(o);
}

static void test_limits_show_which_keys_are_paused(void **state)
{
    json_t *o;
    assert_int_equal(api("POST", "/v1/keys/pause", "{\"key\": \"je\"}", NULL), 200);
    assert_int_equal(api("GET", "/v1/limits", NULL, &o), 200);
    json_t *keys = json_object_get(o, "keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        assert_true(json_is_boolean(json_object_get(k, "paused")));
        assert_int_equal(json_is_true(json_object_get(k, "paused")),
                         strcmp(str(k, "label"), "je") == 0);
    }
    json_decref(o);
    assert_int_equal(api("POST", "/v1/keys/resume", "{\"key\": \"je\"}", NULL), 200);
    assert_int_equal(api("GET", "/v1/limits?key=je", NULL, &o), 200);
    assert_true(json_is_false(json_object_get(json_array_get(json_object_get(o, "keys"), 0),
                                              "paused")));
    json_decref(o);
}

static void test_wrong_method_unknown_route_and_big_body(void **state)
{
    json_t *o;
    assert_int_equal(api("PUT", "/v1/posts", "{}", &o), 405);
    assert_string_equal(error_code(o), "method_not_allowed");
    json_decref(o);
    assert_int_equal(api("POST", "/v1/posts/1", "{}", NULL), 405);
    assert_int_equal(api("GET", "/v1/nothing", NULL, &o), 404);
    assert_string_equal(error_code(o), "not_found");
    json_decref(o);
    size_t n = 70000;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{', big[n - 1] = '}', big[n] = '\0';
    assert_int_equal(api("POST", "/v1/posts", big, NULL), 413);
    free(big);
}

static void test_limits_have_the_shape_of_the_cli(void **state)
{
    json_t *o;
    assert_int_equal(api("GET", "/v1/limits", NULL, &o), 200);
    assert_non_null(str(o, "now"));
    json_t *keys = json_object_get(o, "keys");
    assert_int_equal(json_array_size(keys), 5);
    json_t *k = json_array_get(keys, 0);
    assert_string_equal(str(k, "provider"), "jestha");
    json_t *w = json_array_get(json_object_get(k, "windows"), 0);
    assert_non_null(w);
    assert_non_null(json_object_get(w, "limit"));
    assert_non_null(json_object_get(w, "used"));
    assert_non_null(json_object_get(w, "next_free"));
    json_decref(o);
    assert_int_equal(api("GET", "/v1/limits?provider=jestha&key=je", NULL, &o), 200);
    assert_int_equal(json_array_size(json_object_get(o, "keys")), 1);
    json_decref(o);
    assert_int_equal(api("GET", "/v1/limits?provider=nope", NULL, &o), 422);
    assert_non_null(detail(o, "provider"));
    json_decref(o);
}

static void test_plan_matches_the_cli(void **state)
{
    const char *range = "from=2030-01-01T00:00:00Z&to=2032-01-01T00:00:00Z";
    char path[256];
    snprintf(path, sizeof path, "/v1/plan?%s", range);
    json_t *o;
    assert_int_equal(api("GET", path, NULL, &o), 200);
    assert_string_equal(str(o, "from"), "2030-01-01T00:00:00Z");
    assert_string_equal(str(o, "to"), "2032-01-01T00:00:00Z");
    json_t *requests = json_object_get(o, "requests");
    assert_true(json_array_size(requests) > 20);

    /* The same document as `postpace plan --json` (apart from when each ran). */
    static char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db);
    char *envs[] = {env_db, NULL};
    char *argv[] = {(char *)pgt_postpace_bin(), "plan", "--json", "--from=2030-01-01T00:00:00Z",
                    "--to=2032-01-01T00:00:00Z", NULL};
    struct proc p;
    assert_int_equal(proc_run(&p, argv, envs), 0);
    json_t *cli = json_loads(strchr(p.out, '{'), JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(cli);
    json_object_del(cli, "now");
    json_object_del(o, "now");
    json_t *cr = json_object_get(cli, "requests");
    assert_int_equal(json_array_size(cr), json_array_size(requests));
    for (size_t i = 0; i < json_array_size(cr); i++) {
        json_t *a = json_array_get(cr, i), *b = json_array_get(requests, i);
        assert_int_equal(json_object_size(a), json_object_size(b));
        assert_true(json_equal(json_object_get(a, "post_id"), json_object_get(b, "post_id")));
        assert_true(json_equal(json_object_get(a, "target_ids"), json_object_get(b, "target_ids")));
        assert_true(json_equal(json_object_get(a, "state"), json_object_get(b, "state")));
    }
    assert_true(json_equal(json_object_get(json_object_get(cli, "summary"), "requests"),
                           json_object_get(json_object_get(o, "summary"), "requests")));
    json_decref(cli);
    json_decref(o);

    assert_int_equal(api("GET", "/v1/plan?from=soon", NULL, &o), 422);
    assert_non_null(detail(o, "from"));
    json_decref(o);
    assert_int_equal(api("GET", "/v1/plan?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z",
                         NULL, &o),
                     422);
    assert_non_null(detail(o, "to"));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_refuses_missing_or_wrong_token),
        cmocka_unit_test(test_create_returns_the_post_and_its_targets),
        cmocka_unit_test(test_create_is_idempotent_on_external_id),
        cmocka_unit_test(test_malformed_json_is_400),
        cmocka_unit_test(test_validation_names_every_bad_field),
        cmocka_unit_test(test_daylight_saving_gaps_and_overlaps_are_refused),
        cmocka_unit_test(test_get_one_shows_targets_and_attempts),
        cmocka_unit_test(test_patch_edits_and_reschedules_unsent_posts),
        cmocka_unit_test(test_patch_replaces_all_accounts_of_a_full_post),
        cmocka_unit_test(test_patch_after_a_target_was_sent_is_409),
        cmocka_unit_test(test_delete_cancels_what_was_not_sent),
        cmocka_unit_test(test_pagination_walks_every_page_exactly_once),
        cmocka_unit_test(test_list_filters_and_bad_queries),
        cmocka_unit_test(test_updated_since_lists_only_posts_that_changed),
        cmocka_unit_test(test_limits_show_which_keys_are_paused),
        cmocka_unit_test(test_wrong_method_unknown_route_and_big_body),
        cmocka_unit_test(test_limits_have_the_shape_of_the_cli),
        cmocka_unit_test(test_plan_matches_the_cli),
        cmocka_unit_test(test_times_outside_the_range_are_refused_with_the_reason),
        cmocka_unit_test(test_a_forged_cursor_names_the_cursor),
        cmocka_unit_test(test_plan_from_the_epoch_is_taken_as_given),
        cmocka_unit_test(test_unicode_blank_content_is_empty),
        cmocka_unit_test(test_a_post_in_the_past_is_accepted_with_a_warning),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
