/*
 * DESIGN: read once at start (and on reload) by the owning thread. Bucket
 * sharing: a key's key-scope buckets are its own; user- and account-scope
 * buckets are keyed by (provider, scope, user/account id, plan rows) and
 * created once, so every key of that user or account points at the same
 * indices. Lease groups follow from the sharing.
 */
#include "registry/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "util/log.h"
#include "util/xmalloc.h"

static char *dup_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

/* Applies one level of request_fields (NULL: none); a bad one is logged and skipped. */
static void apply_fields(struct prov_fields *f, PGresult *res, int row, int col,
                         enum prov_id p, const char *key_label)
{
    char why[256];
    if (PQgetisnull(res, row, col) ||
        prov_fields_apply(f, PQgetvalue(res, row, col), why, sizeof why) == 0)
        return;
    log_warn("request_fields cannot be read; using the level below", LOG_STR("provider", prov_name(p)),
             LOG_STR("key", key_label ? key_label : ""), LOG_STR("reason", why));
}

static int load_providers(struct registry *r, PGconn *c, char *err, size_t errlen)
{
    for (int p = 0; p < PROV_COUNT; p++)
        r->providers[p].fields = *prov_fields_default((enum prov_id)p);
    PGresult *res = db_exec(c, "registry_providers", 0, NULL, err, errlen);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        enum prov_id p;
        if (prov_parse(id, strlen(id), &p) != 0)
            continue;
        struct reg_provider *rp = &r->providers[p];
        rp->known = 1;
        rp->base_url = xstrdup(PQgetvalue(res, i, 1));
        int rk = lim_reset_kind_parse(PQgetvalue(res, i, 2));
        rp->reset_kind = rk < 0 ? LIM_RESET_NONE : (enum lim_reset_kind)rk;
        rp->batch_accounts = strcmp(PQgetvalue(res, i, 3), "t") == 0;
        rp->max_content_len = PQgetisnull(res, i, 4) ? 0 : atoi(PQgetvalue(res, i, 4));
        rp->max_media = PQgetisnull(res, i, 5) ? -1 : atoi(PQgetvalue(res, i, 5));
        rp->max_media_bytes = PQgetisnull(res, i, 6) ? 0 : atoll(PQgetvalue(res, i, 6));
        rp->media_types = dup_or_null(res, i, 7);
        rp->time_scale = atof(PQgetvalue(res, i, 8));
        apply_fields(&rp->fields, res, i, 9, p, NULL);
        char lerr[256];
        rp->lookup = lookup_config_create(PQgetvalue(res, i, 10), lerr, sizeof lerr);
        if (!rp->lookup) {
            /* Unreadable: nothing is re-sent or looked up, the safe reading. */
            log_warn("lookup cannot be read; unconfirmed targets stay unconfirmed",
                     LOG_STR("provider", prov_name(p)), LOG_STR("reason", lerr));
            rp->lookup = lookup_config_create("{}", lerr, sizeof lerr);
        }
    }
    PQclear(res);
    return 0;
}

struct lim_row *reg_read_rows(PGresult *res, size_t *n)
{
    *n = (size_t)PQntuples(res);
    struct lim_row *rows = xcalloc(*n ? *n : 1, sizeof *rows);
    for (size_t i = 0; i < *n; i++) {
        int row = (int)i;
        rows[i].provider = PQgetvalue(res, row, 0);
        rows[i].plan = PQgetisnull(res, row, 1) ? NULL : PQgetvalue(res, row, 1);
        rows[i].key_id = atoll(PQgetvalue(res, row, 2));
        rows[i].scope = (enum lim_scope)lim_scope_parse(PQgetvalue(res, row, 3));
        rows[i].route = PQgetvalue(res, row, 4);
        rows[i].kind = (enum lim_kind)lim_kind_parse(PQgetvalue(res, row, 5));
        rows[i].window_ms = (uint64_t)atoll(PQgetvalue(res, row, 6));
        rows[i].max_units = (uint64_t)atoll(PQgetvalue(res, row, 7));
        rows[i].cost = (enum lim_cost)lim_cost_parse(PQgetvalue(res, row, 8));
    }
    return rows;
}

/* Shared user/account buckets: one entry per (provider, scope, owner id). */
struct shared {
    enum prov_id provider;
    enum lim_scope scope;
    const char *owner;
    int64_t group_id;
    uint32_t buckets[REG_MAX_BUCKETS];
    size_t n;
};

static struct shared *find_shared(struct shared *sh, size_t nsh, enum prov_id p,
                                  enum lim_scope scope, const char *owner)
{
    for (size_t i = 0; i < nsh; i++)
        if (sh[i].provider == p && sh[i].scope == scope && strcmp(sh[i].owner, owner) == 0)
            return &sh[i];
    return NULL;
}

static void add_buckets(struct reg_key *k, const uint32_t *b, size_t n)
{
    for (size_t i = 0; i < n && k->nbuckets < REG_MAX_BUCKETS; i++)
        k->buckets[k->nbuckets++] = b[i];
}

/* Gives key k its buckets of every scope, sharing user/account ones. */
static void attach_buckets(struct registry *r, struct reg_key *k, const struct lim_row *rows,
                           size_t nrows, struct shared *sh, size_t *nsh)
{
    const struct lim_row **sel = xcalloc(nrows ? nrows : 1, sizeof *sel);
    size_t nsel = lim_rows_select(rows, nrows, prov_name(k->provider), k->plan, k->id, sel);
    uint32_t idx[REG_MAX_BUCKETS * 4];
    k->group_id = k->id;
    add_buckets(k, idx, lim_set_add_rows(r->limits, sel, nsel, LIM_SCOPE_KEY, k->time_scale, idx));
    static const enum lim_scope shared_scopes[] = {LIM_SCOPE_USER, LIM_SCOPE_ACCOUNT};
    for (int s = 0; s < 2; s++) {
        enum lim_scope scope = shared_scopes[s];
        /* A key without the owner id is its own user/account. */
        char self[32];
        snprintf(self, sizeof self, "key:%lld", (long long)k->id);
        const char *owner = scope == LIM_SCOPE_USER ? k->user_id : k->account_id;
        if (!owner)
            owner = self;
        struct shared *e = find_shared(sh, *nsh, k->provider, scope, owner);
        if (!e) {
            e = &sh[(*nsh)++];
            e->provider = k->provider;
            e->scope = scope;
            e->owner = owner == self ? xstrdup(self) : owner;
            e->group_id = k->group_id;
            e->n = lim_set_add_rows(r->limits, sel, nsel, scope, k->time_scale, e->buckets);
        } else if (e->n > 0 && e->group_id < k->group_id) {
            k->group_id = e->group_id;
        }
        add_buckets(k, e->buckets, e->n);
    }
    free(sel);
}

static int load_keys(struct registry *r, PGconn *c, char *err, size_t errlen)
{
    PGresult *keys = db_exec(c, "registry_keys", 0, NULL, err, errlen);
    if (!keys)
        return -1;
    PGresult *lim = db_exec(c, "registry_limits", 0, NULL, err, errlen);
    if (!lim) {
        PQclear(keys);
        return -1;
    }
    size_t nrows;
    struct lim_row *rows = reg_read_rows(lim, &nrows);
    r->nkeys = (size_t)PQntuples(keys);
    r->keys = xcalloc(r->nkeys ? r->nkeys : 1, sizeof *r->keys);
    struct shared *sh = xcalloc(2 * r->nkeys + 1, sizeof *sh);
    size_t nsh = 0;
    for (size_t i = 0; i < r->nkeys; i++) {
        int row = (int)i;
        struct reg_key *k = &r->keys[i];
        k->id = atoll(PQgetvalue(keys, row, 0));
        const char *prov = PQgetvalue(keys, row, 1);
        if (prov_parse(prov, strlen(prov), &k->provider) != 0)
            k->provider = PROV_COUNT;
        k->label = xstrdup(PQgetvalue(keys, row, 2));
        k->plan = xstrdup(PQgetvalue(keys, row, 3));
        k->user_id = dup_or_null(keys, row, 4);
        k->account_id = dup_or_null(keys, row, 5);
        k->secret_ref = xstrdup(PQgetvalue(keys, row, 6));
        k->base_url = xstrdup(PQgetvalue(keys, row, 7));
        k->time_scale = atof(PQgetvalue(keys, row, 8));
        if (k->provider != PROV_COUNT) {
            k->fields = r->providers[k->provider].fields;
            apply_fields(&k->fields, keys, row, 9, k->provider, k->label);
            attach_buckets(r, k, rows, nrows, sh, &nsh);
        }
    }
    for (size_t i = 0; i < nsh; i++)
        if (strncmp(sh[i].owner, "key:", 4) == 0)
            free((char *)sh[i].owner);
    free(sh);
    free(rows);
    PQclear(lim);
    PQclear(keys);
    return 0;
}

int reg_load(struct registry *r, PGconn *c, const struct lim_config *cfg, char *err,
             size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->limits = lim_set_create(cfg);
    if (load_providers(r, c, err, errlen) != 0 || load_keys(r, c, err, errlen) != 0) {
        reg_finish(r);
        return -1;
    }
    return 0;
}

void reg_finish(struct registry *r)
{
    for (int p = 0; p < PROV_COUNT; p++) {
        free(r->providers[p].base_url);
        free(r->providers[p].media_types);
        lookup_config_destroy(r->providers[p].lookup);
    }
    for (size_t i = 0; i < r->nkeys; i++) {
        struct reg_key *k = &r->keys[i];
        free(k->label), free(k->plan), free(k->user_id), free(k->account_id);
        free(k->secret_ref), free(k->base_url);
    }
    free(r->keys);
    lim_set_destroy(r->limits);
    memset(r, 0, sizeof *r);
}

struct reg_key *reg_key_by_id(const struct registry *r, int64_t id)
{
    size_t lo = 0, hi = r->nkeys;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->keys[mid].id == id)
            return &r->keys[mid];
        if (r->keys[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void reg_request(const struct reg_key *k, const char *route, uint32_t accounts, uint32_t posts,
                 struct lim_req *out)
{
    out->route = route;
    out->buckets = k->buckets;
    out->nbuckets = k->nbuckets;
    out->accounts = accounts;
    out->posts = posts;
}

int reg_replay_key(struct registry *r, PGconn *c, const struct reg_key *k, char *err,
                   size_t errlen)
{
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)k->id);
    const char *params[] = {id};
    PGresult *res = db_exec(c, "registry_history", 1, params, err, errlen);
    if (!res)
        return -1;
    size_t n = (size_t)PQntuples(res);
    struct lim_sent *log = xcalloc(n ? n : 1, sizeof *log);
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        log[i].sent_ms = (uint64_t)atoll(PQgetvalue(res, row, 0));
        reg_request(k, PQgetvalue(res, row, 1), (uint32_t)atoi(PQgetvalue(res, row, 2)),
                    (uint32_t)atoi(PQgetvalue(res, row, 3)), &log[i].req);
    }
    lim_replay(r->limits, log, n);
    free(log);
    PQclear(res);
    return (int)n;
}
