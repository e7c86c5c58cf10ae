/* text: one definition of blank for the API and the importer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/text.h"

static int blank(const char *s)
{
    return text_is_blank(s, strlen(s));
}

static void test_unicode_spaces_and_invisible_characters_are_blank(void **state)
{
    assert_true(blank(""));
    assert_true(blank(" \t\r\n\v\f"));
    assert_true(blank("\xC2\xA0"));                 /* U+00A0 NO-BREAK SPACE */
    assert_true(blank("\xE2\x80\x83\xE2\x80\x8B")); /* U+2003 EM SPACE, U+200B ZERO WIDTH SPACE */
    assert_true(blank("\xEF\xBB\xBF\xE3\x80\x80")); /* U+FEFF, U+3000 IDEOGRAPHIC SPACE */
    assert_true(blank("\xC2\x85\xE1\x9A\x80\xE2\x80\xA8\xE2\x80\xAF\xE2\x81\x9F\xE2\x81\xA0"));
    assert_true(blank("\xE3\x85\xA4\xE2\xA0\x80")); /* U+3164 HANGUL FILLER, U+2800 */
}

static void test_anything_visible_is_not_blank(void **state)
{
    assert_false(blank("a"));
    assert_false(blank(" \xC2\xA0 .")); /* a visible character after the spaces */
    assert_false(blank("\xC3\xA9"));    /* é */
    assert_false(blank("\xF0\x9F\x98\x80")); /* an emoji */
    assert_false(blank("\xE2\x80\x8E"));     /* U+200E LEFT-TO-RIGHT MARK: not in the list */
    assert_false(text_is_blank(" \0 ", 3));  /* NUL is not a space */
    assert_false(blank("\xC2"));             /* cut UTF-8 counts as visible */
}

static void expect_sanitized(const char *in, size_t len, size_t max, const char *want)
{
    char *got = text_sanitize(in, len, max);
    assert_string_equal(got, want);
    assert_int_equal(text_utf8_check(got, strlen(got)), strlen(got));
    free(got);
}

/* A provider's answer, kept to be read, always becomes text PostgreSQL can hold. */
static void test_sanitize_replaces_what_is_not_utf8_and_cuts_at_a_character(void **state)
{
    expect_sanitized("plain", 5, 100, "plain");
    expect_sanitized("a\xFF" "b", 3, 100, "a\xEF\xBF\xBD" "b");
    expect_sanitized("a\0b", 3, 100, "a\xEF\xBF\xBD" "b");
    expect_sanitized("\xED\xA0\x80", 3, 100, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    expect_sanitized("ab\xC3\xA9", 4, 3, "ab");          /* never half of é */
    expect_sanitized("\xF0\x9F\x98\x80x", 5, 4, "\xF0\x9F\x98\x80");
    expect_sanitized("ab\xC3", 3, 100, "ab\xEF\xBF\xBD"); /* cut off by the sender */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unicode_spaces_and_invisible_characters_are_blank),
        cmocka_unit_test(test_anything_visible_is_not_blank),
        cmocka_unit_test(test_sanitize_replaces_what_is_not_utf8_and_cuts_at_a_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
