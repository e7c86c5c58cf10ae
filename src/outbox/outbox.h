/*
 * outbox: outgoing webhooks to the application. The status-change trigger
 * (and postpace_key_event) writes one outbox row per event per subscription
 * in the transaction that made the event; this thread posts each row to its
 * subscription's URL, signed the Standard Webhooks way, until the subscriber
 * answers 2xx or the row's retry period is over (then it is dead: listed,
 * and replayed by hand). It has its own connection and its own libcurl multi
 * handle, so a slow or dead subscriber holds up nothing but its own
 * deliveries: never the scheduler, never the intake.
 *
 * At least once, with a stable id: the row's id is the webhook-id of every
 * try. A row is claimed for one try at a time (the claim hides it for the
 * request's timeout and a margin), so a dispatcher killed mid-request sends
 * it again after that, and two dispatchers never send it at once.
 */
#ifndef POSTPACE_OUTBOX_OUTBOX_H
#define POSTPACE_OUTBOX_OUTBOX_H

#include <stdint.h>

struct outbox_options {
    const char *conninfo;
    int concurrency;     /* requests in flight at once */
    int timeout_ms;      /* one request */
    int backoff_ms;      /* the first retry's delay; doubles per try, with jitter */
    int backoff_max_ms;  /* ...up to this */
    int retry_for_ms;    /* a row is dead once its next try would fall past this */
    int poll_ms;         /* the longest sleep without a notification */
    int shutdown_grace_ms;
};

void outbox_options_init(struct outbox_options *o);

struct outbox;

/* Starts the dispatcher thread; NULL if the thread cannot start. */
struct outbox *outbox_start(const struct outbox_options *o);

/* Waits up to shutdown_grace_ms for requests in flight, puts back the rest
 * (due again at once: at least once), and joins the thread. NULL is a no-op. */
void outbox_stop(struct outbox *ob);

/*
 * The delay before try `attempt` + 1 after `attempt` failed tries (attempt
 * >= 1): base * 2^(attempt-1), capped at max, then scaled by a factor in
 * [0.75, 1.25) drawn from r in [0, 1) (jitter, so the retries of a burst
 * that failed together spread out). Pure.
 */
uint64_t outbox_delay_ms(int attempt, uint64_t base_ms, uint64_t max_ms, double r);

/*
 * What to do after a failed try: the delay before the next one, or -1 when
 * that try would start after retry_from + retry_for (the row is dead). Pure.
 */
int64_t outbox_next_try(int attempt, uint64_t now_ms, uint64_t retry_from_ms, uint64_t retry_for_ms,
                        uint64_t base_ms, uint64_t max_ms, double r);

#endif
