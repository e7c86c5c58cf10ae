/*
 * status: `postpace status` — the backlog per key (scheduled, due now, in
 * flight, waiting for a webhook, settled), who leases each key, and how far
 * each key is behind its schedule, and when its backlog will be out (ETA:
 * the limiter's forecast, as `postpace plan` computes it).
 */
#ifndef POSTPACE_STATUS_H
#define POSTPACE_STATUS_H

#include "config.h"

int cmd_status(struct config *cfg, int argc, char **argv);

#endif
