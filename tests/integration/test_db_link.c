/*
 * db_link (src/db/link.h): the reconnect every thread of `serve` shares.
 * Pinned here: a failed attempt backs off 100 ms doubling to 5 s and is not
 * retried before its deadline; a connection comes up with its statements
 * prepared (or with none, prepared statements off); a lost one is retried
 * at once; db_begin_index_only opens a transaction whose planner settings
 * are the index-only ones, with synchronous_commit off only when asked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/link.h"
#include "pgtest.h"

static void test_backoff_doubles_from_100_ms_to_5_s(void **state)
{
    (void)state;
    uint64_t want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
    uint64_t b = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        b = db_link_backoff(b);
        assert_int_equal(b, want[i]);
    }
}

/* Port 1 on loopback: nothing listens, so each attempt is refused at once. */
static void test_a_failed_attempt_waits_for_its_deadline(void **state)
{
    (void)state;
    struct db_link l;
    char err[512];
    db_link_init(&l, "host=127.0.0.1 port=1 connect_timeout=2", NULL);
    assert_int_equal(db_link_ensure(&l, 1000, err, sizeof err), DB_LINK_DOWN);
    assert_true(err[0] != '\0');
    assert_int_equal(l.next_connect_ms, 1100);
    assert_int_equal(db_link_ensure(&l, 1099, err, sizeof err), DB_LINK_DOWN);
    assert_string_equal(err, ""); /* not due: no attempt */
    assert_int_equal(l.next_connect_ms, 1100);
    assert_int_equal(db_link_ensure(&l, 1100, err, sizeof err), DB_LINK_DOWN);
    assert_int_equal(l.next_connect_ms, 1300);
    assert_null(l.conn);
}

static const char *const prepared[] = {"webhook_unmatched_counts", NULL};

static void test_a_connection_comes_up_prepared_and_a_lost_one_at_once(void **state)
{
    (void)state;
    char *ci = pgt_create_migrated_db();
    struct db_link l;
    char err[512];
    db_link_init(&l, ci, prepared);
    l.backoff_ms = 400, l.next_connect_ms = 10; /* as after failures */
    assert_int_equal(db_link_ensure(&l, 10, err, sizeof err), DB_LINK_NEW);
    assert_int_equal(l.backoff_ms, 0);
    assert_int_equal(db_link_ensure(&l, 11, err, sizeof err), DB_LINK_UP);
    assert_false(db_link_broken(&l));
    PGresult *r = db_exec_named(l.conn, "webhook_unmatched_counts", 0, NULL, err, sizeof err);
    assert_non_null(r);
    PQclear(r);
    db_link_close(&l); /* lost: the next ensure connects without waiting */
    assert_null(l.conn);
    assert_int_equal(db_link_ensure(&l, 12, err, sizeof err), DB_LINK_NEW);
    db_link_close(&l);
    pgt_drop_db(ci);
}

static void test_prepared_statements_off_prepares_nothing(void **state)
{
    (void)state;
    char *ci = pgt_create_migrated_db();
    struct db_link l;
    char err[512];
    db_use_prepared(0);
    db_link_init(&l, ci, prepared);
    assert_int_equal(db_link_ensure(&l, 0, err, sizeof err), DB_LINK_NEW);
    PGresult *r = PQexec(l.conn, "SELECT count(*) FROM pg_prepared_statements");
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    PQclear(r);
    r = db_exec_named(l.conn, "webhook_unmatched_counts", 0, NULL, err, sizeof err);
    assert_non_null(r); /* sent unnamed */
    PQclear(r);
    db_use_prepared(1);
    db_link_close(&l);
    pgt_drop_db(ci);
}

static const char *setting(PGconn *c, const char *name)
{
    static char v[64];
    const char *params[] = {name};
    PGresult *r = PQexecParams(c, "SELECT current_setting($1)", 1, NULL, params, NULL, NULL, 0);
    snprintf(v, sizeof v, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void test_index_only_transactions(void **state)
{
    (void)state;
    char *ci = pgt_create_db();
    PGconn *c = pgt_connect(ci);
    char err[512];
    for (int async = 0; async <= 1; async++) {
        assert_int_equal(db_begin_index_only(c, async, err, sizeof err), 0);
        assert_string_equal(setting(c, "enable_seqscan"), "off");
        assert_string_equal(setting(c, "enable_hashjoin"), "off");
        assert_string_equal(setting(c, "enable_mergejoin"), "off");
        assert_string_equal(setting(c, "synchronous_commit"), async ? "off" : "on");
        assert_int_equal(db_simple(c, "COMMIT", err, sizeof err), 0);
        assert_string_equal(setting(c, "enable_seqscan"), "on"); /* SET LOCAL: gone */
    }
    PQfinish(c);
    pgt_drop_db(ci);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_from_100_ms_to_5_s),
        cmocka_unit_test(test_a_failed_attempt_waits_for_its_deadline),
        cmocka_unit_test(test_a_connection_comes_up_prepared_and_a_lost_one_at_once),
        cmocka_unit_test(test_prepared_statements_off_prepares_nothing),
        cmocka_unit_test(test_index_only_transactions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
