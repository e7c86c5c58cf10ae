/*
 * DESIGN: labels are the plan module's words for buckets, so they are made
 * here, on top of the registry's snapshot, from the same rows the registry
 * built the buckets from (so they match exactly).
 */
#include "plan/view.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "provider/provider.h"
#include "util/log.h"
#include "util/xmalloc.h"

static void label_keys(struct plan_view *v)
{
    const struct registry *reg = &v->snap.reg;
    size_t nb = lim_set_nbuckets(reg->limits);
    v->labels = xcalloc(nb ? nb : 1, sizeof *v->labels);
    for (size_t i = 0; i < reg->nkeys; i++) {
        const struct reg_key *k = &reg->keys[i];
        if (k->provider < PROV_COUNT)
            plan_label_buckets(reg->limits, v->snap.rows, v->snap.nrows, prov_name(k->provider),
                               k->plan, k->id, k->buckets, k->nbuckets, v->labels);
    }
}

int plan_view_open(struct plan_view *v, const char *conninfo, int skew_ms)
{
    char err[512];
    memset(v, 0, sizeof *v);
    if (regsnap_open(&v->snap, conninfo, skew_ms, err, sizeof err) != 0) {
        log_error("cannot read the keys and their limits", LOG_STR("reason", err));
        return -1;
    }
    label_keys(v);
    return 0;
}

void plan_view_close(struct plan_view *v)
{
    regsnap_close(&v->snap);
    free(v->labels);
    memset(v, 0, sizeof *v);
}

struct plan_key *plan_view_keys(const struct plan_view *v)
{
    const struct registry *r = &v->snap.reg;
    struct plan_key *keys = xcalloc(r->nkeys ? r->nkeys : 1, sizeof *keys);
    for (size_t i = 0; i < r->nkeys; i++) {
        const struct reg_key *k = &r->keys[i];
        keys[i].buckets = k->buckets;
        keys[i].nbuckets = k->nbuckets;
        keys[i].route = k->provider < PROV_COUNT ? prov_create_route(k->provider) : NULL;
        keys[i].max_batch = 1;
        if (keys[i].route && r->providers[k->provider].batch_accounts)
            keys[i].max_batch = (uint32_t)prov_ops(k->provider)->max_batch;
    }
    return keys;
}

/* Reads row i into t; returns 0, or -1 when its key is not plannable. */
static int read_target(PGresult *res, int i, const struct registry *r, const struct plan_key *keys,
                       struct plan_target *t)
{
    const struct reg_key *k = reg_key_by_id(r, atoll(PQgetvalue(res, i, 2)));
    if (!k || !keys[k - r->keys].route)
        return -1;
    t->id = atoll(PQgetvalue(res, i, 0));
    t->post_id = atoll(PQgetvalue(res, i, 1));
    t->key = (uint32_t)(k - r->keys);
    t->due_ms = (uint64_t)atoll(PQgetvalue(res, i, 3));
    t->scheduled_ms = (uint64_t)atoll(PQgetvalue(res, i, 4));
    t->in_flight = strcmp(PQgetvalue(res, i, 5), "t") == 0;
    return 0;
}

int plan_view_targets(const struct plan_view *v, const struct plan_key *keys, uint64_t to_ms,
                      struct plan_target **out, size_t *n, char *err, size_t errlen)
{
    char to[32];
    snprintf(to, sizeof to, "%" PRIu64, to_ms);
    const char *params[] = {to};
    PGresult *res = db_exec(v->snap.conn, "plan_targets", 1, params, err, errlen);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    *out = xcalloc((size_t)(rows ? rows : 1), sizeof **out);
    *n = 0;
    for (int i = 0; i < rows; i++)
        *n += read_target(res, i, &v->snap.reg, keys, &(*out)[*n]) == 0;
    PQclear(res);
    return 0;
}

static json_t *exhausted_json(const struct plan_view *v, const struct plan_result *res,
                              const struct plan_summary *sum)
{
    if (sum->exhausted < 0)
        return json_null();
    const struct plan_result *r = &res[sum->exhausted];
    const struct reg_key *k = &v->snap.reg.keys[r->key];
    char binding[200], at[40];
    plan_describe(v->snap.reg.limits, v->labels, &r->why, binding, sizeof binding);
    plan_format_time(sum->exhausted_at, at, sizeof at);
    return json_pack("{s:I, s:s, s:s, s:I, s:s, s:s}", "key_id", (json_int_t)k->id, "provider",
                     prov_name(k->provider), "key", k->label, "post_id", (json_int_t)r->post_id,
                     "window", binding, "at", at);
}

json_t *plan_view_summary_json(const struct plan_view *v, const struct plan_result *res,
                               const struct plan_summary *sum)
{
    json_t *o = json_object();
    json_object_set_new(o, "requests", json_integer((json_int_t)sum->requests));
    json_object_set_new(o, "posts", json_integer((json_int_t)sum->posts));
    json_object_set_new(o, "targets", json_integer((json_int_t)sum->targets));
    json_object_set_new(o, "on_time", json_integer((json_int_t)sum->on_time));
    json_object_set_new(o, "late", json_integer((json_int_t)sum->late));
    json_object_set_new(o, "never", json_integer((json_int_t)sum->never));
    json_object_set_new(o, "beyond", json_integer((json_int_t)sum->beyond));
    json_object_set_new(o, "in_flight", json_integer((json_int_t)sum->in_flight));
    json_object_set_new(o, "max_late_ms", json_integer((json_int_t)sum->max_late_ms));
    json_object_set_new(o, "avg_late_ms",
                        json_integer((json_int_t)(sum->late ? sum->sum_late_ms / sum->late : 0)));
    json_object_set_new(o, "first_exhausted", exhausted_json(v, res, sum));
    return o;
}
