/*
 * metrics: process-wide counters, gauges and histograms, rendered in the
 * Prometheus text format 0.0.4 for GET /metrics. Updates are lock-free
 * atomics, safe from any thread. Series with a provider label are arrays
 * indexed by enum prov_id.
 */
#ifndef POSTPACE_METRICS_H
#define POSTPACE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "provider/provider_id.h"

/* Outcomes of a webhook delivery; the label value is the second field. */
#define MET_WEBHOOK_RESULTS(X)          \
    X(MET_WH_APPLIED, "applied")        \
    X(MET_WH_UNREADABLE, "unreadable")  \
    X(MET_WH_DUPLICATE, "duplicate")    \
    X(MET_WH_UNAUTHORIZED, "unauthorized") \
    X(MET_WH_BAD_REQUEST, "bad_request") \
    X(MET_WH_UNAVAILABLE, "unavailable")

enum met_webhook_result {
#define X(id, label) id,
    MET_WEBHOOK_RESULTS(X)
#undef X
    MET_WH_COUNT
};

/* Outcomes of a publish request. */
#define MET_PUBLISH_RESULTS(X)                \
    X(MET_PUB_OK, "ok")                       \
    X(MET_PUB_RATE_LIMITED, "rate_limited")   \
    X(MET_PUB_CLIENT_ERROR, "client_error")   \
    X(MET_PUB_SERVER_ERROR, "server_error")   \
    X(MET_PUB_NETWORK_ERROR, "network_error")

enum met_publish_result {
#define X(id, label) id,
    MET_PUBLISH_RESULTS(X)
#undef X
    MET_PUB_COUNT
};

enum met_histogram {
    MET_HIST_WEBHOOK_SECONDS, /* receipt to committed answer */
    MET_HIST_PUBLISH_SECONDS, /* provider request round trip */
    MET_HIST_COUNT
};

void met_webhook(enum prov_id p, enum met_webhook_result r);
/* Pending events the sweep applied (stored while a write that made them
 * matchable was uncommitted). */
void met_webhooks_swept(unsigned n);
/* Stored events that match no target, as last counted (at each reload of the
 * webhook configuration), and those of them postpace cannot read. */
void met_webhooks_unmatched(enum prov_id p, uint64_t unmatched, uint64_t unreadable);
void met_publish(enum prov_id p, enum met_publish_result r);
void met_observe_ms(enum met_histogram h, enum prov_id p, uint64_t ms);

/*
 * A collector appends more series (gauges the scheduler keeps, say) to the
 * output; it is called from the thread rendering /metrics.
 */
typedef void (*met_collector_fn)(void *arg, void (*emit)(void *sink, const char *text),
                                 void *sink);
void met_register_collector(met_collector_fn fn, void *arg);
void met_unregister_collector(met_collector_fn fn, void *arg);

/* Renders every series; the caller frees the returned text. */
char *met_render(size_t *len);

/* Resets all counters (tests). */
void met_reset(void);

#endif
