/*
 * faultfx: what the fault tests (tests/faults) share: a printed, replayable
 * seed, bounded waits, the simulator's verdict in one struct, a private
 * PostgreSQL cluster a test may stop and kill, and a daemon's whole log.
 */
#ifndef POSTPACE_TESTS_FAULTFX_H
#define POSTPACE_TESTS_FAULTFX_H

#include <stddef.h>

#include "drainfx.h"

/*
 * Seeds rand() from FAULT_SEED when set, else from the time and pid, and
 * prints "<test>: seed=N (replay: FAULT_SEED=N)". Returns the seed.
 */
unsigned ffx_seed(const char *test);

/* A number in [lo, hi] from the seeded rand(). */
int ffx_rand(int lo, int hi);

/* Monotonic milliseconds. */
long ffx_now_ms(void);

/* Waits (bounded by timeout_ms) until the SQL count reaches `want`; 0 or -1. */
int ffx_await_count(struct drainfx *f, const char *sql, long want, int timeout_ms);

/* The simulator's totals over every provider. */
struct ffx_verdict {
    long create_requests, created, rate_limited, duplicates, server_errors, dropped;
};
int ffx_sim_verdict(struct drainfx *f, struct ffx_verdict *v);

/* Counts of targets by final status. */
struct ffx_targets {
    long total, published, failed, unsettled;
};
void ffx_targets(struct drainfx *f, struct ffx_targets *t);

/* A private cluster in a temporary directory (deploy/pg-private.sh). */
struct ffx_cluster {
    char dir[64];
    char conninfo[512];
};
/* verb: start, stop (fast shutdown), kill (immediate shutdown). 0 or -1. */
int ffx_cluster(struct ffx_cluster *c, const char *verb);
/* Stops the cluster and removes its directory. */
void ffx_cluster_destroy(struct ffx_cluster *c);

/*
 * Everything process p wrote to its log so far (heap, NUL-terminated; the
 * caller frees). Fails the test unless every line is logfmt (tests/support/logfmt.h).
 */
char *ffx_log(const struct proc *p);

/* True while the process runs (not yet reaped). */
int ffx_alive(struct proc *p);

#endif
