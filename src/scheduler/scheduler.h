/*
 * scheduler: the drain loop. One thread with its own PGconn and curl multi
 * handle: lease key groups, wake on NOTIFY or on the next due time or budget
 * opening, claim what the limiter allows, commit the intent, publish, and
 * record outcomes. Never blocks the HTTP server (it shares nothing with it
 * but the metrics).
 */
#ifndef POSTPACE_SCHEDULER_H
#define POSTPACE_SCHEDULER_H

#include <stddef.h>

#include "clock.h"

struct sched_options {
    const char *conninfo;
    const char *instance_id;      /* this instance's name in leases */
    int lease_ttl_ms;             /* key-group lease length; renewed at a third of it */
    int max_in_flight;            /* requests in flight at once, all keys */
    int request_timeout_ms;       /* one provider request */
    int max_attempts;             /* tries of a target (5xx, network, unconfirmed) */
    int backoff_ms;               /* first retry delay; doubles, with jitter */
    int catchup_ms;               /* never-tried targets overdue beyond this expire */
    int unconfirmed_retry_ms;     /* wait for a webhook before re-sending (same key) */
    int skew_ms;                  /* limiter clock-skew margin */
    int claim_ahead_ms;           /* claim and commit this long before a limiter slot */
    int shutdown_grace_ms;        /* how long stop waits for requests in flight */
    struct clk *clock;
};

struct scheduler;

/* Fills the defaults (the settings table in README "Configuration"). */
void sched_options_init(struct sched_options *o);

/* Starts the thread. It (re)connects by itself while the database is down. */
struct scheduler *sched_start(const struct sched_options *o);

/*
 * Stops claiming, waits up to shutdown_grace_ms for requests in flight,
 * records their outcomes (those cut short become unconfirmed), releases the
 * leases and joins the thread. NULL is a no-op.
 */
void sched_stop(struct scheduler *s);

#endif
