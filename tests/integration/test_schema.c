/* Integration tests for schema v1: every constraint rejects bad rows at the database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/select.h>

#include <cmocka.h>

#include "db/db.h"
#include "pgtest.h"

#define CHECK_VIOLATION "23514"
#define NOT_NULL_VIOLATION "23502"
#define UNIQUE_VIOLATION "23505"
#define FK_VIOLATION "23503"

struct fx {
    char *ci;
    PGconn *c;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->ci = pgt_create_migrated_db();
    f->c = pgt_connect(f->ci);
    pgt_exec(f->c, "INSERT INTO provider_keys (provider, label, secret_ref) "
                   "VALUES ('posteverywhere', 'main', 'env:PE_KEY')");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    PQfinish(f->c);
    pgt_drop_db(f->ci);
    free(f);
    return 0;
}

static const char *insert_post(PGconn *c, const char *accounts, const char *content,
                               const char *media, const char *tz)
{
    const char *p[] = {accounts, content, media, tz};
    return pgt_try(
        c,
        "INSERT INTO posts (provider_key_id, account_ids, content, media, scheduled_at, "
        "time_zone) VALUES (1, $1::text[], $2, $3::jsonb, now() + interval '1 hour', $4)",
        4, p);
}

static int query_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int v = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* Asserts that `sql` returns one value, `want`. */
static void expect_text(PGconn *c, const char *sql, const char *want)
{
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), want);
    PQclear(r);
}

static void test_seeded_limits_cover_every_provider(void **state)
{
    struct fx *f = *state;
    assert_int_equal(query_int(f->c, "SELECT count(DISTINCT provider) FROM rate_limits"), 5);
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM rate_limits WHERE provider = "
                                     "'posteverywhere' AND route = 'POST /posts'"),
                     3);
    assert_int_equal(query_int(f->c, "SELECT max_units FROM rate_limits WHERE provider = 'jestha' "
                                     "AND scope = 'account'"),
                     1000);
}

static void test_secret_must_be_a_reference(void **state)
{
    struct fx *f = *state;
    const char *p[] = {"pe_live_abcdef"};
    assert_string_equal(pgt_try(f->c,
                                "INSERT INTO provider_keys (provider, label, secret_ref) "
                                "VALUES ('posteverywhere', 'leaky', $1)",
                                1, p),
                        CHECK_VIOLATION);
    const char *ok[] = {"file:/run/secrets/pe"};
    assert_string_equal(pgt_try(f->c,
                                "INSERT INTO provider_keys (provider, label, secret_ref) "
                                "VALUES ('posteverywhere', 'filed', $1)",
                                1, ok),
                        "00000");
}

static void test_unknown_plan_is_refused_for_providers_with_plans(void **state)
{
    struct fx *f = *state;
    assert_string_equal(pgt_try(f->c,
                                "INSERT INTO provider_keys (provider, label, plan, secret_ref) "
                                "VALUES ('postlark', 'p', 'gold', 'env:PL')",
                                0, NULL),
                        CHECK_VIOLATION);
    assert_string_equal(pgt_try(f->c,
                                "INSERT INTO provider_keys (provider, label, plan, secret_ref) "
                                "VALUES ('postlark', 'p', 'creator', 'env:PL')",
                                0, NULL),
                        "00000");
}

static void test_limit_window_must_match_its_kind(void **state)
{
    struct fx *f = *state;
    assert_string_equal(
        pgt_try(f->c,
                "INSERT INTO rate_limits (provider, scope, route, kind, window_ms, max_units) "
                "VALUES ('feedhorizon', 'key', '*', 'rolling', NULL, 5)",
                0, NULL),
        CHECK_VIOLATION);
    assert_string_equal(
        pgt_try(f->c,
                "INSERT INTO rate_limits (provider, scope, route, kind, window_ms, max_units) "
                "VALUES ('feedhorizon', 'key', 'FETCH /x', 'rolling', 1000, 5)",
                0, NULL),
        CHECK_VIOLATION);
    assert_string_equal(
        pgt_try(f->c,
                "INSERT INTO rate_limits (provider, scope, route, kind, window_ms, max_units) "
                "VALUES ('feedhorizon', 'key', '*', 'rolling', 1000, 0)",
                0, NULL),
        CHECK_VIOLATION);
}

static void test_bad_posts_are_refused(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a}", "   ", "[]", "UTC"), CHECK_VIOLATION);
    assert_string_equal(insert_post(f->c, "{}", "hi", "[]", "UTC"), CHECK_VIOLATION);
    assert_string_equal(insert_post(f->c, "{a,NULL}", "hi", "[]", "UTC"), CHECK_VIOLATION);
    assert_string_equal(insert_post(f->c, "{a}", "hi", "{}", "UTC"), CHECK_VIOLATION);
    assert_string_equal(insert_post(f->c, "{a}", "hi", "[]", "Mars/Olympus"), CHECK_VIOLATION);
    assert_string_equal(insert_post(f->c, "{a}", "hi", "[]", "UTC+5"), CHECK_VIOLATION);
    assert_string_equal(insert_post(f->c, "{a}", NULL, "[]", "UTC"), NOT_NULL_VIOLATION);
    assert_string_equal(insert_post(f->c, "{a}", "hi", "[]", "Europe/Paris"), "00000");
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM posts"), 1);
}

static void test_unknown_key_is_refused(void **state)
{
    struct fx *f = *state;
    assert_string_equal(pgt_try(f->c,
                                "INSERT INTO posts (provider_key_id, account_ids, content, "
                                "scheduled_at) VALUES (99, '{a}', 'x', now())",
                                0, NULL),
                        FK_VIOLATION);
}

static void test_external_id_is_unique(void **state)
{
    struct fx *f = *state;
    const char *sql = "INSERT INTO posts (external_id, provider_key_id, account_ids, content, "
                      "scheduled_at) VALUES ('ext-1', 1, '{a}', 'x', now())";
    assert_string_equal(pgt_try(f->c, sql, 0, NULL), "00000");
    assert_string_equal(pgt_try(f->c, sql, 0, NULL), UNIQUE_VIOLATION);
}

static void test_post_expands_into_one_target_per_account(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{acct_1,acct_2,acct_3}", "hi", "[]", "UTC"), "00000");
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM post_targets WHERE status = "
                                     "'scheduled' AND next_attempt_at = (SELECT scheduled_at FROM "
                                     "posts) AND provider_key_id = 1"),
                     3);
    assert_int_equal(query_int(f->c, "SELECT count(DISTINCT t.idempotency_key) FROM post_targets t"),
                     3);
}

static void test_reschedule_moves_untried_targets(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a,b}", "hi", "[]", "UTC"), "00000");
    pgt_exec(f->c, "UPDATE post_targets SET attempts = 1 WHERE account_id = 'b'");
    pgt_exec(f->c, "UPDATE posts SET scheduled_at = '2030-01-01T00:00:00Z'");
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM post_targets WHERE next_attempt_at = "
                                     "'2030-01-01T00:00:00Z'"),
                     1);
}

static void test_terminal_status_never_regresses(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a,b}", "hi", "[]", "UTC"), "00000");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'published' WHERE account_id = 'a'");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'failed' WHERE account_id = 'b'");
    assert_string_equal(
        pgt_try(f->c, "UPDATE post_targets SET status = 'scheduled' WHERE account_id = 'a'", 0,
                NULL),
        CHECK_VIOLATION);
    assert_string_equal(
        pgt_try(f->c, "UPDATE post_targets SET status = 'submitted' WHERE account_id = 'b'", 0,
                NULL),
        CHECK_VIOLATION);
    /* A late post.published still settles a failed target. */
    assert_string_equal(
        pgt_try(f->c, "UPDATE post_targets SET status = 'published' WHERE account_id = 'b'", 0,
                NULL),
        "00000");
}

static void test_lease_owner_and_expiry_go_together(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a}", "hi", "[]", "UTC"), "00000");
    assert_string_equal(pgt_try(f->c, "UPDATE post_targets SET lease_owner = 'me'", 0, NULL),
                        CHECK_VIOLATION);
}

/* Waits (bounded by a 5 s select timeout) for one notification on `c`. */
static PGnotify *await_notify(PGconn *c)
{
    for (;;) {
        PQconsumeInput(c);
        PGnotify *n = PQnotifies(c);
        if (n)
            return n;
        fd_set rd;
        FD_ZERO(&rd);
        FD_SET(PQsocket(c), &rd);
        struct timeval tv = {5, 0};
        if (select(PQsocket(c) + 1, &rd, NULL, NULL, &tv) <= 0)
            return NULL;
    }
}

static void test_notify_fires_when_something_becomes_due_sooner(void **state)
{
    struct fx *f = *state;
    PGconn *listener = pgt_connect(f->ci);
    pgt_exec(listener, "LISTEN postpace_due");
    pgt_exec(f->c, "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
                   "VALUES (1, '{a,b}', 'x', '2030-01-01T00:00:00Z')");
    PGnotify *n = await_notify(listener);
    assert_non_null(n);
    assert_string_equal(n->relname, "postpace_due");
    assert_string_equal(n->extra, "1893456000000"); /* one statement, one notification */
    PQfreemem(n);

    /* Later: no wake-up. Sooner: a wake-up with the new time. */
    pgt_exec(f->c, "UPDATE post_targets SET next_attempt_at = '2031-01-01T00:00:00Z'");
    pgt_exec(f->c, "UPDATE post_targets SET next_attempt_at = '2029-01-01T00:00:00Z' "
                   "WHERE account_id = 'b'");
    n = await_notify(listener);
    assert_non_null(n);
    assert_string_equal(n->extra, "1861920000000");
    PQfreemem(n);
    PQconsumeInput(listener);
    assert_null(PQnotifies(listener));
    PQfinish(listener);
}

static void test_webhook_events_must_name_a_real_provider_and_target(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a}", "hi", "[]", "UTC"), "00000");
    const char *ins = "INSERT INTO webhook_events (provider, event_id, event_type, payload, "
                      "reference, target_id) VALUES ($1, $2, 'post.published', '{}', 'r', "
                      "$3::bigint)";
    const char *bad_target[] = {"posteverywhere", "e1", "999"};
    assert_string_equal(pgt_try(f->c, ins, 3, bad_target), FK_VIOLATION);
    const char *bad_provider[] = {"nope", "e2", NULL};
    assert_string_equal(pgt_try(f->c, ins, 3, bad_provider), FK_VIOLATION);
    PGresult *t = PQexec(f->c, "SELECT min(id) FROM post_targets");
    const char *good[] = {"posteverywhere", "e3", PQgetvalue(t, 0, 0)};
    assert_string_equal(pgt_try(f->c, ins, 3, good), "00000");
    PQclear(t);
}

/* The intake's store function refuses an unknown provider, stores and
 * applies a known one; the reference check holds for every other writer in
 * the same transaction too. */
static void test_store_events_refuses_unknown_providers_and_applies_known_ones(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a}", "hi", "[]", "UTC"), "00000");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'submitted', attempts = 1, "
                   "request_ref = 'ref-1'");
    const char *store = "SELECT * FROM postpace_store_events($1::text[], '{ev-1}', "
                        "'{post.published}', '{\"{}\"}', '{ref-1}', '{p-1}', '{NULL}')";
    const char *unknown[] = {"{nope}"};
    assert_string_equal(pgt_try(f->c, store, 1, unknown), FK_VIOLATION);
    pgt_exec(f->c, "BEGIN");
    const char *known[] = {"{posteverywhere}"};
    assert_string_equal(pgt_try(f->c, store, 1, known), "00000");
    /* Later in the same transaction, another writer is checked again. */
    const char *ins = "INSERT INTO webhook_events (provider, event_id, event_type, payload, "
                      "reference, target_id) VALUES ('posteverywhere', 'ev-2', 'post.published', "
                      "'{}', 'r', 999)";
    assert_string_equal(pgt_try(f->c, ins, 0, NULL), FK_VIOLATION);
    pgt_exec(f->c, "ROLLBACK");
    assert_string_equal(pgt_try(f->c, store, 1, known), "00000");
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM post_targets WHERE status = "
                                     "'published' AND provider_post_id = 'p-1'"),
                     1);
}

/* A batch naming one event twice stores it once, the first copy, and
 * returns it once; the target it names is settled. */
static void test_store_events_keeps_the_first_of_a_repeated_event(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a}", "hi", "[]", "UTC"), "00000");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'submitted', attempts = 1, "
                   "request_ref = 'ref-1'");
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM postpace_store_events("
                                     "'{posteverywhere,posteverywhere}', '{ev-1,ev-1}', "
                                     "'{post.published,post.failed}', "
                                     "'{\"{\\\"n\\\": 1}\",\"{\\\"n\\\": 2}\"}', "
                                     "'{ref-1,ref-1}', NULL, NULL)"),
                     1);
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM webhook_events WHERE event_id = "
                                     "'ev-1' AND event_type = 'post.published' AND "
                                     "payload = '{\"n\": 1}' AND target_id IS NOT NULL"),
                     1);
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM post_targets WHERE status = "
                                     "'published'"),
                     1);
}

/* Sends `sql` from a second session, waits until it blocks on a lock, lets
 * `writer` commit, and returns the SQLSTATE the sent statement ended with. */
static const char *blocked_until_commit(struct fx *f, PGconn *writer, const char *sql)
{
    static char state[6];
    PGconn *d = pgt_connect(f->ci);
    assert_int_equal(PQsendQuery(d, sql), 1);
    char probe[512];
    snprintf(probe, sizeof probe,
             "SELECT (count(*) = 1)::int FROM pg_stat_activity WHERE pid = %d "
             "AND wait_event_type = 'Lock'",
             PQbackendPID(d));
    assert_true(pgt_await(f->c, probe));
    pgt_exec(writer, "COMMIT");
    PGresult *r = PQgetResult(d);
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(state, sizeof state, "%s", s ? s : "00000");
    PQclear(r);
    while ((r = PQgetResult(d)))
        PQclear(r);
    PQfinish(d);
    return state;
}

/* The reference check takes no row locks (postpace_webhook_events_refs): a
 * delete waits instead for the transactions writing events, then sees what
 * they wrote. */
static void test_deleting_a_target_waits_for_events_naming_it(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a}", "hi", "[]", "UTC"), "00000");
    PGconn *w = pgt_connect(f->ci);
    pgt_exec(w, "BEGIN");
    pgt_exec(w, "INSERT INTO webhook_events (provider, event_id, event_type, payload, reference, "
                "target_id) VALUES ('posteverywhere', 'e1', 'post.published', '{}', 'r', (SELECT "
                "min(id) FROM post_targets))");
    assert_string_equal(blocked_until_commit(f, w, "DELETE FROM post_targets"), "00000");
    PQfinish(w);
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM webhook_events "
                                     "WHERE event_id = 'e1' AND target_id IS NULL"),
                     1);
}

/* A provider no key uses, free to be deleted. */
static void add_spare_provider(PGconn *c)
{
    pgt_exec(c, "INSERT INTO providers (id, name, base_url, reset_kind, batch_accounts) "
                "VALUES ('spare', 'Spare', 'http://127.0.0.1:1', 'none', false)");
}

static void test_deleting_a_provider_waits_for_events_naming_it(void **state)
{
    struct fx *f = *state;
    add_spare_provider(f->c);
    PGconn *w = pgt_connect(f->ci);
    pgt_exec(w, "BEGIN");
    pgt_exec(w, "INSERT INTO webhook_events (provider, event_id, event_type, payload, reference) "
                "VALUES ('spare', 'e1', 'post.published', '{}', 'r')");
    assert_string_equal(blocked_until_commit(f, w, "DELETE FROM providers WHERE id = 'spare'"),
                        FK_VIOLATION);
    PQfinish(w);
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM providers WHERE id = 'spare'"), 1);
    /* Renaming nothing away (an upsert at start-up) takes no lock at all. */
    pgt_exec(f->c, "UPDATE providers SET name = name");
}

/* The store function vouches for its references only once it holds the
 * locks that keep them (postpace_store_events): a provider deleted while the store waits for
 * its lock is caught; a target deleted while it waits drops out of the
 * match, and the event waits for a target, as if it had come first. */
static void test_store_events_rechecks_what_a_waited_for_delete_removed(void **state)
{
    struct fx *f = *state;
    add_spare_provider(f->c);
    PGconn *w = pgt_connect(f->ci);
    pgt_exec(w, "BEGIN");
    pgt_exec(w, "DELETE FROM providers WHERE id = 'spare'");
    assert_string_equal(blocked_until_commit(f, w,
                                             "SELECT * FROM postpace_store_events('{spare}', "
                                             "'{ev-1}', '{post.published}', '{\"{}\"}', "
                                             "'{ref-1}', NULL, NULL)"),
                        FK_VIOLATION);

    assert_string_equal(insert_post(f->c, "{a}", "hi", "[]", "UTC"), "00000");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'submitted', attempts = 1, "
                   "request_ref = 'ref-1'");
    pgt_exec(w, "BEGIN");
    pgt_exec(w, "DELETE FROM post_targets WHERE request_ref = 'ref-1'");
    assert_string_equal(blocked_until_commit(f, w,
                                             "SELECT * FROM postpace_store_events("
                                             "'{posteverywhere}', '{ev-2}', '{post.published}', "
                                             "'{\"{}\"}', '{ref-1}', NULL, NULL)"),
                        "00000");
    PQfinish(w);
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM webhook_events WHERE event_id = "
                                     "'ev-2' AND target_id IS NULL AND applied_at IS NULL"),
                     1);
    assert_int_equal(query_int(f->c, "SELECT count(*) FROM webhook_events"), 1);
}

/* The pending sweep (postpace_sweep_pending) applies the pending events received
 * within its window that now match a target, oldest first, at most its budget; older
 * ones and ones that match nothing stay pending. (Inserted directly, the
 * events are pending although their targets exist: the state a race
 * between an event and its target's write leaves.) */
static void test_sweep_applies_recent_pending_events_that_match(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a,b,c}", "hi", "[]", "UTC"), "00000");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'submitted', attempts = 1, "
                   "provider_post_id = 'p-' || account_id");
    pgt_exec(f->c, "INSERT INTO webhook_events (provider, event_id, event_type, payload, "
                   "provider_post_id, received_at) VALUES "
                   "('posteverywhere', 'old', 'post.published', '{}', 'p-a', "
                   " now() - interval '1 hour'), "
                   "('posteverywhere', 'new-1', 'post.published', '{}', 'p-b', "
                   " now() - interval '2 seconds'), "
                   "('posteverywhere', 'new-2', 'post.published', '{}', 'p-c', "
                   " now() - interval '1 second'), "
                   "('posteverywhere', 'orphan', 'post.published', '{}', 'p-z', now())");
    const char *targets = "SELECT string_agg(account_id || '=' || status, ' ' ORDER BY "
                          "account_id) FROM post_targets";
    assert_int_equal(query_int(f->c, "SELECT applied FROM postpace_sweep_pending(300, 1)"), 1);
    expect_text(f->c, targets, "a=submitted b=published c=submitted");
    assert_int_equal(query_int(f->c, "SELECT applied FROM postpace_sweep_pending(300, 1000)"), 1);
    assert_int_equal(query_int(f->c, "SELECT applied FROM postpace_sweep_pending(300, 1000)"), 0);
    expect_text(f->c, targets, "a=submitted b=published c=published");
    expect_text(f->c,
                "SELECT string_agg(event_id, ' ' ORDER BY event_id) FROM webhook_events "
                "WHERE applied_at IS NULL",
                "old orphan");
}

/* A sweep pass examines at most its budget of pending events, however many
 * match nothing: the orphans before a matchable event cost passes in turn,
 * each returning the cursor the next goes on from, and the pass that reaches
 * the window's end returns no cursor. (A sweep that examined every pending
 * event of the window would apply the matchable one at once.) */
static void test_sweep_examines_at_most_its_budget_per_pass(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a}", "hi", "[]", "UTC"), "00000");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'submitted', attempts = 1, "
                   "provider_post_id = 'p-a'");
    pgt_exec(f->c, "INSERT INTO webhook_events (provider, event_id, event_type, payload, "
                   "provider_post_id, received_at) "
                   "SELECT 'posteverywhere', 'orphan-' || g, 'post.published', '{}'::jsonb, 'p-z', "
                   "       now() - interval '10 seconds' "
                   "  FROM generate_series(1, 4) g "
                   "UNION ALL SELECT 'posteverywhere', 'late', 'post.published', '{}', 'p-a', "
                   "       now() - interval '5 seconds'");
    const char *pass = "SELECT applied, next_at, next_provider, next_event "
                       "FROM postpace_sweep_pending(300, 2, $1::timestamptz, $2, $3)";
    char cursor[3][64] = {"", "", ""}, got[80];
    const char *want[] = {"0 orphan-2", "0 orphan-4", "1 -"};
    for (int i = 0; i < 3; i++) {
        const char *p[] = {*cursor[0] ? cursor[0] : NULL, *cursor[0] ? cursor[1] : NULL,
                           *cursor[0] ? cursor[2] : NULL};
        PGresult *r = PQexecParams(f->c, pass, 3, NULL, p, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        snprintf(got, sizeof got, "%s %s", PQgetvalue(r, 0, 0),
                 PQgetisnull(r, 0, 3) ? "-" : PQgetvalue(r, 0, 3));
        assert_string_equal(got, want[i]);
        for (int c = 0; c < 3; c++)
            snprintf(cursor[c], sizeof cursor[c], "%s", PQgetvalue(r, 0, c + 1));
        PQclear(r);
    }
    expect_text(f->c, "SELECT string_agg(account_id || '=' || status, ' ') FROM post_targets",
                "a=published");
}

/* Runs sql/sched_claim.sql for key 1, one target, instance `who`, without waiting. */
static void send_claim(PGconn *c, const char *who)
{
    const char *p[] = {"{1}", "{1}", who, "15000"};
    assert_int_equal(PQsendQueryParams(c, db_sql("sched_claim"), 4, NULL, p, NULL, NULL, 0), 1);
}

/*
 * Waits (bounded: 30 s) until `busy`'s statement has answered or its backend
 * waits on a lock; returns 1 when it waits. No timing threshold: whichever
 * comes first decides, so a statement that must not wait is caught waiting
 * whenever it does, and one that must wait is caught answering.
 */
static int waits_on_lock(struct fx *f, PGconn *busy)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND wait_event_type = 'Lock'",
             PQbackendPID(busy));
    for (int i = 0; i < 1500 && PQisBusy(busy); i++) {
        if (query_int(f->c, sql) > 0)
            return 1;
        PQconsumeInput(busy);
        usleep(20 * 1000);
    }
    return 0;
}

/*
 * Two instances claim at once (#23 item 6): while one claim's transaction
 * holds its target, another claim neither waits for it nor takes it; it
 * takes the next post's target at once (FOR UPDATE SKIP LOCKED). Waits for
 * whichever comes first, B's answer or B waiting on a lock; a claim without
 * SKIP LOCKED (or without FOR UPDATE, its UPDATE then blocking on A's row)
 * waits, and the test goes red without any timing threshold.
 */
static void test_concurrent_claims_skip_each_others_targets_without_waiting(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a}", "first", "[]", "UTC"), "00000");
    assert_string_equal(insert_post(f->c, "{a}", "second", "[]", "UTC"), "00000");
    pgt_exec(f->c, "UPDATE posts SET scheduled_at = now() - interval '1 minute' "
                   "WHERE content = 'first'");
    pgt_exec(f->c, "UPDATE posts SET scheduled_at = now() - interval '30 seconds' "
                   "WHERE content = 'second'");
    PGconn *a = pgt_connect(f->ci), *b = pgt_connect(f->ci);
    pgt_exec(a, "BEGIN");
    send_claim(a, "instance-a");
    PGresult *r = PQgetResult(a);
    assert_int_equal(PQntuples(r), 1);
    char a_target[32];
    snprintf(a_target, sizeof a_target, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    assert_null(PQgetResult(a));

    send_claim(b, "instance-b");
    int waited = waits_on_lock(f, b);
    pgt_exec(a, "COMMIT"); /* lets a waiting B go on, so the test can end either way */
    r = PQgetResult(b);
    int n = PQntuples(r);
    char b_target[32] = "";
    if (n == 1)
        snprintf(b_target, sizeof b_target, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    while ((r = PQgetResult(b)))
        PQclear(r);
    PQfinish(a);
    PQfinish(b);
    assert_false(waited);
    assert_int_equal(n, 1);
    assert_string_not_equal(b_target, a_target);
    expect_text(f->c,
                "SELECT string_agg(lease_owner, ' ' ORDER BY id) FROM post_targets",
                "instance-a instance-b");
}

/* Two posts of key 1, both due, "first" the earlier; returns first's post id. */
static int two_due_posts(struct fx *f)
{
    assert_string_equal(insert_post(f->c, "{a}", "first", "[]", "UTC"), "00000");
    assert_string_equal(insert_post(f->c, "{b}", "second", "[]", "UTC"), "00000");
    pgt_exec(f->c, "UPDATE posts SET scheduled_at = now() - interval '1 minute' "
                   "WHERE content = 'first'");
    pgt_exec(f->c, "UPDATE posts SET scheduled_at = now() - interval '30 seconds' "
                   "WHERE content = 'second'");
    return query_int(f->c, "SELECT id FROM posts WHERE content = 'first'");
}

/* Runs the API statement `name` ($1: a post id) on `c`, without waiting. */
static void send_api(PGconn *c, const char *name, int post_id)
{
    char id[16];
    snprintf(id, sizeof id, "%d", post_id);
    const char *p[] = {id};
    assert_int_equal(PQsendQueryParams(c, db_sql(name), 1, NULL, p, NULL, NULL, 0), 1);
}

/* Every target as status:attempts:lease owner, in id order. */
#define TARGETS_TEXT                                                                               \
    "SELECT string_agg(status || ':' || attempts || ':' || coalesce(lease_owner, '-'), ' ' "       \
    "ORDER BY id) FROM post_targets"

/*
 * An API PATCH (api_post_lock) or DELETE (api_post_cancel) holds its post's
 * targets until it commits. A claim meanwhile neither waits for them nor
 * takes them: it takes the next post's target at once, and the held one is
 * left exactly as the API's commit leaves it, never claimed.
 */
static void claim_while_the_api_holds(struct fx *f, const char *stmt, const char *want)
{
    int first = two_due_posts(f);
    PGconn *api = pgt_connect(f->ci), *b = pgt_connect(f->ci);
    pgt_exec(api, "BEGIN");
    send_api(api, stmt, first);
    PGresult *r = PQgetResult(api);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    assert_null(PQgetResult(api));

    send_claim(b, "instance-b");
    int waited = waits_on_lock(f, b);
    pgt_exec(api, "COMMIT"); /* lets a waiting claim go on, so the test ends either way */
    r = PQgetResult(b);
    int n = PQntuples(r);
    PQclear(r);
    while ((r = PQgetResult(b)))
        PQclear(r);
    PQfinish(api);
    PQfinish(b);
    assert_false(waited);
    assert_int_equal(n, 1);
    expect_text(f->c, TARGETS_TEXT, want);
}

static void test_a_claim_skips_the_targets_a_patch_holds(void **state)
{
    claim_while_the_api_holds(*state, "api_post_lock", "scheduled:0:- publishing:1:instance-b");
}

static void test_a_claim_skips_the_targets_a_delete_holds(void **state)
{
    claim_while_the_api_holds(*state, "api_post_cancel", "cancelled:0:- publishing:1:instance-b");
}

/*
 * The other order: a claim holds a target, not yet committed, when a PATCH
 * or DELETE of its post comes. The API statement waits for the claim and
 * then sees it: PATCH counts the target as sent (its answer: 409
 * already_sent), DELETE cancels nothing, and the claim's target stays
 * publishing. A statement that read the post without waiting would see it
 * unsent, and both would win.
 */
static void api_after_an_open_claim(struct fx *f, const char *stmt, int column, const char *want)
{
    int first = two_due_posts(f);
    pgt_exec(f->c, "DELETE FROM posts WHERE content = 'second'");
    PGconn *b = pgt_connect(f->ci), *api = pgt_connect(f->ci);
    pgt_exec(b, "BEGIN");
    send_claim(b, "instance-b");
    PGresult *r = PQgetResult(b);
    assert_int_equal(PQntuples(r), 1);
    PQclear(r);
    assert_null(PQgetResult(b));

    pgt_exec(api, "BEGIN");
    send_api(api, stmt, first);
    int waited = waits_on_lock(f, api);
    pgt_exec(b, "COMMIT");
    r = PQgetResult(api);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    char got[32];
    snprintf(got, sizeof got, "%s", PQgetvalue(r, 0, column));
    PQclear(r);
    while ((r = PQgetResult(api)))
        PQclear(r);
    pgt_exec(api, "COMMIT");
    PQfinish(api);
    PQfinish(b);
    assert_true(waited);
    assert_string_equal(got, want);
    expect_text(f->c, TARGETS_TEXT, "publishing:1:instance-b");
}

static void test_a_patch_waits_for_an_open_claim_and_finds_the_post_sent(void **state)
{
    api_after_an_open_claim(*state, "api_post_lock", 6, "1"); /* targets not editable */
}

static void test_a_delete_waits_for_an_open_claim_and_cancels_nothing(void **state)
{
    api_after_an_open_claim(*state, "api_post_cancel", 1, "0"); /* targets cancelled */
}

/* Intake's lock statement (postpace_store_events) writes out the rule
 * of postpace_match_targets, which stored events are matched by: for each
 * shape of event both settle the same targets, and those the rule names. */
static void test_store_events_matches_as_stored_events_do(void **state)
{
    struct fx *f = *state;
    pgt_exec(f->c, "INSERT INTO provider_keys (provider, label, secret_ref) "
                   "VALUES ('feedhorizon', 'other', 'env:FH_KEY')");
    assert_string_equal(insert_post(f->c, "{a1,a2}", "two", "[]", "UTC"), "00000");
    assert_string_equal(insert_post(f->c, "{c1}", "one", "[]", "UTC"), "00000");
    pgt_exec(f->c, "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
                   "VALUES (2, '{d1}', 'other key', now())");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'submitted', attempts = 1, "
                   "request_ref = CASE account_id WHEN 'c1' THEN 'r2' WHEN 'd1' THEN 'r3' "
                   "ELSE 'r1' END, provider_post_id = CASE WHEN account_id IN ('a1', 'd1') "
                   "THEN 'pA' END");
    static const struct {
        const char *provider, *reference, *post_id, *account, *want;
    } cases[] = {
        {"posteverywhere", NULL, "pA", NULL, "a1"},    /* post id, within the provider */
        {"feedhorizon", NULL, "pA", NULL, "d1"},       /* ... of the other provider */
        {"posteverywhere", "key-a2", NULL, NULL, "a2"}, /* our target key */
        {"posteverywhere", "r1", NULL, "a2", "a2"},    /* request key, narrowed */
        {"posteverywhere", "r1", NULL, NULL, "a1 a2"}, /* ... not narrowed */
        {"posteverywhere", "r1", NULL, "zz", "-"},     /* ... to an account not in it */
        {"posteverywhere", "r2", NULL, "zz", "c1"},    /* one target: its account ignored */
        {"posteverywhere", "key-a2", "pA", NULL, "a1 a2"},
        {"posteverywhere", "nothing", "p-none", NULL, "-"},
    };
    const char *by_rule =
        "SELECT coalesce(string_agg(t.account_id, ' ' ORDER BY t.account_id), '-') "
        "FROM postpace_match_targets($1::text, $2::text, $3::text, $4::text) x(id) "
        "JOIN post_targets t ON t.id = x.id";
    const char *by_store =
        "SELECT count(*) FROM postpace_store_events(ARRAY[$1::text], '{ev}', "
        "'{post.published}', '{\"{}\"}', ARRAY[$2::text], ARRAY[$3::text], ARRAY[$4::text])";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char key[64] = "";
        const char *ref = cases[i].reference;
        if (ref && strncmp(ref, "key-", 4) == 0) { /* the generated key of that target */
            PGresult *r = PQexecParams(f->c, "SELECT t.idempotency_key FROM post_targets t "
                                             "WHERE account_id = $1",
                                       1, NULL, (const char *[]){ref + 4}, NULL, NULL, 0);
            snprintf(key, sizeof key, "%s", PQgetvalue(r, 0, 0));
            PQclear(r);
            ref = key;
        }
        const char *params[] = {cases[i].provider, ref, cases[i].post_id, cases[i].account};
        print_message("case %zu: %s reference=%s post_id=%s account=%s\n", i, params[0],
                      cases[i].reference ? cases[i].reference : "-",
                      params[2] ? params[2] : "-", params[3] ? params[3] : "-");
        PGresult *r = PQexecParams(f->c, by_rule, 4, NULL, params, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(r, 0, 0), cases[i].want);
        PQclear(r);
        pgt_exec(f->c, "BEGIN");
        r = PQexecParams(f->c, by_store, 4, NULL, params, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        PQclear(r);
        expect_text(f->c,
                    "SELECT coalesce(string_agg(account_id, ' ' ORDER BY account_id), '-') "
                    "FROM post_targets WHERE status = 'published'",
                    cases[i].want);
        pgt_exec(f->c, "ROLLBACK");
    }
}

/* Stores the events of `batch` (a JSON array of [provider, event id, type, error
 * code or null, reference, post id, account]) with one call, or one call each. */
static void store_json(PGconn *c, const char *batch, int together)
{
    const char *sql =
        "SELECT count(*) FROM (SELECT array_agg(x->>0 ORDER BY o) p,"
        " array_agg(x->>1 ORDER BY o) e, array_agg(x->>2 ORDER BY o) t,"
        " array_agg(json_build_object('type', x->>2, 'data', json_build_object('error',"
        " json_build_object('code', x->>3)))::text ORDER BY o) b, array_agg(x->>4 ORDER BY o) r,"
        " array_agg(x->>5 ORDER BY o) i, array_agg(x->>6 ORDER BY o) a"
        " FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS j(x, o)"
        " GROUP BY CASE WHEN $2 THEN 0 ELSE o END ORDER BY min(o)) s,"
        " LATERAL postpace_store_events(s.p, s.e, s.t, s.b, s.r, s.i, s.a)";
    const char *params[] = {batch, together ? "true" : "false"};
    PGresult *r = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
}

/* What a batch left: each target, and each stored event with its target. */
static void outcome(PGconn *c, char *out, size_t size)
{
    PGresult *r = PQexec(
        c, "SELECT (SELECT string_agg(format('%s:%s:%s:%s', account_id, status,"
           " coalesce(provider_post_id, '-'), coalesce(last_error::text, '-')), ' '"
           " ORDER BY account_id) FROM post_targets) || ' | ' ||"
           " coalesce((SELECT string_agg(format('%s:%s:%s', w.event_id,"
           " coalesce(t.account_id, '-'), w.event_type), ' ' ORDER BY w.event_id)"
           " FROM webhook_events w"
           " LEFT JOIN post_targets t ON t.id = w.target_id), '-')");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

/*
 * postpace_store_events: a batch whose events each matched one target of
 * their own takes a short way; any other batch the general one. Each batch must end as
 * written, and as its events stored one call each end, but for the error a
 * target keeps: one at a time, the first failure to arrive sets it, and a
 * success after it keeps it; in one batch the first by event id sets it, and
 * a success beside it leaves the target's error as it was.
 */
static void test_store_events_settles_a_batch_as_one_event_at_a_time(void **state)
{
    struct fx *f = *state;
    assert_string_equal(insert_post(f->c, "{a1,a2}", "two", "[]", "UTC"), "00000");
    assert_string_equal(insert_post(f->c, "{c1}", "one", "[]", "UTC"), "00000");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'submitted', attempts = 1, "
                   "request_ref = CASE account_id WHEN 'c1' THEN 'r2' ELSE 'r1' END, "
                   "provider_post_id = CASE account_id WHEN 'a1' THEN 'pA' END");
#define PE "\"posteverywhere\""
    static const struct {
        const char *batch, *want, *apart; /* apart: NULL when as `want` */
    } cases[] = {
        {/* strangers: the short way */
         "[[" PE ",\"e1\",\"post.published\",null,null,\"pA\",null],"
         "[" PE ",\"e2\",\"post.failed\",\"boom\",\"r2\",\"pC\",null],"
         "[" PE ",\"e3\",\"post.published\",null,\"nobody\",null,null]]",
         "a1:published:pA:- a2:submitted:-:- c1:failed:pC:{\"error\": {\"code\": \"boom\"}, "
         "\"source\": \"webhook\", \"event_id\": \"e2\"} | e1:a1:post.published "
         "e2:c1:post.failed e3:-:post.published", NULL},
        {/* a failure and a success for one target: the success wins */
         "[[" PE ",\"e5\",\"post.failed\",\"late\",\"r2\",null,null],"
         "[" PE ",\"e4\",\"post.published\",null,\"r2\",\"pC\",null]]",
         "a1:submitted:pA:- a2:submitted:-:- c1:published:pC:- | e4:c1:post.published "
         "e5:c1:post.failed",
         "a1:submitted:pA:- a2:submitted:-:- c1:published:pC:{\"error\": {\"code\": \"late\"}, "
         "\"source\": \"webhook\", \"event_id\": \"e5\"} | e4:c1:post.published "
         "e5:c1:post.failed"},
        {/* two failures for one target: the first by event id gives the error */
         "[[" PE ",\"e7\",\"post.failed\",\"second\",\"r2\",null,null],"
         "[" PE ",\"e6\",\"post.failed\",\"first\",\"r2\",null,null]]",
         "a1:submitted:pA:- a2:submitted:-:- c1:failed:-:{\"error\": {\"code\": \"first\"}, "
         "\"source\": \"webhook\", \"event_id\": \"e6\"} | e6:c1:post.failed e7:c1:post.failed",
         "a1:submitted:pA:- a2:submitted:-:- c1:failed:-:{\"error\": {\"code\": \"second\"}, "
         "\"source\": \"webhook\", \"event_id\": \"e7\"} | e6:c1:post.failed e7:c1:post.failed"},
        {/* one event for a whole request, beside one for a target of it */
         "[[" PE ",\"e8\",\"post.published\",null,\"r1\",null,null],"
         "[" PE ",\"e9\",\"post.failed\",\"x\",null,\"pA\",null]]",
         "a1:published:pA:- a2:published:-:- c1:submitted:-:- | e8:a1:post.published "
         "e9:a1:post.failed", NULL},
        {/* one event twice, matched and not: the first copy is stored */
         "[[" PE ",\"e10\",\"post.published\",null,\"r2\",null,null],"
         "[" PE ",\"e10\",\"post.failed\",\"copy\",\"r2\",null,null],"
         "[" PE ",\"e11\",\"post.failed\",\"x\",\"nobody\",null,null],"
         "[" PE ",\"e11\",\"post.published\",null,\"nobody\",null,null]]",
         "a1:submitted:pA:- a2:submitted:-:- c1:published:-:- | e10:c1:post.published "
         "e11:-:post.failed", NULL},
    };
#undef PE
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char together[2048], apart[2048];
        print_message("case %zu\n", i);
        pgt_exec(f->c, "BEGIN");
        store_json(f->c, cases[i].batch, 1);
        outcome(f->c, together, sizeof together);
        pgt_exec(f->c, "ROLLBACK");
        pgt_exec(f->c, "BEGIN");
        store_json(f->c, cases[i].batch, 0);
        outcome(f->c, apart, sizeof apart);
        pgt_exec(f->c, "ROLLBACK");
        assert_string_equal(together, cases[i].want);
        assert_string_equal(apart, cases[i].apart ? cases[i].apart : cases[i].want);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_seeded_limits_cover_every_provider),
        T(test_secret_must_be_a_reference),
        T(test_unknown_plan_is_refused_for_providers_with_plans),
        T(test_limit_window_must_match_its_kind),
        T(test_bad_posts_are_refused),
        T(test_unknown_key_is_refused),
        T(test_external_id_is_unique),
        T(test_post_expands_into_one_target_per_account),
        T(test_reschedule_moves_untried_targets),
        T(test_terminal_status_never_regresses),
        T(test_lease_owner_and_expiry_go_together),
        T(test_notify_fires_when_something_becomes_due_sooner),
        T(test_webhook_events_must_name_a_real_provider_and_target),
        T(test_store_events_refuses_unknown_providers_and_applies_known_ones),
        T(test_store_events_keeps_the_first_of_a_repeated_event),
        T(test_deleting_a_target_waits_for_events_naming_it),
        T(test_deleting_a_provider_waits_for_events_naming_it),
        T(test_store_events_rechecks_what_a_waited_for_delete_removed),
        T(test_sweep_applies_recent_pending_events_that_match),
        T(test_sweep_examines_at_most_its_budget_per_pass),
        T(test_concurrent_claims_skip_each_others_targets_without_waiting),
        T(test_a_claim_skips_the_targets_a_patch_holds),
        T(test_a_claim_skips_the_targets_a_delete_holds),
        T(test_a_patch_waits_for_an_open_claim_and_finds_the_post_sent),
        T(test_a_delete_waits_for_an_open_claim_and_cancels_nothing),
        T(test_store_events_matches_as_stored_events_do),
        T(test_store_events_settles_a_batch_as_one_event_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
