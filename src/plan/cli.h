/*
 * cli (plan module, private to the `plan` and `limits` commands): their flag
 * parsing and the database set-up they share: registry, limit rows, bucket
 * labels, history replay. Runs on the main thread of a one-shot command.
 */
#ifndef POSTPACE_PLAN_CLI_H
#define POSTPACE_PLAN_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "plan/plan.h"
#include "scheduler/registry.h"

/* One flag a command takes: "--name value", "--name=value", or a switch. */
struct pcli_flag {
    const char *name; /* without the dashes */
    int takes_value;
    const char **value; /* takes_value: where the value goes */
    int *set;           /* switches: set to 1 */
};

/*
 * Parses argv against the table. On bad usage prints the one-line error
 * ("postpace: --bogus: unknown flag (see `postpace help`)") and returns 2;
 * else 0.
 */
int pcli_parse(const char *cmd, const struct pcli_flag *flags, size_t nflags, int argc,
               char **argv);

/* Prints "postpace: MSG (see `postpace help`)" and returns 2. */
int pcli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A command's view of the database. */
struct pcli_db {
    PGconn *conn;
    struct registry reg;
    void *rows_res;       /* PGresult the rows point into */
    struct lim_row *rows; /* every rate_limits row */
    size_t nrows;
    struct plan_bucket_label *labels; /* by bucket index */
};

/*
 * Connects, loads the registry and the limit rows, labels every key's
 * buckets and replays every key's history. Logs the reason and returns -1
 * on failure (db is then empty); pair with pcli_close.
 */
int pcli_open(struct pcli_db *db, const struct config *cfg) __attribute__((warn_unused_result));
void pcli_close(struct pcli_db *db);

#endif
