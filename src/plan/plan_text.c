/*
 * DESIGN: the words and numbers `postpace plan` and `postpace limits` print:
 * bucket labels derived from the rate_limits rows, window descriptions in the
 * docs' own terms ("rolling 60/1m"), ISO 8601 times and short durations.
 * Pure functions; the civil-date arithmetic is Howard Hinnant's, so no
 * timegm/gmtime (and no TZ environment) is involved.
 */
#include "plan/plan.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n digits at *p into *out; advances *p. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

/* [.fff...]: milliseconds of a fraction (extra digits are cut). */
static int fraction(const char **p, int *ms)
{
    *ms = 0;
    if (**p != '.' && **p != ',')
        return 0;
    (*p)++;
    int n = 0;
    for (; isdigit((unsigned char)**p); (*p)++, n++)
        if (n < 3)
            *ms = *ms * 10 + (**p - '0');
    for (int k = n; k < 3; k++)
        *ms *= 10;
    return n > 0 ? 0 : -1;
}

/* Z, +HH:MM, +HHMM or +HH: offset east of UTC in minutes. */
static int offset(const char **p, int *min)
{
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        *min = 0;
        return 0;
    }
    int sign = **p == '+' ? 1 : **p == '-' ? -1 : 0, hh, mm = 0;
    if (!sign)
        return -1;
    (*p)++;
    if (digits(p, 2, &hh) != 0)
        return -1;
    if (**p == ':')
        (*p)++;
    if (**p && digits(p, 2, &mm) != 0)
        return -1;
    if (hh > 23 || mm > 59)
        return -1;
    *min = sign * (hh * 60 + mm);
    return 0;
}

int plan_parse_time(const char *s, uint64_t *ms)
{
    const char *p = s;
    int y, mo, d, h, mi, sec = 0, frac = 0, off;
    if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') ||
        digits(&p, 2, &d))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (digits(&p, 2, &h) || expect(&p, ':') || digits(&p, 2, &mi))
        return -1;
    if (*p == ':' && (p++, digits(&p, 2, &sec) || fraction(&p, &frac)))
        return -1;
    if (offset(&p, &off) || *p)
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        sec > 60)
        return -1;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t t = ((days * 24 + h) * 60 + mi - off) * 60 + sec, cy;
    unsigned cm, cd;
    civil_from_days(days, &cy, &cm, &cd);
    if (t < 0 || cd != (unsigned)d) /* 29 February of a common year */
        return -1;
    *ms = (uint64_t)t * 1000 + (uint64_t)frac;
    return 0;
}

void plan_format_time(uint64_t ms, char *buf, size_t len)
{
    int64_t secs = (int64_t)(ms / 1000), days = secs / 86400, rem = secs % 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(buf, len, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60));
    if (n < 0 || (size_t)n >= len)
        return;
    if (ms % 1000)
        snprintf(buf + n, len - (size_t)n, ".%03dZ", (int)(ms % 1000));
    else
        snprintf(buf + n, len - (size_t)n, "Z");
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
