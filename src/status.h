/*
 * status: `postpace status` — the backlog per key (scheduled, due now, in
 * flight, waiting for a webhook, settled), who leases each key, and how far
 * each key is behind its schedule, and when its backlog will be out (ETA:
 * the limiter's forecast, as `postpace plan` computes it), with the window
 * that holds it back. `status --json` and the API's GET /v1/keys print the
 * same document, built here.
 */
#ifndef POSTPACE_STATUS_H
#define POSTPACE_STATUS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct plan_view;

/*
 * The keys' document at `now`: {"now", "keys": [{"id", "provider", "label",
 * "plan", "enabled", "paused", "paused_at", "lease": {"owner", "expires_at"}
 * | null, "backlog": {status: count, every status}, "due", "lag_s", "eta",
 * "eta_state", "binding"}]}, by key id. The backlog is read on `c`; the
 * forecast from `db` (plan_view_open), or NULL when it could not be opened
 * (every eta_state is then "unknown"). A new reference, or NULL with err.
 */
json_t *status_keys_json(PGconn *c, const struct plan_view *db, uint64_t now, char *err,
                         size_t errlen);

/* postpace status [--json] */
int cmd_status(struct config *cfg, int argc, char **argv);

#endif
