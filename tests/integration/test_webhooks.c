/*
 * Webhook intake end to end: the postpace binary on loopback, a real
 * PostgreSQL, signed deliveries over HTTP.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pgtest.h"
#include "proc.h"
#include "whclient.h"

#define SECRET_OLD "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_NEW "whsec_c2Vjb25kIHNlY3JldCBmb3Igcm90YXRpb24h"
#define SECRET_WRONG "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define SECRET_KEY2 "whsec_a2V5IHR3byBoYXMgaXRzIG93biBzZWNyZXQh"

static char *db;
static PGconn *conn;
static struct proc server;
static char base[128];
static int counter;
static char env_db_url[1024]; /* DATABASE_URL=... for the CLI */

static int group_setup(void **state)
{
    db = pgt_create_migrated_db();
    conn = pgt_connect(db);
    pgt_exec(conn, "INSERT INTO provider_keys (provider, label, secret_ref, webhook_secret_ref) "
                   "VALUES ('posteverywhere', 'main', 'env:PE_KEY', 'env:PP_TEST_WHSEC')");
    /* A second key with a secret of its own and its own field paths. */
    pgt_exec(conn, "INSERT INTO provider_keys (provider, label, secret_ref, webhook_secret_ref, "
                   "webhook_fields) VALUES ('posteverywhere', 'second', 'env:PE_KEY', "
                   "'env:PP_TEST_WHSEC_B', '{\"reference\": [\"job.tag\"], "
                   "\"type\": [\"job.state\"], \"published\": [\"done\"]}')");
    static char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db);
    snprintf(env_db_url, sizeof env_db_url, "%s", env_db);
    char *envs[] = {env_db,
                    "PP_TEST_WHSEC=" SECRET_OLD " " SECRET_NEW,
                    "PP_TEST_WHSEC_B=" SECRET_KEY2,
                    "POSTPACE_WEBHOOK_RELOAD_MS=100", /* configuration changes seen at once */
                    "POSTPACE_API_TOKENS=wh-test-token-0123456789",
                    "POSTPACE_BODY_LIMIT=4096",
                    "POSTPACE_SCHEDULER=0",
                    "POSTPACE_HTTP_THREADS=2", /* connections dealt to two loops */
                    NULL};
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    proc_start(&server, argv, envs);
    const char *at = proc_await(&server, " port=");
    if (!at)
        return -1;
    snprintf(base, sizeof base, "http://127.0.0.1:%d", atoi(at + 6));
    return 0;
}

static int daemon_exit_status;

static int group_teardown(void **state)
{
    kill(server.pid, SIGTERM);
    daemon_exit_status = proc_wait(&server);
    if (daemon_exit_status != 0)
        fprintf(stderr, "daemon exited %d:\n%s\n", daemon_exit_status, server.out);
    PQfinish(conn);
    pgt_drop_db(db);
    return daemon_exit_status == 0 ? 0 : -1;
}

static char *url(const char *path)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s%s", base, path);
    return buf;
}

/* Inserts a one-account post of key `key` whose target is `status` with request_ref `ref`. */
static void make_key_target(const char *key, const char *ref, const char *status)
{
    const char *k[] = {key};
    PGresult *ins = PQexecParams(conn,
                                 "INSERT INTO posts (provider_key_id, account_ids, content, "
                                 "scheduled_at) VALUES ($1::bigint, '{acct}', 'hello', now())",
                                 1, NULL, k, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(ins), PGRES_COMMAND_OK);
    PQclear(ins);
    const char *p[] = {ref, status};
    PGresult *r = PQexecParams(conn,
                               "UPDATE post_targets SET request_ref = $1, attempts = 1, "
                               "status = $2::target_status "
                               "WHERE post_id = (SELECT max(id) FROM posts)",
                               2, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static void make_target(const char *ref, const char *status)
{
    make_key_target("1", ref, status);
}

static char *target_status(const char *ref)
{
    static char buf[64];
    const char *p[] = {ref};
    PGresult *r = PQexecParams(conn, "SELECT status FROM post_targets WHERE request_ref = $1", 1,
                               NULL, p, NULL, NULL, 0);
    snprintf(buf, sizeof buf, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "(none)");
    PQclear(r);
    return buf;
}

static int count(const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static const char *next_id(void)
{
    static char id[32]; /* "msg_" and two ints; small, so callers' prefixed copies fit 64 bytes */
    snprintf(id, sizeof id, "msg_%d_%d", (int)time(NULL), ++counter);
    return id;
}

static void test_signed_event_publishes_its_target(void **state)
{
    char body[512], resp[512];
    make_target("ref-a", "submitted");
    wh_event(body, sizeof body, "post.published", "ref-a", "pe_1", "acct");
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, body, resp, sizeof resp),
        200);
    assert_string_equal(resp, "{\"status\":\"accepted\"}");
    assert_string_equal(target_status("ref-a"), "published");
}

static void test_duplicate_and_replay_change_nothing(void **state)
{
    char body[512], resp[512], id[64];
    make_target("ref-dup", "submitted");
    snprintf(id, sizeof id, "%s", next_id());
    wh_event(body, sizeof body, "post.failed", "ref-dup", NULL, "acct");
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, id, 0, body, resp, sizeof resp), 200);
    assert_string_equal(target_status("ref-dup"), "failed");
    /* The operator re-queues it; a replay of the old failure must not fail it again. */
    pgt_exec(conn, "UPDATE post_targets SET status = 'scheduled' WHERE request_ref = 'ref-dup'");
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, id, 0, body, resp, sizeof resp), 200);
    assert_string_equal(resp, "{\"status\":\"duplicate\"}");
    assert_string_equal(target_status("ref-dup"), "scheduled");
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM webhook_events WHERE event_id = '%s'", id);
    assert_int_equal(count(sql), 1);
}

static void test_bad_signatures_are_refused(void **state)
{
    char body[512], resp[512];
    make_target("ref-sig", "submitted");
    wh_event(body, sizeof body, "post.published", "ref-sig", NULL, NULL);
    assert_int_equal(wh_send(url("/webhooks/posteverywhere"), SECRET_WRONG, next_id(), 0, body,
                             resp, sizeof resp),
                     401);
    assert_non_null(strstr(resp, "no signature matches"));
    assert_int_equal(wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(),
                             (int64_t)time(NULL) - 301, body, resp, sizeof resp),
                     401);
    assert_non_null(strstr(resp, "too old"));
    assert_int_equal(wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(),
                             (int64_t)time(NULL) + 301, body, resp, sizeof resp),
                     401);
    assert_non_null(strstr(resp, "future"));
    /* Unsigned. */
    assert_int_equal(http_request("POST", url("/webhooks/posteverywhere"), NULL, body, strlen(body),
                                  resp, sizeof resp),
                     401);
    assert_non_null(strstr(resp, "missing"));
    assert_string_equal(target_status("ref-sig"), "submitted");
}

static void test_tampered_body_is_refused(void **state)
{
    /* Sign one body, send another: a proxy that rewrites JSON must not pass. */
    char body[512], resp[512], h_id[80], h_ts[64], h_sig[128];
    make_target("ref-tamper", "submitted");
    wh_event(body, sizeof body, "post.failed", "ref-tamper", NULL, NULL);
    long ts = (long)time(NULL);
    snprintf(h_id, sizeof h_id, "webhook-id: tamper-1");
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %ld", ts);
    /* A valid signature of a different body. */
    char other[512];
    wh_event(other, sizeof other, "post.published", "ref-tamper", NULL, NULL);
    wh_sign_header(SECRET_OLD, "tamper-1", ts, other, h_sig, sizeof h_sig);
    const char *headers[] = {h_id, h_ts, h_sig, NULL};
    assert_int_equal(http_request("POST", url("/webhooks/posteverywhere"), headers, body,
                                  strlen(body), resp, sizeof resp),
                     401);
    assert_string_equal(target_status("ref-tamper"), "submitted");
}

static void test_rotated_secret_is_accepted(void **state)
{
    char body[512], resp[512];
    make_target("ref-rot", "unconfirmed");
    wh_event(body, sizeof body, "post.published", "ref-rot", NULL, NULL);
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_NEW, next_id(), 0, body, resp, sizeof resp),
        200);
    assert_string_equal(target_status("ref-rot"), "published");
}

static void test_failed_then_published_ends_published(void **state)
{
    char body[512], resp[512];
    make_target("ref-ooo", "submitted");
    wh_event(body, sizeof body, "post.failed", "ref-ooo", NULL, NULL);
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, body, resp, sizeof resp),
        200);
    assert_string_equal(target_status("ref-ooo"), "failed");
    wh_event(body, sizeof body, "post.published", "ref-ooo", NULL, NULL);
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, body, resp, sizeof resp),
        200);
    assert_string_equal(target_status("ref-ooo"), "published");
    /* And a failure after publication never regresses it. */
    wh_event(body, sizeof body, "post.failed", "ref-ooo", NULL, NULL);
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, body, resp, sizeof resp),
        200);
    assert_string_equal(target_status("ref-ooo"), "published");
}

static void test_event_before_target_is_applied_when_it_appears(void **state)
{
    char body[512], resp[512];
    wh_event(body, sizeof body, "post.published", "ref-early", "pe_early", NULL);
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, body, resp, sizeof resp),
        200);
    assert_int_equal(count("SELECT count(*) FROM webhook_events WHERE reference = 'ref-early' "
                           "AND applied_at IS NULL"),
                     1);
    make_target("ref-early", "publishing");
    assert_string_equal(target_status("ref-early"), "published");
    assert_int_equal(count("SELECT count(*) FROM webhook_events WHERE reference = 'ref-early' "
                           "AND applied_at IS NOT NULL"),
                     1);
}

struct delivery {
    const char *id, *body;
    long status;
    char resp[512];
};

/* Sends one delivery (on its own thread, while the test holds a lock). */
static void *deliver(void *arg)
{
    struct delivery *d = arg;
    d->status = wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, d->id, 0, d->body, d->resp,
                        sizeof d->resp);
    return NULL;
}

/* Another transaction stores an event while the daemon stores it too: the
 * daemon's insert waits for that transaction, then skips the event (no
 * failed batch stored again event by event), and answers that the event
 * was a duplicate. */
static void test_event_stored_by_a_concurrent_transaction_is_a_duplicate(void **state)
{
    char body[512], id[64], sql[512];
    snprintf(id, sizeof id, "%s", next_id());
    wh_event(body, sizeof body, "post.published", "ref-raced", NULL, NULL);
    PGconn *other = pgt_connect(db);
    pgt_exec(other, "BEGIN");
    snprintf(sql, sizeof sql,
             "SELECT * FROM postpace_store_events('{posteverywhere}', '{%s}', "
             "'{post.published}', '{\"{}\"}', '{ref-raced}', NULL, NULL)",
             id);
    pgt_exec(other, sql);
    struct delivery d = {id, body, 0, ""};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, deliver, &d), 0);
    /* The daemon, inserting the same event, waits for this transaction. */
    assert_true(pgt_await(conn, "SELECT (count(*) > 0)::int FROM pg_stat_activity "
                                "WHERE datname = current_database() AND wait_event_type = 'Lock'"));
    pgt_exec(other, "COMMIT");
    pthread_join(t, NULL);
    PQfinish(other);
    assert_int_equal(d.status, 200);
    assert_string_equal(d.resp, "{\"status\":\"duplicate\"}");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM webhook_events WHERE event_id = '%s'", id);
    assert_int_equal(count(sql), 1);
    proc_read_available(&server);
    assert_null(strstr(server.out, "webhook batch failed"));
}

static long metric(const char *text, const char *series);

/* The race the pending sweep closes. An event stored while the write that
 * makes its target matchable is uncommitted matches nothing and stays
 * pending; that write's own trigger ran before the event existed. Nothing
 * writes the target again, so only the daemon's sweep applies the event. */
static void test_event_that_raced_its_target_write_is_swept(void **state)
{
    char body[512], resp[512], *text = malloc(1 << 16);
    assert_int_equal(http_request("GET", url("/metrics"), NULL, NULL, 0, text, 1 << 16), 200);
    long swept = metric(text, "\npostpace_webhook_events_swept_total");
    assert_true(swept >= 0);
    make_target("ref-swept", "submitted");
    PGconn *recorder = pgt_connect(db);
    pgt_exec(recorder, "BEGIN");
    pgt_exec(recorder, "UPDATE post_targets SET provider_post_id = 'pe_swept' "
                       "WHERE request_ref = 'ref-swept'");
    wh_event(body, sizeof body, "post.published", NULL, "pe_swept", NULL);
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, body, resp, sizeof resp),
        200);
    assert_int_equal(count("SELECT count(*) FROM webhook_events "
                           "WHERE provider_post_id = 'pe_swept' AND applied_at IS NULL"),
                     1);
    pgt_exec(recorder, "COMMIT");
    PQfinish(recorder);
    assert_true(pgt_await(conn, "SELECT (status = 'published')::int FROM post_targets "
                                "WHERE request_ref = 'ref-swept'"));
    assert_int_equal(count("SELECT count(*) FROM webhook_events "
                           "WHERE provider_post_id = 'pe_swept' AND applied_at IS NOT NULL"),
                     1);
    assert_int_equal(http_request("GET", url("/metrics"), NULL, NULL, 0, text, 1 << 16), 200);
    assert_int_equal(metric(text, "\npostpace_webhook_events_swept_total"), swept + 1);
    free(text);
}

/* A signed delivery with headers as given: `pad` extra bytes of signature list. */
static long send_signed(const char *id, size_t pad, const char *body, char *resp, size_t size)
{
    char ts[32], sig[200], h_id[2200], h_ts[64], h_sig[3000];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    wh_sign_header(SECRET_OLD, id, atol(ts), body, sig, sizeof sig);
    snprintf(h_id, sizeof h_id, "webhook-id: %s", id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %s", ts);
    size_t o = (size_t)snprintf(h_sig, sizeof h_sig, "%s", sig);
    for (size_t i = 0; i < pad && o + 2 < sizeof h_sig; i++)
        h_sig[o++] = i % 48 == 0 ? ' ' : 'v';
    h_sig[o] = '\0';
    const char *headers[] = {h_id, h_ts, h_sig, "Content-Type: application/json", NULL};
    return http_request("POST", url("/webhooks/posteverywhere"), headers, body, strlen(body), resp,
                        size);
}

/* Headers too long to hold and ids PostgreSQL cannot store are named, never
 * taken for missing headers (401) or left to fail in the database (500, which
 * the sender retries forever). */
static void test_header_and_id_problems_are_named(void **state)
{
    char body[512], resp[512], id[400];
    wh_event(body, sizeof body, "post.published", "ref-hdr", NULL, NULL);
    assert_int_equal(send_signed("evt-\xff\xfe-1", 0, body, resp, sizeof resp), 400);
    assert_non_null(strstr(resp, "webhook-id"));
    assert_non_null(strstr(resp, "UTF-8"));
    assert_int_equal(send_signed("evt-long-sig", 2100, body, resp, sizeof resp), 400);
    assert_non_null(strstr(resp, "webhook-signature"));
    assert_non_null(strstr(resp, "longer than"));
    memset(id, 'i', 300);
    id[300] = '\0';
    assert_int_equal(send_signed(id, 0, body, resp, sizeof resp), 400);
    assert_non_null(strstr(resp, "webhook-id"));
    assert_non_null(strstr(resp, "longer than"));
    memset(id, 'j', 201);
    id[201] = '\0';
    assert_int_equal(send_signed(id, 0, body, resp, sizeof resp), 400);
    assert_non_null(strstr(resp, "longer than 200"));
    assert_int_equal(count("SELECT count(*) FROM webhook_events WHERE event_id LIKE 'evt-%'"), 0);
}

/* Only what is not a webhook at all is refused: an unknown provider, a
 * wrong method, a body too large, or one that is not JSON. */
static int count_p(const char *sql, const char *param)
{
    const char *p[] = {param};
    PGresult *r = PQexecParams(conn, sql, 1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static void test_bad_requests_name_the_problem(void **state)
{
    char resp[512];
    assert_int_equal(
        wh_send(url("/webhooks/nosuchprovider"), SECRET_OLD, next_id(), 0, "{}", resp, sizeof resp),
        404);
    assert_int_equal(
        http_request("GET", url("/webhooks/posteverywhere"), NULL, NULL, 0, resp, sizeof resp),
        405);
    assert_int_equal(wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, "{not json",
                             resp, sizeof resp),
                     400);
    assert_non_null(strstr(resp, "\"body\""));
    /* A NUL byte: no JSON text holds one, yet jansson reads this as a whole
     * object (a NUL right after a number is lost in its look-ahead); stored,
     * the payload was cut at the NUL and PostgreSQL refused it: a 500, found
     * by test_route_fuzz. */
    static const char nul[] = "{\"type\":\"post.published\",\"data\":{\"n\":1\0}}";
    char nul_id[64];
    snprintf(nul_id, sizeof nul_id, "nul-%s", next_id());
    assert_int_equal(wh_send_len(url("/webhooks/posteverywhere"), SECRET_OLD, nul_id, 0, nul,
                                 sizeof nul - 1, resp, sizeof resp),
                     400);
    assert_non_null(strstr(resp, "\"body\""));
    assert_int_equal(count_p("SELECT count(*) FROM webhook_events WHERE event_id = $1", nul_id), 0);
    /* Over the 4 KiB body limit this server was started with. */
    char big[6000];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, big, resp, sizeof resp),
        413);
}

/* A signed event postpace cannot read (a type it does not know, no id to
 * match by, not even an object) is stored, answered 200 so that the sender
 * does not give up on it, kept pending, and never settles a target. */
static void test_unreadable_events_are_stored_not_refused(void **state)
{
    char resp[512];
    make_target("ref-unread", "submitted");
    const char *bodies[] = {
        "{\"type\":\"post.deleted\",\"data\":{\"reference\":\"ref-unread\"}}",
        "{\"type\":\"post.published\",\"data\":{\"account_id\":\"a\"}}",
        "[\"post.published\", \"ref-unread\"]",
        "{\"type\":\"post.published\",\"data\":{\"post_id\":123456789012345678901234567890}}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        char id[64];
        snprintf(id, sizeof id, "unread-%zu-%s", i, next_id());
        assert_int_equal(wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, id, 0, bodies[i],
                                 resp, sizeof resp),
                         200);
        assert_string_equal(resp, "{\"status\":\"accepted\"}");
        assert_int_equal(count_p("SELECT count(*) FROM webhook_events WHERE event_id = $1 "
                                 "AND applied_at IS NULL",
                                 id),
                         1);
    }
    assert_int_equal(count("SELECT count(*) FROM webhook_events WHERE raw_type = 'post.deleted' "
                           "AND event_type IS NULL AND reference = 'ref-unread'"),
                     1);
    assert_string_equal(target_status("ref-unread"), "submitted");
}

/* An unreadable event is listed where an operator looks: GET /v1/events
 * (with its payload, by state) and `postpace status`. */
static void test_unreadable_events_are_listed(void **state)
{
    char resp[512], id[64], *out = malloc(1 << 16);
    snprintf(id, sizeof id, "listed-%s", next_id());
    assert_int_equal(wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, id, 0,
                             "{\"type\":\"post.shadowbanned\",\"data\":{\"id\":\"x9\"}}", resp,
                             sizeof resp),
                     200);
    const char *auth[] = {"Authorization: Bearer wh-test-token-0123456789", NULL};
    const char *states[] = {"/v1/events?state=unmatched&provider=posteverywhere&limit=500",
                            "/v1/events?state=unreadable", "/v1/events"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(http_request("GET", url(states[i]), auth, NULL, 0, out, 1 << 16), 200);
        assert_non_null(strstr(out, id));
        assert_non_null(strstr(out, "post.shadowbanned"));
        assert_non_null(strstr(out, "\"reason\":\"unreadable\""));
    }
    assert_int_equal(
        http_request("GET", url("/v1/events?state=applied"), auth, NULL, 0, out, 1 << 16), 422);
    struct proc st;
    char *argv[] = {(char *)pgt_postpace_bin(), "status", NULL};
    char *envs[] = {env_db_url, NULL};
    assert_int_equal(proc_run(&st, argv, envs), 0);
    assert_non_null(strstr(st.out, "UNMATCHED WEBHOOK EVENTS"));
    assert_non_null(strstr(st.out, id));
    free(out);
}

/* GET /v1/events lists events by state: an event for a post not written yet
 * is pending (unmatched, not unreadable), then matched, naming its target,
 * once the target appears. */
static void test_events_are_listed_by_state(void **state)
{
    char resp[512], body[1024], id[64], *out = malloc(1 << 16);
    snprintf(id, sizeof id, "state-%s", next_id());
    wh_event(body, sizeof body, "post.published", "ref-state", NULL, NULL);
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, id, 0, body, resp, sizeof resp), 200);
    const char *auth[] = {"Authorization: Bearer wh-test-token-0123456789", NULL};
    const struct {
        const char *path;
        int listed;
    } before[] = {
        {"/v1/events?state=pending&limit=500", 1},
        {"/v1/events?limit=500", 1}, /* unmatched, the default */
        {"/v1/events?state=unreadable&limit=500", 0},
        {"/v1/events?state=matched&limit=500", 0},
    };
    for (size_t i = 0; i < sizeof before / sizeof *before; i++) {
        assert_int_equal(http_request("GET", url(before[i].path), auth, NULL, 0, out, 1 << 16),
                         200);
        assert_int_equal(strstr(out, id) != NULL, before[i].listed);
    }
    assert_non_null(strstr(out, "\"events\""));
    assert_int_equal(
        http_request("GET", url("/v1/events?state=pending&limit=500"), auth, NULL, 0, out, 1 << 16),
        200);
    assert_non_null(strstr(strstr(out, id), "\"state\":\"pending\""));

    make_target("ref-state", "submitted");
    assert_string_equal(target_status("ref-state"), "published");
    int target = count("SELECT id FROM post_targets WHERE request_ref = 'ref-state'");
    assert_int_equal(
        http_request("GET", url("/v1/events?state=matched&limit=500"), auth, NULL, 0, out, 1 << 16),
        200);
    char *at = strstr(out, id), want[64];
    assert_non_null(at);
    snprintf(want, sizeof want, "\"target_id\":%d", target);
    assert_non_null(strstr(at, "\"state\":\"matched\""));
    assert_non_null(strstr(at, want));
    assert_int_equal(
        http_request("GET", url("/v1/events?state=pending&limit=500"), auth, NULL, 0, out, 1 << 16),
        200);
    assert_null(strstr(out, id));
    free(out);
}

/* Another dialect the defaults read: "event": "published", the post nested
 * under data.post with a numeric id and our reference as its external_id. */
static void test_other_dialect_settles_its_target(void **state)
{
    char resp[512];
    make_target("ref-alt", "submitted");
    const char *body = "{\"id\":\"evt_1\",\"event\":\"published\",\"data\":{\"post\":"
                       "{\"id\":777001,\"external_id\":\"ref-alt\"}}}";
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, body, resp, sizeof resp),
        200);
    assert_string_equal(target_status("ref-alt"), "published");
    assert_int_equal(count("SELECT count(*) FROM post_targets WHERE request_ref = 'ref-alt' "
                           "AND provider_post_id = '777001'"),
                     1);
}

/* A key's override applies to what its own secret signs, and only that. */
static void test_key_override_reads_what_that_key_signs(void **state)
{
    char resp[512];
    make_key_target("2", "ref-key2", "submitted");
    const char *body = "{\"job\":{\"state\":\"done\",\"tag\":\"ref-key2\"}}";
    char id1[64];
    snprintf(id1, sizeof id1, "k1-%s", next_id());
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, id1, 0, body, resp, sizeof resp), 200);
    assert_string_equal(target_status("ref-key2"), "submitted");
    assert_int_equal(wh_send(url("/webhooks/posteverywhere"), SECRET_KEY2, next_id(), 0, body, resp,
                             sizeof resp),
                     200);
    assert_string_equal(target_status("ref-key2"), "published");
    assert_int_equal(count_p("SELECT count(*) FROM webhook_events WHERE event_id = $1 "
                             "AND applied_at IS NULL AND key_id = 1",
                             id1),
                     1);
}

/* Stored events that matched nothing are read again when the provider's
 * paths change, and applied if they now match. */
static void test_configuration_change_rematches_stored_events(void **state)
{
    char resp[512];
    make_target("ref-cfg", "submitted");
    const char *body = "{\"kind\":\"post_success\",\"payload\":{\"meta\":{\"ref\":\"ref-cfg\"}}}";
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, body, resp, sizeof resp),
        200);
    assert_string_equal(target_status("ref-cfg"), "submitted");
    pgt_exec(conn, "UPDATE providers SET webhook_fields = webhook_fields || "
                   "'{\"type\": [\"type\", \"kind\"], \"published\": [\"post.published\", "
                   "\"post_success\"], \"reference\": [\"data.reference\", \"payload.meta.ref\"]}' "
                   "WHERE id = 'posteverywhere'");
    assert_true(pgt_await(conn, "SELECT count(*) FROM post_targets WHERE request_ref = 'ref-cfg' "
                                "AND status = 'published'"));
    assert_int_equal(count("SELECT count(*) FROM webhook_events WHERE reference = 'ref-cfg' "
                           "AND event_type = 'post.published' AND applied_at IS NOT NULL"),
                     1);
    pgt_exec(conn, "UPDATE providers SET webhook_fields = '{}' WHERE id = 'posteverywhere'");
}

/* Reads one sample of the Prometheus text back. */
static long metric(const char *text, const char *series)
{
    const char *at = strstr(text, series);
    if (!at)
        return -1;
    return atol(at + strlen(series) + 1);
}

static void test_metrics_count_what_happened(void **state)
{
    char *text = malloc(1 << 16);
    assert_int_equal(http_request("GET", url("/metrics"), NULL, NULL, 0, text, 1 << 16), 200);
    long accepted =
        metric(text, "postpace_webhooks_total{provider=\"posteverywhere\",result=\"applied\"}");
    long unauthorized = metric(
        text, "postpace_webhooks_total{provider=\"posteverywhere\",result=\"unauthorized\"}");
    long before = accepted;
    assert_true(accepted >= 0 && unauthorized >= 0);
    assert_non_null(strstr(text, "# TYPE postpace_webhook_seconds histogram"));

    char body[512], resp[512];
    wh_event(body, sizeof body, "post.published", "ref-metric", NULL, NULL);
    assert_int_equal(
        wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0, body, resp, sizeof resp),
        200);
    assert_int_equal(wh_send(url("/webhooks/posteverywhere"), SECRET_WRONG, next_id(), 0, body,
                             resp, sizeof resp),
                     401);
    assert_int_equal(http_request("GET", url("/metrics"), NULL, NULL, 0, text, 1 << 16), 200);
    assert_int_equal(
        metric(text, "postpace_webhooks_total{provider=\"posteverywhere\",result=\"applied\"}"),
        before + 1);
    assert_int_equal(
        metric(text,
               "postpace_webhooks_total{provider=\"posteverywhere\",result=\"unauthorized\"}"),
        unauthorized + 1);
    /* A verified event postpace cannot read is counted apart, and stored
     * unmatched events are a gauge, the unreadable ones labelled so. */
    long unreadable =
        metric(text, "postpace_webhooks_total{provider=\"posteverywhere\",result=\"unreadable\"}");
    assert_true(unreadable >= 0);
    assert_int_equal(wh_send(url("/webhooks/posteverywhere"), SECRET_OLD, next_id(), 0,
                             "{\"type\":\"post.archived\"}", resp, sizeof resp),
                     200);
    assert_int_equal(http_request("GET", url("/metrics"), NULL, NULL, 0, text, 1 << 16), 200);
    assert_int_equal(
        metric(text, "postpace_webhooks_total{provider=\"posteverywhere\",result=\"unreadable\"}"),
        unreadable + 1);
    assert_non_null(strstr(text, "# TYPE postpace_webhook_events_unmatched gauge"));
    assert_true(metric(text, "postpace_webhook_events_unmatched{provider=\"posteverywhere\","
                             "readable=\"no\"}") >= 0);
    free(text);
}

static void test_readyz_reports_database(void **state)
{
    char resp[256];
    assert_int_equal(http_request("GET", url("/readyz"), NULL, NULL, 0, resp, sizeof resp), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_event_publishes_its_target),
        cmocka_unit_test(test_duplicate_and_replay_change_nothing),
        cmocka_unit_test(test_bad_signatures_are_refused),
        cmocka_unit_test(test_tampered_body_is_refused),
        cmocka_unit_test(test_rotated_secret_is_accepted),
        cmocka_unit_test(test_failed_then_published_ends_published),
        cmocka_unit_test(test_event_before_target_is_applied_when_it_appears),
        cmocka_unit_test(test_event_stored_by_a_concurrent_transaction_is_a_duplicate),
        cmocka_unit_test(test_event_that_raced_its_target_write_is_swept),
        cmocka_unit_test(test_bad_requests_name_the_problem),
        cmocka_unit_test(test_unreadable_events_are_stored_not_refused),
        cmocka_unit_test(test_unreadable_events_are_listed),
        cmocka_unit_test(test_events_are_listed_by_state),
        cmocka_unit_test(test_other_dialect_settles_its_target),
        cmocka_unit_test(test_key_override_reads_what_that_key_signs),
        cmocka_unit_test(test_configuration_change_rematches_stored_events),
        cmocka_unit_test(test_header_and_id_problems_are_named),
        cmocka_unit_test(test_metrics_count_what_happened),
        cmocka_unit_test(test_readyz_reports_database),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    /* cmocka does not count a failed group teardown: the daemon must exit 0 (no leak, no crash). */
    return failed || daemon_exit_status != 0;
}
