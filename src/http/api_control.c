/*
 * DESIGN: the API's side of operator control: the action itself and its
 * audit row are control.h's one statement, so the API and the CLI cannot
 * drift apart. Body reading (api_targets_parse) runs on a loop thread, the
 * api_work_* functions on API workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "http/api_int.h"
#include "provider/provider_id.h"
#include "util/log.h"
#include "util/xmalloc.h"

void api_pause_in_free(void *p)
{
    struct api_pause_in *in = p;
    free(in->key), free(in->provider), free(in);
}

void api_work_pause(PGconn *c, struct api_job *j)
{
    const struct api_pause_in *in = api_job_input(j);
    char err[512];
    json_t *keys = ctl_pause(c, in->actor, in->pause, in->key, in->provider, err, sizeof err);
    if (!keys) {
        log_error("cannot change the keys", LOG_STR("reason", err));
        api_job_error(j, 500, "internal", "the request could not be completed", NULL);
        return;
    }
    if (json_array_size(keys) == 0) {
        json_decref(keys);
        api_job_error(j, 404, "not_found", "no enabled key matches", NULL);
        return;
    }
    json_t *o = json_pack("{s:o}", "keys", keys);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    api_job_reply(j, 200, body, strlen(body));
    free(body);
}

/* ---- POST /v1/targets/retry and /v1/targets/cancel ---- */

void api_targets_in_free(void *p)
{
    struct api_targets_in *in = p;
    free(in->key), free(in->provider), free(in->error_code), free(in);
}

/* A text member (key, provider, error_code): a non-empty string. */
static int text_member(json_t *v, char **out)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200)
        return -1;
    *out = xstrdup(json_string_value(v));
    return 0;
}

/* An id member: a positive whole number (or its decimal text). */
static int id_member(json_t *v, char *out)
{
    char buf[32];
    if (json_is_integer(v) && json_integer_value(v) > 0)
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) < sizeof buf)
        snprintf(buf, sizeof buf, "%s", json_string_value(v));
    else
        return -1;
    return ctl_parse_id(buf, out);
}

/* One member of the body; 0, or -1 with the reason in *why. */
static int targets_member(struct api_targets_in *in, int retry, const char *name, json_t *v,
                          const char **why)
{
    enum prov_id p;
    if (strcmp(name, "target_id") == 0 || strcmp(name, "post_id") == 0) {
        *why = "a positive whole number";
        return id_member(v, name[0] == 't' ? in->target_id : in->post_id);
    }
    if (strcmp(name, "key") == 0 && json_is_integer(v)) {
        *why = "a key id or label";
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        in->key = xstrdup(buf);
        return 0;
    }
    if (strcmp(name, "key") == 0 || strcmp(name, "error_code") == 0) {
        *why = name[0] == 'k' ? "a key id or label" : "an error code (1 to 200 characters)";
        return text_member(v, name[0] == 'k' ? &in->key : &in->error_code);
    }
    if (strcmp(name, "provider") == 0) {
        *why = "unknown provider";
        return json_is_string(v) && text_member(v, &in->provider) == 0 &&
                       prov_parse(in->provider, strlen(in->provider), &p) == 0
                   ? 0
                   : -1;
    }
    if (strcmp(name, "since") == 0 || strcmp(name, "until") == 0) {
        *why = "an RFC 3339 time with an offset: 2026-12-01T09:00:00+01:00";
        return json_is_string(v) &&
                       !ctl_parse_time(json_string_value(v),
                                       name[0] == 's' ? in->since_ms : in->until_ms)
                   ? 0
                   : -1;
    }
    if (strcmp(name, "dry_run") == 0 || (retry && strcmp(name, "force") == 0)) {
        *why = "true or false";
        if (!json_is_boolean(v))
            return -1;
        *(name[0] == 'd' ? &in->dry_run : &in->force) = json_is_true(v);
        return 0;
    }
    *why = "unknown field";
    return -1;
}

/* The job's selector as control.h takes it ("" is not given). */
static struct ctl_select select_of(const struct api_targets_in *in)
{
    return (struct ctl_select){*in->target_id ? in->target_id : NULL,
                               *in->post_id ? in->post_id : NULL,
                               in->key,
                               in->provider,
                               in->error_code,
                               *in->since_ms ? in->since_ms : NULL,
                               *in->until_ms ? in->until_ms : NULL};
}

int api_targets_parse(const char *body, size_t len, int retry, struct api_targets_in *in,
                      json_t **details)
{
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    const char *name, *why;
    json_t *v;
    json_object_foreach(root, name, v) {
        if (targets_member(in, retry, name, v, &why) != 0)
            api_detail(details, name, why);
    }
    json_decref(root);
    struct ctl_select sel = select_of(in);
    if (!*details && sel.since_ms && sel.until_ms && atoll(sel.until_ms) <= atoll(sel.since_ms))
        api_detail(details, "until", "must be later than since");
    if (!*details && ctl_select_empty(&sel))
        api_detail(details, "target_id",
                   "name the targets: target_id, post_id, or a filter (key, provider, "
                   "error_code, since, until)");
    return 0;
}

void api_work_targets(PGconn *c, struct api_job *j)
{
    const struct api_targets_in *in = api_job_input(j);
    struct ctl_select sel = select_of(in);
    char err[512];
    char *doc = ctl_targets(c, in->actor, (enum ctl_action)in->action, &sel, in->dry_run,
                            in->force, err, sizeof err);
    if (!doc) {
        log_error("cannot change the targets", LOG_STR("reason", err));
        api_job_error(j, 500, "internal", "the request could not be completed", NULL);
        return;
    }
    api_job_reply(j, 200, doc, strlen(doc));
    free(doc);
}
