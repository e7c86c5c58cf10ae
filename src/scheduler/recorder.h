/*
 * recorder: writes the scheduler's outcomes (targets moved on from
 * publishing, attempts rows finished) on a thread and a connection of its
 * own, so the drain loop never waits for those writes: while it claims the
 * next requests, the previous ones are being recorded on the other core.
 */
#ifndef POSTPACE_RECORDER_H
#define POSTPACE_RECORDER_H

#include <stdint.h>

#include "scheduler/outcome.h"

/* One target's outcome, waiting to be written. */
struct rec_settle {
    int64_t target_id;
    enum target_status status; /* submitted, scheduled, unconfirmed or failed */
    char *post_id;      /* NULL: keep */
    uint64_t next_ms;   /* next attempt, epoch ms; 0: keep */
    char *error;        /* JSON object text, NULL: keep */
    int uncount;        /* 1: the attempt does not count (a 429) */
    struct rec_settle *next;
};

/* An attempts row to finish. */
struct rec_finish {
    int64_t attempt_id;
    int http_status;        /* 0: none */
    enum attempt_outcome outcome;
    int64_t retry_after_ms; /* -1: none */
    uint64_t sent_ms;       /* when the request really left, epoch ms; 0: keep the intent's */
    char *excerpt;          /* NULL: none */
    struct rec_finish *next;
};

struct recorder;

/* Starts the writer thread; it connects (and reconnects) by itself. The
 * instance id names the claims it may settle. */
struct recorder *rec_create(const char *conninfo, const char *instance_id);

/*
 * Hands lists over (either may be NULL); the recorder frees them once they
 * are written. Batches are written in the order handed over, each in one
 * transaction; a batch that fails is kept and tried again.
 */
void rec_hand(struct recorder *r, struct rec_settle *settles, struct rec_finish *finishes);

/* Waits until everything handed over is written, or until timeout_ms
 * passes. 0 when all is written. */
int rec_drain(struct recorder *r, int timeout_ms);

/* Outcomes handed over and not yet written (a gauge). */
long rec_pending(struct recorder *r);

/* Stops the thread; what is still unwritten is dropped (its targets stay
 * publishing and are recovered as unconfirmed). NULL is a no-op. */
void rec_destroy(struct recorder *r);

void rec_free_settles(struct rec_settle *x);
void rec_free_finishes(struct rec_finish *f);

#endif
