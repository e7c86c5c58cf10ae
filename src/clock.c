/*
 * DESIGN: a clock is either the real one (a static singleton) or a virtual
 * one owned by a test. Virtual clocks are read and moved by one thread.
 */
#include "clock.h"

#include <stdlib.h>
#include <time.h>

#include "util/xmalloc.h"

struct clk {
    int is_virtual;
    uint64_t virtual_ms;
};

static struct clk real_clock = {0, 0};
struct clk *const clk_real = &real_clock;

struct clk *clk_virtual_create(uint64_t start_ms)
{
    struct clk *c = xmalloc(sizeof *c);
    c->is_virtual = 1;
    c->virtual_ms = start_ms;
    return c;
}

void clk_destroy(struct clk *c)
{
    if (c && c != clk_real)
        free(c);
}

void clk_set(struct clk *c, uint64_t ms)
{
    c->virtual_ms = ms;
}

void clk_advance(struct clk *c, uint64_t ms)
{
    c->virtual_ms += ms;
}

static uint64_t read_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t clk_now_ms(const struct clk *c)
{
    return c->is_virtual ? c->virtual_ms : read_ms(CLOCK_REALTIME);
}

uint64_t clk_mono_ms(const struct clk *c)
{
    return c->is_virtual ? c->virtual_ms : read_ms(CLOCK_MONOTONIC);
}

struct timespec clk_cond_deadline(uint64_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}
