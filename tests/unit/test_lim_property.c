/* Property tests for limits: random request streams on every provider
 * profile (the seed rows of migrations/0001_baseline.sql), checked by an independent
 * brute-force checker that recounts every window from the full send history;
 * and throughput with an unbounded backlog against a greedy reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "limits/limiter.h"

#define SEC 1000ULL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define FEB28_2024 1709078400000ULL
#define NEVER UINT64_MAX
#define MAXREQ 400

/* The rate_limits seed of migrations/0001_baseline.sql, row for row. */
static const struct lim_row seed[] = {
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, 60000, 60, LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, 3600000, 1000, LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, 86400000, 10000, LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /posts", LIM_ROLLING, 60000, 20,
     LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /posts", LIM_ROLLING, 3600000, 100,
     LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /posts", LIM_ROLLING, 86400000, 500,
     LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /ai/generate-image", LIM_ROLLING, 300000, 50,
     LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /ai/generate-image", LIM_ROLLING, 3600000, 200,
     LIM_COST_REQUEST},
    {"schedpilot", NULL, 0, LIM_SCOPE_USER, "read", LIM_FIXED, 3600000, 60, LIM_COST_REQUEST},
    {"schedpilot", NULL, 0, LIM_SCOPE_USER, "write", LIM_FIXED, 3600000, 30, LIM_COST_REQUEST},
    {"feedhorizon", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, 60000, 100, LIM_COST_REQUEST},
    {"postlark", "free", 0, LIM_SCOPE_KEY, "*", LIM_FIXED, 3600000, 60, LIM_COST_REQUEST},
    {"postlark", "starter", 0, LIM_SCOPE_KEY, "*", LIM_FIXED, 3600000, 300, LIM_COST_REQUEST},
    {"postlark", "creator", 0, LIM_SCOPE_KEY, "*", LIM_FIXED, 3600000, 1000, LIM_COST_REQUEST},
    {"postlark", "scale", 0, LIM_SCOPE_KEY, "*", LIM_FIXED, 3600000, 10000, LIM_COST_REQUEST},
    {"postlark", "enterprise", 0, LIM_SCOPE_KEY, "*", LIM_FIXED, 3600000, 10000, LIM_COST_REQUEST},
    {"postlark", "free", 0, LIM_SCOPE_ACCOUNT, "POST /posts", LIM_LIFETIME, 0, 10, LIM_COST_POST},
    {"postlark", "starter", 0, LIM_SCOPE_ACCOUNT, "POST /posts", LIM_CALENDAR_MONTH, 0, 15,
     LIM_COST_POST},
    {"postlark", "creator", 0, LIM_SCOPE_ACCOUNT, "POST /posts", LIM_CALENDAR_MONTH, 0, 50,
     LIM_COST_POST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, 60000, 60, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, 86400000, 10000, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "POST /api/posts", LIM_ROLLING, 60000, 10, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_ACCOUNT, "POST /api/posts", LIM_FIXED, 86400000, 1000,
     LIM_COST_POST},
};
#define NSEED (sizeof seed / sizeof seed[0])

struct profile {
    const char *provider, *plan;
    const char *routes[4]; /* routes[1] creates posts */
    int nroutes;
};

static const struct profile profiles[] = {
    {"posteverywhere",
     "default",
     {"GET /posts", "POST /posts", "POST /ai/generate-image", "GET /accounts"},
     4},
    {"schedpilot",
     "default",
     {"GET /developers/v1/posts", "POST /developers/v1/post", "DELETE /developers/v1/posts/1"},
     3},
    {"feedhorizon", "default", {"GET /posts", "POST /posts"}, 2},
    {"postlark", "free", {"GET /posts", "POST /posts"}, 2},
    {"postlark", "starter", {"GET /posts", "POST /posts"}, 2},
    {"postlark", "creator", {"GET /posts", "POST /posts"}, 2},
    {"postlark", "scale", {"GET /posts", "POST /posts"}, 2},
    {"postlark", "enterprise", {"GET /posts", "POST /posts"}, 2},
    {"jestha", "default", {"GET /api/posts", "POST /api/posts"}, 2},
};
#define NPROFILES (sizeof profiles / sizeof profiles[0])

/* ---- a small seeded PRNG (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

/* ---- the checker's own model: no code shared with src/limits ---- */

/* Month starts (ms) from 2020-01 on, from days-in-month tables. */
#define NMONTHS 240
static uint64_t month_start[NMONTHS + 1];

static void build_months(void)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint64_t t = 1577836800000ULL; /* 2020-01-01 */
    for (int i = 0; i <= NMONTHS; i++) {
        month_start[i] = t;
        int y = 2020 + i / 12, m = i % 12;
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        t += (uint64_t)(dim[m] + (m == 1 && leap)) * DAY;
    }
}

struct cwin {
    const char *route;
    int kind; /* 0 rolling, 1 fixed, 2 month, 3 lifetime */
    uint64_t len, max;
    enum lim_cost cost;
};

struct send {
    uint64_t t;
    int route;
    uint32_t accounts, posts;
};

static int draws(const char *bucket_route, const char *route)
{
    if (!strcmp(bucket_route, "*"))
        return 1;
    if (!strcmp(bucket_route, "read"))
        return !strncmp(route, "GET ", 4);
    if (!strcmp(bucket_route, "write"))
        return !strncmp(route, "POST ", 5) || !strncmp(route, "DELETE ", 7) ||
               !strncmp(route, "PUT ", 4) || !strncmp(route, "PATCH ", 6);
    return !strcmp(bucket_route, route);
}

static uint64_t cost_of(enum lim_cost c, const struct send *s)
{
    return c == LIM_COST_POST ? s->posts : c == LIM_COST_ACCOUNT ? s->accounts : 1;
}

static uint64_t ceil_div(uint64_t a, double scale)
{
    uint64_t x = (uint64_t)((double)a / scale);
    while ((double)x * scale < (double)a)
        x++;
    return x ? x : 1;
}

static struct cwin cwin_of(const struct lim_row *r, double scale)
{
    struct cwin c = {r->route, 0, 0, r->max_units, r->cost};
    if (r->kind == LIM_ROLLING || r->kind == LIM_FIXED) {
        c.kind = r->kind == LIM_ROLLING ? 0 : 1;
        c.len = ceil_div(r->window_ms, scale);
    } else if (r->kind == LIM_CALENDAR_MONTH) {
        c.kind = scale == 1 ? 2 : 1;
        c.len = scale == 1 ? 0 : ceil_div(30 * DAY, scale);
    } else {
        c.kind = 3;
    }
    return c;
}

/* Start of the period holding t, and of the next one. */
static void period_bounds(const struct cwin *c, uint64_t t, uint64_t *a, uint64_t *b)
{
    if (c->kind == 1) {
        *a = t / c->len * c->len;
        *b = *a + c->len;
    } else if (c->kind == 2) {
        int i = 0;
        while (i < NMONTHS && month_start[i + 1] <= t)
            i++;
        *a = month_start[i];
        *b = month_start[i + 1];
    } else {
        *a = 0;
        *b = NEVER;
    }
}

/* Units of the sends drawing on c with time in [from, to), by a linear scan. */
static uint64_t units_between(const struct cwin *c, const struct send *h, size_t n,
                              const struct profile *p, uint64_t from, uint64_t to)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        if (h[i].t >= from && h[i].t < to && draws(c->route, p->routes[h[i].route]))
            sum += cost_of(c->cost, &h[i]);
    return sum;
}

/* First index of the time-sorted history with t >= x. */
static size_t lower_bound(const struct send *h, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h[mid].t < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Units in [from, to) from prefix sums over the history. */
static uint64_t recount(const uint64_t *pre, const struct send *h, size_t n, uint64_t from,
                        uint64_t to)
{
    return pre[lower_bound(h, n, to)] - pre[lower_bound(h, n, from)];
}

/* Violations of one window over the history: sliding windows recount the
 * (len + skew) before each send; periods recount every period a send falls
 * into, widened by the skew on both sides. */
static int check_window(const struct cwin *c, const struct send *h, size_t n,
                        const struct profile *p, uint64_t skew)
{
    uint64_t pre[MAXREQ + 1];
    pre[0] = 0;
    for (size_t i = 0; i < n; i++)
        pre[i + 1] =
            pre[i] + (draws(c->route, p->routes[h[i].route]) ? cost_of(c->cost, &h[i]) : 0);
    for (size_t j = 0; j < n; j++) {
        if (!draws(c->route, p->routes[h[j].route]) || !cost_of(c->cost, &h[j]))
            continue;
        uint64_t used;
        if (c->kind == 0) {
            uint64_t from = h[j].t >= c->len + skew ? h[j].t - c->len - skew + 1 : 0;
            used = recount(pre, h, j + 1, from, h[j].t + 1);
        } else {
            uint64_t a, b, a2, b2;
            period_bounds(c, h[j].t >= skew ? h[j].t - skew : 0, &a, &b);
            period_bounds(c, h[j].t + skew, &a2, &b2);
            used = recount(pre, h, n, a >= skew ? a - skew : 0, b == NEVER ? NEVER : b + skew);
            uint64_t u2 =
                recount(pre, h, n, a2 >= skew ? a2 - skew : 0, b2 == NEVER ? NEVER : b2 + skew);
            used = u2 > used ? u2 : used;
        }
        if (used > c->max) {
            print_message("violation: route=%s kind=%d len=%llu max=%llu used=%llu at t=%llu\n",
                          c->route, c->kind, (unsigned long long)c->len, (unsigned long long)c->max,
                          (unsigned long long)used, (unsigned long long)h[j].t);
            return 1;
        }
    }
    return 0;
}

/* ---- the random streams ---- */

struct block {
    const char *route; /* bucket route */
    uint64_t from, until;
};

struct stream {
    const struct profile *p;
    struct lim_row rows[NSEED];
    size_t nrows;
    struct cwin win[NSEED];
    size_t nwin;
    double scale;
    uint64_t skew;
    struct lim_set *set;
    uint32_t buckets[NSEED];
    size_t nbuckets;
};

/* The profile's rows, with every max_units divided so long windows bind in
 * short streams. */
static void stream_setup(struct stream *st, const struct profile *p, uint64_t divisor, double scale,
                         uint64_t skew, uint32_t burst)
{
    memset(st, 0, sizeof *st);
    st->p = p;
    st->scale = scale;
    st->skew = skew;
    struct lim_row all[NSEED];
    for (size_t i = 0; i < NSEED; i++) {
        all[i] = seed[i];
        all[i].max_units = seed[i].max_units / divisor ? seed[i].max_units / divisor : 1;
    }
    const struct lim_row *sel[NSEED];
    st->nrows = lim_rows_select(all, NSEED, p->provider, p->plan, 1, sel);
    for (size_t i = 0; i < st->nrows; i++) {
        st->rows[i] = *sel[i];
        st->win[st->nwin++] = cwin_of(sel[i], scale);
    }
    struct lim_config cfg;
    lim_config_init(&cfg);
    cfg.skew_ms = skew;
    cfg.burst = burst;
    st->set = lim_set_create(&cfg);
    for (int scope = LIM_SCOPE_KEY; scope <= LIM_SCOPE_ACCOUNT; scope++)
        st->nbuckets += lim_set_add_rows(st->set, sel, st->nrows, (enum lim_scope)scope, scale,
                                         st->buckets + st->nbuckets);
}

static struct lim_req stream_req(const struct stream *st, const struct send *s)
{
    struct lim_req r = {st->p->routes[s->route], st->buckets, st->nbuckets, s->accounts, s->posts};
    return r;
}

/* NEVER must mean: some drawn window can never take this request. */
static int never_is_justified(const struct stream *st, const struct send *s, const struct send *h,
                              size_t n)
{
    for (size_t i = 0; i < st->nwin; i++) {
        const struct cwin *c = &st->win[i];
        if (!draws(c->route, st->p->routes[s->route]))
            continue;
        uint64_t u = cost_of(c->cost, s);
        if (u > c->max)
            return 1;
        if (c->kind == 3 && u && units_between(c, h, n, st->p, 0, NEVER) + u > c->max)
            return 1;
    }
    return 0;
}

static int check_blocks(const struct stream *st, const struct block *bl, size_t nbl,
                        const struct send *h, size_t n)
{
    for (size_t b = 0; b < nbl; b++)
        for (size_t i = 0; i < n; i++)
            if (h[i].t >= bl[b].from && h[i].t < bl[b].until &&
                draws(bl[b].route, st->p->routes[h[i].route])) {
                print_message("send at %llu inside a block until %llu\n",
                              (unsigned long long)h[i].t, (unsigned long long)bl[b].until);
                return 1;
            }
    return 0;
}

/* Bucket routes the request draws on, for recording blocks. */
static size_t drawn_routes(const struct stream *st, const char *route, const char **out)
{
    size_t k = 0;
    for (size_t i = 0; i < st->nrows; i++) {
        int seen = 0;
        for (size_t j = 0; j < k; j++)
            seen |= !strcmp(out[j], st->rows[i].route);
        if (!seen && draws(st->rows[i].route, route))
            out[k++] = st->rows[i].route;
    }
    return k;
}

/* One stream's requests and what became of them. */
struct run {
    struct stream st;
    uint64_t start, horizon, clock;
    size_t nreq, nh, nbl;
    struct send req[MAXREQ], hist[MAXREQ];
    uint64_t arrival[MAXREQ];
    size_t order[MAXREQ]; /* request indices by arrival */
    int done[MAXREQ];
    struct block bl[MAXREQ * 4];
    int bad;
};

static void make_requests(struct run *ru)
{
    const struct profile *p = ru->st.p;
    for (size_t i = 0; i < ru->nreq; i++) {
        ru->arrival[i] = ru->start + rnd_below(ru->horizon);
        ru->req[i].route = (int)rnd_below((uint64_t)p->nroutes);
        ru->req[i].accounts = 1 + (uint32_t)rnd_below(rnd_below(8) ? 3 : 12);
        ru->req[i].posts = ru->req[i].route == 1 ? 1 : 0;
        ru->order[i] = i;
    }
    for (size_t i = 1; i < ru->nreq; i++)
        for (size_t j = i; j > 0 && ru->arrival[ru->order[j]] < ru->arrival[ru->order[j - 1]];
             j--) {
            size_t tmp = ru->order[j];
            ru->order[j] = ru->order[j - 1];
            ru->order[j - 1] = tmp;
        }
}

/* The head of each route's FIFO queue. */
static int queue_heads(const struct run *ru, size_t *head)
{
    int n = 0;
    for (int rt = 0; rt < ru->st.p->nroutes; rt++)
        for (size_t k = 0; k < ru->nreq; k++)
            if (!ru->done[ru->order[k]] && ru->req[ru->order[k]].route == rt) {
                head[n++] = ru->order[k];
                break;
            }
    return n;
}

/* The head that can leave first, and when; drops heads that never can. */
static uint64_t pick_next(struct run *ru, const size_t *head, int nhead, size_t *pick)
{
    uint64_t best = NEVER;
    for (int k = 0; k < nhead; k++) {
        struct lim_req r = stream_req(&ru->st, &ru->req[head[k]]);
        uint64_t from = ru->arrival[head[k]] > ru->clock ? ru->arrival[head[k]] : ru->clock;
        uint64_t slot = lim_next_slot(ru->st.set, &r, from);
        if (slot == NEVER) {
            if (!never_is_justified(&ru->st, &ru->req[head[k]], ru->hist, ru->nh)) {
                print_message("unjustified NEVER\n");
                ru->bad++;
            }
            ru->done[head[k]] = 1;
        } else if (slot < best) {
            best = slot;
            *pick = head[k];
        }
    }
    return best;
}

/* A 429 with Retry-After on the request just sent; the checker records a
 * block on every bucket it drew on. */
static void inject_429(struct run *ru, const struct lim_req *r, int route, uint64_t at)
{
    struct lim_feedback fb;
    lim_feedback_init(&fb);
    fb.status = 429;
    fb.retry_after_s = 1 + (int64_t)rnd_below(120);
    lim_apply_feedback(ru->st.set, r, &fb, at);
    const char *routes[NSEED];
    size_t k = drawn_routes(&ru->st, ru->st.p->routes[route], routes);
    for (size_t i = 0; i < k; i++) {
        struct block *b = &ru->bl[ru->nbl++];
        b->route = routes[i];
        b->from = at + 1;
        b->until = at + (uint64_t)fb.retry_after_s * SEC + ru->st.skew;
    }
}

static void send_all(struct run *ru)
{
    size_t head[4], pick = 0;
    int nhead;
    while ((nhead = queue_heads(ru, head)) > 0) {
        uint64_t t = pick_next(ru, head, nhead, &pick);
        if (t == NEVER)
            continue;
        if (t > ru->start + 10 * ru->horizon)
            break;
        struct lim_req r = stream_req(&ru->st, &ru->req[pick]);
        lim_commit(ru->st.set, &r, t);
        ru->hist[ru->nh] = ru->req[pick];
        ru->hist[ru->nh++].t = t;
        ru->done[pick] = 1;
        ru->clock = t;
        if (rnd_below(50) == 0)
            inject_429(ru, &r, ru->req[pick].route, t);
    }
}

/* One stream: random arrivals, FIFO per route, the earliest head goes first;
 * then the checker recounts every window and block. */
static int run_stream(uint64_t seed_value)
{
    static const uint64_t divisors[] = {1, 5, 20, 100};
    static const double scales[] = {1, 60, 3600};
    static const uint64_t skews[] = {0, 0, 250, 1000};
    static struct run ru;
    memset(&ru, 0, sizeof ru);
    rng_state = seed_value;
    const struct profile *p = &profiles[rnd_below(NPROFILES)];
    double scale = scales[rnd_below(3)];
    stream_setup(&ru.st, p, divisors[rnd_below(4)], scale, skews[rnd_below(4)],
                 (uint32_t)rnd_below(4));
    ru.start = ru.clock = FEB28_2024 - rnd_below(5 * DAY);
    ru.horizon = (uint64_t)((double)(rnd_below(3 * DAY) + MIN) / scale) + MIN;
    ru.nreq = 20 + rnd_below(MAXREQ - 20);
    make_requests(&ru);
    send_all(&ru);
    for (size_t i = 0; i < ru.st.nwin; i++)
        ru.bad += check_window(&ru.st.win[i], ru.hist, ru.nh, p, ru.st.skew);
    ru.bad += check_blocks(&ru.st, ru.bl, ru.nbl, ru.hist, ru.nh);
    lim_set_destroy(ru.st.set);
    if (ru.bad)
        print_message("stream seed=%llu profile=%s/%s failed\n", (unsigned long long)seed_value,
                      p->provider, p->plan);
    return ru.bad;
}

static uint64_t base_seed(void)
{
    const char *env = getenv("LIM_SEED");
    return env ? strtoull(env, NULL, 10) : 20240229;
}

static void test_random_streams_never_break_a_window(void **state)
{
    build_months();
    uint64_t seed0 = base_seed();
    int streams = 2000, failed = 0;
    print_message("random streams: seed=%llu streams=%d (rerun one: LIM_SEED)\n",
                  (unsigned long long)seed0, streams);
    for (int i = 0; i < streams; i++)
        failed += run_stream(seed0 + (uint64_t)i * 7919) != 0;
    assert_int_equal(failed, 0);
}

/* ---- throughput with an unbounded backlog ---- */

/* The greedy reference: each send as early as every window allows (all
 * costs 1), with no pacing; greedy is optimal for counts by any time. */
static size_t reference_count(const struct stream *st, const char *route, uint64_t start,
                              uint64_t end, uint64_t *times, size_t cap)
{
    size_t n = 0;
    uint64_t t = start;
    while (n < cap) {
        int moved = 1;
        while (moved && t < end) {
            moved = 0;
            for (size_t i = 0; i < st->nwin; i++) {
                const struct cwin *c = &st->win[i];
                if (!draws(c->route, route))
                    continue;
                uint64_t next = t;
                if (c->kind == 0 && n >= c->max && times[n - c->max] + c->len > t)
                    next = times[n - c->max] + c->len;
                if (c->kind == 3 && n >= c->max)
                    next = NEVER;
                if (c->kind == 1 || c->kind == 2) {
                    uint64_t a, b;
                    period_bounds(c, t, &a, &b);
                    size_t lo = 0, hi = n;
                    while (lo < hi) {
                        size_t mid = (lo + hi) / 2;
                        if (times[mid] < a)
                            lo = mid + 1;
                        else
                            hi = mid;
                    }
                    if (n - lo >= c->max)
                        next = b;
                }
                if (next > t) {
                    t = next;
                    moved = 1;
                }
            }
        }
        if (t >= end)
            break;
        times[n++] = t;
    }
    return n;
}

static size_t limiter_count(struct stream *st, const struct send *s, uint64_t start, uint64_t end)
{
    struct lim_req r = stream_req(st, s);
    size_t n = 0;
    uint64_t t = start;
    for (;;) {
        t = lim_next_slot(st->set, &r, t);
        if (t >= end)
            return n;
        lim_commit(st->set, &r, t);
        n++;
    }
}

static void test_unbounded_backlog_reaches_99_percent_of_binding_limits(void **state)
{
    build_months();
    const uint64_t start = 1709072253123ULL; /* 2024-02-27 22:17:33.123, across Feb 29 */
    const uint64_t span = 5 * DAY;
    size_t cap = 2000000;
    uint64_t *times = malloc(cap * sizeof *times);
    for (size_t pi = 0; pi < NPROFILES; pi++) {
        for (int rt = 0; rt < 2; rt++) {
            struct stream st;
            stream_setup(&st, &profiles[pi], 1, 1, 0, 0);
            struct send s = {0, rt, 1, rt == 1 ? 1 : 0};
            const char *route = profiles[pi].routes[rt];
            size_t ref = reference_count(&st, route, start, start + span, times, cap);
            size_t got = limiter_count(&st, &s, start, start + span);
            print_message("%-14s %-10s %-26s sent %7zu of %7zu (%.2f%%)\n", profiles[pi].provider,
                          profiles[pi].plan, route, got, ref, ref ? 100.0 * got / ref : 100.0);
            assert_true(got <= ref);
            assert_true((double)got >= 0.99 * (double)ref);
            lim_set_destroy(st.set);
        }
    }
    free(times);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_streams_never_break_a_window),
        cmocka_unit_test(test_unbounded_backlog_reaches_99_percent_of_binding_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
