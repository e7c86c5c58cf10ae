/*
 * DESIGN: GET /v1/limits, /v1/plan and /v1/keys on an API worker. All three
 * need the live limiter state (every key's history replayed), which the plan
 * module builds for the `limits` and `plan` commands (plan_view_open); they
 * read it through a session of their own, opened per request and closed
 * after, so the worker's connection stays free of their long reads.
 * /v1/limits is exactly `postpace limits --json` (cmd_limits_json); /v1/plan
 * produces the document of `postpace plan --json` from the same simulation
 * (plan_run); /v1/keys is `postpace status --json` (status_keys_json).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db/db.h"
#include "http/api_int.h"
#include "plan/view.h"
#include "plan/commands.h"
#include "plan/plan.h"
#include "provider/provider.h"
#include "status.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define WEEK_MS (7ULL * 24 * 3600 * 1000)

static int open_read_session(struct api_job *j, const struct api_read_in *in, struct plan_view *db)
{
    if (plan_view_open(db, in->conninfo, in->skew_ms) == 0)
        return 0;
    api_job_error(j, 503, "unavailable", "the limits could not be read; retry later", NULL);
    return -1;
}

/* Adds "paused" to each key of /v1/limits, from the worker's own connection. 0 or -1. */
static int add_paused(PGconn *c, json_t *keys)
{
    char err[512];
    PGresult *r = db_exec_named(c, "api_keys_paused", 0, NULL, err, sizeof err);
    if (!r) {
        log_warn("cannot read which keys are paused", LOG_STR("reason", err));
        return -1;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        json_int_t id = json_integer_value(json_object_get(k, "id"));
        int paused = 0;
        for (int row = 0; row < PQntuples(r); row++)
            if (strtoll(PQgetvalue(r, row, 0), NULL, 10) == id)
                paused = PQgetvalue(r, row, 1)[0] == 't';
        json_object_set_new(k, "paused", json_boolean(paused));
    }
    PQclear(r);
    return 0;
}

void api_work_limits(PGconn *c, struct api_job *j)
{
    const struct api_read_in *in = api_job_input(j);
    struct plan_view db;
    if (open_read_session(j, in, &db) != 0)
        return;
    json_t *root = cmd_limits_json(&db, in->provider, in->key, clk_now_ms(clk_real));
    plan_view_close(&db);
    if (root && add_paused(c, json_object_get(root, "keys")) != 0) {
        json_decref(root);
        api_job_error(j, 503, "unavailable", "the limits could not be read; retry later", NULL);
        return;
    }
    if (!root)
        api_job_error(j, 422, "invalid_query", "bad query parameters; details names each",
                      json_pack("{s:s}", "provider", "unknown provider"));
    else
        api_job_reply_json(j, 200, root);
}

/* GET /v1/keys: `postpace status --json`, from the same builder (status.h). Without a
 * forecast (its session could not be opened) the keys still come, eta_state "unknown". */
void api_work_keys(PGconn *c, struct api_job *j)
{
    const struct api_read_in *in = api_job_input(j);
    uint64_t now = clk_now_ms(clk_real);
    struct plan_view db;
    int have_view = plan_view_open(&db, in->conninfo, in->skew_ms) == 0;
    char err[512];
    json_t *doc = status_keys_json(c, have_view ? &db : NULL, now, err, sizeof err);
    if (have_view)
        plan_view_close(&db);
    if (!doc) {
        log_error("cannot read the keys", LOG_STR("reason", err));
        api_job_error(j, 503, "unavailable", "the keys could not be read; retry later", NULL);
        return;
    }
    api_job_reply_json(j, 200, doc);
}

/* ---- plan ---- */

struct plan_doc {
    const struct plan_view *db;
    struct plan_key *keys;
    struct plan_target *targets;
    size_t ntargets;
    struct plan_result *res;
    size_t nres;
    struct plan_summary sum;
    struct plan_opts opts;
};

static json_t *time_json(uint64_t ms)
{
    char buf[40];
    plan_format_time(ms, buf, sizeof buf);
    return json_string(buf);
}

static int decided(const struct plan_result *r)
{
    return r->state == PLAN_ON_TIME || r->state == PLAN_LATE || r->state == PLAN_NEVER ||
           (r->state == PLAN_BEYOND && r->leave_ms);
}

static json_t *binding_json(const struct plan_doc *d, const struct plan_result *r)
{
    char binding[200];
    if (!decided(r))
        return json_null();
    plan_describe(d->db->snap.reg.limits, d->db->labels, &r->why, binding, sizeof binding);
    return *binding ? json_string(binding) : json_null();
}

static json_t *result_json(const struct plan_doc *d, const struct plan_result *r)
{
    const struct reg_key *k = &d->db->snap.reg.keys[r->key];
    json_t *ids = json_array();
    for (uint32_t i = 0; i < r->ntargets; i++)
        json_array_append_new(ids, json_integer(d->targets[r->first + i].id));
    int leaves = r->state != PLAN_IN_FLIGHT && r->state != PLAN_NEVER && r->leave_ms;
    return json_pack("{s:I, s:I, s:s, s:s, s:o, s:I, s:o, s:o, s:o, s:I, s:s, s:o, s:o}", "post_id",
                     (json_int_t)r->post_id, "key_id", (json_int_t)k->id, "provider",
                     prov_name(k->provider), "key", k->label, "target_ids", ids, "accounts",
                     (json_int_t)r->ntargets, "due_at", time_json(r->due_ms), "scheduled_at",
                     time_json(r->scheduled_ms), "leaves_at",
                     leaves ? time_json(r->leave_ms) : json_null(), "late_ms",
                     (json_int_t)r->late_ms, "state", plan_state_name(r->state), "reason",
                     decided(r) ? json_string(plan_reason_name(r->why.reason)) : json_null(),
                     "binding", binding_json(d, r));
}

static json_t *plan_json(const struct plan_doc *d)
{
    json_t *requests = json_array();
    for (size_t i = 0; i < d->nres; i++)
        if (!d->res[i].before_range)
            json_array_append_new(requests, result_json(d, &d->res[i]));
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "now", time_json(d->opts.now_ms), "from",
                     time_json(d->opts.from_ms), "to", time_json(d->opts.to_ms), "summary",
                     plan_view_summary_json(d->db, d->res, &d->sum), "requests", requests);
}

/* The range as `postpace plan` takes it: from now (or from), for 7 days (or to). */
static int plan_range(struct api_job *j, const struct api_read_in *in, struct plan_opts *o)
{
    o->now_ms = o->from_ms = clk_now_ms(clk_real);
    if (in->has_from)
        o->from_ms = in->from_ms;
    o->to_ms = in->has_to ? in->to_ms : o->from_ms + WEEK_MS;
    if (o->to_ms > o->from_ms)
        return 0;
    api_job_error(j, 422, "invalid_query", "bad query parameters; details names each",
                  json_pack("{s:s}", "to", "must be later than from"));
    return -1;
}

void api_work_plan(PGconn *c, struct api_job *j)
{
    const struct api_read_in *in = api_job_input(j);
    struct plan_doc d;
    memset(&d, 0, sizeof d);
    if (plan_range(j, in, &d.opts) != 0)
        return;
    struct plan_view db;
    if (open_read_session(j, in, &db) != 0)
        return;
    d.db = &db;
    d.keys = plan_view_keys(&db);
    char err[512];
    if (plan_view_targets(&db, d.keys, d.opts.to_ms, &d.targets, &d.ntargets, err, sizeof err) ==
        0) {
        plan_run(db.snap.reg.limits, d.keys, db.snap.reg.nkeys, d.targets, d.ntargets, &d.opts,
                 &d.res, &d.nres, &d.sum);
        api_job_reply_json(j, 200, plan_json(&d));
        free(d.res);
    } else {
        log_error("cannot read the calendar", LOG_STR("reason", err));
        api_job_error(j, 503, "unavailable", "the calendar could not be read; retry later", NULL);
    }
    free(d.targets);
    free(d.keys);
    plan_view_close(&db);
}

/* ---- webhook events ---- */

/* GET /v1/events: the stored events in one state (sql/api_events_list.sql).
 * The array is passed through as PostgreSQL wrote it, never parsed again: a
 * payload may hold numbers beyond what jansson reads as integers. */
void api_work_events(PGconn *c, struct api_job *j)
{
    const struct api_list_in *in = api_job_input(j);
    char err[512], limit[16];
    snprintf(limit, sizeof limit, "%d", in->limit);
    const char *params[] = {in->status, in->provider, limit};
    PGresult *r = db_exec_named(c, "api_events_list", 3, params, err, sizeof err);
    if (!r) {
        log_error("cannot list webhook events", LOG_STR("reason", err));
        api_job_error(j, 500, "internal", "the request could not be completed", NULL);
        return;
    }
    char *body = xasprintf("{\"events\":%s}", PQgetvalue(r, 0, 0));
    PQclear(r);
    api_job_reply(j, 200, body, strlen(body));
    free(body);
}
