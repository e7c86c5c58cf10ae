/*
 * view (plan module): a registry snapshot (registry/snapshot.h) with every
 * bucket labelled the way `limits` and `plan` name it. What the two
 * commands, `postpace status` and the API's /v1/limits and /v1/plan read,
 * with what `plan` and /v1/plan simulate over it: its keys and the
 * calendar's unsettled targets.
 */
#ifndef POSTPACE_PLAN_VIEW_H
#define POSTPACE_PLAN_VIEW_H

#include <jansson.h>

#include "plan/plan.h"
#include "registry/snapshot.h"

struct plan_view {
    struct reg_snapshot snap;
    struct plan_bucket_label *labels; /* by bucket index */
};

/*
 * Opens a snapshot of `conninfo` with the scheduler's skew_ms and labels its
 * buckets. Logs the reason and returns -1 on failure (the view is then
 * empty); pair with plan_view_close.
 */
int plan_view_open(struct plan_view *v, const char *conninfo, int skew_ms)
    __attribute__((warn_unused_result));
void plan_view_close(struct plan_view *v);

/*
 * The plan's keys, indexed as v->snap.reg.keys: each key's buckets, its
 * provider's create route (NULL: a provider the plan cannot simulate) and
 * how many accounts one request may name. Heap; the caller frees it.
 */
struct plan_key *plan_view_keys(const struct plan_view *v);

/*
 * The unsettled targets due before to_ms whose key can be planned
 * (sql/plan_targets.sql), into *out (heap, the caller frees it) and *n.
 * Returns 0, or -1 with the server's message in err (nothing allocated).
 */
int plan_view_targets(const struct plan_view *v, const struct plan_key *keys, uint64_t to_ms,
                      struct plan_target **out, size_t *n, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * A plan's summary as `plan --json` and /v1/plan show it: the counts, the
 * lateness, and first_exhausted, the window that ran out first
 * ({key_id, provider, key, post_id, window, at}, or null when no window
 * bound anything). A new reference.
 */
json_t *plan_view_summary_json(const struct plan_view *v, const struct plan_result *res,
                               const struct plan_summary *sum);

#endif
