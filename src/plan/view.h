/*
 * view (plan module): a registry snapshot (registry/snapshot.h) with every
 * bucket labelled the way `limits` and `plan` name it. What the two
 * commands, `postpace status` and the API's /v1/limits and /v1/plan read.
 */
#ifndef POSTPACE_PLAN_VIEW_H
#define POSTPACE_PLAN_VIEW_H

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

#endif
