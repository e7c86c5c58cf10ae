/*
 * clock: the only module that reads the system clock. Everything else takes
 * time as an argument (milliseconds since the Unix epoch, UTC), so a test can
 * drive it with a virtual clock.
 */
#ifndef POSTPACE_CLOCK_H
#define POSTPACE_CLOCK_H

#include <stdint.h>
#include <time.h>

struct clk;

/* The real clock: wall time from CLOCK_REALTIME. */
extern struct clk *const clk_real;

/* A virtual clock starting at `start_ms`; only clk_set/clk_advance move it. */
struct clk *clk_virtual_create(uint64_t start_ms);
void clk_destroy(struct clk *c);
void clk_set(struct clk *c, uint64_t ms);
void clk_advance(struct clk *c, uint64_t ms);

/* Wall time in milliseconds since the epoch (UTC). */
uint64_t clk_now_ms(const struct clk *c);
/* Monotonic milliseconds, for timeouts and durations (virtual: same as now). */
uint64_t clk_mono_ms(const struct clk *c);

/* The real moment ms from now, as pthread_cond_timedwait takes it. */
struct timespec clk_cond_deadline(uint64_t ms);

#endif
