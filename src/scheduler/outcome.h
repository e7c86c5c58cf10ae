/*
 * outcome: what one provider answer does to the targets of its request and
 * to the attempt that carried it, README "Publishing"'s table as pure
 * functions. No I/O and no clock: `now`, the limiter's verdict and the
 * backoff (jitter already drawn) are arguments, so every row of the table is
 * unit-tested (tests/unit/test_outcome.c). The scheduler turns the moves
 * into settle rows; statuses travel as enums until the SQL boundary.
 */
#ifndef POSTPACE_SCHEDULER_OUTCOME_H
#define POSTPACE_SCHEDULER_OUTCOME_H

#include <stdint.h>

#include "provider/provider.h"

/* A target's status, one to one with the SQL enum target_status (baseline). */
enum target_status {
    TS_SCHEDULED,   /* waiting for next_attempt_at; moved on by a claim */
    TS_PUBLISHING,  /* claimed, its intent committed; moved on by the answer */
    TS_SUBMITTED,   /* accepted (2xx); moved on by its webhook */
    TS_PUBLISHED,   /* terminal: its webhook said so */
    TS_FAILED,      /* terminal unless an operator re-queues it */
    TS_UNCONFIRMED, /* fate unknown; its webhook settles it, or a re-send after a wait */
    TS_CANCELLED,   /* terminal: the user cancelled it before it left */
    TS_EXPIRED,     /* terminal: overdue beyond catchup_ms before its first try */
};

/* The SQL spelling ("scheduled", ...). */
const char *ts_name(enum target_status s);

/* How a request ended. */
enum answer_kind {
    ANS_HTTP,       /* a status line came back */
    ANS_NEVER_LEFT, /* could not resolve or connect: nothing reached the provider */
    ANS_LOST,       /* a timeout or a connection lost after sending: fate unknown */
};

/* attempts.outcome, one to one with its CHECK. */
enum attempt_outcome { AO_OK, AO_RATE_LIMITED, AO_RETRYABLE, AO_PERMANENT, AO_UNKNOWN };

const char *ao_name(enum attempt_outcome o);

/* The attempt's outcome for an answer (`status` only for ANS_HTTP). */
enum attempt_outcome out_attempt(enum answer_kind kind, long status);

/* The settings the moves depend on. */
struct outcome_rules {
    int max_attempts;              /* tries before a never-sent target fails */
    uint64_t unconfirmed_retry_ms; /* how long an unconfirmed target waits for its webhook */
    /* The backoff before try `attempt` + 1 (jitter drawn by the caller's function). */
    uint64_t (*backoff_ms)(void *arg, int attempt);
    void *arg;
};

/* What becomes of one target. */
struct target_move {
    enum target_status status;
    uint64_t next_ms; /* when it may go again (scheduled, unconfirmed); 0: keep */
    int uncount;      /* 1: this try does not count (a 429) */
    int records;      /* 1: last_error records this answer */
};

/*
 * The move of a target that had `attempts` tries (this one included) for an
 * answer that is not a 2xx (those go through out_created, account by
 * account). `blocked_until`: when the limiter lets the request's buckets open
 * again after a 429 (0: it does not know).
 */
struct target_move out_move(const struct outcome_rules *r, enum answer_kind kind, long status,
                            int attempts, uint64_t now, uint64_t blocked_until);

/* A 2xx, for one account as the body reads: submitted unless clearly failed. */
enum target_status out_created(enum prov_outcome o);

#endif
