/*
 * The contract for programs that write the calendar with plain SQL (README
 * "Writing to the calendar with plain SQL"): the database itself refuses bad
 * rows, and a good row gets its targets, their idempotency keys and a NOTIFY
 * on postpace_due, with no help from postpace. The scheduler is not started
 * here (test_drain covers the drain).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>

#include <cmocka.h>

#include "pgtest.h"

struct fx {
    char *ci;
    PGconn *c;      /* the writer */
    PGconn *listen; /* LISTEN postpace_due */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->ci = pgt_create_migrated_db();
    f->c = pgt_connect(f->ci);
    f->listen = pgt_connect(f->ci);
    pgt_exec(f->c, "INSERT INTO provider_keys (provider, label, secret_ref) "
                   "VALUES ('jestha', 'jes-main', 'env:JES')");
    pgt_exec(f->listen, "LISTEN postpace_due");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    PQfinish(f->listen);
    PQfinish(f->c);
    pgt_drop_db(f->ci);
    free(f);
    return 0;
}

static long count(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* The next notification's payload on postpace_due within `ms`, or "" when none came. */
static const char *next_notify(PGconn *c, int ms, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int waited = 0; waited <= ms; waited += 50) {
        PQconsumeInput(c);
        PGnotify *n = PQnotifies(c);
        if (n) {
            assert_string_equal(n->relname, "postpace_due");
            snprintf(buf, size, "%s", n->extra);
            PQfreemem(n);
            return buf;
        }
        struct pollfd pfd = {PQsocket(c), POLLIN, 0};
        poll(&pfd, 1, 50);
    }
    return buf;
}

static const char insert[] =
    "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at, time_zone, external_id) "
    "VALUES ($1::bigint, $2::text[], $3, $4::timestamptz, coalesce($5, 'UTC'), $6)";

/* Runs the documented INSERT; returns its SQLSTATE ("00000" when accepted). */
static const char *try_insert(struct fx *f, const char *key, const char *accounts,
                              const char *content, const char *at, const char *tz, const char *ext)
{
    const char *params[] = {key, accounts, content, at, tz, ext};
    return pgt_try(f->c, insert, 6, params);
}

static void test_a_good_row_gets_targets_keys_and_a_notify(void **state)
{
    struct fx *f = *state;
    char payload[64];
    assert_string_equal(try_insert(f, "1", "{acct_1,acct_2}", "Hello", "2026-12-01 09:00 Europe/Paris",
                                   "Europe/Paris", "crm-42"),
                        "00000");
    assert_int_equal(count(f->c, "SELECT count(*) FROM post_targets t JOIN posts p ON p.id = t.post_id "
                                 "WHERE p.external_id = 'crm-42' AND t.status = 'scheduled' "
                                 "AND t.next_attempt_at = p.scheduled_at AND t.attempts = 0 "
                                 "AND t.provider_key_id = 1"),
                     2);
    assert_int_equal(count(f->c, "SELECT count(DISTINCT t.idempotency_key) FROM post_targets t "
                                 "WHERE t.idempotency_key LIKE 'pp-%'"),
                     2);
    assert_int_equal(count(f->c, "SELECT count(*) FROM posts WHERE external_id = 'crm-42' AND "
                                 "media = '[]' AND scheduled_at = '2026-12-01 08:00Z'"),
                     1);
    /* The payload is the earliest newly due time, in epoch milliseconds. */
    assert_string_equal(next_notify(f->listen, 5000, payload, sizeof payload), "1796112000000");
}

static void test_bad_rows_are_refused_by_the_database(void **state)
{
    struct fx *f = *state;
    const char *at = "2026-12-01 09:00Z";
    assert_string_equal(try_insert(f, "1", "{a}", "  ", at, NULL, "e1"), "23514");      /* blank */
    assert_string_equal(try_insert(f, "1", "{}", "Hi", at, NULL, "e2"), "23514");       /* no account */
    assert_string_equal(try_insert(f, "1", "{a,NULL}", "Hi", at, NULL, "e3"), "23514"); /* NULL account */
    assert_string_equal(try_insert(f, "1", "{a}", "Hi", at, "Mars/Base", "e4"), "23514");
    assert_string_equal(try_insert(f, "1", "{a}", "Hi", at, "UTC+5", "e5"), "23514");
    assert_string_equal(try_insert(f, "999", "{a}", "Hi", at, NULL, "e6"), "23503");    /* no such key */
    assert_string_equal(try_insert(f, "1", "{a}", "Hi", NULL, NULL, "e7"), "23502");    /* no time */
    assert_string_equal(try_insert(f, "1", "{a}", NULL, at, NULL, "e8"), "23502");      /* no content */
    assert_string_equal(try_insert(f, "1", "{a}", "Hi", at, NULL, ""), "23514");        /* empty id */
    assert_string_equal(try_insert(f, "1", "{a,a}", "Hi", at, NULL, "e9"), "23505");    /* account twice */
    assert_string_equal(try_insert(f, "1", "{a,b,c,b}", "Hi", at, NULL, "e10"),
                        "23505"); /* not adjacent */
    const char *media[] = {"{\"url\":\"x\"}"};
    assert_string_equal(pgt_try(f->c, "INSERT INTO posts (provider_key_id, account_ids, content, "
                                      "scheduled_at, media) VALUES (1, '{a}', 'Hi', now(), $1::jsonb)",
                                1, media),
                        "23514"); /* media must be an array */
    assert_string_equal(try_insert(f, "1", "{a}", "Hi", at, NULL, "once"), "00000");
    assert_string_equal(try_insert(f, "1", "{a}", "Hi again", at, NULL, "once"), "23505");
    assert_int_equal(count(f->c, "SELECT count(*) FROM posts"), 1);
    assert_int_equal(count(f->c, "SELECT count(*) FROM post_targets"), 1);
}

static void test_one_bad_row_refuses_the_whole_statement_and_notifies_nothing(void **state)
{
    struct fx *f = *state;
    char payload[64];
    assert_string_equal(pgt_try(f->c, "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
                                      "VALUES (1, '{a}', 'fine', '2026-12-01 09:00Z'), "
                                      "(1, '{b}', '', '2026-12-01 09:00Z')",
                                0, NULL),
                        "23514");
    assert_int_equal(count(f->c, "SELECT count(*) FROM posts"), 0);
    assert_int_equal(count(f->c, "SELECT count(*) FROM post_targets"), 0);
    assert_string_equal(next_notify(f->listen, 300, payload, sizeof payload), "");
    /* Several rows in one statement: one notification, with the earliest time. */
    pgt_exec(f->c, "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
                   "VALUES (1, '{a}', 'later', '2026-12-02 09:00Z'), (1, '{b}', 'sooner', '2026-12-01 09:00Z')");
    assert_int_equal(count(f->c, "SELECT count(*) FROM post_targets"), 2);
    assert_string_equal(next_notify(f->listen, 5000, payload, sizeof payload), "1796115600000");
    assert_string_equal(next_notify(f->listen, 300, payload, sizeof payload), "");
}

/* The rules kept by statement triggers instead of per-row constraints still hold. */
static void test_keys_posts_and_targets_stay_consistent(void **state)
{
    struct fx *f = *state;
    const char *at = "2026-12-01 09:00Z";
    assert_string_equal(try_insert(f, "1", "{a,b}", "Hi", at, NULL, "k1"), "00000");
    long post = count(f->c, "SELECT id FROM posts WHERE external_id = 'k1'");
    char sql[256];
    /* Targets are made from posts only: an INSERT of one is refused, however right. */
    snprintf(sql, sizeof sql,
             "INSERT INTO post_targets (id, post_id, provider_key_id, account_id, next_attempt_at) "
             "VALUES (%ld * 128 + 5, %ld, 1, 'x', now())",
             post, post);
    assert_string_equal(pgt_try(f->c, sql, 0, NULL), "0A000");
    assert_int_equal(count(f->c, "SELECT count(*) FROM post_targets"), 2);
    /* An update keeps a target on a post, and in its post's range: post id x 128 + slot. */
    assert_string_equal(
        pgt_try(f->c, "UPDATE post_targets SET post_id = 999 WHERE account_id = 'a'", 0, NULL),
        "23503");
    assert_string_equal(
        pgt_try(f->c, "UPDATE post_targets SET id = id + 128 WHERE account_id = 'a'", 0, NULL),
        "23514");
    /* A post's zone and key are checked when they change. */
    assert_string_equal(pgt_try(f->c, "UPDATE posts SET time_zone = 'Mars/Base'", 0, NULL), "23514");
    assert_string_equal(pgt_try(f->c, "UPDATE posts SET provider_key_id = 999", 0, NULL), "23503");
    assert_string_equal(pgt_try(f->c, "UPDATE posts SET time_zone = 'Asia/Tokyo'", 0, NULL), "00000");
    /* A key some post names stays; a table others refer to is not truncated alone. */
    assert_string_equal(pgt_try(f->c, "DELETE FROM provider_keys WHERE id = 1", 0, NULL), "23503");
    assert_string_equal(pgt_try(f->c, "TRUNCATE posts", 0, NULL), "0A000");
    assert_int_equal(count(f->c, "SELECT count(*) FROM post_targets"), 2);
    /* Deleting a post deletes its targets. */
    snprintf(sql, sizeof sql, "DELETE FROM posts WHERE id = %ld", post);
    assert_string_equal(pgt_try(f->c, sql, 0, NULL), "00000");
    assert_int_equal(count(f->c, "SELECT count(*) FROM post_targets"), 0);
    assert_string_equal(pgt_try(f->c, "DELETE FROM provider_keys WHERE id = 1", 0, NULL), "00000");
}

/* The columns the scheduler's indexes read follow the status whatever a
 * plain-SQL writer sets: its statement is corrected at its end. */
static void test_scheduler_columns_follow_the_status(void **state)
{
    struct fx *f = *state;
    const char *wrong =
        "SELECT count(*) FROM post_targets WHERE (due_at, lease_lapses_at, recheck_at) "
        "IS DISTINCT FROM (CASE WHEN status = 'scheduled' THEN next_attempt_at END, "
        "CASE WHEN status = 'publishing' THEN lease_expires_at END, "
        "CASE WHEN status = 'unconfirmed' THEN next_attempt_at END)";
    assert_string_equal(try_insert(f, "1", "{a,b,c,d}", "Hi", "2026-12-01 09:00Z", NULL, "w1"),
                        "00000");
    assert_int_equal(
        count(f->c, "SELECT count(*) FROM post_targets WHERE due_at = '2026-12-01 09:00Z'"), 4);
    pgt_exec(f->c, "UPDATE post_targets SET status = 'published', provider_post_id = 'x' WHERE "
                   "account_id = 'a'");
    pgt_exec(f->c,
             "UPDATE post_targets SET next_attempt_at = '2027-01-01Z' WHERE account_id = 'b'");
    pgt_exec(f->c, "UPDATE post_targets SET status = 'publishing', lease_owner = 'me', "
                   "lease_expires_at = '2027-02-01Z' WHERE account_id = 'c'");
    pgt_exec(f->c,
             "UPDATE post_targets SET status = 'unconfirmed', due_at = NULL, recheck_at = now() "
             "WHERE account_id = 'd'");
    assert_int_equal(count(f->c, wrong), 0);
    assert_int_equal(
        count(f->c, "SELECT count(*) FROM post_targets WHERE account_id = 'a' AND due_at IS NULL"),
        1);
    assert_int_equal(count(f->c, "SELECT count(*) FROM post_targets WHERE due_at = '2027-01-01Z'"),
                     1);
    assert_int_equal(
        count(f->c, "SELECT count(*) FROM post_targets WHERE lease_lapses_at = '2027-02-01Z'"), 1);
    assert_int_equal(
        count(f->c, "SELECT count(*) FROM post_targets WHERE recheck_at = next_attempt_at"), 1);
    /* A writer setting them wrong on purpose is corrected too, and a right one left alone. */
    pgt_exec(f->c, "UPDATE post_targets SET due_at = now(), recheck_at = now()");
    assert_int_equal(count(f->c, wrong), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_good_row_gets_targets_keys_and_a_notify, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_rows_are_refused_by_the_database, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_one_bad_row_refuses_the_whole_statement_and_notifies_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_posts_and_targets_stay_consistent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scheduler_columns_follow_the_status, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
