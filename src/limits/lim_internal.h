/*
 * limits, private: the structures shared by limiter.c, window.c, feedback.c
 * and rows.c. Nothing outside src/limits/ includes this header.
 */
#ifndef POSTPACE_LIMITS_INTERNAL_H
#define POSTPACE_LIMITS_INTERNAL_H

#include "limits/limiter.h"

/* One send in a rolling log: its time and the units it spent. */
struct lim_ent {
    uint64_t t;
    uint64_t units;
};

/* One window's spec and state. `kind` is the effective kind: a calendar
 * month under a time scale counts as LIM_FIXED of 30 days/scale. */
/* Periods a fixed window remembers: a send counts in every period within
 * skew of it, so 2*skew/len + 2 of them (a demo's 1 s window with a 1 s
 * skew: four); older ones count as full. */
#define LIM_PERIODS 8

struct lim_win {
    struct lim_window_spec spec;
    enum lim_kind kind;
    uint64_t len; /* effective length in ms (rolling, fixed) */
    /* rolling: ring of sends, oldest at head; sum of their units */
    struct lim_ent *ring;
    uint32_t cap, head, n;
    uint64_t sum;
    /* fixed, month, lifetime: units in period p for per - LIM_PERIODS < p
     * <= per, at cnt[p % LIM_PERIODS] */
    uint64_t per;
    uint64_t cnt[LIM_PERIODS];
};

struct lim_bucket {
    char *route;
    int route_class;      /* enum route_class in limiter.c */
    uint32_t first, nwin; /* windows s->w[first .. first+nwin) */
    uint64_t last_sent;
    uint64_t blocked_until;
    /* pacing (GCRA) on window pace_win, or -1: theoretical arrival time
     * tat_q + tat_r/pace_l ms; each unit adds pace_p/pace_l ms */
    int32_t pace_win;
    uint64_t pace_p, pace_l, burst;
    uint64_t tat_q, tat_r;
    /* a fixed paced window instead: the period entered (by its first paced
     * send) at pace_entry, which ends at pace_end (0: none yet) and whose
     * sends must leave by pace_last; pace_units sent in it since */
    uint64_t pace_entry, pace_end, pace_last, pace_units;
};

struct lim_set {
    struct lim_config cfg;
    struct lim_bucket *b;
    uint32_t nb, capb;
    struct lim_win *w;
    uint32_t nw, capw;
};

/* window.c */
void lim_win_init(struct lim_win *w, const struct lim_window_spec *spec, double scale);
void lim_win_finish(struct lim_win *w);
void lim_win_copy(struct lim_win *dst, const struct lim_win *src);
void lim_win_clear(struct lim_win *w);
uint64_t lim_win_earliest(const struct lim_win *w, uint64_t units, uint64_t now, uint64_t skew);
void lim_win_add(struct lim_win *w, uint64_t units, uint64_t t, uint64_t skew);
uint64_t lim_win_used(const struct lim_win *w, uint64_t now, uint64_t skew);
void lim_win_raise(struct lim_win *w, uint64_t used, uint64_t now, uint64_t reset_ms,
                   uint64_t skew);
uint64_t lim_win_period_end(const struct lim_win *w, uint64_t now, uint64_t skew);

/* limiter.c */
uint64_t lim_req_units(const struct lim_req *r, enum lim_cost cost);
int lim_bucket_draws(const struct lim_bucket *b, const struct lim_req *r);

#endif
