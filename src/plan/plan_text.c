/*
 * DESIGN: the words and numbers `postpace plan` and `postpace limits` print:
 * bucket labels derived from the rate_limits rows, window descriptions in the
 * docs' own terms ("rolling 60/1m"), RFC 3339 times and short durations.
 * Pure functions; times are read and written by util/rfc3339.h, the one
 * grammar every input shares.
 */
#include "plan/plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rfc3339.h"
#include "util/xmalloc.h"

#define SEC_MS 1000ULL
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

/* ---- names ---- */

const char *plan_scope_name(enum lim_scope s)
{
    static const char *const names[] = {"key", "user", "account"};
    return (unsigned)s < 3 ? names[s] : "?";
}

const char *plan_kind_name(enum lim_kind k)
{
    static const char *const names[] = {"rolling", "fixed", "calendar_month", "lifetime"};
    return (unsigned)k < 4 ? names[k] : "?";
}

const char *plan_cost_name(enum lim_cost c)
{
    static const char *const names[] = {"request", "post", "account"};
    return (unsigned)c < 3 ? names[c] : "?";
}

/* ---- bucket labels ---- */

static int same_route(const struct lim_row *a, const struct lim_row *b)
{
    return a->scope == b->scope && strcmp(a->route, b->route) == 0;
}

/* Windows of the bucket that the rows sel[i] starts, or 0 if seen before. */
static size_t bucket_rows(const struct lim_row *const *sel, size_t nsel, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (same_route(sel[j], sel[i]))
            return 0;
    size_t nw = 0;
    for (size_t j = i; j < nsel; j++)
        nw += same_route(sel[j], sel[i]);
    return nw;
}

void plan_label_buckets(const struct lim_set *s, const struct lim_row *rows, size_t nrows,
                        const char *provider, const char *plan, int64_t key_id,
                        const uint32_t *buckets, size_t nbuckets, struct plan_bucket_label *labels)
{
    const struct lim_row **sel = xmalloc((nrows ? nrows : 1) * sizeof *sel);
    size_t nsel = lim_rows_select(rows, nrows, provider, plan, key_id, sel), bi = 0;
    static const enum lim_scope order[] = {LIM_SCOPE_KEY, LIM_SCOPE_USER, LIM_SCOPE_ACCOUNT};
    for (size_t o = 0; o < 3; o++) {
        for (size_t i = 0; i < nsel && bi < nbuckets; i++) {
            size_t nw = sel[i]->scope == order[o] ? bucket_rows(sel, nsel, i) : 0;
            if (nw == 0)
                continue;
            uint32_t b = buckets[bi++];
            if (lim_bucket_nwindows(s, b) == nw) {
                labels[b].known = 1;
                labels[b].scope = order[o];
                labels[b].route = sel[i]->route;
            }
        }
    }
    free(sel);
}

/* ---- window descriptions ---- */

static void format_len(uint64_t ms, char *buf, size_t len)
{
    static const struct {
        uint64_t ms;
        const char *unit;
    } units[] = {{DAY_MS, "d"}, {HOUR_MS, "h"}, {MIN_MS, "m"}, {SEC_MS, "s"}};
    for (size_t i = 0; i < 4; i++)
        if (ms >= units[i].ms && ms % units[i].ms == 0) {
            snprintf(buf, len, "%" PRIu64 "%s", ms / units[i].ms, units[i].unit);
            return;
        }
    snprintf(buf, len, "%" PRIu64 "ms", ms);
}

void plan_format_window(const struct lim_window_spec *w, char *buf, size_t len)
{
    if (w->kind == LIM_CALENDAR_MONTH)
        snprintf(buf, len, "month");
    else if (w->kind == LIM_LIFETIME)
        snprintf(buf, len, "lifetime");
    else
        format_len(w->window_ms, buf, len);
}

/* "rolling 60/1m", "fixed 1000 posts/1d", "lifetime 10 posts total". */
static void describe_window(const struct lim_window_spec *w, char *buf, size_t len)
{
    static const char *const nouns[] = {"", " posts", " accounts"};
    const char *noun = (unsigned)w->cost < 3 ? nouns[w->cost] : "";
    char win[32];
    plan_format_window(w, win, sizeof win);
    if (w->kind == LIM_LIFETIME)
        snprintf(buf, len, "lifetime %" PRIu64 "%s total", w->max_units, noun);
    else
        snprintf(buf, len, "%s %" PRIu64 "%s/%s", plan_kind_name(w->kind), w->max_units, noun, win);
}

static void describe_bucket(const struct plan_bucket_label *labels, int32_t b, char *buf,
                            size_t len)
{
    const struct plan_bucket_label *l = labels ? &labels[b] : NULL;
    if (!l || !l->known)
        snprintf(buf, len, "bucket %d", (int)b);
    else if (strcmp(l->route, "*") == 0)
        snprintf(buf, len, "%s", plan_scope_name(l->scope));
    else
        snprintf(buf, len, "%s %s", plan_scope_name(l->scope), l->route);
}

/* The window pacing spreads, as the limiter picks it with its default
 * horizon: the shortest rolling or fixed window of at most an hour. */
static int paced_window(const struct lim_set *s, uint32_t b, struct lim_window_state *out)
{
    int found = 0;
    for (uint32_t i = 0; i < lim_bucket_nwindows(s, b); i++) {
        struct lim_window_state st;
        lim_window_state(s, b, i, 0, &st);
        int timed = st.spec.kind == LIM_ROLLING || st.spec.kind == LIM_FIXED;
        if (timed && st.spec.window_ms <= HOUR_MS && (!found || st.len_ms < out->len_ms)) {
            *out = st;
            found = 1;
        }
    }
    return found;
}

void plan_describe(const struct lim_set *s, const struct plan_bucket_label *labels,
                   const struct lim_why *why, char *buf, size_t len)
{
    char bucket[160], win[96] = "";
    if (why->reason == LIM_WHY_NOW || why->bucket < 0) {
        snprintf(buf, len, "%s", "");
        return;
    }
    describe_bucket(labels, why->bucket, bucket, sizeof bucket);
    struct lim_window_state st;
    switch (why->reason) {
    case LIM_WHY_WINDOW:
        lim_window_state(s, (uint32_t)why->bucket, (uint32_t)why->window, 0, &st);
        describe_window(&st.spec, win, sizeof win);
        snprintf(buf, len, "%s %s", bucket, win);
        break;
    case LIM_WHY_PACE:
        if (paced_window(s, (uint32_t)why->bucket, &st))
            describe_window(&st.spec, win, sizeof win);
        snprintf(buf, len, "%s pacing%s%s%s", bucket, *win ? " (" : "", win, *win ? ")" : "");
        break;
    case LIM_WHY_BLOCK: snprintf(buf, len, "%s blocked by a 429", bucket); break;
    default: snprintf(buf, len, "%s send order", bucket); break;
    }
}

/* ---- times ---- */

int plan_parse_time(const char *s, uint64_t *ms)
{
    int64_t us;
    if (rfc3339_parse_instant(s, &us) != RFC3339_E_OK)
        return -1;
    *ms = (uint64_t)(us / 1000);
    return 0;
}

void plan_format_time(uint64_t ms, char *buf, size_t len)
{
    rfc3339_format_ms((int64_t)ms, buf, len);
}

void plan_format_duration(uint64_t ms, char *buf, size_t len)
{
    uint64_t s = ms / 1000;
    if (ms < 1000 && ms > 0)
        snprintf(buf, len, "%" PRIu64 "ms", ms);
    else if (s < 60)
        snprintf(buf, len, "%" PRIu64 "s", s);
    else if (s < 3600)
        snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
    else
        snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
}
