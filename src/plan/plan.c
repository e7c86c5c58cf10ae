/*
 * DESIGN: the `plan` simulation. It plays the scheduler's policy on a clone
 * of the live limiter set, so the registry never sees a virtual send:
 *   - the targets of one post on one key form one request when the provider
 *     batches (up to max_batch accounts), else one request per target;
 *   - per key, requests go in (due, first target id) order, as the claim
 *     query orders them, and none leaves before the simulation's `now`;
 *   - across keys, the request that can leave earliest goes first (a heap of
 *     each key's head, keyed by its next slot). Committing a send only ever
 *     moves other slots later, so a stale heap entry is a lower bound: on pop
 *     it is recomputed and, if it moved, pushed back (lazy re-evaluation);
 *   - LIM_NEVER and "after --to" are final for the same reason: a NEVER
 *     request is marked and skipped; a key whose head falls beyond the range
 *     has the rest of its queue marked beyond, since per key sends are ordered.
 * Runs on the caller's thread; allocates only its own arrays.
 */
#include "plan/plan.h"

#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

/* ---- targets into requests ---- */

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_target(const void *pa, const void *pb)
{
    const struct plan_target *a = pa, *b = pb;
    int c;
    if ((c = cmp_u64(a->key, b->key)) || (c = cmp_u64(a->due_ms, b->due_ms)) ||
        (c = cmp_i64(a->post_id, b->post_id)) || (c = a->in_flight - b->in_flight))
        return c;
    return cmp_i64(a->id, b->id);
}

/* Whether target t may join the request that starts at targets[r->first]. */
static int joins(const struct plan_target *targets, const struct plan_result *r,
                 const struct plan_target *t, uint32_t max_batch)
{
    const struct plan_target *f = &targets[r->first];
    return r->ntargets < max_batch && t->key == f->key && t->post_id == f->post_id &&
           t->due_ms == f->due_ms && t->in_flight == f->in_flight;
}

static void start_request(struct plan_result *r, const struct plan_target *targets, size_t i)
{
    memset(r, 0, sizeof *r);
    r->post_id = targets[i].post_id;
    r->key = targets[i].key;
    r->first = i;
    r->first_id = targets[i].id;
    r->ntargets = 1;
    r->due_ms = targets[i].due_ms;
    r->scheduled_ms = targets[i].scheduled_ms;
    r->state = targets[i].in_flight ? PLAN_IN_FLIGHT : PLAN_BEYOND;
    r->why.reason = LIM_WHY_NOW;
    r->why.bucket = r->why.window = -1;
}

/* Groups sorted targets into requests; returns how many (room for n). */
static size_t build_requests(const struct plan_key *keys, const struct plan_target *targets,
                             size_t n, struct plan_result *res)
{
    size_t nres = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t mb = keys[targets[i].key].max_batch ? keys[targets[i].key].max_batch : 1;
        if (nres > 0 && joins(targets, &res[nres - 1], &targets[i], mb))
            res[nres - 1].ntargets++;
        else
            start_request(&res[nres++], targets, i);
    }
    return nres;
}

static int cmp_result(const void *pa, const void *pb)
{
    const struct plan_result *a = pa, *b = pb;
    int c;
    if ((c = cmp_u64(a->key, b->key)) || (c = cmp_u64(a->due_ms, b->due_ms)))
        return c;
    return cmp_i64(a->first_id, b->first_id);
}

/* ---- the heap of key heads ---- */

struct head {
    uint64_t t;   /* the head's next slot when last computed (a lower bound) */
    uint64_t due; /* tie-breaks: due time, then first target id */
    int64_t id;
    uint32_t key;
};

struct heap {
    struct head *h;
    size_t n;
};

static int head_less(const struct head *a, const struct head *b)
{
    if (a->t != b->t)
        return a->t < b->t;
    if (a->due != b->due)
        return a->due < b->due;
    return a->id < b->id;
}

static void heap_swap(struct heap *hp, size_t i, size_t j)
{
    struct head tmp = hp->h[i];
    hp->h[i] = hp->h[j];
    hp->h[j] = tmp;
}

static void heap_push(struct heap *hp, struct head e)
{
    size_t i = hp->n++;
    hp->h[i] = e;
    while (i > 0 && head_less(&hp->h[i], &hp->h[(i - 1) / 2])) {
        heap_swap(hp, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct head heap_pop(struct heap *hp)
{
    struct head top = hp->h[0];
    hp->h[0] = hp->h[--hp->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < hp->n && head_less(&hp->h[l], &hp->h[m]))
            m = l;
        if (r < hp->n && head_less(&hp->h[r], &hp->h[m]))
            m = r;
        if (m == i)
            break;
        heap_swap(hp, i, m);
        i = m;
    }
    return top;
}

/* ---- the simulation ---- */

struct sim {
    struct lim_set *set;
    const struct plan_key *keys;
    struct plan_result *res;
    size_t *cur, *end; /* per key: next request to place, end of its requests */
    struct heap heap;
    const struct plan_opts *opts;
};

static uint64_t ready_at(const struct sim *s, const struct plan_result *r)
{
    return r->due_ms > s->opts->now_ms ? r->due_ms : s->opts->now_ms;
}

static void request_of(const struct sim *s, const struct plan_result *r, struct lim_req *out)
{
    const struct plan_key *k = &s->keys[r->key];
    out->route = k->route;
    out->buckets = k->buckets;
    out->nbuckets = k->nbuckets;
    out->accounts = r->ntargets;
    out->posts = 1;
}

/* Skips requests that are not the simulation's to place (in flight). */
static void skip_in_flight(struct sim *s, uint32_t k)
{
    while (s->cur[k] < s->end[k] && s->res[s->cur[k]].state == PLAN_IN_FLIGHT)
        s->cur[k]++;
}

/* Marks the rest of key k's queue beyond the range; the first keeps its slot. */
static void mark_beyond(struct sim *s, uint32_t k, uint64_t t, const struct lim_why *why)
{
    struct plan_result *first = &s->res[s->cur[k]];
    first->leave_ms = t;
    first->why = *why;
    for (; s->cur[k] < s->end[k]; s->cur[k]++)
        if (s->res[s->cur[k]].state != PLAN_IN_FLIGHT)
            s->res[s->cur[k]].state = PLAN_BEYOND;
}

/* Finds key k's next placeable head: settles NEVER and beyond-range heads
 * on the spot (both are final) and queues the first that can leave. */
static void queue_head(struct sim *s, uint32_t k)
{
    for (skip_in_flight(s, k); s->cur[k] < s->end[k]; skip_in_flight(s, k)) {
        struct plan_result *r = &s->res[s->cur[k]];
        struct lim_req req;
        request_of(s, r, &req);
        struct lim_why why;
        uint64_t t = lim_next_slot_why(s->set, &req, ready_at(s, r), &why);
        if (t == LIM_NEVER) {
            r->state = PLAN_NEVER;
            r->why = why;
            s->cur[k]++;
            continue;
        }
        if (t > s->opts->to_ms) {
            mark_beyond(s, k, t, &why);
            return;
        }
        struct head h = {t, r->due_ms, r->first_id, k};
        heap_push(&s->heap, h);
        return;
    }
}

static void place(struct sim *s, struct plan_result *r, uint64_t t, const struct lim_why *why)
{
    struct lim_req req;
    request_of(s, r, &req);
    lim_commit(s->set, &req, t);
    r->leave_ms = t;
    r->why = *why;
    r->late_ms = t > r->scheduled_ms ? t - r->scheduled_ms : 0;
    r->state = r->late_ms ? PLAN_LATE : PLAN_ON_TIME;
}

/* Pops the earliest head; sends it if its slot still holds, else re-queues it. */
static void step(struct sim *s)
{
    struct head h = heap_pop(&s->heap);
    struct plan_result *r = &s->res[s->cur[h.key]];
    struct lim_req req;
    request_of(s, r, &req);
    struct lim_why why;
    uint64_t t = lim_next_slot_why(s->set, &req, ready_at(s, r), &why);
    if (t == h.t) {
        place(s, r, t, &why);
        s->cur[h.key]++;
    }
    queue_head(s, h.key);
}

static void key_ranges(struct sim *s, size_t nkeys, size_t nres)
{
    for (size_t i = 0; i < nres; i++) {
        uint32_t k = s->res[i].key;
        if (s->end[k] == 0)
            s->cur[k] = i;
        s->end[k] = i + 1;
    }
}

/* ---- summary ---- */

static void count(struct plan_summary *sum, const struct plan_result *r)
{
    sum->requests++;
    sum->targets += r->ntargets;
    switch (r->state) {
    case PLAN_ON_TIME: sum->on_time++; break;
    case PLAN_LATE:
        sum->late++;
        sum->sum_late_ms += r->late_ms;
        if (r->late_ms > sum->max_late_ms)
            sum->max_late_ms = r->late_ms;
        break;
    case PLAN_IN_FLIGHT: sum->in_flight++; break;
    case PLAN_NEVER: sum->never++; break;
    case PLAN_BEYOND: sum->beyond++; break;
    }
}

static int cmp_post(const void *a, const void *b)
{
    return cmp_i64(*(const int64_t *)a, *(const int64_t *)b);
}

static size_t distinct_posts(const struct plan_result *res, size_t n)
{
    int64_t *ids = xmalloc((n ? n : 1) * sizeof *ids);
    size_t m = 0, d = 0;
    for (size_t i = 0; i < n; i++)
        if (!res[i].before_range)
            ids[m++] = res[i].post_id;
    qsort(ids, m, sizeof *ids, cmp_post);
    for (size_t i = 0; i < m; i++)
        d += i == 0 || ids[i] != ids[i - 1];
    free(ids);
    return d;
}

static void summarize(const struct sim *s, size_t nres, struct plan_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    sum->exhausted = -1;
    for (size_t i = 0; i < nres; i++) {
        const struct plan_result *r = &s->res[i];
        if (r->before_range)
            continue;
        count(sum, r);
        uint64_t ready = ready_at(s, r);
        if (r->why.reason == LIM_WHY_WINDOW && (sum->exhausted < 0 || ready < sum->exhausted_at)) {
            sum->exhausted = (ptrdiff_t)i;
            sum->exhausted_at = ready;
        }
    }
    sum->posts = distinct_posts(s->res, nres);
}

void plan_run(const struct lim_set *live, const struct plan_key *keys, size_t nkeys,
              struct plan_target *targets, size_t ntargets, const struct plan_opts *opts,
              struct plan_result **out, size_t *nout, struct plan_summary *sum)
{
    qsort(targets, ntargets, sizeof *targets, cmp_target);
    struct sim s = {.set = lim_set_clone(live), .keys = keys, .opts = opts};
    s.res = xmalloc((ntargets ? ntargets : 1) * sizeof *s.res);
    size_t nres = build_requests(keys, targets, ntargets, s.res);
    qsort(s.res, nres, sizeof *s.res, cmp_result);
    for (size_t i = 0; i < nres; i++)
        s.res[i].before_range = s.res[i].due_ms < opts->from_ms && opts->from_ms > opts->now_ms;
    s.cur = xcalloc(nkeys ? nkeys : 1, sizeof *s.cur);
    s.end = xcalloc(nkeys ? nkeys : 1, sizeof *s.end);
    s.heap.h = xmalloc((nkeys ? nkeys : 1) * sizeof *s.heap.h);
    key_ranges(&s, nkeys, nres);
    for (uint32_t k = 0; k < nkeys; k++)
        queue_head(&s, k);
    while (s.heap.n > 0)
        step(&s);
    summarize(&s, nres, sum);
    free(s.heap.h);
    free(s.cur);
    free(s.end);
    lim_set_destroy(s.set);
    *out = s.res;
    *nout = nres;
}

const char *plan_state_name(enum plan_state st)
{
    static const char *const names[] = {"on_time", "late", "in_flight", "never", "beyond"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

const char *plan_reason_name(enum lim_reason r)
{
    static const char *const names[] = {"now", "window", "pace", "block", "order"};
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "?";
}
