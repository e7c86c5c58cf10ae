/*
 * intake: webhook intake, its HTTP side. HTTP loop threads verify and parse
 * deliveries (intake_webhook) and submit them to the webhook store
 * (webhook/store.h), whose writer threads store many events in one
 * transaction, apply them to their targets, and hand each back to be
 * answered through its request's loop. A delivery is answered 2xx only
 * after its event is committed; while the database is unreachable it gets
 * 503. The last writer also sweeps pending events that a concurrent target
 * write made matchable (postpace_sweep_pending), at most 1,000 per pass.
 */
#ifndef POSTPACE_HTTP_INTAKE_H
#define POSTPACE_HTTP_INTAKE_H

#include <h2o.h>
#include <stddef.h>

#include "clock.h"
#include "provider/provider_id.h"
#include "webhook/secrets.h"
#include "webhook/store.h"

struct intake;

struct intake_options {
    struct whstore_options store; /* the writers: connection, batches, sweep, reloads */
    int tolerance_s;              /* webhook-timestamp tolerance, both directions */
    struct clk *clock;            /* for timestamps; clk_real in production */
};

/*
 * Starts the webhook store's writer threads (whstore_start). They connect
 * (and keep reconnecting with backoff while the database is down); the first
 * loads the signing secrets. Never fails for a down database: deliveries get
 * 503 until it is back.
 */
struct intake *intake_start(const struct intake_options *opt);

/*
 * Stops taking deliveries (new ones get 503), answers every queued one, and
 * joins the writers. Call while the HTTP loops still run: they may go on
 * calling intake_webhook, which answers 503 from then on. NULL is a no-op.
 */
void intake_stop(struct intake *in);

/*
 * Frees a stopped intake. Call only once no loop thread can call
 * intake_webhook any more (after http_server_stop). NULL is a no-op.
 */
void intake_destroy(struct intake *in);

/* True while at least one writer's connection works. Any thread. */
int intake_ready(const struct intake *in);

/* The signing secrets (tests add keys directly). */
struct whsec_store *intake_secrets(struct intake *in);

/* Handles POST /webhooks/{provider}; runs on a loop thread, never blocks. */
int intake_webhook(struct intake *in, h2o_req_t *req);

#endif
