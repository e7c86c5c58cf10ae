/*
 * DESIGN: the /v1 routes of outgoing webhooks. Requests are read and checked
 * on the loop thread (every field a bad request gets wrong is named in
 * details); the statements are deliveries.h's, run on an API worker, the
 * same ones the CLI runs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliveries.h"
#include "http/api.h"
#include "http/api_int.h"
#include "provider/provider_id.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define LIST_DEFAULT 100
#define LIST_MAX 500

struct outbox_in {
    char actor[64];
    char *state, *url, *secret_ref, *provider, *key;
    const char *events[16];
    int64_t id, subscription, post;
    int dead, limit;
};

static void outbox_in_free(void *p)
{
    struct outbox_in *in = p;
    free(in->state), free(in->url), free(in->secret_ref), free(in->provider), free(in->key);
    free(in);
}

static void internal(struct api_job *j, const char *what, const char *err)
{
    log_error(what, LOG_STR("reason", err));
    api_job_error(j, 500, "internal", "the request could not be completed", NULL);
}

/* A positive id from text; 0 if it is not one. */
static int64_t parse_id(const char *v)
{
    char *end;
    long long n = v && *v ? strtoll(v, &end, 10) : 0;
    return n > 0 && !*end && n <= INT64_MAX / 2 ? n : 0;
}

static char *query(h2o_req_t *req, const char *name)
{
    return api_query_get(req->path.base, req->path.len, req->query_at, name);
}

static void invalid(h2o_req_t *req, json_t *details, const char *message)
{
    api_send_error(req, 422, "invalid_request", message, details);
}

/* Answers 422 with details when there are any; else hands the job, as token's, to a worker. */
static int submit(struct api *a, h2o_req_t *req, size_t token, struct outbox_in *in,
                  json_t *details, const char *refused, api_work_fn work)
{
    if (details) {
        outbox_in_free(in);
        invalid(req, details, refused);
        return 0;
    }
    snprintf(in->actor, sizeof in->actor, "api:token-%zu", token);
    api_submit(a, req, work, in, outbox_in_free);
    return 0;
}

/* Query parameter `name`: a whole number from 1 to max, else `absent` when not given;
 * anything else is named in details. */
static int64_t positive_param(h2o_req_t *req, const char *name, int64_t max, int64_t absent,
                              json_t **details)
{
    char *v = query(req, name);
    int64_t n = v ? parse_id(v) : absent;
    if (v && (!n || n > max)) {
        char why[64];
        snprintf(why, sizeof why, "must be a whole number from 1 to %" PRId64, max);
        api_detail(details, name, max == LIST_MAX ? why : "must be a positive id");
    }
    free(v);
    return n;
}

/* ---- GET /v1/deliveries ---- */

static void work_list(PGconn *c, struct api_job *j)
{
    const struct outbox_in *in = api_job_input(j);
    char err[512];
    json_t *list = dlv_list(c, in->state, in->subscription, in->post, in->limit, err, sizeof err);
    if (!list)
        return internal(j, "cannot list deliveries", err);
    api_job_reply_json(j, 200, json_pack("{s:o}", "deliveries", list));
}

int api_deliveries(struct api *a, h2o_req_t *req)
{
    if (!api_authorize(a, req))
        return 0;
    struct outbox_in *in = xcalloc(1, sizeof *in);
    json_t *details = NULL;
    in->state = query(req, "state");
    if (in->state && !dlv_state_known(in->state))
        api_detail(&details, "state", "pending, delivered or dead");
    in->subscription = positive_param(req, "subscription", INT64_MAX / 2, 0, &details);
    in->post = positive_param(req, "post", INT64_MAX / 2, 0, &details);
    in->limit = (int)positive_param(req, "limit", LIST_MAX, LIST_DEFAULT, &details);
    if (details) {
        outbox_in_free(in);
        api_send_error(req, 422, "invalid_query", "bad query parameters; details names each",
                       details);
        return 0;
    }
    api_submit(a, req, work_list, in, outbox_in_free);
    return 0;
}

/* ---- POST /v1/deliveries/replay ---- */

static void work_replay(PGconn *c, struct api_job *j)
{
    const struct outbox_in *in = api_job_input(j);
    char err[512];
    json_t *ids = dlv_replay(c, in->actor, in->id, in->dead, in->subscription, err, sizeof err);
    if (!ids)
        return internal(j, "cannot replay deliveries", err);
    if (in->id && json_array_size(ids) == 0) {
        json_decref(ids);
        api_job_error(j, 404, "not_found", "no such delivery", NULL);
        return;
    }
    api_job_reply_json(j, 200, json_pack("{s:I,s:o}", "replayed", (json_int_t)json_array_size(ids),
                                         "ids", ids));
}

/* The body as an object (400 answered and NULL when it is not one). */
static json_t *object_body(h2o_req_t *req)
{
    json_t *body = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        api_send_error(req, 400, "malformed_json", "the body must be a JSON object", NULL);
        return NULL;
    }
    return body;
}

static int64_t json_id(json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
}

int api_deliveries_replay(struct api *a, h2o_req_t *req)
{
    size_t token = api_authorize(a, req);
    if (!token)
        return 0;
    json_t *body = object_body(req);
    if (!body)
        return 0;
    struct outbox_in *in = xcalloc(1, sizeof *in);
    json_t *details = NULL;
    const char *name;
    json_t *v;
    json_object_foreach(body, name, v)
    {
        if (strcmp(name, "id") == 0 && json_id(v))
            in->id = json_id(v);
        else if (strcmp(name, "subscription") == 0 && json_id(v))
            in->subscription = json_id(v);
        else if (strcmp(name, "dead") == 0 && json_is_boolean(v))
            in->dead = json_is_true(v);
        else
            api_detail(&details, name,
                       strcmp(name, "dead") == 0 ? "true or false"
                       : strcmp(name, "id") == 0 || strcmp(name, "subscription") == 0
                           ? "a positive id"
                           : "unknown field");
    }
    json_decref(body);
    if (!details && !in->id == !in->dead)
        api_detail(&details, "id", "name what to replay: id, or dead: true");
    return submit(a, req, token, in, details, "nothing replayed; details says why", work_replay);
}

/* ---- subscriptions ---- */

static void work_subscriptions(PGconn *c, struct api_job *j)
{
    char err[512];
    json_t *list = dlv_subscriptions(c, err, sizeof err);
    if (!list)
        return internal(j, "cannot list subscriptions", err);
    api_job_reply_json(j, 200, json_pack("{s:o}", "subscriptions", list));
}

int api_subscriptions(struct api *a, h2o_req_t *req)
{
    if (!api_authorize(a, req))
        return 0;
    api_submit(a, req, work_subscriptions, xcalloc(1, sizeof(struct outbox_in)), outbox_in_free);
    return 0;
}

static void work_subscribe(PGconn *c, struct api_job *j)
{
    const struct outbox_in *in = api_job_input(j);
    char err[512];
    int64_t id = dlv_subscribe(c, in->actor, in->url, in->secret_ref, in->events, in->provider,
                               in->key, err, sizeof err);
    if (id < 0)
        return internal(j, "cannot subscribe", err);
    if (id == 0) {
        json_t *details = NULL;
        api_detail(&details, "key", "no such key");
        api_job_error(j, 422, "invalid_request", "nothing subscribed; details says why", details);
        return;
    }
    api_job_reply_json(j, 201, json_pack("{s:I}", "id", (json_int_t)id));
}

static void read_events(json_t *v, struct outbox_in *in, json_t **details)
{
    size_t i, n = 0;
    json_t *e;
    if (!json_is_array(v) || json_array_size(v) > 15) {
        api_detail(details, "events", "an array of event types");
        return;
    }
    json_array_foreach(v, i, e)
    {
        size_t k = 0;
        while (dlv_event_types[k] &&
               !(json_is_string(e) && strcmp(dlv_event_types[k], json_string_value(e)) == 0))
            k++;
        if (!dlv_event_types[k]) {
            api_detail(details, "events",
                       "unknown event type (post.published, post.failed, post.unconfirmed, "
                       "post.expired, key.paused, key.quota_exhausted)");
            return;
        }
        in->events[n++] = dlv_event_types[k];
    }
}

int api_subscribe(struct api *a, h2o_req_t *req)
{
    size_t token = api_authorize(a, req);
    if (!token)
        return 0;
    json_t *body = object_body(req);
    if (!body)
        return 0;
    struct outbox_in *in = xcalloc(1, sizeof *in);
    json_t *details = NULL;
    const char *name;
    json_t *v;
    json_object_foreach(body, name, v)
    {
        const char *s = json_string_value(v);
        if (strcmp(name, "url") == 0 && s &&
            (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
            !strpbrk(s, " \t\r\n"))
            in->url = xstrdup(s);
        else if (strcmp(name, "secret_ref") == 0 && s &&
                 (strncmp(s, "env:", 4) == 0 || strncmp(s, "file:/", 6) == 0))
            in->secret_ref = xstrdup(s);
        else if (strcmp(name, "events") == 0)
            read_events(v, in, &details);
        else if (strcmp(name, "provider") == 0 && s)
            in->provider = xstrdup(s);
        else if (strcmp(name, "key") == 0 && s && *s)
            in->key = xstrdup(s);
        else
            api_detail(&details, name,
                       strcmp(name, "url") == 0 ? "an http:// or https:// URL"
                       : strcmp(name, "secret_ref") == 0
                           ? "env:NAME or file:/path, where the whsec_ secret lives (never the "
                             "secret)"
                       : strcmp(name, "provider") == 0 ? "a provider name"
                       : strcmp(name, "key") == 0      ? "a key id or label"
                                                       : "unknown field");
    }
    json_decref(body);
    enum prov_id p;
    if (in->provider && prov_parse(in->provider, strlen(in->provider), &p) != 0)
        api_detail(&details, "provider", "unknown provider");
    if (!in->url && !(details && json_object_get(details, "url")))
        api_detail(&details, "url", "required");
    if (!in->secret_ref && !(details && json_object_get(details, "secret_ref")))
        api_detail(&details, "secret_ref", "required");
    return submit(a, req, token, in, details, "nothing subscribed; details says why",
                  work_subscribe);
}

static void work_unsubscribe(PGconn *c, struct api_job *j)
{
    const struct outbox_in *in = api_job_input(j);
    char err[512];
    int n = dlv_unsubscribe(c, in->actor, in->id, err, sizeof err);
    if (n < 0)
        return internal(j, "cannot unsubscribe", err);
    if (n == 0) {
        api_job_error(j, 404, "not_found", "no such subscription", NULL);
        return;
    }
    api_job_reply_json(j, 200, json_pack("{s:I,s:b}", "id", (json_int_t)in->id, "removed", 1));
}

int api_unsubscribe(struct api *a, h2o_req_t *req)
{
    size_t token = api_authorize(a, req);
    if (!token)
        return 0;
    static const char prefix[] = "/v1/subscriptions/";
    h2o_iovec_t path = req->path_normalized;
    char id_text[24] = "";
    size_t n = path.len - (sizeof prefix - 1);
    if (n < sizeof id_text)
        memcpy(id_text, path.base + sizeof prefix - 1, n), id_text[n] = '\0';
    int64_t id = parse_id(id_text);
    if (!id) {
        api_send_error(req, 404, "not_found", "no such subscription", NULL);
        return 0;
    }
    struct outbox_in *in = xcalloc(1, sizeof *in);
    in->id = id;
    return submit(a, req, token, in, NULL, NULL, work_unsubscribe);
}
