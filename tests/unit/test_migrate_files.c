/* Unit tests for the built-in migration list (no database). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "db/embedded.h"
#include "db/migrate.h"

static void test_builtin_migrations_are_numbered_in_order(void **state)
{
    size_t n;
    const struct mig_file *m = mig_builtin(&n);
    assert_true(n >= 1);
    assert_int_equal(n, emb_migration_count); /* every file has the NNNN_name form */
    assert_string_equal(m[0].version, "0001");
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(m[i - 1].version, m[i].version) < 0);
}

static void test_file_name_must_be_four_digits_underscore_name(void **state)
{
    struct mig_file m;
    assert_int_equal(mig_file_init(&m, "0007_add_things", "SELECT 1;"), 0);
    assert_string_equal(m.version, "0007");
    assert_string_equal(m.name, "add_things");
    assert_int_equal(mig_file_init(&m, "7_add", "x"), -1);
    assert_int_equal(mig_file_init(&m, "0007", "x"), -1);
    assert_int_equal(mig_file_init(&m, "0007_", "x"), -1);
}

static void test_checksum_is_sha256_of_the_text(void **state)
{
    struct mig_file m;
    assert_int_equal(mig_file_init(&m, "0001_x", "abc"), 0);
    assert_string_equal(m.checksum,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_migrations_do_not_manage_transactions(void **state)
{
    size_t n;
    const struct mig_file *m = mig_builtin(&n);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(m[i].text, "\nBEGIN;"));
        assert_null(strstr(m[i].text, "\nCOMMIT;"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_migrations_are_numbered_in_order),
        cmocka_unit_test(test_file_name_must_be_four_digits_underscore_name),
        cmocka_unit_test(test_checksum_is_sha256_of_the_text),
        cmocka_unit_test(test_migrations_do_not_manage_transactions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
