/*
 * DESIGN: the loop side of the calendar API. Runs on HTTP loop threads and
 * never blocks: each handler checks the bearer token, reads the path, the
 * query string or the body into a job input (api_input.c), and hands it to
 * the worker pool, which answers through the request's loop. The token
 * check itself, in constant time, is api_token.h's.
 */
#include "http/api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "http/api_int.h"
#include "http/api_token.h"
#include "provider/provider_id.h"
#include "util/log.h"
#include "util/rfc3339.h"
#include "util/xmalloc.h"

#define LIST_DEFAULT 50
#define LIST_MAX 500
#define PLAN_DEFAULT_MS (7ULL * 24 * 3600 * 1000)

struct api {
    struct api_tokens tokens;
    char *conninfo;
    int skew_ms;
    struct api_pool *pool;
};

struct api *api_start(const struct api_options *opt)
{
    struct api *a = xcalloc(1, sizeof *a);
    api_tokens_init(&a->tokens, opt->tokens);
    if (a->tokens.n == 0)
        log_warn("the /v1 API is disabled: no api_tokens configured (every request gets 401)");
    a->conninfo = xstrdup(opt->conninfo ? opt->conninfo : "");
    a->skew_ms = opt->skew_ms;
    static const char *const prepared[] = {"api_post_check",  "api_posts_json",
                                           "api_posts_list",  "api_post_lock",
                                           "api_post_update", "api_post_retarget",
                                           "api_post_cancel", "api_events_list",
                                           "api_keys_paused", NULL};
    struct api_pool_options po = {a->conninfo, opt->workers, opt->batch_max, prepared};
    a->pool = api_pool_start(&po);
    return a;
}

void api_stop(struct api *a)
{
    if (!a)
        return;
    api_pool_stop(a->pool);
}

void api_destroy(struct api *a)
{
    if (!a)
        return;
    api_pool_destroy(a->pool);
    api_tokens_finish(&a->tokens);
    free(a->conninfo);
    free(a);
}

int api_ready(const struct api *a)
{
    return api_pool_ready(a->pool);
}

static void readyz_work(PGconn *c, struct api_job *j)
{
    static const char ready[] = "{\"status\":\"ready\"}";
    PGresult *r = PQexecParams(c, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        api_job_reply(j, 200, ready, sizeof ready - 1);
    else
        api_job_error(j, 503, "unavailable", "the database is unavailable; retry later", NULL);
    PQclear(r);
}

int api_readyz(struct api *a, h2o_req_t *req)
{
    api_pool_submit(a->pool, req, readyz_work, NULL, NULL);
    return 0;
}

/* ---- authentication ---- */

/* Which configured token the request carries (1 for the first), 0: none. */
static size_t token_ok(const struct api *a, h2o_req_t *req)
{
    static const char prefix[] = "bearer "; /* h2o_lcstris: the scheme is case-insensitive */
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0 || a->tokens.n == 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t n = sizeof prefix - 1;
    if (v.len <= n || !h2o_lcstris(v.base, n, prefix, n))
        return 0;
    return api_tokens_index(&a->tokens, v.base + n, v.len - n);
}

/*
 * Answers 401 and returns 0 when the request carries no valid token, and 422
 * (invalid_query) naming the parameter when its query string holds something that is not
 * text (every route's parameters reach PostgreSQL as text, which refuses
 * invalid UTF-8 and NUL with an error that is not the client's to see).
 */
/* The request's token (1 for the first configured), after its query string
 * is checked; 0 when it was answered (401 or 422). */
static size_t authorized(const struct api *a, h2o_req_t *req)
{
    char bad[64];
    size_t token = token_ok(a, req);
    if (!token) {
        api_send_error(req, 401, "unauthorized",
                       a->tokens.n ? "a valid bearer token is required (Authorization: Bearer TOKEN)"
                                  : "the API is disabled: no tokens are configured",
                       NULL);
        return 0;
    }
    if (api_query_check(req->path.base, req->path.len, req->query_at, bad, sizeof bad) != 0) {
        json_t *details = NULL;
        api_detail(&details, bad, "must be UTF-8 text without NUL once percent-decoded");
        api_send_error(req, 422, "invalid_query", "bad query parameters; details names each",
                       details);
        return 0;
    }
    return token;
}

/* ---- request parts ---- */

static char *query(h2o_req_t *req, const char *name)
{
    return api_query_get(req->path.base, req->path.len, req->query_at, name);
}

/* The {id} of /v1/posts/{id}; 0 and a 404 when it is not a post id. */
static int64_t post_id(h2o_req_t *req)
{
    static const char prefix[] = "/v1/posts/";
    h2o_iovec_t p = req->path_normalized;
    size_t n = sizeof prefix - 1, len = p.len - n;
    int64_t id = 0;
    for (size_t i = 0; i < len && len <= 18; i++) {
        if (p.base[n + i] < '0' || p.base[n + i] > '9') {
            id = 0;
            break;
        }
        id = id * 10 + (p.base[n + i] - '0');
    }
    if (len > 18 || id <= 0)
        api_send_error(req, 404, "not_found", "no such post", NULL);
    return len > 18 ? 0 : id;
}

static void bad_json(h2o_req_t *req)
{
    api_send_error(req, 400, "malformed_json", "the body must be a JSON object", NULL);
}

/* ---- posts ---- */

int api_posts_create(struct api *a, h2o_req_t *req)
{
    if (!authorized(a, req))
        return 0;
    struct api_post_in *in = xcalloc(1, sizeof *in);
    if (api_post_parse(req->entity.base, req->entity.len, 0, in) != 0) {
        api_post_in_free(in);
        bad_json(req);
        return 0;
    }
    api_pool_submit_batched(a->pool, req, api_work_create_batch, in, api_post_in_free);
    return 0;
}

int api_post_get(struct api *a, h2o_req_t *req)
{
    int64_t id;
    if (!authorized(a, req) || !(id = post_id(req)))
        return 0;
    struct api_id_in *in = xcalloc(1, sizeof *in);
    in->id = id;
    api_pool_submit(a->pool, req, api_work_get, in, free);
    return 0;
}

int api_post_delete(struct api *a, h2o_req_t *req)
{
    int64_t id;
    if (!authorized(a, req) || !(id = post_id(req)))
        return 0;
    struct api_id_in *in = xcalloc(1, sizeof *in);
    in->id = id;
    api_pool_submit(a->pool, req, api_work_delete, in, free);
    return 0;
}

int api_post_patch(struct api *a, h2o_req_t *req)
{
    int64_t id;
    if (!authorized(a, req) || !(id = post_id(req)))
        return 0;
    struct api_post_in *in = xcalloc(1, sizeof *in);
    in->id = id;
    if (api_post_parse(req->entity.base, req->entity.len, 1, in) != 0) {
        api_post_in_free(in);
        bad_json(req);
        return 0;
    }
    api_pool_submit(a->pool, req, api_work_patch, in, api_post_in_free);
    return 0;
}

/* ---- query parameters ---- */

static const char *const statuses[] = {"scheduled", "publishing", "submitted", "unconfirmed",
                                       "published", "failed",     "cancelled", "expired"};

static int known_status(const char *s)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(s, statuses[i]) == 0)
            return 1;
    return 0;
}

/*
 * Reads a time with an offset (util/rfc3339.h) into epoch ms text; NULL when
 * absent or bad (then details names the parameter and why). *given says
 * whether it was there and good: 1970-01-01T00:00:00Z is 0 ms, not "absent".
 */
static char *time_param(h2o_req_t *req, const char *name, json_t **details, uint64_t *ms,
                        int *given)
{
    char *v = query(req, name), buf[32], msg[256];
    int64_t us;
    if (!v)
        return NULL;
    enum rfc3339_err e = rfc3339_parse_instant(v, &us);
    free(v);
    if (e != RFC3339_E_OK) {
        snprintf(msg, sizeof msg, "%s (want an RFC 3339 time with an offset: 2026-12-01T09:00:00+01:00)",
                 rfc3339_strerror(e));
        api_detail(details, name, msg);
        return NULL;
    }
    if (ms)
        *ms = (uint64_t)(us / 1000);
    if (given)
        *given = 1;
    snprintf(buf, sizeof buf, "%" PRId64, us / 1000);
    return xstrdup(buf);
}

static int limit_param(h2o_req_t *req, json_t **details)
{
    char *v = query(req, "limit"), *end;
    if (!v)
        return LIST_DEFAULT;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end || n < 1 || n > LIST_MAX)
        api_detail(details, "limit", "must be a whole number from 1 to 500");
    free(v);
    return (int)n;
}

static void read_list_filters(h2o_req_t *req, struct api_list_in *in, json_t **details)
{
    enum prov_id p;
    in->status = query(req, "status");
    if (in->status && !known_status(in->status))
        api_detail(details, "status",
                   "unknown target status (scheduled, publishing, submitted, "
                   "unconfirmed, published, failed, cancelled, expired)");
    in->provider = query(req, "provider");
    if (in->provider && prov_parse(in->provider, strlen(in->provider), &p) != 0)
        api_detail(details, "provider", "unknown provider");
    in->key = query(req, "key");
    in->from_ms = time_param(req, "from", details, NULL, NULL);
    in->to_ms = time_param(req, "to", details, NULL, NULL);
    in->since_ms = time_param(req, "updated_since", details, NULL, NULL);
    in->limit = limit_param(req, details);
    char *cursor = query(req, "cursor");
    if (cursor && api_cursor_decode(cursor, &in->after_us, &in->after_id) != 0)
        api_detail(details, "cursor", "not a cursor this API returned (next_cursor)");
    free(cursor);
}

static void invalid_query(h2o_req_t *req, json_t *details)
{
    api_send_error(req, 422, "invalid_query", "bad query parameters; details names each", details);
}

int api_posts_list(struct api *a, h2o_req_t *req)
{
    if (!authorized(a, req))
        return 0;
    struct api_list_in *in = xcalloc(1, sizeof *in);
    json_t *details = NULL;
    read_list_filters(req, in, &details);
    if (details) {
        api_list_in_free(in);
        invalid_query(req, details);
        return 0;
    }
    api_pool_submit(a->pool, req, api_work_list, in, api_list_in_free);
    return 0;
}

int api_limits(struct api *a, h2o_req_t *req)
{
    if (!authorized(a, req))
        return 0;
    struct api_read_in *in = xcalloc(1, sizeof *in);
    json_t *details = NULL;
    enum prov_id p;
    in->conninfo = xstrdup(a->conninfo);
    in->skew_ms = a->skew_ms;
    in->provider = query(req, "provider");
    if (in->provider && prov_parse(in->provider, strlen(in->provider), &p) != 0)
        api_detail(&details, "provider", "unknown provider");
    in->key = query(req, "key");
    if (details) {
        api_read_in_free(in);
        invalid_query(req, details);
        return 0;
    }
    api_pool_submit(a->pool, req, api_work_limits, in, api_read_in_free);
    return 0;
}

int api_events(struct api *a, h2o_req_t *req)
{
    if (!authorized(a, req))
        return 0;
    struct api_list_in *in = xcalloc(1, sizeof *in);
    json_t *details = NULL;
    enum prov_id p;
    in->status = query(req, "state");
    if (!in->status)
        in->status = xstrdup("unmatched");
    else if (strcmp(in->status, "unmatched") != 0 && strcmp(in->status, "unreadable") != 0 &&
             strcmp(in->status, "pending") != 0 && strcmp(in->status, "matched") != 0)
        api_detail(&details, "state", "unmatched, pending, unreadable or matched");
    in->provider = query(req, "provider");
    if (in->provider && prov_parse(in->provider, strlen(in->provider), &p) != 0)
        api_detail(&details, "provider", "unknown provider");
    in->limit = limit_param(req, &details);
    if (details) {
        api_list_in_free(in);
        invalid_query(req, details);
        return 0;
    }
    api_pool_submit(a->pool, req, api_work_events, in, api_list_in_free);
    return 0;
}

int api_keys(struct api *a, h2o_req_t *req)
{
    if (!authorized(a, req))
        return 0;
    struct api_read_in *in = xcalloc(1, sizeof *in);
    in->conninfo = xstrdup(a->conninfo);
    in->skew_ms = a->skew_ms;
    api_pool_submit(a->pool, req, api_work_keys, in, api_read_in_free);
    return 0;
}

int api_plan(struct api *a, h2o_req_t *req)
{
    if (!authorized(a, req))
        return 0;
    struct api_read_in *in = xcalloc(1, sizeof *in);
    json_t *details = NULL;
    in->conninfo = xstrdup(a->conninfo);
    in->skew_ms = a->skew_ms;
    free(time_param(req, "from", &details, &in->from_ms, &in->has_from));
    free(time_param(req, "to", &details, &in->to_ms, &in->has_to));
    if (!details && in->has_to && in->has_from && in->to_ms <= in->from_ms)
        api_detail(&details, "to", "must be later than from");
    if (details) {
        api_read_in_free(in);
        invalid_query(req, details);
        return 0;
    }
    api_pool_submit(a->pool, req, api_work_plan, in, api_read_in_free);
    return 0;
}

/* ---- operator control ---- */

/* POST /v1/keys/pause and /v1/keys/resume: {"key": ID|LABEL} | {"provider": P} | {"all": true}. */
static int keys_pause(struct api *a, h2o_req_t *req, int pause)
{
    size_t token = authorized(a, req);
    if (!token)
        return 0;
    json_t *body = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        bad_json(req);
        return 0;
    }
    struct api_pause_in *in = xcalloc(1, sizeof *in);
    json_t *details = NULL;
    const char *name;
    json_t *v;
    json_object_foreach(body, name, v) {
        if (strcmp(name, "key") == 0 && json_is_string(v) && json_string_length(v) > 0)
            in->key = xstrdup(json_string_value(v));
        else if (strcmp(name, "provider") == 0 && json_is_string(v))
            in->provider = xstrdup(json_string_value(v));
        else if (strcmp(name, "all") == 0 && json_is_true(v))
            in->all = 1;
        else
            api_detail(&details, name,
                       strcmp(name, "key") == 0        ? "a key id or label"
                       : strcmp(name, "provider") == 0 ? "a provider name"
                       : strcmp(name, "all") == 0      ? "true, or leave it out"
                                                       : "unknown field");
    }
    json_decref(body);
    enum prov_id p;
    if (in->provider && prov_parse(in->provider, strlen(in->provider), &p) != 0)
        api_detail(&details, "provider", "unknown provider");
    if (!details && !in->key && !in->provider && !in->all)
        api_detail(&details, "key", "name the keys: key, provider, or all: true");
    if (!details && in->all && (in->key || in->provider))
        api_detail(&details, "all", "all takes no key or provider");
    if (details) {
        api_pause_in_free(in);
        api_send_error(req, 422, "invalid_request", "the keys are not named right; details says how",
                       details);
        return 0;
    }
    in->pause = pause;
    snprintf(in->actor, sizeof in->actor, "api:token-%zu", token);
    api_pool_submit(a->pool, req, api_work_pause, in, api_pause_in_free);
    return 0;
}

int api_keys_pause(struct api *a, h2o_req_t *req)
{
    return keys_pause(a, req, 1);
}

int api_keys_resume(struct api *a, h2o_req_t *req)
{
    return keys_pause(a, req, 0);
}

/* ---- for the routes of other files (api_int.h) ---- */

size_t api_authorize(struct api *a, h2o_req_t *req)
{
    return authorized(a, req);
}

void api_submit(struct api *a, h2o_req_t *req, api_work_fn work, void *in, void (*free_in)(void *))
{
    api_pool_submit(a->pool, req, work, in, free_in);
}

/* POST /v1/targets/retry and /v1/targets/cancel (control.h: one selector, one statement). */
static int targets_action(struct api *a, h2o_req_t *req, enum ctl_action action)
{
    size_t token = authorized(a, req);
    if (!token)
        return 0;
    struct api_targets_in *in = xcalloc(1, sizeof *in);
    json_t *details = NULL;
    if (api_targets_parse(req->entity.base, req->entity.len, action == CTL_RETRY, in, &details) !=
        0) {
        api_targets_in_free(in);
        bad_json(req);
        return 0;
    }
    if (details) {
        api_targets_in_free(in);
        api_send_error(req, 422, "invalid_request",
                       "the targets are not named right; details says how", details);
        return 0;
    }
    in->action = action;
    snprintf(in->actor, sizeof in->actor, "api:token-%zu", token);
    api_pool_submit(a->pool, req, api_work_targets, in, api_targets_in_free);
    return 0;
}

int api_targets_retry(struct api *a, h2o_req_t *req)
{
    return targets_action(a, req, CTL_RETRY);
}

int api_targets_cancel(struct api *a, h2o_req_t *req)
{
    return targets_action(a, req, CTL_CANCEL);
}
