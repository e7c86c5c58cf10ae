/*
 * DESIGN: the README's answer table, row by row. Pure; the scheduler's curl
 * callbacks only gather the answer and apply what these functions decide.
 */
#include "scheduler/outcome.h"

static const char *const ts_names[] = {
    [TS_SCHEDULED] = "scheduled",   [TS_PUBLISHING] = "publishing",
    [TS_SUBMITTED] = "submitted",   [TS_PUBLISHED] = "published",
    [TS_FAILED] = "failed",         [TS_UNCONFIRMED] = "unconfirmed",
    [TS_CANCELLED] = "cancelled",   [TS_EXPIRED] = "expired",
};

static const char *const ao_names[] = {
    [AO_OK] = "ok",         [AO_RATE_LIMITED] = "rate_limited", [AO_RETRYABLE] = "retryable",
    [AO_PERMANENT] = "permanent", [AO_UNKNOWN] = "unknown",
};

const char *ts_name(enum target_status s)
{
    return ts_names[s];
}

const char *ao_name(enum attempt_outcome o)
{
    return ao_names[o];
}

enum attempt_outcome out_attempt(enum answer_kind kind, long status)
{
    if (kind == ANS_NEVER_LEFT)
        return AO_RETRYABLE;
    if (kind == ANS_LOST || status >= 500)
        return AO_UNKNOWN; /* the provider may have created it */
    if (status >= 200 && status < 300)
        return AO_OK;
    return status == 429 ? AO_RATE_LIMITED : AO_PERMANENT;
}

static struct target_move move(enum target_status s, uint64_t next_ms, int uncount, int records)
{
    return (struct target_move){s, next_ms, uncount, records};
}

struct target_move out_move(const struct outcome_rules *r, enum answer_kind kind, long status,
                            int attempts, uint64_t now, uint64_t blocked_until)
{
    switch (out_attempt(kind, status)) {
    case AO_RATE_LIMITED: /* back at the end of the block; the try does not count */
        return move(TS_SCHEDULED,
                    blocked_until > now ? blocked_until : now + r->backoff_ms(r->arg, 1), 1, 0);
    case AO_RETRYABLE: /* nothing left: safe to try again, a bounded number of times */
        if (attempts >= r->max_attempts)
            return move(TS_FAILED, 0, 0, 1);
        return move(TS_SCHEDULED, now + r->backoff_ms(r->arg, attempts), 0, 1);
    case AO_UNKNOWN: /* never re-sent blindly: the webhook first, then the same key */
        return move(TS_UNCONFIRMED, now + r->unconfirmed_retry_ms, 0, 1);
    case AO_PERMANENT:
        return move(TS_FAILED, 0, 0, 1);
    case AO_OK:
        break;
    }
    return move(TS_SUBMITTED, 0, 0, 0); /* a 2xx's accounts go through out_created */
}

enum target_status out_created(enum prov_outcome o)
{
    return o == PROV_FAILED ? TS_FAILED : TS_SUBMITTED;
}
