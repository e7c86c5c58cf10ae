/*
 * The main job end to end: postpace serve drains a calendar across all five
 * providers of the simulator (time scale 60: a minute lasts a second), and
 * learns each post's fate from the simulator's signed webhooks. The verdict
 * is the simulator's: zero 429s, zero duplicates, everything created once.
 * It runs in both of the simulator's dialects (tests/sim/README.md
 * "Dialects"): in the alt one, postpace is first told by SQL which names
 * that dialect uses (request_fields, webhook_fields), as an operator would.
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
#include "simctl.h"

/* Media that every provider taking media accepts (Jestha's limits included). */
#define MEDIA "[{\"url\":\"https://cdn.example/p.png\",\"mime_type\":\"image/png\",\"size_bytes\":2048}]"

/* The alt dialect's names where the docs are silent, per provider. */
#define ALT_MEDIA "\"media\":{\"url\":\"src\",\"mime_type\":\"type\",\"size_bytes\":\"bytes\"}"
static const char *const alt_request_fields[][2] = {
    {"posteverywhere", "{" ALT_MEDIA ",\"reference\":\"client_reference\"}"},
    {"schedpilot", "{" ALT_MEDIA ",\"reference\":\"client_reference\"}"},
    {"feedhorizon", "{" ALT_MEDIA ",\"reference\":\"client_reference\",\"accounts\":\"channels\"}"},
    {"postlark", "{\"reference\":\"client_reference\",\"accounts\":\"blog\"}"},
    {"jestha", "{" ALT_MEDIA ",\"reference\":\"client_reference\"}"},
};
static const char alt_webhook_fields[] =
    "{\"type\":[\"kind\"],\"published\":[\"publication.live\"],"
    "\"failed\":[\"publication.rejected\"],\"post_id\":[\"object.uid\"],"
    "\"reference\":[\"object.ref\"],\"account\":[\"object.channel\"]}";
/* ... and in its list of posts (unconfirmed targets are looked up there). */
static const char alt_lookup_fields[] =
    "{\"type\":[\"state\"],\"published\":[\"live\"],\"failed\":[\"rejected\"],"
    "\"post_id\":[\"uid\"],\"reference\":[\"ref\"],\"account\":[\"channel\"]}";

static void configure_alt(struct drainfx *f)
{
    for (size_t i = 0; i < sizeof alt_request_fields / sizeof alt_request_fields[0]; i++) {
        const char *p[] = {alt_request_fields[i][0], alt_request_fields[i][1], alt_webhook_fields,
                           alt_lookup_fields};
        PGresult *r = PQexecParams(f->conn,
                                   "UPDATE providers SET request_fields = $2::jsonb, "
                                   "webhook_fields = $3::jsonb, lookup = lookup || $4::jsonb "
                                   "WHERE id = $1",
                                   4, NULL, p, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        assert_string_equal(PQcmdTuples(r), "1");
        PQclear(r);
    }
}

/* Every post of the providers that take media carries one image. */
static void add_media(struct drainfx *f)
{
    const char *p[] = {MEDIA};
    PGresult *r = PQexecParams(f->conn,
                               "UPDATE posts SET media = $1::jsonb WHERE provider_key_id IN "
                               "(SELECT id FROM provider_keys WHERE label IN ('pe','sp','fh','je'))",
                               1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static void drain(const char *dialect, int configure)
{
    struct drainfx f;
    const char *const sim_args[] = {"--dialect", dialect, NULL};
    assert_int_equal(drainfx_setup_sim(&f, 60, sim_args), 0);
    if (configure)
        configure_alt(&f);
    drainfx_posts(&f, "pe", 30, "{pe-a,pe-b,pe-c}", 0);
    drainfx_posts(&f, "sp", 12, "{sp-a,sp-b}", 0);
    drainfx_posts(&f, "fh", 30, "{twitter,linkedin}", 0);
    drainfx_posts(&f, "pl", 30, "{blog1}", 0);
    drainfx_posts(&f, "je", 30, "{main}", 0);
    add_media(&f);
    long total = drainfx_count(&f, "SELECT count(*) FROM post_targets");
    assert_int_equal(total, 90 + 24 + 60 + 30 + 30);
    assert_int_equal(drainfx_start(&f, 0, NULL), 0);

    int settled = drainfx_await_settled(&f, 120);
    json_t *stats = sim_ctl_stats(&f.sim);
    assert_non_null(stats);
    long created = sim_ctl_total(stats, "created"), limited = sim_ctl_total(stats, "rate_limited"),
         dups = sim_ctl_total(stats, "duplicates"), requests = sim_ctl_total(stats, "create_requests");
    long published = drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = 'published'");
    long failed = drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = 'failed'");
    printf("drain (%s dialect): %ld targets, %ld create requests, %ld created, %ld 429s, "
           "%ld duplicates, %ld published, %ld failed\n",
           dialect, total, requests, created, limited, dups, published, failed);
    if (settled != 0 || limited != 0 || published != total) {
        char *text = json_dumps(json_object_get(stats, "providers"), JSON_INDENT(1));
        fprintf(stderr, "%s\n%s\n", text, f.daemons[0].out);
        free(text);
    }
    assert_int_equal(settled, 0);
    assert_int_equal(limited, 0);
    assert_int_equal(dups, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(created, total);
    /* Batching: one request per post where the provider takes several accounts. */
    assert_int_equal(requests, 30 + 12 + 30 + 30 + 30);
    assert_int_equal(published, total);
    json_decref(stats);

    assert_int_equal(drainfx_stop(&f, 0, 0), 0);
    assert_int_equal(drainfx_count(&f, "SELECT count(*) FROM key_leases"), 0);
    drainfx_teardown(&f);
}

static void test_drain_all_providers_without_429_or_duplicates(void **state)
{
    (void)state;
    drain("default", 0);
}

static void test_drain_alt_dialect_with_matching_configuration(void **state)
{
    (void)state;
    drain("alt", 1);
}

/*
 * Never twice rests on two things, both checked from the provider's side:
 * the intent (target publishing, attempts row) is committed before the
 * request leaves, which the simulator checks in our database on every create
 * (intent_db); and every create carries, in its Idempotency-Key header, the
 * key of one of its targets (a batch: the first target's, plus "+N"), read
 * from the simulator's request log. A client that sent first, or lost the
 * header, goes red here though a provider that ignores keys counts no
 * duplicate.
 */
static void test_every_create_finds_its_intent_committed_and_carries_its_key(void **state)
{
    (void)state;
    char log[64];
    snprintf(log, sizeof log, "/tmp/postpace-requests-%d.log", (int)getpid());
    const char *args[] = {"--log-requests", log, NULL};
    struct drainfx f;
    assert_int_equal(drainfx_setup_cluster(&f, pgt_cluster(), 60, args), 0);
    /* And on each create the simulator looks into our database for the intent. */
    json_t *faults = json_pack("{s:s}", "intent_db", f.db);
    char *text = json_dumps(faults, JSON_COMPACT);
    assert_int_equal(sim_ctl_faults(&f.sim, text), 0);
    free(text);
    json_decref(faults);
    drainfx_posts(&f, "pe", 5, "{pe-a,pe-b}", 0);
    drainfx_posts(&f, "je", 5, "{main}", 0);
    assert_int_equal(drainfx_start(&f, 0, NULL), 0);
    assert_int_equal(drainfx_await_settled(&f, 60), 0);
    json_t *stats = sim_ctl_stats(&f.sim); /* also flushes the request log */
    long checked = sim_ctl_total(stats, "intent_checked");
    long violations = sim_ctl_total(stats, "intent_violations");
    json_decref(stats);

    FILE *in = fopen(log, "r");
    assert_non_null(in);
    char line[2048];
    int creates = 0, keyed = 0;
    while (fgets(line, sizeof line, in)) {
        const char *k = strstr(line, " idempotency_key=");
        if (!strstr(line, " method=POST ") || !strstr(line, " status=2") || !k)
            continue;
        creates++;
        char key[160];
        if (sscanf(k, " idempotency_key=%159[^ +\n]", key) != 1)
            continue;
        const char *p[] = {key};
        PGresult *r = PQexecParams(f.conn, "SELECT count(*) FROM post_targets t "
                                           "WHERE t.idempotency_key = $1",
                                   1, NULL, p, NULL, NULL, 0);
        keyed += atoi(PQgetvalue(r, 0, 0)) == 1;
        PQclear(r);
    }
    fclose(in);
    unlink(log);
    printf("drain: %d create requests, %d with a target's idempotency key; %ld checked for "
           "their committed intent, %ld without\n",
           creates, keyed, checked, violations);
    assert_int_equal(creates, 10); /* PostEverywhere batches its two accounts */
    assert_int_equal(keyed, creates);
    assert_int_equal(checked, creates);
    assert_int_equal(violations, 0);
    char *db = strdup(f.db);
    drainfx_teardown_cluster(&f);
    pgt_drop_db(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drain_all_providers_without_429_or_duplicates),
        cmocka_unit_test(test_drain_alt_dialect_with_matching_configuration),
        cmocka_unit_test(test_every_create_finds_its_intent_committed_and_carries_its_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
