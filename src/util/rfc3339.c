/*
 * DESIGN: one hand-written scanner over a length-bounded buffer (import
 * fields are not NUL-terminated at the time's end; query strings are),
 * then the calendar and range checks on the numbers, in that order, so the
 * reason given is the first thing wrong. The civil-date arithmetic is
 * Howard Hinnant's days_from_civil / civil_from_days: exact for every year,
 * no timegm/gmtime and no TZ environment. Nothing here allocates or reads
 * a clock; tests/unit/test_rfc3339.c and tests/fuzz/fuzz_time.c pin it.
 */
#include "util/rfc3339.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define DAY_S INT64_C(86400)

static const char *const messages[] = {
#define RFC3339_TEXT(name, text) text,
    RFC3339_ERRORS(RFC3339_TEXT)
#undef RFC3339_TEXT
};

const char *rfc3339_strerror(enum rfc3339_err e)
{
    return (unsigned)e < sizeof messages / sizeof messages[0] ? messages[e] : "bad time";
}

/* ---- civil dates ---- */

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

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

/* ---- scanning ---- */

struct scan {
    const char *p, *end;
};

/* Reads exactly n digits; -1 when they are not there. */
static int digits(struct scan *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++, s->p++) {
        if (s->p >= s->end || *s->p < '0' || *s->p > '9')
            return -1;
        v = v * 10 + (*s->p - '0');
    }
    return v;
}

/* Consumes one byte of `set`; 0, or -1 when the next byte is not in it. */
static int expect(struct scan *s, const char *set)
{
    if (s->p < s->end && *s->p && strchr(set, *s->p)) {
        s->p++;
        return 0;
    }
    return -1;
}

static int peek(const struct scan *s, char c)
{
    return s->p < s->end && *s->p == c;
}

/* YYYY-MM-DD[Tt ]HH:MM: the part every time has. */
static enum rfc3339_err scan_date_time(struct scan *s, struct rfc3339_time *t)
{
    t->year = digits(s, 4);
    t->month = expect(s, "-") ? -1 : digits(s, 2);
    t->day = expect(s, "-") ? -1 : digits(s, 2);
    t->hour = expect(s, "Tt ") ? -1 : digits(s, 2);
    t->minute = expect(s, ":") ? -1 : digits(s, 2);
    if (t->year < 0 || t->month < 0 || t->day < 0 || t->hour < 0 || t->minute < 0)
        return RFC3339_E_SYNTAX;
    return RFC3339_E_OK;
}

/* [:SS[.f{1,6}]] */
static enum rfc3339_err scan_seconds(struct scan *s, struct rfc3339_time *t)
{
    t->second = t->usec = 0;
    if (!peek(s, ':'))
        return RFC3339_E_OK;
    s->p++;
    if ((t->second = digits(s, 2)) < 0)
        return RFC3339_E_SYNTAX;
    if (!peek(s, '.'))
        return RFC3339_E_OK;
    s->p++;
    int n = 0;
    for (; s->p < s->end && *s->p >= '0' && *s->p <= '9'; s->p++, n++)
        if (n < 6)
            t->usec = t->usec * 10 + (*s->p - '0');
    if (n == 0 || n > 6)
        return RFC3339_E_FRACTION;
    for (; n < 6; n++)
        t->usec *= 10;
    return RFC3339_E_OK;
}

/* [Z | ±HH[[:]MM]] up to the end. */
static enum rfc3339_err scan_offset(struct scan *s, struct rfc3339_time *t)
{
    t->has_offset = 0;
    t->offset_min = 0;
    if (s->p == s->end)
        return RFC3339_E_OK;
    if (expect(s, "Zz") == 0) {
        t->has_offset = 1;
        return s->p == s->end ? RFC3339_E_OK : RFC3339_E_TRAILING;
    }
    int sign = peek(s, '+') ? 1 : peek(s, '-') ? -1 : 0;
    if (!sign)
        return RFC3339_E_TRAILING;
    s->p++;
    int hh = digits(s, 2), mm = 0;
    if (hh < 0)
        return RFC3339_E_OFFSET;
    if (s->p < s->end) {
        (void)expect(s, ":");
        mm = digits(s, 2);
    }
    if (mm < 0 || mm > 59 || hh * 60 + mm > RFC3339_MAX_OFFSET_MIN)
        return RFC3339_E_OFFSET;
    if (s->p != s->end)
        return RFC3339_E_TRAILING;
    t->has_offset = 1;
    t->offset_min = sign * (hh * 60 + mm);
    return RFC3339_E_OK;
}

/* ---- checks ---- */

static enum rfc3339_err check_calendar(const struct rfc3339_time *t)
{
    if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > days_in_month(t->year, t->month))
        return RFC3339_E_DATE;
    if (t->hour > 23 || t->minute > 59 || t->second > 60)
        return RFC3339_E_TIME;
    if (t->second == 60)
        return RFC3339_E_LEAP;
    return RFC3339_E_OK;
}

static enum rfc3339_err check_range(const struct rfc3339_time *t)
{
    int64_t us = rfc3339_to_us(t);
    if (!rfc3339_us_in_range(us))
        return RFC3339_E_RANGE;
    int64_t margin = (int64_t)RFC3339_ZONE_MARGIN_S * 1000000;
    if (!t->has_offset && (us < RFC3339_MIN_US + margin || us > RFC3339_MAX_US - margin))
        return RFC3339_E_EDGE;
    return RFC3339_E_OK;
}

enum rfc3339_err rfc3339_parse(const char *str, size_t len, struct rfc3339_time *out)
{
    struct scan s = {str, str + len};
    struct rfc3339_time t;
    enum rfc3339_err e = scan_date_time(&s, &t);
    if (e == RFC3339_E_OK)
        e = scan_seconds(&s, &t);
    if (e == RFC3339_E_OK)
        e = check_calendar(&t);
    if (e == RFC3339_E_OK)
        e = scan_offset(&s, &t);
    if (e == RFC3339_E_OK)
        e = check_range(&t);
    if (e == RFC3339_E_OK)
        *out = t;
    return e;
}

enum rfc3339_err rfc3339_parse_instant(const char *s, int64_t *us)
{
    struct rfc3339_time t;
    enum rfc3339_err e = rfc3339_parse(s, strlen(s), &t);
    if (e == RFC3339_E_OK && !t.has_offset)
        e = RFC3339_E_NEED_OFFSET;
    if (e == RFC3339_E_OK)
        *us = rfc3339_to_us(&t);
    return e;
}

int64_t rfc3339_to_us(const struct rfc3339_time *t)
{
    int64_t days = days_from_civil(t->year, (unsigned)t->month, (unsigned)t->day);
    int64_t secs = days * DAY_S + t->hour * 3600 + t->minute * 60 + t->second;
    secs -= (int64_t)t->offset_min * 60;
    return secs * 1000000 + t->usec;
}

int rfc3339_us_in_range(int64_t us)
{
    return us >= RFC3339_MIN_US && us <= RFC3339_MAX_US;
}

/* ---- text ---- */

void rfc3339_local_text(const struct rfc3339_time *t, char *buf, size_t len)
{
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%06d", t->year, t->month, t->day, t->hour,
             t->minute, t->second, t->usec);
}

void rfc3339_offset_text(const struct rfc3339_time *t, char *buf, size_t len)
{
    int m = t->offset_min < 0 ? -t->offset_min : t->offset_min;
    if (!t->has_offset)
        snprintf(buf, len, "%s", "");
    else
        snprintf(buf, len, "%c%02d:%02d", t->offset_min < 0 ? '-' : '+', m / 60, m % 60);
}

void rfc3339_format_ms(int64_t ms, char *buf, size_t len)
{
    int64_t secs = ms / 1000, days = secs / DAY_S, rem = secs % DAY_S, y;
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
