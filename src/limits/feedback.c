/*
 * DESIGN: what a provider's response teaches the limiter, run by the owner of
 * the lim_set right after a response arrives. The provider module extracts
 * the numbers (headers, JSON body); this file only gives them meaning, and
 * only ever makes the limiter more careful: a reported Remaining never frees
 * budget we think is spent, and blocks only extend (Jestha lengthens the
 * lockout of a client that keeps knocking, so nothing may be sent into one).
 */
#include "limits/lim_internal.h"

#include <string.h>

#define UNIX_SECONDS_FLOOR 1000000000 /* 2001-09-09: below this, "unix" means seconds left */
#define FALLBACK_BLOCK_MS 60000

void lim_feedback_init(struct lim_feedback *fb)
{
    memset(fb, 0, sizeof *fb);
    fb->reset_kind = LIM_RESET_NONE;
    fb->limit = fb->remaining = fb->reset = -1;
    fb->retry_after_s = fb->body_retry_after_s = -1;
    fb->bucket = -1;
}

/* now + seconds; absurd values (over ~31 years) saturate to LIM_NEVER. */
static uint64_t after_seconds(uint64_t now, int64_t seconds)
{
    if (seconds > 1000000000 || now > UINT64_MAX - (uint64_t)seconds * 1000)
        return LIM_NEVER;
    return now + (uint64_t)seconds * 1000;
}

uint64_t lim_reset_ms(enum lim_reset_kind kind, int64_t reset, uint64_t now_ms)
{
    if (reset < 0 || kind == LIM_RESET_NONE)
        return 0;
    if (kind == LIM_RESET_SECONDS || reset < UNIX_SECONDS_FLOOR)
        return after_seconds(now_ms, reset);
    return (uint64_t)reset * 1000;
}

/* ---- Remaining: another client may share the key ---- */

/* Raises the count of window w to what the provider reports. */
static void raise_window(struct lim_set *s, struct lim_win *w, const struct lim_feedback *fb,
                         uint64_t reset_ms, uint64_t now)
{
    uint64_t limit = fb->limit >= 0 ? (uint64_t)fb->limit : w->spec.max_units;
    uint64_t rem = (uint64_t)fb->remaining;
    uint64_t used = limit > rem ? limit - rem : 0;
    lim_win_raise(w, used, now, reset_ms, s->cfg.skew_ms);
}

/* Windows of drawn buckets whose max_units equals the reported Limit. */
static int raise_matching(struct lim_set *s, const struct lim_req *r, const struct lim_feedback *fb,
                          uint64_t reset_ms, uint64_t now)
{
    int hits = 0;
    for (size_t i = 0; i < r->nbuckets && fb->limit >= 0; i++) {
        struct lim_bucket *b = &s->b[r->buckets[i]];
        if (!lim_bucket_draws(b, r))
            continue;
        for (uint32_t k = 0; k < b->nwin; k++) {
            struct lim_win *w = &s->w[b->first + k];
            if (w->spec.max_units == (uint64_t)fb->limit) {
                raise_window(s, w, fb, reset_ms, now);
                hits++;
            }
        }
    }
    return hits;
}

static uint64_t win_order(const struct lim_win *w)
{
    if (w->kind == LIM_ROLLING || w->kind == LIM_FIXED)
        return w->len;
    return w->kind == LIM_CALENDAR_MONTH ? UINT64_MAX - 1 : UINT64_MAX;
}

/* Without a matching Limit: the shortest window of the first drawn "*"
 * bucket (the key-wide one), else of the first drawn bucket. */
static struct lim_win *fallback_window(struct lim_set *s, const struct lim_req *r)
{
    struct lim_bucket *pick = NULL;
    for (size_t i = 0; i < r->nbuckets; i++) {
        struct lim_bucket *b = &s->b[r->buckets[i]];
        if (!lim_bucket_draws(b, r) || !b->nwin)
            continue;
        if (!pick || (!strcmp(b->route, "*") && strcmp(pick->route, "*")))
            pick = b;
    }
    if (!pick)
        return NULL;
    struct lim_win *best = &s->w[pick->first];
    for (uint32_t k = 1; k < pick->nwin; k++)
        if (win_order(&s->w[pick->first + k]) < win_order(best))
            best = &s->w[pick->first + k];
    return best;
}

static void apply_remaining(struct lim_set *s, const struct lim_req *r,
                            const struct lim_feedback *fb, uint64_t reset_ms, uint64_t now)
{
    if (raise_matching(s, r, fb, reset_ms, now))
        return;
    struct lim_win *w = fallback_window(s, r);
    if (w)
        raise_window(s, w, fb, reset_ms, now);
}

/* ---- 429: block ---- */

/* The latest moment the response names, or 0 when it names none. */
static uint64_t stated_until(const struct lim_feedback *fb, uint64_t reset_ms, uint64_t now)
{
    uint64_t until = 0;
    if (fb->retry_after_s >= 0)
        until = after_seconds(now, fb->retry_after_s);
    if (fb->body_retry_after_s >= 0 && after_seconds(now, fb->body_retry_after_s) > until)
        until = after_seconds(now, fb->body_retry_after_s);
    if (reset_ms > until)
        until = reset_ms;
    return until;
}

/* A 429 naming no time (SchedPilot): until the bucket's shortest fixed or
 * month window turns over (already + skew), else a rolling window has
 * emptied, else a minute. */
static uint64_t unstated_until(const struct lim_set *s, const struct lim_bucket *b, uint64_t now)
{
    uint64_t periodic = 0, rolling = 0;
    for (uint32_t k = 0; k < b->nwin; k++) {
        const struct lim_win *w = &s->w[b->first + k];
        uint64_t end = lim_win_period_end(w, now, s->cfg.skew_ms);
        if (w->kind == LIM_ROLLING)
            rolling = !rolling || end < rolling ? end : rolling;
        else if (w->kind != LIM_LIFETIME)
            periodic = !periodic || end < periodic ? end : periodic;
    }
    if (periodic)
        return periodic;
    return rolling ? rolling : now + FALLBACK_BLOCK_MS + s->cfg.skew_ms;
}

static void block_bucket(struct lim_set *s, uint32_t bi, uint64_t stated, uint64_t now)
{
    struct lim_bucket *b = &s->b[bi];
    if (stated) {
        lim_block(s, bi, stated); /* adds the skew margin */
        return;
    }
    uint64_t until = unstated_until(s, b, now);
    if (until > b->blocked_until)
        b->blocked_until = until;
}

static void apply_429(struct lim_set *s, const struct lim_req *r, const struct lim_feedback *fb,
                      uint64_t reset_ms, uint64_t now)
{
    uint64_t stated = stated_until(fb, reset_ms, now);
    if (fb->bucket >= 0 && (uint32_t)fb->bucket < s->nb) {
        block_bucket(s, (uint32_t)fb->bucket, stated, now);
        return;
    }
    for (size_t i = 0; i < r->nbuckets; i++)
        if (lim_bucket_draws(&s->b[r->buckets[i]], r))
            block_bucket(s, r->buckets[i], stated, now);
}

void lim_apply_feedback(struct lim_set *s, const struct lim_req *r, const struct lim_feedback *fb,
                        uint64_t now_ms)
{
    uint64_t reset_ms = lim_reset_ms(fb->reset_kind, fb->reset, now_ms);
    if (fb->remaining >= 0)
        apply_remaining(s, r, fb, reset_ms, now_ms);
    if (fb->status == 429)
        apply_429(s, r, fb, reset_ms, now_ms);
}
