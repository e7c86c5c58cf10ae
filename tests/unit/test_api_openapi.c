/*
 * The OpenAPI document (src/http/openapi.json) and the daemon's route table
 * describe the same /v1 API: every route is documented (method and path
 * template) and every documented operation is routed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "daemon.h"

static const char *const methods[] = {"get", "put", "post", "delete", "options", "head", "patch",
                                      "trace"};

static json_t *load_doc(void)
{
    json_error_t err;
    json_t *doc = json_load_file(POSTPACE_SOURCE_DIR "/src/http/openapi.json", 0, &err);
    if (!doc)
        fprintf(stderr, "openapi.json:%d: %s\n", err.line, err.text);
    assert_non_null(doc);
    return doc;
}

/* The path template of a route: a prefix route "/v1/posts/" serves "/v1/posts/{id}". */
static void template_of(const struct http_route *r, char *buf, size_t len)
{
    size_t n = strlen(r->path);
    snprintf(buf, len, "%s%s", r->path, r->path[n - 1] == '/' ? "{id}" : "");
}

static void lower(const char *s, char *buf, size_t len)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    buf[i] = '\0';
}

static void test_every_v1_route_is_documented(void **state)
{
    json_t *doc = load_doc(), *paths = json_object_get(doc, "paths");
    size_t n, checked = 0;
    const struct http_route *routes = daemon_routes(&n);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(routes[i].path, "/v1/", 4) != 0)
            continue;
        char tmpl[256], m[16];
        template_of(&routes[i], tmpl, sizeof tmpl);
        lower(routes[i].method, m, sizeof m);
        json_t *op = json_object_get(json_object_get(paths, tmpl), m);
        if (!op)
            fprintf(stderr, "not in openapi.json: %s %s\n", routes[i].method, tmpl);
        assert_non_null(op);
        assert_non_null(json_object_get(op, "responses"));
        checked++;
    }
    assert_int_equal(checked, 18);
    json_decref(doc);
}

static int routed(const struct http_route *routes, size_t n, const char *path, const char *method)
{
    for (size_t i = 0; i < n; i++) {
        char tmpl[256];
        template_of(&routes[i], tmpl, sizeof tmpl);
        if (strcmp(tmpl, path) == 0 && strcasecmp(routes[i].method, method) == 0)
            return 1;
    }
    return 0;
}

static void test_every_documented_operation_is_routed(void **state)
{
    json_t *doc = load_doc(), *item;
    size_t n, ops = 0;
    const struct http_route *routes = daemon_routes(&n);
    const char *path;
    json_object_foreach(json_object_get(doc, "paths"), path, item) {
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            if (!json_object_get(item, methods[m]))
                continue;
            if (!routed(routes, n, path, methods[m]))
                fprintf(stderr, "documented but not routed: %s %s\n", methods[m], path);
            assert_true(routed(routes, n, path, methods[m]));
            ops++;
        }
    }
    assert_int_equal(ops, 18);
    json_decref(doc);
}

static void test_every_error_response_uses_the_envelope(void **state)
{
    json_t *doc = load_doc();
    json_t *responses = json_object_get(json_object_get(doc, "components"), "responses");
    const char *name;
    json_t *r;
    json_object_foreach(responses, name, r) {
        json_t *schema = json_object_get(
            json_object_get(json_object_get(r, "content"), "application/json"), "schema");
        if (strcmp(name, "TooLarge") == 0)
            continue; /* answered by h2o itself, before any handler */
        assert_non_null(schema);
        assert_string_equal(json_string_value(json_object_get(schema, "$ref")),
                            "#/components/schemas/Error");
    }
    json_decref(doc);
}

/* OpenAPI 3.0.x: info.license needs a name; "identifier" came with 3.1 and is not allowed. */
static void test_info_has_a_license_its_version_allows(void **state)
{
    json_t *doc = load_doc();
    json_t *license = json_object_get(json_object_get(doc, "info"), "license");
    assert_true(json_is_object(license));
    assert_true(json_string_length(json_object_get(license, "name")) > 0);
    if (strncmp(json_string_value(json_object_get(doc, "openapi")), "3.0.", 4) == 0)
        assert_null(json_object_get(license, "identifier"));
    json_decref(doc);
}

/* Every "$ref" anywhere in the document names something the document holds. */
static void check_refs(json_t *doc, json_t *node)
{
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_array(node))
        json_array_foreach(node, i, v) check_refs(doc, v);
    if (!json_is_object(node))
        return;
    json_object_foreach(node, key, v) {
        if (strcmp(key, "$ref") == 0) {
            const char *ref = json_string_value(v);
            assert_non_null(ref);
            assert_int_equal(strncmp(ref, "#/components/", 13), 0);
            char kind[64], name[128];
            assert_int_equal(sscanf(ref + 13, "%63[^/]/%127s", kind, name), 2);
            json_t *target = json_object_get(
                json_object_get(json_object_get(doc, "components"), kind), name);
            if (!target)
                fprintf(stderr, "unresolved $ref %s\n", ref);
            assert_non_null(target);
        } else {
            check_refs(doc, v);
        }
    }
}

static void test_every_ref_resolves(void **state)
{
    json_t *doc = load_doc();
    check_refs(doc, doc);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_v1_route_is_documented),
        cmocka_unit_test(test_every_documented_operation_is_routed),
        cmocka_unit_test(test_info_has_a_license_its_version_allows),
        cmocka_unit_test(test_every_ref_resolves),
        cmocka_unit_test(test_every_error_response_uses_the_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
