/*
 * DESIGN: the limiter set: buckets of windows, next-slot computation, commit,
 * pacing and replay. Owned and run by one thread (the scheduler, or a plan
 * simulation on a clone); no locks, no clock, no I/O.
 *
 * Every constraint on a send time is an up-set: once a window has room at t
 * it has room at every later t (the log only empties as time passes, and a
 * bucket's sends are recorded in time order). So the earliest slot is simply
 * the latest of the constraints' own earliest times, computed independently:
 * no search.
 *
 * Pacing is a GCRA (generic cell rate algorithm) per bucket on its shortest
 * paced window (limit L in length W): each unit pushes a theoretical arrival
 * time on by W/L, and a send may go once it is no more than `burst` units
 * ahead of it. W/L need not be whole milliseconds, so the time is kept as
 * whole ms plus a remainder in L-ths of a ms: exact, without drift.
 *
 * A clock-aligned (fixed) paced window spreads its budget over what is left
 * of the period instead, from the moment it was entered (its first paced
 * send): `burst` units at once, then an allowance growing evenly to the
 * whole budget at the period's last moment. In a full period that is W/L
 * apart, as above; in a period entered part-way (a start, a takeover) the
 * whole budget is still used, evenly, instead of only the share its
 * remaining time gets at W/L. A new period starts afresh. (Only where skew
 * is under half a period: see paces_period.)
 */
#include "limits/lim_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

enum route_class {
    ROUTE_ALL,     /* "*": every request */
    ROUTE_READ,    /* "read": GET (and HEAD) */
    ROUTE_WRITE,   /* "write": POST, PUT, PATCH, DELETE */
    ROUTE_LITERAL, /* "METHOD /path": that route only */
};

void lim_config_init(struct lim_config *c)
{
    c->skew_ms = 0;
    c->pace_max_window_ms = 3600000;
    c->burst = 0;
}

struct lim_set *lim_set_create(const struct lim_config *cfg)
{
    struct lim_set *s = xcalloc(1, sizeof *s);
    if (cfg)
        s->cfg = *cfg;
    else
        lim_config_init(&s->cfg);
    return s;
}

void lim_set_destroy(struct lim_set *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->nw; i++)
        lim_win_finish(&s->w[i]);
    for (uint32_t i = 0; i < s->nb; i++)
        free(s->b[i].route);
    free(s->w);
    free(s->b);
    free(s);
}

struct lim_set *lim_set_clone(const struct lim_set *s)
{
    struct lim_set *c = xmalloc(sizeof *c);
    *c = *s;
    c->b = xmalloc((s->capb ? s->capb : 1) * sizeof *c->b);
    c->w = xmalloc((s->capw ? s->capw : 1) * sizeof *c->w);
    for (uint32_t i = 0; i < s->nb; i++) {
        c->b[i] = s->b[i];
        c->b[i].route = xstrdup(s->b[i].route);
    }
    for (uint32_t i = 0; i < s->nw; i++)
        lim_win_copy(&c->w[i], &s->w[i]);
    return c;
}

void lim_set_reset(struct lim_set *s)
{
    for (uint32_t i = 0; i < s->nw; i++)
        lim_win_clear(&s->w[i]);
    for (uint32_t i = 0; i < s->nb; i++) {
        struct lim_bucket *b = &s->b[i];
        b->last_sent = b->blocked_until = 0;
        b->tat_q = b->tat_r = 0;
        b->pace_entry = b->pace_end = b->pace_last = b->pace_units = 0;
    }
}

/* ---- buckets ---- */

static int classify_route(const char *route)
{
    if (!strcmp(route, "*"))
        return ROUTE_ALL;
    if (!strcmp(route, "read"))
        return ROUTE_READ;
    if (!strcmp(route, "write"))
        return ROUTE_WRITE;
    return ROUTE_LITERAL;
}

static int method_is(const char *route, const char *method)
{
    size_t n = strlen(method);
    return !strncmp(route, method, n) && (route[n] == ' ' || route[n] == '\0');
}

static int route_class_matches(int rc, const char *bucket_route, const char *req_route)
{
    if (rc == ROUTE_ALL)
        return 1;
    if (!req_route)
        return 0;
    if (rc == ROUTE_READ)
        return method_is(req_route, "GET") || method_is(req_route, "HEAD");
    if (rc == ROUTE_WRITE)
        return method_is(req_route, "POST") || method_is(req_route, "PUT") ||
               method_is(req_route, "PATCH") || method_is(req_route, "DELETE");
    return !strcmp(bucket_route, req_route);
}

int lim_route_matches(const char *bucket_route, const char *req_route)
{
    return route_class_matches(classify_route(bucket_route), bucket_route, req_route);
}

int lim_bucket_draws(const struct lim_bucket *b, const struct lim_req *r)
{
    return route_class_matches(b->route_class, b->route, r->route);
}

uint64_t lim_req_units(const struct lim_req *r, enum lim_cost cost)
{
    switch (cost) {
    case LIM_COST_POST: return r->posts;
    case LIM_COST_ACCOUNT: return r->accounts;
    default: return 1;
    }
}

/* The window pacing spreads: the shortest rolling or fixed one within the
 * pacing horizon, or -1. */
static int32_t pick_paced_window(const struct lim_set *s, const struct lim_bucket *b)
{
    int32_t best = -1;
    for (uint32_t i = 0; i < b->nwin; i++) {
        const struct lim_win *w = &s->w[b->first + i];
        if (w->spec.kind != LIM_ROLLING && w->spec.kind != LIM_FIXED)
            continue;
        if (w->spec.window_ms > s->cfg.pace_max_window_ms)
            continue;
        if (best < 0 || w->len < s->w[b->first + best].len)
            best = (int32_t)i;
    }
    return best;
}

static void setup_pacing(struct lim_set *s, struct lim_bucket *b, uint32_t burst)
{
    b->pace_win = pick_paced_window(s, b);
    if (b->pace_win < 0)
        return;
    const struct lim_win *w = &s->w[b->first + b->pace_win];
    b->pace_l = w->spec.max_units;
    b->pace_p = w->len + s->cfg.skew_ms;
    if (!burst)
        burst = s->cfg.burst;
    uint64_t def = b->pace_l / 10 ? b->pace_l / 10 : 1;
    b->burst = burst ? burst : def;
    if (b->burst > b->pace_l)
        b->burst = b->pace_l;
}

static void grow(struct lim_set *s, size_t nwin)
{
    if (s->nb == s->capb) {
        s->capb = s->capb ? s->capb * 2 : 8;
        s->b = xrealloc(s->b, s->capb * sizeof *s->b);
    }
    while (s->nw + nwin > s->capw) {
        s->capw = s->capw ? s->capw * 2 : 16;
        s->w = xrealloc(s->w, s->capw * sizeof *s->w);
    }
}

uint32_t lim_set_add_bucket(struct lim_set *s, const struct lim_bucket_spec *spec)
{
    grow(s, spec->nwindows);
    struct lim_bucket *b = &s->b[s->nb];
    memset(b, 0, sizeof *b);
    b->route = xstrdup(spec->route ? spec->route : "*");
    b->route_class = classify_route(b->route);
    b->first = s->nw;
    b->nwin = (uint32_t)spec->nwindows;
    for (size_t i = 0; i < spec->nwindows; i++)
        lim_win_init(&s->w[s->nw++], &spec->windows[i], spec->time_scale);
    setup_pacing(s, b, spec->burst);
    return s->nb++;
}

size_t lim_set_nbuckets(const struct lim_set *s)
{
    return s->nb;
}

size_t lim_bucket_nwindows(const struct lim_set *s, uint32_t bucket)
{
    assert(bucket < s->nb);
    return s->b[bucket].nwin;
}

/* ---- pacing (GCRA) ---- */

/* Earliest time the pacer lets `units` go: TAT - (burst - units) * W/L. */
static uint64_t pace_earliest(const struct lim_bucket *b, uint64_t units)
{
    uint64_t k = (b->burst > units ? b->burst : units) - units;
    uint64_t back = k * b->pace_p;
    uint64_t dq = back / b->pace_l, dr = back % b->pace_l;
    uint64_t borrow = b->tat_r < dr;
    if (b->tat_q < dq + borrow)
        return 0;
    uint64_t q = b->tat_q - dq - borrow;
    uint64_t r = b->tat_r + (borrow ? b->pace_l : 0) - dr;
    return q + (r > 0);
}

static void pace_commit(struct lim_bucket *b, uint64_t units, uint64_t t)
{
    /* A send at ceil(TAT) keeps TAT: rounding up to whole ms must not drift. */
    if (t > b->tat_q + (b->tat_r > 0)) {
        b->tat_q = t;
        b->tat_r = 0;
    }
    uint64_t add = units * b->pace_p;
    b->tat_q += add / b->pace_l;
    b->tat_r += add % b->pace_l;
    if (b->tat_r >= b->pace_l) {
        b->tat_r -= b->pace_l;
        b->tat_q++;
    }
}

/* Whether the bucket paces a fixed window by its period: only where a send
 * counts in at most two adjacent periods (a skew under half a period), as
 * the period's budget arithmetic below assumes. Elsewhere (a scaled demo with
 * a large skew) a send spans three periods or more; there the plain
 * (W+skew)/L spacing is kept, which the random-stream property tests find
 * within every window. */
static int paces_period(const struct lim_set *s, const struct lim_bucket *b)
{
    const struct lim_win *w = &s->w[b->first + b->pace_win];
    return w->kind == LIM_FIXED && w->len > 2 * s->cfg.skew_ms;
}

/*
 * Earliest time a fixed paced window lets `units` more go at or after now:
 * once units sent since the period was entered exceed the burst, at the
 * point where the allowance, growing evenly from the burst at entry to the
 * budget at pace_last, covers them. At the period's end at the latest.
 */
static uint64_t period_earliest(const struct lim_bucket *b, uint64_t units, uint64_t now)
{
    if (!b->pace_end || now >= b->pace_end)
        return now; /* a new period: nothing sent in it yet */
    uint64_t k = b->pace_units + units;
    if (k <= b->burst || b->pace_l <= b->burst)
        return now;
    uint64_t span = b->pace_last > b->pace_entry ? b->pace_last - b->pace_entry : 0;
    uint64_t over = k - b->burst, room = b->pace_l - b->burst;
    /* entry + over * span / room, rounded up, without overflow for any span */
    uint64_t t = b->pace_entry + over * (span / room) + (over * (span % room) + room - 1) / room;
    return t < b->pace_end ? t : b->pace_end;
}

static void period_commit(const struct lim_set *s, struct lim_bucket *b, uint64_t units, uint64_t t)
{
    if (!b->pace_end || t >= b->pace_end) {
        uint64_t skew = s->cfg.skew_ms;
        const struct lim_win *w = &s->w[b->first + b->pace_win];
        b->pace_entry = t;
        /* The latest period the send counts in (one within skew of a
         * boundary counts in both) ends, for a send, at its successor's
         * start + skew. */
        b->pace_end = lim_win_period_end(w, t + 2 * skew, skew);
        /* The last moment a send counts in this period only. */
        b->pace_last = b->pace_end > 2 * skew ? b->pace_end - 2 * skew - 1 : 0;
        b->pace_units = 0;
    }
    b->pace_units += units;
}

static uint64_t paced_units(const struct lim_set *s, const struct lim_bucket *b,
                            const struct lim_req *r)
{
    if (b->pace_win < 0)
        return 0;
    return lim_req_units(r, s->w[b->first + b->pace_win].spec.cost);
}

/* ---- next slot and commit ---- */

static void consider(uint64_t *best, struct lim_why *why, uint64_t t, enum lim_reason reason,
                     int32_t bucket, int32_t window)
{
    if (t <= *best)
        return;
    *best = t;
    why->reason = reason;
    why->bucket = bucket;
    why->window = window;
}

static void bucket_slot(const struct lim_set *s, uint32_t bi, const struct lim_req *r,
                        uint64_t *best, struct lim_why *why)
{
    const struct lim_bucket *b = &s->b[bi];
    uint64_t skew = s->cfg.skew_ms;
    consider(best, why, b->last_sent, LIM_WHY_ORDER, (int32_t)bi, -1);
    consider(best, why, b->blocked_until, LIM_WHY_BLOCK, (int32_t)bi, -1);
    uint64_t pu = paced_units(s, b, r);
    if (pu && !paces_period(s, b)) {
        consider(best, why, pace_earliest(b, pu), LIM_WHY_PACE, (int32_t)bi, -1);
    } else if (pu) {
        /* At the period's end the paced window itself is why. */
        uint64_t t = period_earliest(b, pu, *best);
        int end = t == b->pace_end;
        consider(best, why, t, end ? LIM_WHY_WINDOW : LIM_WHY_PACE, (int32_t)bi,
                 end ? b->pace_win : -1);
    }
    /* From the bucket's newest send on, every window is an up-set (a fixed
     * window before it may look emptier than the period the send filled). */
    uint64_t now = *best;
    for (uint32_t i = 0; i < b->nwin && *best != LIM_NEVER; i++) {
        const struct lim_win *w = &s->w[b->first + i];
        uint64_t units = lim_req_units(r, w->spec.cost);
        consider(best, why, lim_win_earliest(w, units, now, skew), LIM_WHY_WINDOW, (int32_t)bi,
                 (int32_t)i);
    }
}

uint64_t lim_next_slot_why(const struct lim_set *s, const struct lim_req *r, uint64_t now_ms,
                           struct lim_why *why)
{
    struct lim_why local;
    if (!why)
        why = &local;
    why->reason = LIM_WHY_NOW;
    why->bucket = why->window = -1;
    uint64_t best = now_ms;
    for (size_t i = 0; i < r->nbuckets && best != LIM_NEVER; i++) {
        assert(r->buckets[i] < s->nb);
        if (lim_bucket_draws(&s->b[r->buckets[i]], r))
            bucket_slot(s, r->buckets[i], r, &best, why);
    }
    return best;
}

uint64_t lim_next_slot(const struct lim_set *s, const struct lim_req *r, uint64_t now_ms)
{
    return lim_next_slot_why(s, r, now_ms, NULL);
}

static int listed_before(const struct lim_req *r, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (r->buckets[j] == r->buckets[i])
            return 1;
    return 0;
}

static void bucket_commit(struct lim_set *s, struct lim_bucket *b, const struct lim_req *r,
                          uint64_t t)
{
    for (uint32_t i = 0; i < b->nwin; i++) {
        struct lim_win *w = &s->w[b->first + i];
        lim_win_add(w, lim_req_units(r, w->spec.cost), t, s->cfg.skew_ms);
    }
    uint64_t pu = paced_units(s, b, r);
    if (pu && paces_period(s, b))
        period_commit(s, b, pu, t);
    else if (pu)
        pace_commit(b, pu, t);
    if (t > b->last_sent)
        b->last_sent = t;
}

void lim_commit(struct lim_set *s, const struct lim_req *r, uint64_t sent_ms)
{
    for (size_t i = 0; i < r->nbuckets; i++) {
        assert(r->buckets[i] < s->nb);
        struct lim_bucket *b = &s->b[r->buckets[i]];
        if (lim_bucket_draws(b, r) && !listed_before(r, i))
            bucket_commit(s, b, r, sent_ms);
    }
}

static int cmp_sent(const void *a, const void *b)
{
    const struct lim_sent *x = *(const struct lim_sent *const *)a;
    const struct lim_sent *y = *(const struct lim_sent *const *)b;
    if (x->sent_ms != y->sent_ms)
        return x->sent_ms < y->sent_ms ? -1 : 1;
    return x < y ? -1 : x > y; /* stable: keep log order on ties */
}

void lim_replay(struct lim_set *s, const struct lim_sent *log, size_t n)
{
    const struct lim_sent **order = xmalloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = &log[i];
    qsort(order, n, sizeof *order, cmp_sent);
    for (size_t i = 0; i < n; i++)
        lim_commit(s, &order[i]->req, order[i]->sent_ms);
    free(order);
}

/* ---- blocks and inspection ---- */

void lim_block(struct lim_set *s, uint32_t bucket, uint64_t until_ms)
{
    assert(bucket < s->nb);
    uint64_t skew = s->cfg.skew_ms;
    uint64_t until = until_ms > UINT64_MAX - skew ? UINT64_MAX : until_ms + skew;
    if (until > s->b[bucket].blocked_until)
        s->b[bucket].blocked_until = until;
}

uint64_t lim_bucket_blocked_until(const struct lim_set *s, uint32_t bucket)
{
    assert(bucket < s->nb);
    return s->b[bucket].blocked_until;
}

void lim_window_state(const struct lim_set *s, uint32_t bucket, uint32_t window, uint64_t now_ms,
                      struct lim_window_state *out)
{
    assert(bucket < s->nb && window < s->b[bucket].nwin);
    const struct lim_win *w = &s->w[s->b[bucket].first + window];
    out->spec = w->spec;
    out->len_ms = w->len;
    out->used = lim_win_used(w, now_ms, s->cfg.skew_ms);
    out->frees_at = lim_win_earliest(w, 1, now_ms, s->cfg.skew_ms);
}
