/*
 * The recorder writes the scheduler's outcomes on its own thread and
 * connection: what it is handed reaches the calendar, only for claims of its
 * own instance, and is kept (not lost, not half-written) while the database
 * cannot be reached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pgtest.h"
#include "scheduler/recorder.h"
#include "util/xmalloc.h"

struct fx {
    char *db;
    PGconn *c;
    int64_t targets[2]; /* claimed by "inst-a", then by "inst-b" */
    int64_t attempt;
};

static int64_t scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int64_t v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static char *text(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    char *v = xstrdup(PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* One post with two targets, both publishing: one claimed by inst-a, one by
 * inst-b; and inst-a's attempts row. */
static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof *f);
    f->db = pgt_create_migrated_db();
    f->c = pgt_connect(f->db);
    pgt_exec(f->c, "INSERT INTO provider_keys (provider, label, secret_ref) "
                   "VALUES ('jestha', 'je', 'env:JE')");
    pgt_exec(f->c, "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
                   "SELECT id, '{a,b}', 'hello', now() FROM provider_keys");
    f->targets[0] = scalar(f->c, "SELECT min(id) FROM post_targets");
    f->targets[1] = scalar(f->c, "SELECT max(id) FROM post_targets");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'publishing', attempts = 1, "
                   "lease_owner = CASE WHEN account_id = 'a' THEN 'inst-a' ELSE 'inst-b' END, "
                   "lease_expires_at = now() + interval '1 minute'");
    f->attempt = scalar(f->c, "INSERT INTO attempts (provider_key_id, target_ids, route, sent_at) "
                              "SELECT provider_key_id, ARRAY[id], 'create', now() "
                              "FROM post_targets WHERE account_id = 'a' RETURNING id");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    PQfinish(f->c);
    pgt_drop_db(f->db);
    free(f);
    return 0;
}

static struct rec_settle *settle(int64_t target, enum target_status status, const char *post_id)
{
    struct rec_settle *x = xcalloc(1, sizeof *x);
    x->target_id = target;
    x->status = status;
    x->post_id = post_id ? xstrdup(post_id) : NULL;
    return x;
}

static struct rec_finish *finish(int64_t attempt, int http_status, enum attempt_outcome outcome)
{
    struct rec_finish *x = xcalloc(1, sizeof *x);
    x->attempt_id = attempt;
    x->http_status = http_status;
    x->outcome = outcome;
    x->retry_after_ms = -1;
    x->excerpt = xstrdup("{\"id\":\"p-1\"}");
    return x;
}

static void expect(PGconn *c, const char *sql, const char *want)
{
    char *got = text(c, sql);
    assert_string_equal(got, want);
    free(got);
}

static void test_outcomes_handed_over_are_written(void **state)
{
    struct fx *f = *state;
    struct recorder *r = rec_create(f->db, "inst-a");
    rec_hand(r, settle(f->targets[0], TS_SUBMITTED, "p-1"), finish(f->attempt, 201, AO_OK));
    assert_int_equal(rec_drain(r, 10000), 0);
    assert_int_equal(rec_pending(r), 0);
    expect(f->c,
           "SELECT status || ' ' || provider_post_id || ' ' || (lease_owner IS NULL) "
           "FROM post_targets WHERE account_id = 'a'",
           "submitted p-1 true");
    expect(f->c,
           "SELECT outcome || ' ' || http_status || ' ' || (finished_at IS NOT NULL) "
           "FROM attempts",
           "ok 201 true");
    rec_destroy(r);
}

/* A finish names when the request really left: sent_at becomes that moment
 * (a new lease holder rebuilds the key's windows from it); without one the
 * intent's time stays. */
static void test_a_finish_moves_sent_at_to_when_the_request_left(void **state)
{
    struct fx *f = *state;
    pgt_exec(f->c, "UPDATE attempts SET sent_at = '2030-01-01T00:00:00Z'");
    struct recorder *r = rec_create(f->db, "inst-a");
    struct rec_finish *x = finish(f->attempt, 201, AO_OK);
    x->sent_ms = UINT64_C(1893456000123); /* 2030-01-01T00:00:00.123Z */
    rec_hand(r, NULL, x);
    assert_int_equal(rec_drain(r, 10000), 0);
    const char *sent = "SELECT to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') "
                       "FROM attempts";
    expect(f->c, sent, "2030-01-01 00:00:00.123");
    pgt_exec(f->c, "UPDATE attempts SET sent_at = '2030-01-01T00:00:00Z', finished_at = NULL");
    rec_hand(r, NULL, finish(f->attempt, 500, AO_UNKNOWN));
    assert_int_equal(rec_drain(r, 10000), 0);
    expect(f->c, sent, "2030-01-01 00:00:00.000");
    rec_destroy(r);
}

static void test_a_claim_of_another_instance_is_left_alone(void **state)
{
    struct fx *f = *state;
    struct recorder *r = rec_create(f->db, "inst-a");
    rec_hand(r, settle(f->targets[1], TS_SUBMITTED, "p-2"), NULL);
    assert_int_equal(rec_drain(r, 10000), 0);
    expect(f->c, "SELECT status || ' ' || lease_owner FROM post_targets WHERE account_id = 'b'",
           "publishing inst-b");
    rec_destroy(r);
}

static void test_outcomes_are_kept_while_the_database_is_unreachable(void **state)
{
    struct fx *f = *state;
    /* Port 1 on loopback: nothing listens, the connection is refused at once. */
    struct recorder *r =
        rec_create("host=127.0.0.1 port=1 dbname=none connect_timeout=1", "inst-a");
    rec_hand(r, settle(f->targets[0], TS_SUBMITTED, "p-1"), finish(f->attempt, 201, AO_OK));
    rec_hand(r, NULL, finish(f->attempt, 201, AO_OK));
    assert_int_equal(rec_drain(r, 300), -1);
    assert_int_equal(rec_pending(r), 3);
    expect(f->c, "SELECT status FROM post_targets WHERE account_id = 'a'", "publishing");
    rec_destroy(r); /* frees what it could not write (the sanitizer build checks) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outcomes_handed_over_are_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_finish_moves_sent_at_to_when_the_request_left, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_claim_of_another_instance_is_left_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outcomes_are_kept_while_the_database_is_unreachable,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
