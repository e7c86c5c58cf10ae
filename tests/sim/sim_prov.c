/*
 * DESIGN: the five providers as data (windows, routes) plus a handful of
 * "personality" functions each: error envelope, 401, 429 bodies, rate-limit
 * headers, create-body validation and the create answer. The request
 * pipeline in sim_app.c is shared; nothing here keeps state or reads a
 * clock (time comes in through the request context). Runs on the loop thread.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim_int.h"

/* ---- shared helpers ---------------------------------------------------- */

/* A create body's member names where the docs are silent, per dialect
 * (README "Dialects"). "content", PostEverywhere's "account_ids" and
 * SchedPilot's "accounts" are documented, so both dialects keep them. */
struct sim_names {
    const char *accounts; /* NULL: the provider takes none (Jestha) */
    const char *reference;
    const char *media_url, *media_type, *media_size;
};

static const struct sim_names names_by_dialect[2][SIM_NPROV] = {
    [SIM_DIALECT_DEFAULT] =
        {
            [SIM_PE] = {"account_ids", "reference", "url", "mime_type", "size_bytes"},
            [SIM_SP] = {"accounts", "reference", "url", "mime_type", "size_bytes"},
            [SIM_FH] = {"platforms", "reference", "url", "mime_type", "size_bytes"},
            [SIM_PL] = {"blog_id", "reference", "url", "mime_type", "size_bytes"},
            [SIM_JE] = {NULL, "reference", "url", "mime_type", "size_bytes"},
        },
    [SIM_DIALECT_ALT] =
        {
            [SIM_PE] = {"account_ids", "client_reference", "src", "type", "bytes"},
            [SIM_SP] = {"accounts", "client_reference", "src", "type", "bytes"},
            [SIM_FH] = {"channels", "client_reference", "src", "type", "bytes"},
            [SIM_PL] = {"blog", "client_reference", "src", "type", "bytes"},
            [SIM_JE] = {NULL, "client_reference", "src", "type", "bytes"},
        },
};

static const struct sim_names *names(const struct rctx *c)
{
    return &names_by_dialect[c->dialect][c->prov];
}

void sim_verr_add(struct sim_verr *e, const char *code, const char *field, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!e->code) {
        e->code = code;
        snprintf(e->message, sizeof e->message, "%s", msg);
    }
    if (!e->details)
        e->details = json_object();
    if (!json_object_get(e->details, field))
        json_object_set_new(e->details, field, json_string(msg));
}

static const char *opt_string(json_t *body, const char *field, struct sim_verr *e)
{
    json_t *v = json_object_get(body, field);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        sim_verr_add(e, "invalid_request", field, "%s must be a string.", field);
        return NULL;
    }
    return json_string_value(v);
}

static const char *need_content(json_t *body, struct sim_verr *e)
{
    json_t *v = json_object_get(body, "content");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        sim_verr_add(e, "invalid_request", "content",
                     "Content is required and must be a non-empty string.");
        return NULL;
    }
    return json_string_value(v);
}

static int key_has_account(const struct sim_key *k, const char *acc)
{
    if (k->naccounts == 0)
        return 1;
    for (size_t i = 0; i < k->naccounts; i++)
        if (strcmp(k->accounts[i], acc) == 0)
            return 1;
    return 0;
}

/* Reads a non-empty array of distinct account strings into cr->t. */
static void need_accounts(struct rctx *c, json_t *body, const char *field, struct sim_create *cr,
                          struct sim_verr *e)
{
    json_t *arr = json_object_get(body, field);
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        sim_verr_add(e, "invalid_request", field, "At least one account ID is required.");
        return;
    }
    if (json_array_size(arr) > SIM_MAX_TARGETS) {
        sim_verr_add(e, "invalid_request", field, "At most %d accounts per request.",
                     SIM_MAX_TARGETS);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *acc = json_string_value(v);
        if (!acc || !*acc) {
            sim_verr_add(e, "invalid_request", field, "Account IDs must be non-empty strings.");
            return;
        }
        if (!key_has_account(c->key, acc)) {
            sim_verr_add(e, "invalid_request", field, "Unknown account ID: %.80s", acc);
            return;
        }
        for (int j = 0; j < cr->n; j++) {
            if (strcmp(cr->t[j].account, acc) == 0) {
                sim_verr_add(e, "invalid_request", field, "Duplicate account ID: %.80s", acc);
                return;
            }
        }
        cr->t[cr->n++].account = acc;
    }
}

static void opt_media_array(json_t *body, struct sim_verr *e)
{
    json_t *m = json_object_get(body, "media");
    if (m && !json_is_null(m) && !json_is_array(m))
        sim_verr_add(e, "invalid_request", "media", "media must be an array.");
}

/* Alt: every media item is exactly {<url>,<type>,<size>} by the dialect's names. */
static void alt_media_items(struct rctx *c, json_t *body, struct sim_verr *e)
{
    const struct sim_names *n = names(c);
    json_t *media = json_object_get(body, "media"), *m;
    size_t i;
    json_array_foreach(media, i, m)
    {
        const char *k;
        json_t *v;
        json_object_foreach(m, k, v)
        {
            if (strcmp(k, n->media_url) != 0 && strcmp(k, n->media_type) != 0 &&
                strcmp(k, n->media_size) != 0) {
                sim_verr_add(e, "invalid_media", "media", "media[%zu].%.40s is not a field.", i, k);
                return;
            }
        }
        if (!json_is_object(m) || !json_is_string(json_object_get(m, n->media_url)) ||
            !json_is_string(json_object_get(m, n->media_type)) ||
            !json_is_integer(json_object_get(m, n->media_size)))
            sim_verr_add(e, "invalid_media", "media", "media[%zu] needs %s, %s and %s.", i,
                         n->media_url, n->media_type, n->media_size);
    }
}

/* Alt: a member the dialect does not name is a 400, as a strict schema does. */
static void alt_no_unknown_members(struct rctx *c, json_t *body, struct sim_verr *e)
{
    const struct sim_names *n = names(c);
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "content") == 0 || strcmp(k, n->reference) == 0 ||
            (n->accounts && strcmp(k, n->accounts) == 0) ||
            (strcmp(k, "media") == 0 && c->prov != SIM_PL))
            continue;
        sim_verr_add(e, "invalid_request", k, "%.40s is not a field of this request.", k);
        return;
    }
}

/* The common part of a create body: content, media, reference. */
static void parse_common(struct rctx *c, json_t *body, struct sim_create *cr, struct sim_verr *e)
{
    cr->content = need_content(body, e);
    opt_media_array(body, e);
    if (c->dialect == SIM_DIALECT_ALT) {
        alt_no_unknown_members(c, body, e);
        alt_media_items(c, body, e);
    }
    const char *ref = opt_string(body, names(c)->reference, e);
    if (ref)
        cr->reference = ref;
}

static json_t *failed_error(void)
{
    return json_pack("{s:s,s:s}", "code", "platform_error", "message",
                     "The platform rejected the post.");
}

/* Rate-limit headers with a unix reset for window widx (refused: remaining 0, reset free_at). */
static void unix_headers(struct rctx *c, int widx, int refused, uint64_t free_at)
{
    struct swin *w = sim_window(c, widx);
    sim_header_u64(c, "X-RateLimit-Limit", sim_limit(c, widx));
    sim_header_u64(c, "X-RateLimit-Remaining", refused ? 0 : swin_remaining(w, c->now));
    sim_header_u64(c, "X-RateLimit-Reset",
                   sim_unix_ceil(refused ? free_at : swin_reset_at(w, c->now)));
}

/* ---- PostEverywhere ---------------------------------------------------- */

static const struct sim_wdef pe_windows[] = {
    {"key_minute", SWIN_ROLLING, 60000, 60, 0, 0, "requests per minute"},
    {"key_hour", SWIN_ROLLING, 3600000, 1000, 0, 0, "requests per hour"},
    {"key_day", SWIN_ROLLING, 86400000, 10000, 0, 0, "requests per day"},
    {"posts_minute", SWIN_ROLLING, 60000, 20, 0, 0, "POST /posts requests per minute"},
    {"posts_hour", SWIN_ROLLING, 3600000, 100, 0, 0, "POST /posts requests per hour"},
    {"posts_day", SWIN_ROLLING, 86400000, 500, 0, 0, "POST /posts requests per day"},
    {"ai_5min", SWIN_ROLLING, 300000, 50, 0, 0, "POST /ai/generate-image requests per 5 minutes"},
    {"ai_hour", SWIN_ROLLING, 3600000, 200, 0, 0, "POST /ai/generate-image requests per hour"},
};

static const struct sim_route pe_routes[] = {
    {"POST", "/posts", ACT_CREATE, 0x3f, 0},
    {"GET", "/posts", ACT_LIST, 0x07, 0},
    {"GET", "/accounts", ACT_ACCOUNTS, 0x07, 0},
    {"POST", "/ai/generate-image", ACT_STUB, 0xc7, 0},
};

static json_t *pe_meta(struct rctx *c)
{
    char id[SIM_ID_LEN], ts[32];
    sim_new_id(c->sim, "req", id);
    sim_iso8601(c->now, ts);
    return json_pack("{s:s,s:s}", "request_id", id, "timestamp", ts);
}

static void pe_error(struct rctx *c, int status, const char *code, const char *message,
                     json_t *details)
{
    if (strcmp(code, "invalid_media") == 0)
        code = "invalid_request";
    if (status == 400)
        message = "Validation failed"; /* the problems are in details */
    json_t *err = json_pack("{s:s,s:s}", "code", code, "message", message);
    if (details)
        json_object_set_new(err, "details", details);
    sim_reply(c, status, json_pack("{s:o,s:o}", "error", err, "meta", pe_meta(c)));
}

static void pe_unauthorized(struct rctx *c)
{
    pe_error(c, 401, "unauthorized", "Unauthorized. Invalid or expired API key.", NULL);
}

static void pe_refused(struct rctx *c, int widx, uint64_t free_at)
{
    char details[160];
    snprintf(details, sizeof details, "You have exceeded the %u %s limit.", sim_limit(c, widx),
             pe_windows[widx].text);
    sim_header_u64(c, "Retry-After", sim_secs_until(c, free_at));
    pe_error(c, 429, "rate_limit_exceeded", "Rate limit exceeded. Please wait before retrying.",
             json_string(details));
}

/* The window with the least remaining among the request's windows describes the request. */
static void pe_headers(struct rctx *c, int widx, uint64_t free_at)
{
    if (widx >= 0) {
        unix_headers(c, widx, 1, free_at);
        return;
    }
    int best = -1;
    uint64_t best_rem = 0, best_reset = 0;
    for (int i = 0; i < c->nwin; i++) {
        uint64_t rem = swin_remaining(c->win[i], c->now);
        uint64_t reset = swin_reset_at(c->win[i], c->now);
        if (best < 0 || rem < best_rem || (rem == best_rem && reset > best_reset)) {
            best = c->widx[i];
            best_rem = rem;
            best_reset = reset;
        }
    }
    if (best >= 0)
        unix_headers(c, best, 0, 0);
}

static int pe_parse(struct rctx *c, json_t *body, struct sim_create *cr, struct sim_verr *e)
{
    parse_common(c, body, cr, e);
    need_accounts(c, body, names(c)->accounts, cr, e);
    return e->code ? -1 : 0;
}

/* Alt: camelCase, upper-case states, the error flattened into the entry. */
static void pe_created_alt(struct rctx *c, const struct sim_create *cr)
{
    json_t *targets = json_array();
    for (int i = 0; i < cr->n; i++) {
        const struct sim_target *t = &cr->t[i];
        json_array_append_new(targets,
                              t->failed ? json_pack("{s:s,s:s,s:s,s:s}", "accountId", t->account,
                                                    "state", "FAILED", "errorCode", "platform_error",
                                                    "errorMessage", "The platform rejected the post.")
                                        : json_pack("{s:s,s:s,s:s}", "accountId", t->account,
                                                    "state", "SCHEDULED", "postId", t->post_id));
    }
    sim_reply(c, 201, json_pack("{s:{s:s,s:o},s:o}", "data", "postId", cr->id, "targets", targets,
                                "meta", pe_meta(c)));
}

static void pe_created(struct rctx *c, const struct sim_create *cr)
{
    if (c->dialect == SIM_DIALECT_ALT) {
        pe_created_alt(c, cr);
        return;
    }
    json_t *results = json_array();
    for (int i = 0; i < cr->n; i++) {
        const struct sim_target *t = &cr->t[i];
        json_array_append_new(results,
                              t->failed ? json_pack("{s:s,s:s,s:o}", "account_id", t->account,
                                                    "status", "failed", "error", failed_error())
                                        : json_pack("{s:s,s:s,s:s}", "account_id", t->account,
                                                    "status", "scheduled", "post_id", t->post_id));
    }
    sim_reply(c, 201,
              json_pack("{s:{s:s,s:o},s:o}", "data", "id", cr->id, "results", results, "meta",
                        pe_meta(c)));
}

static void pe_list(struct rctx *c, json_t *items)
{
    sim_reply(c, 200, json_pack("{s:o,s:o}", "data", items, "meta", pe_meta(c)));
}

static const struct sim_prov_def pe_def = {
    "posteverywhere",
    "/posteverywhere/api/v1",
    "pe",
    0,
    1,
    pe_windows,
    8,
    pe_routes,
    4,
    pe_error,
    pe_unauthorized,
    pe_refused,
    pe_headers,
    pe_parse,
    pe_created,
    pe_list,
};

/* ---- SchedPilot -------------------------------------------------------- */

static const struct sim_wdef sp_windows[] = {
    {"read_hour", SWIN_FIXED, 3600000, 60, 1, 0, "read requests/hour"},
    {"write_hour", SWIN_FIXED, 3600000, 30, 1, 0, "write requests/hour"},
};

static const struct sim_route sp_routes[] = {
    {"POST", "/post", ACT_CREATE, 0x2, 0},       {"GET", "/posts", ACT_LIST, 0x1, 0},
    {"GET", "/accounts", ACT_ACCOUNTS, 0x1, 0},  {"DELETE", "/posts/", ACT_DELETE, 0x2, 0},
    {"GET", "/analytics/", ACT_STUB, 0x1, 0},    {"GET", "/media/list", ACT_STUB, 0x1, 0},
    {"POST", "/media/upload", ACT_STUB, 0x2, 0}, {"DELETE", "/media/delete", ACT_STUB, 0x2, 0},
};

static void sp_error(struct rctx *c, int status, const char *code, const char *message,
                     json_t *details)
{
    json_decref(details);
    sim_reply(c, status, json_pack("{s:i,s:s}", "code", status, "message", message));
}

static void sp_unauthorized(struct rctx *c)
{
    sp_error(c, 401, "unauthorized", "Unauthorized", NULL);
}

static void sp_refused(struct rctx *c, int widx, uint64_t free_at)
{
    char msg[120];
    snprintf(msg, sizeof msg, "Rate limit exceeded. Max %u %s.", sim_limit(c, widx),
             sp_windows[widx].text);
    sp_error(c, 429, "rate_limit_exceeded", msg, NULL);
}

static void sp_headers(struct rctx *c, int widx, uint64_t free_at)
{
    /* SchedPilot sends no rate-limit headers. */
}

static int sp_parse(struct rctx *c, json_t *body, struct sim_create *cr, struct sim_verr *e)
{
    parse_common(c, body, cr, e);
    need_accounts(c, body, names(c)->accounts, cr, e);
    return e->code ? -1 : 0;
}

/* Alt: 200, an object keyed by account whose values are plain id strings. */
static void sp_created_alt(struct rctx *c, const struct sim_create *cr)
{
    json_t *results = json_object();
    for (int i = 0; i < cr->n; i++) {
        const struct sim_target *t = &cr->t[i];
        json_object_set_new(results, t->account,
                            t->failed ? json_pack("{s:o}", "error", failed_error())
                                      : json_string(t->post_id));
    }
    sim_reply(c, 200, json_pack("{s:b,s:{s:s,s:o}}", "success", 1, "post", "id", cr->id,
                                "results", results));
}

static void sp_created(struct rctx *c, const struct sim_create *cr)
{
    if (c->dialect == SIM_DIALECT_ALT) {
        sp_created_alt(c, cr);
        return;
    }
    json_t *accs = json_array();
    for (int i = 0; i < cr->n; i++) {
        const struct sim_target *t = &cr->t[i];
        json_array_append_new(accs, t->failed
                                        ? json_pack("{s:s,s:s,s:o}", "account", t->account,
                                                    "status", "failed", "error", failed_error())
                                        : json_pack("{s:s,s:s,s:s}", "account", t->account,
                                                    "status", "scheduled", "post_id", t->post_id));
    }
    sim_reply(c, 201, json_pack("{s:s,s:o}", "id", cr->id, "accounts", accs));
}

static void plain_list(struct rctx *c, json_t *items)
{
    sim_reply(c, 200, json_pack("{s:o}", "data", items));
}

static const struct sim_prov_def sp_def = {
    "schedpilot",
    "/schedpilot/developers/v1",
    "sp",
    1,
    1,
    sp_windows,
    2,
    sp_routes,
    8,
    sp_error,
    sp_unauthorized,
    sp_refused,
    sp_headers,
    sp_parse,
    sp_created,
    plain_list,
};

/* ---- FeedHorizon ------------------------------------------------------- */

static const struct sim_wdef fh_windows[] = {
    {"key_60s", SWIN_ROLLING, 60000, 100, 0, 0, "requests per 60 seconds"},
};

static const struct sim_route fh_routes[] = {
    {"POST", "/posts", ACT_CREATE, 0x1, 0},
    {"GET", "/posts", ACT_LIST, 0x1, 0},
    {"GET", "/platforms", ACT_ACCOUNTS, 0x1, 0},
};

static void fh_error(struct rctx *c, int status, const char *code, const char *message,
                     json_t *details)
{
    char up[48];
    size_t i = 0;
    for (; code[i] && i + 1 < sizeof up; i++)
        up[i] = (char)toupper((unsigned char)code[i]);
    up[i] = '\0';
    json_t *err = json_pack("{s:s,s:s}", "code", up, "message", message);
    if (details)
        json_object_set_new(err, "details", details);
    sim_reply(c, status, json_pack("{s:o}", "error", err));
}

static void fh_unauthorized(struct rctx *c)
{
    fh_error(c, 401, "unauthorized", "Invalid or missing API key", NULL);
}

static void fh_refused(struct rctx *c, int widx, uint64_t free_at)
{
    sim_reply(c, 429,
              json_pack("{s:{s:s,s:s}}", "error", "code", "RATE_LIMITED", "message",
                        "Too many requests"));
}

/* FeedHorizon's X-RateLimit-Reset is the number of seconds until the window frees. */
static void fh_headers(struct rctx *c, int widx, uint64_t free_at)
{
    struct swin *w = sim_window(c, 0);
    int refused = widx >= 0;
    sim_header_u64(c, "X-RateLimit-Limit", sim_limit(c, 0));
    sim_header_u64(c, "X-RateLimit-Remaining", refused ? 0 : swin_remaining(w, c->now));
    sim_header_u64(c, "X-RateLimit-Reset",
                   sim_secs_until(c, refused ? free_at : swin_reset_at(w, c->now)));
}

static int fh_parse(struct rctx *c, json_t *body, struct sim_create *cr, struct sim_verr *e)
{
    parse_common(c, body, cr, e);
    need_accounts(c, body, names(c)->accounts, cr, e);
    return e->code ? -1 : 0;
}

/* Alt: 202, ids as plain strings in request order (a failed account: an object saying so). */
static void fh_created_alt(struct rctx *c, const struct sim_create *cr)
{
    json_t *ids = json_array();
    for (int i = 0; i < cr->n; i++) {
        const struct sim_target *t = &cr->t[i];
        json_array_append_new(ids, t->failed ? json_pack("{s:s,s:s,s:o}", "channel", t->account,
                                                         "status", "failed", "error", failed_error())
                                             : json_string(t->post_id));
    }
    sim_reply(c, 202, json_pack("{s:{s:s,s:s,s:o}}", "data", "id", cr->id, "status", "accepted",
                                "post_ids", ids));
}

static void fh_created(struct rctx *c, const struct sim_create *cr)
{
    if (c->dialect == SIM_DIALECT_ALT) {
        fh_created_alt(c, cr);
        return;
    }
    json_t *pl = json_array();
    for (int i = 0; i < cr->n; i++) {
        const struct sim_target *t = &cr->t[i];
        json_array_append_new(pl, t->failed ? json_pack("{s:s,s:s,s:o}", "platform", t->account,
                                                        "status", "failed", "error", failed_error())
                                            : json_pack("{s:s,s:s,s:s}", "platform", t->account,
                                                        "status", "queued", "post_id", t->post_id));
    }
    sim_reply(c, 201, json_pack("{s:{s:s,s:o}}", "data", "id", cr->id, "platforms", pl));
}

static const struct sim_prov_def fh_def = {
    "feedhorizon",
    "/feedhorizon/v1",
    "fh",
    0,
    1,
    fh_windows,
    1,
    fh_routes,
    3,
    fh_error,
    fh_unauthorized,
    fh_refused,
    fh_headers,
    fh_parse,
    fh_created,
    plain_list,
};

/* ---- Postlark ---------------------------------------------------------- */

static const struct sim_wdef pl_windows[] = {
    {"key_hour", SWIN_FIXED, 3600000, 0, 0, 0, "requests/hour"},
    {"posts_month", SWIN_MONTH, 0, 0, 1, 1, "posts/month"},
    {"posts_lifetime", SWIN_LIFETIME, 0, 0, 1, 1, "posts in total"},
};

static const struct sim_route pl_routes[] = {
    {"POST", "/posts", ACT_CREATE, 0x1, 0x6},
    {"GET", "/posts", ACT_LIST, 0x1, 0},
    {"GET", "/blogs", ACT_ACCOUNTS, 0x1, 0},
};

struct pl_plan {
    const char *name;
    uint32_t limits[3]; /* requests/hour, posts/month, posts in total; 0: unlimited */
};

static const struct pl_plan pl_plans[] = {
    {"free", {60, 0, 10}},    {"starter", {300, 15, 0}},     {"creator", {1000, 50, 0}},
    {"scale", {10000, 0, 0}}, {"enterprise", {10000, 0, 0}},
};

static void pl_error(struct rctx *c, int status, const char *code, const char *message,
                     json_t *details)
{
    json_decref(details);
    sim_reply(c, status, json_pack("{s:s,s:s}", "error", code, "message", message));
}

static void pl_unauthorized(struct rctx *c)
{
    pl_error(c, 401, "unauthorized", "Invalid or missing API key.", NULL);
}

static void pl_refused(struct rctx *c, int widx, uint64_t free_at)
{
    char msg[160];
    uint32_t limit = sim_limit(c, widx);
    if (widx == 2) {
        snprintf(msg, sizeof msg, "Post limit reached. Your plan allows %u posts in total.", limit);
        pl_error(c, 402, "post_limit_exceeded", msg, NULL);
        return;
    }
    if (widx == 0)
        snprintf(msg, sizeof msg, "Rate limit exceeded. Limit: %u requests/hour.", limit);
    else
        snprintf(msg, sizeof msg, "Monthly post limit reached. Limit: %u posts/month.", limit);
    sim_reply(c, 429,
              json_pack("{s:s,s:s,s:I}", "error",
                        widx == 0 ? "rate_limit_exceeded" : "post_limit_exceeded", "message", msg,
                        "retry_after", (json_int_t)sim_secs_until(c, free_at)));
}

static void pl_headers(struct rctx *c, int widx, uint64_t free_at)
{
    unix_headers(c, 0, widx == 0, free_at);
}

static int pl_parse(struct rctx *c, json_t *body, struct sim_create *cr, struct sim_verr *e)
{
    parse_common(c, body, cr, e);
    const char *field = names(c)->accounts;
    json_t *b = json_object_get(body, field);
    if (json_object_get(body, "blog_ids") || json_object_get(body, "account_ids"))
        sim_verr_add(e, "invalid_request", field, "One %s per request; no batching.", field);
    else if (!json_is_string(b) || json_string_length(b) == 0)
        sim_verr_add(e, "invalid_request", field, "%s is required.", field);
    else if (!key_has_account(c->key, json_string_value(b)))
        sim_verr_add(e, "invalid_request", field, "Unknown %s: %.80s", field,
                     json_string_value(b));
    else
        cr->t[cr->n++].account = json_string_value(b);
    return e->code ? -1 : 0;
}

static void pl_created(struct rctx *c, const struct sim_create *cr)
{
    /* Alt: wrapped under "post", camelCase, an extra url. */
    if (c->dialect == SIM_DIALECT_ALT) {
        char url[128];
        snprintf(url, sizeof url, "https://%s.postlark.blog/p/%s", cr->t[0].account, cr->id);
        sim_reply(c, 201, json_pack("{s:{s:s,s:s,s:s}}", "post", "postId", cr->id, "state", "live",
                                    "url", url));
        return;
    }
    sim_reply(c, 201, json_pack("{s:s,s:s}", "id", cr->id, "status", "published"));
}

static const struct sim_prov_def pl_def = {
    "postlark",
    "/postlark/v1",
    "pl",
    0,
    0,
    pl_windows,
    3,
    pl_routes,
    3,
    pl_error,
    pl_unauthorized,
    pl_refused,
    pl_headers,
    pl_parse,
    pl_created,
    plain_list,
};

/* ---- Jestha ------------------------------------------------------------ */

static const struct sim_wdef je_windows[] = {
    {"key_minute", SWIN_ROLLING, 60000, 60, 0, 0, "requests per minute"},
    {"key_24h", SWIN_ROLLING, 86400000, 10000, 0, 0, "requests per 24 hours"},
    {"posts_minute", SWIN_ROLLING, 60000, 10, 0, 0, "posts per minute on POST /api/posts"},
    {"account_day", SWIN_FIXED, 86400000, 1000, 1, 1, "posts/day"},
};

static const struct sim_route je_routes[] = {
    {"POST", "/api/posts", ACT_CREATE, 0x7, 0x8},
    {"GET", "/api/posts", ACT_LIST, 0x3, 0},
};

static const char *const je_media_types[] = {
    "image/jpeg", "image/png",  "image/gif",       "image/webp",
    "video/mp4",  "video/mpeg", "video/quicktime", "video/webm",
};
#define JE_MAX_FILES 4
#define JE_MAX_BYTES 8000000 /* "8 MB", decimal */

static const char *je_title(const char *code)
{
    static const char *const map[][2] = {
        {"invalid_request", "Bad request"},
        {"invalid_media", "Invalid media"},
        {"not_found", "Not found"},
        {"unauthorized", "Unauthorized"},
        {"server_error", "Internal server error"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], code) == 0)
            return map[i][1];
    return code;
}

static void je_error(struct rctx *c, int status, const char *code, const char *message,
                     json_t *details)
{
    json_decref(details);
    sim_reply(c, status, json_pack("{s:s,s:s}", "error", je_title(code), "message", message));
}

static void je_unauthorized(struct rctx *c)
{
    je_error(c, 401, "unauthorized", "Missing or invalid API key.", NULL);
}

static void je_refused(struct rctx *c, int widx, uint64_t free_at)
{
    char msg[200];
    uint32_t limit = sim_limit(c, widx);
    const char *err = "Rate limit exceeded";
    if (widx == 3) {
        err = "Daily content quota exceeded";
        snprintf(msg, sizeof msg,
                 "Your account has hit the %u posts/day limit for content posted via API keys. "
                 "Try again tomorrow.",
                 limit);
    } else {
        snprintf(msg, sizeof msg, "This API key is limited to %u %s.", limit,
                 je_windows[widx].text);
    }
    sim_reply(c, 429,
              json_pack("{s:s,s:s,s:I}", "error", err, "message", msg, "retryAfter",
                        (json_int_t)sim_secs_until(c, free_at)));
}

/* Jestha's headers always describe the key's per-minute window. */
static void je_headers(struct rctx *c, int widx, uint64_t free_at)
{
    unix_headers(c, 0, widx == 0, free_at);
    sim_header(c, "X-Jestha-Api-Version", "1");
}

static int je_media_type_ok(const char *t)
{
    for (size_t i = 0; i < sizeof je_media_types / sizeof je_media_types[0]; i++)
        if (strcmp(je_media_types[i], t) == 0)
            return 1;
    return 0;
}

static void je_check_media(struct rctx *c, json_t *body, struct sim_verr *e)
{
    const struct sim_names *n = names(c);
    json_t *media = json_object_get(body, "media");
    if (!json_is_array(media))
        return;
    if (json_array_size(media) > JE_MAX_FILES) {
        sim_verr_add(e, "invalid_media", "media", "At most %d files per request via API key.",
                     JE_MAX_FILES);
        return;
    }
    size_t i;
    json_t *m;
    json_array_foreach(media, i, m)
    {
        const char *url = json_string_value(json_object_get(m, n->media_url));
        const char *type = json_string_value(json_object_get(m, n->media_type));
        json_t *size = json_object_get(m, n->media_size);
        if (!url || !*url)
            sim_verr_add(e, "invalid_media", "media", "media[%zu].%s is required.", i,
                         n->media_url);
        else if (!type || !je_media_type_ok(type))
            sim_verr_add(e, "invalid_media", "media", "media[%zu]: type %.40s is not allowed.", i,
                         type ? type : "(none)");
        else if (!json_is_integer(size) || json_integer_value(size) <= 0)
            sim_verr_add(e, "invalid_media", "media", "media[%zu].%s is required.", i,
                         n->media_size);
        else if (json_integer_value(size) > JE_MAX_BYTES)
            sim_verr_add(e, "invalid_media", "media",
                         "media[%zu] is larger than 8 MB (8000000 bytes) allowed via API key.", i);
    }
}

static int je_parse(struct rctx *c, json_t *body, struct sim_create *cr, struct sim_verr *e)
{
    parse_common(c, body, cr, e);
    je_check_media(c, body, e);
    cr->t[cr->n++].account = c->key->owner;
    return e->code ? -1 : 0;
}

static void je_created(struct rctx *c, const struct sim_create *cr)
{
    /* Alt: the id as a bare JSON string. */
    if (c->dialect == SIM_DIALECT_ALT) {
        sim_reply(c, 201, json_string(cr->id));
        return;
    }
    sim_reply(c, 201, json_pack("{s:s}", "id", cr->id));
}

static const struct sim_prov_def je_def = {
    "jestha",        "/jestha",  "jes",      0,        0,
    je_windows,      4,          je_routes,  2,        je_error,
    je_unauthorized, je_refused, je_headers, je_parse, je_created,
    plain_list,
};

/* ---- registry ---------------------------------------------------------- */

const struct sim_prov_def *const sim_provs[SIM_NPROV] = {&pe_def, &sp_def, &fh_def, &pl_def,
                                                         &je_def};

int sim_default_limit(enum sim_prov prov, int widx, const char *plan, uint32_t *out)
{
    if (prov != SIM_PL) {
        *out = sim_provs[prov]->w[widx].limit;
        return 0;
    }
    for (size_t i = 0; i < sizeof pl_plans / sizeof pl_plans[0]; i++) {
        if (plan && strcmp(pl_plans[i].name, plan) == 0) {
            *out = pl_plans[i].limits[widx];
            return 0;
        }
    }
    return -1;
}
