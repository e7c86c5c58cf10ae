/*
 * DESIGN: serves the web page from memory on the HTTP loop thread; nothing is
 * read from disk and nothing blocks. Every answer carries the same strict
 * policy: scripts, styles and connections from the page's own origin only
 * (no inline script or style, no framing), so a token in sessionStorage can
 * only be read by our own app.js. Caching: every asset is revalidated
 * (no-cache) against the build hash, so a new binary is seen at once and an
 * unchanged one costs a 304.
 */
#include "http/ui.h"

#include <stdio.h>
#include <string.h>

#include "http/server.h"

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const struct ui_asset *ui_find(const char *path, size_t len)
{
    for (const struct ui_asset *a = ui_assets; a->path; a++)
        if (strlen(a->path) == len && memcmp(a->path, path, len) == 0)
            return a;
    return NULL;
}

static void add(h2o_req_t *req, const char *name, const char *value)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, value,
                          strlen(value));
}

static int etag_matches(h2o_req_t *req, const char *etag)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t n = strlen(etag);
    /* A list of tags, or one: the page's own tag anywhere in it is a match. */
    for (size_t at = 0; at + n <= v.len; at++)
        if (memcmp(v.base + at, etag, n) == 0)
            return 1;
    return 0;
}

int ui_serve(h2o_req_t *req)
{
    const struct ui_asset *a = ui_find(req->path_normalized.base, req->path_normalized.len);
    if (!a) {
        http_send_error(req, 404, "not_found", "no such route");
        return 0;
    }
    char etag[sizeof "\"\"" + 32];
    snprintf(etag, sizeof etag, "\"%s\"", ui_build_hash);
    add(req, "content-security-policy", csp);
    add(req, "x-content-type-options", "nosniff");
    add(req, "referrer-policy", "no-referrer");
    add(req, "cache-control", "no-cache");
    add(req, "etag", etag);
    if (etag_matches(req, etag)) {
        req->res.status = 304;
        req->res.reason = "Not Modified";
        req->res.content_length = 0;
        h2o_send_inline(req, "", 0);
        return 0;
    }
    add(req, "content-type", a->content_type);
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = a->len;
    h2o_send_inline(req, (const char *)a->data, a->len);
    return 0;
}
