/* text: one definition of blank for the API and the importer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unicode_spaces_and_invisible_characters_are_blank),
        cmocka_unit_test(test_anything_visible_is_not_blank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
