/*
 * DESIGN: the rolling log is a growable ring (it may hold more than `limit`
 * entries when refused requests are counted too); fixed windows keep one
 * counter and the bounds of the window it belongs to, moved on lazily by
 * whoever looks at the window next. Never reads a clock, never locks: the
 * simulator's loop thread owns every window.
 */
#include "sim_window.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/xmalloc.h"

void swin_init(struct swin *w, enum swin_kind kind, uint32_t limit, uint64_t len_us, int calendar)
{
    memset(w, 0, sizeof *w);
    w->kind = kind;
    w->limit = limit;
    w->len_us = len_us ? len_us : 1;
    w->calendar = calendar;
}

void swin_finish(struct swin *w)
{
    free(w->log);
    w->log = NULL;
    w->cap = w->n = w->head = 0;
}

void swin_clear(struct swin *w)
{
    w->n = w->head = 0;
    w->start_us = w->end_us = 0;
    w->count = 0;
    w->locked_until = 0;
}

static void month_bounds(uint64_t now, uint64_t *start, uint64_t *end)
{
    time_t t = (time_t)(now / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    *start = (uint64_t)timegm(&tm) * 1000000;
    tm.tm_mon += 1; /* timegm normalises December + 1 */
    *end = (uint64_t)timegm(&tm) * 1000000;
}

/* Moves the window on to `now`: expires old log entries or starts a new period. */
static void advance(struct swin *w, uint64_t now)
{
    switch (w->kind) {
    case SWIN_ROLLING:
        while (w->n > 0 && w->log[w->head] + w->len_us <= now) {
            w->head = (w->head + 1) % w->cap;
            w->n--;
        }
        break;
    case SWIN_FIXED:
    case SWIN_MONTH:
        if (now >= w->start_us && now < w->end_us)
            break;
        if (w->kind == SWIN_MONTH && w->calendar) {
            month_bounds(now, &w->start_us, &w->end_us);
        } else {
            w->start_us = now / w->len_us * w->len_us;
            w->end_us = w->start_us + w->len_us;
        }
        w->count = 0;
        break;
    case SWIN_LIFETIME: break;
    }
}

uint64_t swin_used(struct swin *w, uint64_t now)
{
    advance(w, now);
    return w->kind == SWIN_ROLLING ? w->n : w->count;
}

uint64_t swin_remaining(struct swin *w, uint64_t now)
{
    if (w->limit == 0)
        return UINT32_MAX;
    uint64_t used = swin_used(w, now);
    return used >= w->limit ? 0 : w->limit - used;
}

uint64_t swin_free_at(struct swin *w, uint64_t now, uint32_t cost)
{
    if (w->limit == 0)
        return now;
    if (cost > w->limit)
        return SWIN_NEVER;
    uint64_t used = swin_used(w, now);
    if (used + cost <= w->limit)
        return now;
    switch (w->kind) {
    case SWIN_ROLLING: {
        /* The (used + cost - limit) oldest entries must leave first. */
        uint64_t k = used + cost - w->limit;
        return w->log[(w->head + k - 1) % w->cap] + w->len_us;
    }
    case SWIN_FIXED:
    case SWIN_MONTH: return w->end_us;
    case SWIN_LIFETIME: return SWIN_NEVER;
    }
    return SWIN_NEVER;
}

uint64_t swin_reset_at(struct swin *w, uint64_t now)
{
    advance(w, now);
    switch (w->kind) {
    case SWIN_ROLLING: return w->n > 0 ? w->log[w->head] + w->len_us : now + w->len_us;
    case SWIN_FIXED:
    case SWIN_MONTH: return w->end_us;
    case SWIN_LIFETIME: return SWIN_NEVER;
    }
    return SWIN_NEVER;
}

static void log_push(struct swin *w, uint64_t t)
{
    if (w->n == w->cap) {
        uint32_t ncap = w->cap ? w->cap * 2 : 16;
        uint64_t *nlog = xmalloc(ncap * sizeof *nlog);
        for (uint32_t i = 0; i < w->n; i++)
            nlog[i] = w->log[(w->head + i) % w->cap];
        free(w->log);
        w->log = nlog;
        w->cap = ncap;
        w->head = 0;
    }
    w->log[(w->head + w->n) % w->cap] = t;
    w->n++;
}

void swin_add(struct swin *w, uint64_t now, uint32_t cost)
{
    advance(w, now);
    if (w->kind == SWIN_ROLLING) {
        for (uint32_t i = 0; i < cost; i++)
            log_push(w, now);
    } else {
        w->count += cost;
    }
}
