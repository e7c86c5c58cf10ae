/*
 * http/ui: the web page (`GET /` and `GET /ui/<file>`), whose files
 * (src/http/ui/) are built into the binary by src/http/ui/embed_ui.cmake,
 * as the SQL is. The page needs no token to load; it calls /v1 with one.
 */
#ifndef POSTPACE_HTTP_UI_H
#define POSTPACE_HTTP_UI_H

#include <h2o.h>
#include <stddef.h>

struct ui_asset {
    const char *path;         /* "/" for index.html, else "/ui/<file name>" */
    const char *content_type; /* with its charset where it has one */
    const unsigned char *data;
    size_t len;
};

extern const struct ui_asset ui_assets[]; /* ends with a {0} row */
extern const char ui_build_hash[];        /* 16 hex digits over every file: the ETag */

/* The asset served at `path` (exact), or NULL. */
const struct ui_asset *ui_find(const char *path, size_t len);

/*
 * Answers a GET of `/` or `/ui/...`: the asset with its Content-Type, a
 * strict Content-Security-Policy (the page's origin only) and the build hash
 * as its ETag (304 when If-None-Match names it); 404 otherwise. Returns 0.
 */
int ui_serve(h2o_req_t *req);

#endif
