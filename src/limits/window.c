/*
 * DESIGN: the arithmetic of one window, for the owner of its lim_set (one
 * thread). Pure: no clock, no I/O.
 *
 * Rolling windows keep an exact log of sends (a ring, oldest first) with the
 * units each spent. A window never holds more than max_units units, so a ring
 * of max_units entries suffices; if a forced commit overflows it anyway, the
 * two oldest entries merge into the younger one's time, which only ever
 * counts units for longer (safe). An entry at t counts during
 * [t, t + len + skew).
 *
 * Fixed, calendar-month and lifetime windows are counters per period. With a
 * skew margin, a send at x counts in every period from that of x - skew to
 * that of x + skew, so wherever the provider's clock puts it, it is counted
 * there; the effect at a boundary is that a full period opens skew ms late.
 * That is two periods at most while skew is under half a period, more in a
 * scaled demo (a 1 s minute, a 1 s skew: four). The newest LIM_PERIODS
 * periods are kept: sends arrive in time order, and an older period can no
 * longer matter, so it counts as full.
 */
#include "limits/lim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

#define MS_PER_DAY 86400000ULL
#define RING_MAX (1u << 16)

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian; y >= 1970). */
static uint64_t days_from_civil(uint64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    uint64_t era = y / 400;
    uint64_t yoe = y - era * 400;
    uint64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Months since January 1970 of the day `days` since the epoch. */
static uint64_t month_of_days(uint64_t days)
{
    uint64_t z = days + 719468;
    uint64_t era = z / 146097;
    uint64_t doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    uint64_t m = mp < 10 ? mp + 3 : mp - 9;
    uint64_t y = yoe + era * 400 + (m <= 2);
    return (y - 1970) * 12 + (m - 1);
}

static uint64_t period_of(const struct lim_win *w, uint64_t t)
{
    switch (w->kind) {
    case LIM_FIXED: return t / w->len;
    case LIM_CALENDAR_MONTH: return month_of_days(t / MS_PER_DAY);
    default: return 0;
    }
}

/* Start of period p; LIM_NEVER when there is none (lifetime). */
static uint64_t period_start(const struct lim_win *w, uint64_t p)
{
    switch (w->kind) {
    case LIM_FIXED: return p > UINT64_MAX / w->len ? LIM_NEVER : p * w->len;
    case LIM_CALENDAR_MONTH: return days_from_civil(1970 + p / 12, p % 12 + 1, 1) * MS_PER_DAY;
    default: return p == 0 ? 0 : LIM_NEVER;
    }
}

/* Whether period p is one of those kept (p <= per). */
static int kept(const struct lim_win *w, uint64_t p)
{
    return p <= w->per && w->per - p < LIM_PERIODS;
}

/* Units counted in period p. A period older than those we keep is treated
 * as full: nothing may be placed there any more. */
static uint64_t count_in(const struct lim_win *w, uint64_t p)
{
    if (p > w->per)
        return 0;
    return kept(w, p) ? w->cnt[p % LIM_PERIODS] : UINT64_MAX;
}

/* The first period of pa..pb worth looking at: older ones are not kept. */
static uint64_t span_from(uint64_t pa, uint64_t pb)
{
    return pb - pa < LIM_PERIODS ? pa : pb - (LIM_PERIODS - 1);
}

static int fits(uint64_t used, uint64_t units, uint64_t max)
{
    return used <= max && units <= max - used;
}

static void advance_to(struct lim_win *w, uint64_t p)
{
    if (p <= w->per)
        return;
    if (p - w->per >= LIM_PERIODS)
        memset(w->cnt, 0, sizeof w->cnt);
    else
        for (uint64_t q = w->per + 1; q <= p; q++)
            w->cnt[q % LIM_PERIODS] = 0;
    w->per = p;
}

static void bump(struct lim_win *w, uint64_t p, uint64_t units)
{
    if (kept(w, p))
        w->cnt[p % LIM_PERIODS] = sat_add(w->cnt[p % LIM_PERIODS], units);
}

void lim_win_init(struct lim_win *w, const struct lim_window_spec *spec, double scale)
{
    memset(w, 0, sizeof *w);
    w->spec = *spec;
    w->kind = spec->kind;
    if (scale <= 0)
        scale = 1;
    uint64_t base = spec->window_ms;
    if (spec->kind == LIM_CALENDAR_MONTH && scale != 1) {
        w->kind = LIM_FIXED;
        base = 30 * MS_PER_DAY;
    }
    if (w->kind == LIM_ROLLING || w->kind == LIM_FIXED) {
        double len = ceil((double)(base ? base : 1) / scale);
        w->len = len < 1 ? 1 : (uint64_t)len;
    }
    if (w->kind == LIM_ROLLING) {
        uint64_t cap = spec->max_units < RING_MAX ? spec->max_units : RING_MAX;
        w->cap = cap ? (uint32_t)cap : 1;
        w->ring = xmalloc(w->cap * sizeof *w->ring);
    }
}

void lim_win_finish(struct lim_win *w)
{
    free(w->ring);
    w->ring = NULL;
}

void lim_win_copy(struct lim_win *dst, const struct lim_win *src)
{
    *dst = *src;
    if (src->ring) {
        dst->ring = xmalloc(src->cap * sizeof *dst->ring);
        memcpy(dst->ring, src->ring, src->cap * sizeof *dst->ring);
    }
}

void lim_win_clear(struct lim_win *w)
{
    w->head = w->n = 0;
    w->sum = 0;
    w->per = 0;
    memset(w->cnt, 0, sizeof w->cnt);
}

/* ---- rolling ---- */

static struct lim_ent *ent_at(const struct lim_win *w, uint32_t i)
{
    uint32_t k = w->head + i;
    return &w->ring[k >= w->cap ? k - w->cap : k];
}

static uint64_t expiry(const struct lim_win *w, const struct lim_ent *e, uint64_t skew)
{
    return sat_add(sat_add(e->t, w->len), skew);
}

static void pop_oldest(struct lim_win *w)
{
    w->sum -= w->ring[w->head].units;
    w->head = w->head + 1 == w->cap ? 0 : w->head + 1;
    w->n--;
}

static void prune(struct lim_win *w, uint64_t now, uint64_t skew)
{
    while (w->n && expiry(w, &w->ring[w->head], skew) <= now)
        pop_oldest(w);
}

/* Appends a send; times never go backwards in the log (an older send is
 * recorded at the newest time, so it counts for longer, never shorter). */
static void push(struct lim_win *w, uint64_t t, uint64_t units)
{
    if (w->n && ent_at(w, w->n - 1)->t > t)
        t = ent_at(w, w->n - 1)->t;
    if (w->n == w->cap) {
        if (w->n == 1) {
            w->ring[w->head].t = t;
            w->ring[w->head].units += units;
            w->sum += units;
            return;
        }
        ent_at(w, 1)->units += w->ring[w->head].units;
        w->sum += w->ring[w->head].units;
        pop_oldest(w);
    }
    struct lim_ent *e = ent_at(w, w->n);
    e->t = t;
    e->units = units;
    w->n++;
    w->sum += units;
}

/* Inserts a send at its place in time order (feedback only: O(n)). */
static void insert_sorted(struct lim_win *w, uint64_t t, uint64_t units)
{
    if (!w->n || ent_at(w, w->n - 1)->t <= t || w->n == w->cap) {
        push(w, t, units);
        return;
    }
    uint32_t i = w->n;
    for (; i > 0 && ent_at(w, i - 1)->t > t; i--)
        *ent_at(w, i) = *ent_at(w, i - 1);
    ent_at(w, i)->t = t;
    ent_at(w, i)->units = units;
    w->n++;
    w->sum += units;
}

/* Walks the log from the oldest entry until enough units have expired. */
static uint64_t rolling_earliest(const struct lim_win *w, uint64_t units, uint64_t now,
                                 uint64_t skew)
{
    uint64_t max = w->spec.max_units;
    if (units > max)
        return LIM_NEVER;
    if (w->sum <= max - units)
        return now;
    uint64_t need = w->sum - (max - units), freed = 0, at = now;
    for (uint32_t i = 0; i < w->n && freed < need; i++) {
        const struct lim_ent *e = ent_at(w, i);
        freed += e->units;
        at = expiry(w, e, skew);
    }
    return at > now ? at : now;
}

static uint64_t rolling_used(const struct lim_win *w, uint64_t now, uint64_t skew)
{
    uint64_t used = w->sum;
    for (uint32_t i = 0; i < w->n; i++) {
        const struct lim_ent *e = ent_at(w, i);
        if (expiry(w, e, skew) > now)
            break;
        used -= e->units;
    }
    return used;
}

/* ---- periods (fixed, month, lifetime) ---- */

static uint64_t period_earliest(const struct lim_win *w, uint64_t units, uint64_t now,
                                uint64_t skew)
{
    uint64_t max = w->spec.max_units;
    if (units > max)
        return LIM_NEVER;
    uint64_t x = now;
    uint64_t oldest = w->per >= LIM_PERIODS - 1 ? w->per - (LIM_PERIODS - 1) : 0;
    /* Each step moves x past the newest full period x would count in (one
     * older than those kept counts as full); past the newest period kept,
     * nothing is full. */
    for (int i = 0; i < LIM_PERIODS + 2 && x != LIM_NEVER; i++) {
        uint64_t pa = period_of(w, sat_sub(x, skew));
        uint64_t pb = period_of(w, sat_add(x, skew));
        uint64_t full = UINT64_MAX;
        if (pa < oldest)
            full = pb < oldest ? pb : oldest - 1;
        for (uint64_t p = pa > oldest ? pa : oldest; p <= pb && p <= w->per; p++)
            if (!fits(count_in(w, p), units, max))
                full = p;
        if (full == UINT64_MAX)
            return x;
        x = sat_add(period_start(w, full + 1), skew);
    }
    return x;
}

static void period_add(struct lim_win *w, uint64_t units, uint64_t t, uint64_t skew)
{
    uint64_t pa = period_of(w, sat_sub(t, skew));
    uint64_t pb = period_of(w, sat_add(t, skew));
    advance_to(w, pb);
    for (uint64_t p = span_from(pa, pb); p <= pb; p++)
        bump(w, p, units);
}

static uint64_t period_used(const struct lim_win *w, uint64_t now, uint64_t skew)
{
    uint64_t pa = period_of(w, sat_sub(now, skew));
    uint64_t pb = period_of(w, sat_add(now, skew));
    uint64_t used = 0;
    for (uint64_t p = span_from(pa, pb); p <= pb; p++) {
        uint64_t c = count_in(w, p);
        if (c != UINT64_MAX && c > used)
            used = c;
    }
    return used;
}

/* ---- the interface ---- */

uint64_t lim_win_earliest(const struct lim_win *w, uint64_t units, uint64_t now, uint64_t skew)
{
    if (units == 0)
        return now;
    if (w->kind == LIM_ROLLING)
        return rolling_earliest(w, units, now, skew);
    return period_earliest(w, units, now, skew);
}

void lim_win_add(struct lim_win *w, uint64_t units, uint64_t t, uint64_t skew)
{
    if (units == 0)
        return;
    if (w->kind == LIM_ROLLING) {
        prune(w, t, skew);
        push(w, t, units);
        return;
    }
    period_add(w, units, t, skew);
}

uint64_t lim_win_used(const struct lim_win *w, uint64_t now, uint64_t skew)
{
    if (w->kind == LIM_ROLLING)
        return rolling_used(w, now, skew);
    return period_used(w, now, skew);
}

/* Another client spent units we did not see. In a rolling window they are
 * recorded as one entry that expires at the reported reset, or, without one,
 * a window length from now: the latest moment units sent before now can
 * expire. A period takes them in the period that ends at the reported reset
 * (or the current one). */
void lim_win_raise(struct lim_win *w, uint64_t used, uint64_t now, uint64_t reset_ms, uint64_t skew)
{
    if (w->kind == LIM_ROLLING) {
        prune(w, now, skew);
        uint64_t have = rolling_used(w, now, skew);
        uint64_t until = reset_ms > now && reset_ms - now < w->len ? reset_ms : now + w->len;
        if (used > have)
            insert_sorted(w, until > w->len ? until - w->len : 0, used - have);
        return;
    }
    /* The reset names the period the report describes; but it is whole
     * seconds, rounded up, so for a period shorter than a second (a scaled
     * demo) it may point periods ahead. A report describes the period it
     * was answered in: at most the one a clock skew_ms ahead is in. */
    uint64_t q = period_of(w, reset_ms > now ? reset_ms - 1 : now);
    uint64_t latest = period_of(w, sat_add(now, skew));
    q = q < latest ? q : latest;
    advance_to(w, q);
    if (kept(w, q) && w->cnt[q % LIM_PERIODS] < used)
        w->cnt[q % LIM_PERIODS] = used;
}

/* When the period holding now ends (+ skew); a rolling window has emptied
 * one length (+ skew) from now; a lifetime never ends. */
uint64_t lim_win_period_end(const struct lim_win *w, uint64_t now, uint64_t skew)
{
    if (w->kind == LIM_ROLLING)
        return sat_add(sat_add(now, w->len), skew);
    uint64_t start = period_start(w, period_of(w, sat_sub(now, skew)) + 1);
    return sat_add(start, skew);
}
