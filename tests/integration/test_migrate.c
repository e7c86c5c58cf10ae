/* Integration tests for migrate against a real PostgreSQL. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/migrate.h"
#include "pgtest.h"

static int count_rows(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static void test_migrate_from_empty_applies_and_records_all(void **state)
{
    char *ci = pgt_create_db(), err[512];
    PGconn *c = pgt_connect(ci);
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    assert_int_equal(mig_apply(c, files, n, NULL, err, sizeof err), (int)n);
    assert_int_equal(count_rows(c, "SELECT count(*) FROM schema_migrations"), (int)n);
    PGresult *r = PQexec(c, "SELECT checksum FROM schema_migrations WHERE version = '0001'");
    assert_string_equal(PQgetvalue(r, 0, 0), files[0].checksum);
    PQclear(r);
    assert_int_equal(mig_check(c, files, n, err, sizeof err), 0);
    PQfinish(c);
    pgt_drop_db(ci);
}

static void test_rerun_is_a_noop(void **state)
{
    char *ci = pgt_create_migrated_db(), err[512];
    PGconn *c = pgt_connect(ci);
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    assert_int_equal(mig_apply(c, files, n, NULL, err, sizeof err), 0);
    assert_int_equal(count_rows(c, "SELECT count(*) FROM schema_migrations"), (int)n);
    PQfinish(c);
    pgt_drop_db(ci);
}

static void test_changed_applied_file_is_refused_by_name(void **state)
{
    char *ci = pgt_create_migrated_db(), err[512];
    PGconn *c = pgt_connect(ci);
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    assert_string_equal(files[0].version, "0001");
    assert_string_equal(files[0].name, "baseline");
    struct mig_file tampered; /* the applied baseline, edited */
    assert_int_equal(mig_file_init(&tampered, "0001_baseline", "SELECT 1;"), 0);
    assert_int_equal(mig_apply(c, &tampered, 1, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "migration 0001_baseline was changed"));
    assert_int_equal(mig_check(c, &tampered, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "0001_baseline"));
    PQfinish(c);
    pgt_drop_db(ci);
}

static void test_check_names_the_missing_migration(void **state)
{
    char *ci = pgt_create_db(), err[512];
    PGconn *c = pgt_connect(ci);
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    assert_int_equal(mig_check(c, files, n, err, sizeof err), -1);
    assert_non_null(strstr(err, "no postpace schema"));
    /* A database migrated by an older build: a later migration is missing. */
    struct mig_file newer[2] = {files[0]};
    assert_int_equal(mig_file_init(&newer[1], "0002_later_change", "SELECT 1;"), 0);
    assert_int_equal(mig_apply(c, newer, 1, NULL, err, sizeof err), 1);
    assert_int_equal(mig_check(c, newer, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "migration 0002_later_change is not applied"));
    PQfinish(c);
    pgt_drop_db(ci);
}

static void test_failing_migration_leaves_nothing_behind(void **state)
{
    char *ci = pgt_create_db(), err[512];
    PGconn *c = pgt_connect(ci);
    struct mig_file bad;
    assert_int_equal(
        mig_file_init(&bad, "0001_broken", "CREATE TABLE half (x int);\nSELECT no_such_column;"), 0);
    assert_int_equal(mig_apply(c, &bad, 1, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "migration 0001_broken failed"));
    assert_int_equal(count_rows(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'half'"), 0);
    /* The ledger was created in the same transaction, so it is gone too. */
    assert_int_equal(mig_check(c, &bad, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "no postpace schema"));
    PQfinish(c);
    pgt_drop_db(ci);
}

struct racer {
    const char *conninfo;
    int applied;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char err[512];
    PGconn *c = PQconnectdb(r->conninfo);
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    r->applied = mig_apply(c, files, n, NULL, err, sizeof err);
    PQfinish(c);
    return NULL;
}

static void test_concurrent_migrators_are_serialised(void **state)
{
    char *ci = pgt_create_db();
    size_t n;
    mig_builtin(&n);
    struct racer a = {ci, -2}, b = {ci, -2};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_true(a.applied >= 0 && b.applied >= 0);
    assert_int_equal(a.applied + b.applied, (int)n);
    PGconn *c = pgt_connect(ci);
    assert_int_equal(count_rows(c, "SELECT count(*) FROM schema_migrations"), (int)n);
    PQfinish(c);
    pgt_drop_db(ci);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_from_empty_applies_and_records_all),
        cmocka_unit_test(test_rerun_is_a_noop),
        cmocka_unit_test(test_changed_applied_file_is_refused_by_name),
        cmocka_unit_test(test_check_names_the_missing_migration),
        cmocka_unit_test(test_failing_migration_leaves_nothing_behind),
        cmocka_unit_test(test_concurrent_migrators_are_serialised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
