/*
 * store: webhook storage, the side of the intake that writes. Writer
 * threads, each with its own connection, share one queue of verified and
 * parsed events; each takes up to batch_max of them and stores them with
 * one statement that is its own transaction (sql/webhook_store.sql,
 * postpace_store_events: match, lock the targets, insert, settle), then
 * hands each event back through its `done` callback, on the writer thread,
 * only after the commit. Writer 0 also reloads the signing secrets and the
 * field paths (and reads pending events again when a provider's paths
 * changed); the last writer sweeps pending events that a concurrent target
 * write made matchable (postpace_sweep_pending), at most 1,000 per pass.
 *
 * Who calls it: the HTTP side of the intake (http/intake.h), which verifies
 * deliveries with whstore_secrets, reads them with whstore_read_fields,
 * submits them, and answers each request when its event comes back.
 */
#ifndef POSTPACE_WEBHOOK_STORE_H
#define POSTPACE_WEBHOOK_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "provider/provider_id.h"
#include "webhook/fields.h"
#include "webhook/secrets.h"

/* What became of an event (set by the store before `done`). */
enum whstore_result {
    WHSTORE_PENDING,     /* not stored yet (never seen by `done`) */
    WHSTORE_ACCEPTED,    /* stored by this batch */
    WHSTORE_DUPLICATE,   /* an event with its provider and id was stored before */
    WHSTORE_UNAVAILABLE, /* the database is unreachable: not stored, try again later */
    WHSTORE_FAILED,      /* the database refused this event: not stored */
};

/*
 * One event to store. The submitter fills it and owns its strings (freed
 * with whstore_event_clear); the store reads it from whstore_submit until
 * it calls `done`, after which it never touches it again.
 */
struct whstore_event {
    enum prov_id prov;
    char *event_id, *type, *raw_type, *payload, *reference, *post_id, *account_id;
    char key_id[24]; /* the signing key's provider_keys id ("" when added by hand) */
    int unreadable;  /* no verdict, or no id to match by: stored pending */
    enum whstore_result result;
    /* Called once, on a writer thread, with result set; hands the event back. */
    void (*done)(struct whstore_event *ev);
    struct whstore_event *next; /* the store's (queue and batch links) */
};

struct whstore_options {
    const char *conninfo;   /* each writer connects on its own; borrowed */
    int batch_max;          /* most events per transaction (<= 0: 256) */
    int writers;            /* writer threads, each with its own connection (<= 0: 1) */
    int gather_events;      /* while a batch is being stored, wait for this many... */
    int gather_ms;          /* ...at most this long (0 events: never wait) */
    int sweep_ms;           /* how often pending events are matched again (0: never)... */
    int sweep_window_s;     /* ...those received this recently */
    int secrets_refresh_ms; /* how often signing secrets are reloaded (<= 0: 30 s) */
};

struct whstore;

/*
 * Starts the writer threads. Each connects once before this returns (so a
 * store over a working database starts ready), then keeps reconnecting with
 * backoff while the database is down; writer 0 loads the signing secrets on
 * each connection. Never fails for a down database.
 */
struct whstore *whstore_start(const struct whstore_options *opt);

/*
 * Queues ev (any thread). Returns -1, keeping nothing, once the store is
 * stopping; then the caller still owns ev and `done` is never called.
 */
int whstore_submit(struct whstore *st, struct whstore_event *ev);

/*
 * Stops taking events, hands back every queued one (stored or marked
 * unavailable), and joins the writers. whstore_submit may still be called
 * and refuses. NULL is a no-op.
 */
void whstore_stop(struct whstore *st);

/* Frees a stopped store, once nothing can call whstore_submit any more. NULL is a no-op. */
void whstore_destroy(struct whstore *st);

/* True while at least one writer's connection works. Any thread. */
int whstore_ready(const struct whstore *st);

/* The signing secrets, which writer 0 reloads. Any thread may verify with them. */
struct whsec_store *whstore_secrets(struct whstore *st);

/*
 * Parses a body as any JSON value (the caller json_decref()s it), or NULL
 * when it is not JSON. Integers beyond 64 bits are valid JSON: a second
 * pass reads them as reals rather than refuse the body.
 */
json_t *whstore_parse_body(const char *body, size_t len);

/*
 * Sets ev's type, raw_type, reference, post_id, account_id (heap copies,
 * NULL when absent) and unreadable from root (may be NULL), read with the
 * paths of ev->prov and key `key_id` (0: none) in force. Any thread.
 */
void whstore_read_fields(struct whstore *st, struct whstore_event *ev, int64_t key_id,
                         const json_t *root);

/* Frees ev's strings (not ev). */
void whstore_event_clear(struct whstore_event *ev);

#endif
