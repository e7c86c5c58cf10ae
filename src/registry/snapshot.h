/*
 * snapshot: a read-only view of the keys and their limiter state for
 * whoever needs it outside the scheduler (`plan`, `limits`, `status`, the
 * API's /v1/limits and /v1/plan): a session of its own, the registry, every
 * rate_limits row, and every key's history replayed from the attempts log.
 * The limiter is configured as the scheduler configures it (skew_ms), so a
 * snapshot predicts what `serve` will do. Owned by one thread; writes nothing.
 */
#ifndef POSTPACE_REGISTRY_SNAPSHOT_H
#define POSTPACE_REGISTRY_SNAPSHOT_H

#include <libpq-fe.h>
#include <stddef.h>

#include "limits/limiter.h"
#include "registry/registry.h"

struct reg_snapshot {
    PGconn *conn;         /* its own session, open while the snapshot is */
    struct registry reg;  /* keys, buckets and their replayed windows */
    PGresult *rows_res;   /* the rate_limits rows' result; `rows` point into it */
    struct lim_row *rows; /* every rate_limits row, as the pure core reads them */
    size_t nrows;
};

/*
 * Connects to `conninfo`, loads the registry and the limit rows and replays
 * every key's history. 0, or -1 with a one-line reason in err (the snapshot
 * is then empty); pair with regsnap_close.
 */
int regsnap_open(struct reg_snapshot *s, const char *conninfo, int skew_ms, char *err,
                 size_t errlen) __attribute__((warn_unused_result));

/* Frees the snapshot and closes its session; an empty one is a no-op. */
void regsnap_close(struct reg_snapshot *s);

#endif
