/*
 * drainfx: a calendar, the simulator and postpace daemons wired together,
 * for the scheduler's end-to-end tests and benchmarks. One key per provider
 * (labels pe, sp, fh, pl, je) at time scale 60.
 */
#ifndef POSTPACE_TESTS_DRAINFX_H
#define POSTPACE_TESTS_DRAINFX_H

#include <libpq-fe.h>

#include "proc.h"
#include "simctl.h"

#define DRAINFX_MAX_DAEMONS 4

struct drainfx {
    struct simctl sim;
    char *db;
    PGconn *conn;
    struct proc daemons[DRAINFX_MAX_DAEMONS];
    int running[DRAINFX_MAX_DAEMONS];
    int ports[DRAINFX_MAX_DAEMONS];
    double scale;
    int own_sim_config; /* the caller configured the simulator: drainfx_start leaves it alone */
};

/* Starts the simulator, creates a database with the five keys. 0 or -1. */
int drainfx_setup(struct drainfx *f);

/* The same at another time scale (the simulator's and every key's). */
int drainfx_setup_scaled(struct drainfx *f, double scale);

/* The same with extra simulator flags (NULL-terminated, may be NULL), e.g. --dialect alt. */
int drainfx_setup_sim(struct drainfx *f, double scale, const char *const *sim_args);

/*
 * The same on a cluster of the caller's (conninfo of its maintenance
 * database), e.g. one the test stops and restarts; `sim_args` are extra
 * simulator flags (NULL-terminated, may be NULL). Creates a fresh migrated
 * database there. Pair with drainfx_teardown_cluster. 0 or -1.
 */
int drainfx_setup_cluster(struct drainfx *f, const char *cluster_conninfo, double scale,
                          const char *const *sim_args);

/* Adds n posts to the key `label`, scheduled `offset_s` from now, on `accounts` ("{a,b}"). */
void drainfx_posts(struct drainfx *f, const char *label, int n, const char *accounts,
                   int offset_s);

/*
 * Starts daemon i with extra environment ("K=V", NULL-terminated) and points
 * the simulator's webhooks at daemon 0. Returns 0 or -1.
 */
int drainfx_start(struct drainfx *f, int i, char *const *extra_env);

/* Stops daemon i (SIGKILL if hard, else SIGTERM); fails the test unless its log is logfmt. */
int drainfx_stop(struct drainfx *f, int i, int hard);

/* A number from SQL. */
long drainfx_count(struct drainfx *f, const char *sql);

/* Waits (bounded: 60 s) until the count `sql` returns reaches at least
 * `want`; on a timeout prints the state (drainfx_dump) and returns -1. */
int drainfx_await_count(struct drainfx *f, const char *sql, long want);

/* Waits (bounded by timeout_s) until no target is left to settle. 0 or -1. */
int drainfx_await_settled(struct drainfx *f, int timeout_s);

/* Prints status counts and every daemon's log (after a failed wait). */
void drainfx_dump(struct drainfx *f);

/* Stops everything and drops the database. */
void drainfx_teardown(struct drainfx *f);

/* Stops everything set up by drainfx_setup_cluster; the database stays (the caller owns the cluster). */
void drainfx_teardown_cluster(struct drainfx *f);

#endif
