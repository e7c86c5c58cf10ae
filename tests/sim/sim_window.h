/*
 * sim_window: one rate-limit window of the simulator, pure and clock-free.
 * Every function takes `now` in microseconds since the Unix epoch (UTC), so
 * tests drive it with a virtual clock and the server passes the wall clock.
 *
 *   rolling   exact sliding log: a unit sent at t counts while now < t + len
 *   fixed     counter over [k*len, (k+1)*len), aligned to the epoch
 *   month     calendar month in UTC (calendar=1), else a fixed window of len
 *   lifetime  never resets
 *
 * A limit of 0 means "unlimited": the window never refuses.
 */
#ifndef POSTPACE_SIM_WINDOW_H
#define POSTPACE_SIM_WINDOW_H

#include <stdint.h>

#define SWIN_NEVER UINT64_MAX

enum swin_kind {
    SWIN_ROLLING,  /* sliding log of send times */
    SWIN_FIXED,    /* epoch-aligned fixed window */
    SWIN_MONTH,    /* calendar month (or len when scaled) */
    SWIN_LIFETIME, /* a total that never resets */
};

struct swin {
    enum swin_kind kind;
    uint32_t limit;  /* 0: unlimited */
    uint64_t len_us; /* window length (rolling, fixed, scaled month) */
    int calendar;    /* month only: real UTC calendar months */
    uint64_t *log;   /* rolling: ring of send times, oldest at head */
    uint32_t cap, head, n;
    uint64_t start_us, end_us; /* fixed/month: current window bounds */
    uint64_t count;            /* fixed/month/lifetime: units in it */
    uint64_t locked_until;     /* a lockout the caller set (Jestha), 0: none */
};

/* init/finish pair: the caller owns `w`; finish frees the log. */
void swin_init(struct swin *w, enum swin_kind kind, uint32_t limit, uint64_t len_us, int calendar);
void swin_finish(struct swin *w);
/* Forgets every counted unit and any lockout. */
void swin_clear(struct swin *w);

/* Units counted in the window at `now`. */
uint64_t swin_used(struct swin *w, uint64_t now);
/* Units still allowed at `now` (0 when full; UINT32_MAX when unlimited). */
uint64_t swin_remaining(struct swin *w, uint64_t now);
/* Earliest time >= now at which `cost` more units fit; SWIN_NEVER if never. */
uint64_t swin_free_at(struct swin *w, uint64_t now, uint32_t cost);
/*
 * The reset time reported to clients: fixed/month: the window's end; rolling:
 * when the oldest counted unit leaves (now + len when empty); lifetime: NEVER.
 */
uint64_t swin_reset_at(struct swin *w, uint64_t now);
/* Counts `cost` units sent at `now` (beyond the limit too, if asked). */
void swin_add(struct swin *w, uint64_t now, uint32_t cost);

#endif
