/*
 * plan: the calendar run through the limiter in virtual time. Given the
 * live limiter set (history already replayed), the keys and the unsettled
 * targets, it answers when each request will really leave, how late that is
 * against the post's scheduled time, which window binds, and which requests
 * never go. Pure: no SQL, no clock, no I/O; `postpace plan` (cmd_plan.c)
 * feeds it from the database and prints the answer. It also owns the text
 * helpers the `plan` and `limits` commands share (times, durations, window
 * descriptions).
 */
#ifndef POSTPACE_PLAN_H
#define POSTPACE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "limits/limiter.h"

/* A key as the simulation sees it. */
struct plan_key {
    const uint32_t *buckets; /* the key's limiter buckets (reg_key.buckets) */
    size_t nbuckets;
    const char *route;  /* the provider's create route, "POST /posts" (not NULL) */
    uint32_t max_batch; /* accounts one create request may name (1: no batching) */
};

/* One post_targets row not yet settled. */
struct plan_target {
    int64_t id; /* post_targets.id */
    int64_t post_id;
    uint32_t key;          /* index into the plan_key array */
    uint64_t due_ms;       /* next_attempt_at */
    uint64_t scheduled_ms; /* posts.scheduled_at */
    int in_flight;         /* publishing or unconfirmed: already claimed, not simulated */
};

/* What became of one request; mirrors the "state" field of `plan --json`. */
enum plan_state {
    PLAN_ON_TIME,   /* leaves at or before its post's scheduled time */
    PLAN_LATE,      /* leaves after its post's scheduled time */
    PLAN_IN_FLIGHT, /* claimed or sent already; its attempt is in the history */
    PLAN_NEVER,     /* the limiter says LIM_NEVER: a quota is spent for good */
    PLAN_BEYOND,    /* would leave after the end of the range (or queues behind one that does) */
};

/* One request: the targets of one post on one key that leave together. */
struct plan_result {
    int64_t post_id;
    uint32_t key;
    size_t first;     /* its targets: sorted[first .. first + ntargets) (see plan_run) */
    int64_t first_id; /* id of its first target */
    uint32_t ntargets;
    uint64_t due_ms;       /* the earliest due time of its targets */
    uint64_t scheduled_ms; /* the post's scheduled time */
    uint64_t leave_ms;     /* ON_TIME, LATE; the slot found for the first BEYOND of a key, else 0 */
    uint64_t late_ms;      /* leave_ms - scheduled_ms when LATE, else 0 */
    enum plan_state state;
    struct lim_why why; /* what decided leave_ms (NEVER: the spent window) */
    int before_range;   /* simulated (it spends budget first) but due before --from */
};

struct plan_opts {
    uint64_t now_ms;  /* the simulation starts here: nothing leaves earlier */
    uint64_t from_ms; /* requests due earlier are simulated but flagged before_range,
                         unless from_ms <= now_ms (then the overdue backlog is listed) */
    uint64_t to_ms;   /* requests that cannot leave by then are PLAN_BEYOND */
};

struct plan_summary {
    size_t requests, posts, targets; /* listed ones (not before_range) */
    size_t on_time, late, in_flight, never, beyond;
    uint64_t max_late_ms;
    uint64_t sum_late_ms;
    /* The window that ran out first: the listed NEVER or window-bound request
     * that was ready earliest; -1 when no window bound anything. */
    ptrdiff_t exhausted;   /* index into the results */
    uint64_t exhausted_at; /* when that request was ready to go */
};

/*
 * Runs the simulation on a clone of `live` (which is not altered). Sorts
 * targets in place by (key, due, post, id): a result's `first` indexes that
 * order. Per key, requests go in (due, first target id) order; across keys
 * the request that can leave earliest goes first. Returns the results in
 * leave order per key, keys ascending (the caller frees *out with free()).
 */
void plan_run(const struct lim_set *live, const struct plan_key *keys, size_t nkeys,
              struct plan_target *targets, size_t ntargets, const struct plan_opts *opts,
              struct plan_result **out, size_t *nout, struct plan_summary *sum);

/* "on_time", "late", "in_flight", "never", "beyond". */
const char *plan_state_name(enum plan_state s);
/* "now", "window", "pace", "block", "order". */
const char *plan_reason_name(enum lim_reason r);

/* ---- bucket labels and descriptions (plan_text.c) ---- */

/* Whose bucket and which route, for describing a window ("key POST /posts"). */
struct plan_bucket_label {
    int known; /* 0: could not be derived (shown as "bucket N") */
    enum lim_scope scope;
    const char *route; /* points into the rows given to plan_label_buckets */
};

/*
 * Labels the buckets of one key (as the registry attached them: key, then
 * user, then account scope, one bucket per distinct route of the rows that
 * apply) into labels[bucket]. A bucket whose window count does not match
 * the rows stays unknown. rows must outlive the labels.
 */
void plan_label_buckets(const struct lim_set *s, const struct lim_row *rows, size_t nrows,
                        const char *provider, const char *plan, int64_t key_id,
                        const uint32_t *buckets, size_t nbuckets, struct plan_bucket_label *labels);

/* "key", "user", "account"; "rolling", "fixed", "calendar_month", "lifetime";
 * "request", "post", "account". */
const char *plan_scope_name(enum lim_scope s);
const char *plan_kind_name(enum lim_kind k);
const char *plan_cost_name(enum lim_cost c);

/* A window's length as the docs say it: "1m", "1h", "1d", "5m", "90s",
 * "month", "lifetime". */
void plan_format_window(const struct lim_window_spec *w, char *buf, size_t len);

/* "key POST /posts rolling 20/1m", "account POST /api/posts fixed 1000/1d per post",
 * "key * pacing (rolling 10/1m)" for a pace, "" for LIM_WHY_NOW. */
void plan_describe(const struct lim_set *s, const struct plan_bucket_label *labels,
                   const struct lim_why *why, char *buf, size_t len);

/* Parses a time with an offset in the grammar and range of util/rfc3339.h
 * (2026-12-01T09:00[:00[.123456]](Z|+01:00|+0100)). Returns 0 and epoch ms, or -1. */
int plan_parse_time(const char *s, uint64_t *ms);
/* 2026-12-01T08:00:00Z (UTC; milliseconds shown only when not whole). */
void plan_format_time(uint64_t ms, char *buf, size_t len);
/* 0s, 950ms, 6s, 4m57s, 2h05m, 3d04h. */
void plan_format_duration(uint64_t ms, char *buf, size_t len);

#endif
