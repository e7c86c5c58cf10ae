/*
 * The web page's files as built into the binary (src/http/ui/embed_ui.cmake):
 * the page is at "/", each file has its type, the build hash is there, every
 * file the page names is served, and nothing names another origin (the
 * page works with its own origin only; the CSP would refuse anything else).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/ui.h"

static const char *text_of(const struct ui_asset *a)
{
    return (const char *)a->data; /* NUL-terminated by the generator */
}

static void test_the_page_is_at_the_root_and_every_file_has_its_type(void **state)
{
    const struct ui_asset *index = ui_find("/", 1);
    assert_non_null(index);
    assert_string_equal(index->content_type, "text/html; charset=utf-8");
    const struct ui_asset *js = ui_find("/ui/app.js", 10), *css = ui_find("/ui/app.css", 11);
    assert_non_null(js);
    assert_non_null(css);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(css->content_type, "text/css; charset=utf-8");
    assert_null(ui_find("/ui/README.md", 13));
    assert_null(ui_find("/ui/", 4));
    for (const struct ui_asset *a = ui_assets; a->path; a++) {
        assert_int_equal(strlen(text_of(a)), a->len);
        assert_true(a->len > 0);
    }
    assert_int_equal(strlen(ui_build_hash), 16);
    assert_int_equal(strspn(ui_build_hash, "0123456789abcdef"), 16);
}

static void test_the_page_names_only_files_it_serves(void **state)
{
    const char *html = text_of(ui_find("/", 1));
    int named = 0;
    for (const char *at = html; (at = strstr(at, "=\"/")) != NULL; at += 3) {
        char path[128];
        assert_int_equal(sscanf(at + 2, "%127[^\"]", path), 1);
        if (!ui_find(path, strlen(path)))
            fprintf(stderr, "index.html names %s, which is not served\n", path);
        assert_non_null(ui_find(path, strlen(path)));
        named++;
    }
    assert_int_equal(named, 2); /* app.css, app.js */
}

static void test_nothing_is_fetched_from_another_origin(void **state)
{
    static const char *const foreign[] = {"http://", "https://", "=\"//", "url(", "@import"};
    for (const struct ui_asset *a = ui_assets; a->path; a++)
        for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
            if (strstr(text_of(a), foreign[i]))
                fprintf(stderr, "%s holds %s\n", a->path, foreign[i]);
            assert_null(strstr(text_of(a), foreign[i]));
        }
    /* No inline script or style for the policy to refuse. */
    const char *html = text_of(ui_find("/", 1));
    assert_null(strstr(html, "<script>"));
    assert_null(strstr(html, "<style"));
    assert_null(strstr(html, " style=\""));
    assert_null(strstr(html, " onclick="));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_page_is_at_the_root_and_every_file_has_its_type),
        cmocka_unit_test(test_the_page_names_only_files_it_serves),
        cmocka_unit_test(test_nothing_is_fetched_from_another_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
