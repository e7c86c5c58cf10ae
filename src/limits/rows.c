/*
 * DESIGN: provider limit profiles as data. The rows mirror the rate_limits
 * table; this file picks the rows that apply to one key and turns them into
 * buckets. Pure functions over arrays: the database loader (db/) and the
 * `postpace limits` / `postpace plan` commands call them; no SQL here.
 */
#include "limits/lim_internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

static int str_eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Same limit identity: scope, route, kind and window length. */
static int same_limit(const struct lim_row *a, const struct lim_row *b)
{
    return a->scope == b->scope && a->kind == b->kind && a->window_ms == b->window_ms &&
           str_eq(a->route, b->route);
}

/* 2: the key's own row, 1: a row of the key's plan, 0: a plan-less row. */
static int rank(const struct lim_row *r)
{
    return r->key_id ? 2 : r->plan ? 1 : 0;
}

static int applies(const struct lim_row *r, const char *provider, const char *plan, int64_t key_id)
{
    if (!str_eq(r->provider, provider))
        return 0;
    if (r->key_id)
        return r->key_id == key_id;
    return !r->plan || str_eq(r->plan, plan);
}

/* Whether a more specific applicable row replaces rows[i]. */
static int overridden(const struct lim_row *rows, size_t n, size_t i, const char *provider,
                      const char *plan, int64_t key_id)
{
    for (size_t j = 0; j < n; j++)
        if (j != i && applies(&rows[j], provider, plan, key_id) && same_limit(&rows[i], &rows[j]) &&
            rank(&rows[j]) > rank(&rows[i]))
            return 1;
    return 0;
}

size_t lim_rows_select(const struct lim_row *rows, size_t n, const char *provider, const char *plan,
                       int64_t key_id, const struct lim_row **out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (applies(&rows[i], provider, plan, key_id) &&
            !overridden(rows, n, i, provider, plan, key_id))
            out[k++] = &rows[i];
    return k;
}

static struct lim_window_spec row_window(const struct lim_row *r)
{
    struct lim_window_spec w = {r->kind, r->window_ms, r->max_units, r->cost};
    return w;
}

static int route_seen(const struct lim_row *const *rows, size_t upto, const struct lim_row *r,
                      enum lim_scope scope)
{
    for (size_t j = 0; j < upto; j++)
        if (rows[j]->scope == scope && str_eq(rows[j]->route, r->route))
            return 1;
    return 0;
}

size_t lim_set_add_rows(struct lim_set *s, const struct lim_row *const *rows, size_t n,
                        enum lim_scope scope, double time_scale, uint32_t *out)
{
    struct lim_window_spec *wins = xmalloc((n ? n : 1) * sizeof *wins);
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i]->scope != scope || route_seen(rows, i, rows[i], scope))
            continue;
        size_t nw = 0;
        for (size_t j = i; j < n; j++)
            if (rows[j]->scope == scope && str_eq(rows[j]->route, rows[i]->route))
                wins[nw++] = row_window(rows[j]);
        struct lim_bucket_spec spec = {rows[i]->route, wins, nw, time_scale, 0};
        out[added++] = lim_set_add_bucket(s, &spec);
    }
    free(wins);
    return added;
}

/* ---- SQL enum labels ---- */

static int parse(const char *name, const char *const *labels, int n)
{
    for (int i = 0; name && i < n; i++)
        if (!strcmp(name, labels[i]))
            return i;
    return -1;
}

int lim_kind_parse(const char *name)
{
    static const char *const labels[] = {"rolling", "fixed", "calendar_month", "lifetime"};
    return parse(name, labels, 4);
}

int lim_cost_parse(const char *name)
{
    static const char *const labels[] = {"request", "post", "account"};
    return parse(name, labels, 3);
}

int lim_scope_parse(const char *name)
{
    static const char *const labels[] = {"key", "user", "account"};
    return parse(name, labels, 3);
}

int lim_reset_kind_parse(const char *name)
{
    static const char *const labels[] = {"none", "unix", "seconds"};
    return parse(name, labels, 3);
}
