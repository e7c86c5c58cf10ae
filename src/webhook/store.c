/*
 * DESIGN: `writers` threads, each with its own PGconn (db/link.h), share
 * one queue: each takes up to batch_max queued events, stores and applies
 * them with one statement that is its own transaction
 * (postpace_store_events: match, lock targets in id order, INSERT ... ON
 * CONFLICT DO NOTHING already applied, settle the targets), then hands each
 * event back through its `done` (the HTTP side answers its request on the
 * request's loop). With two writers one batch executes while the other
 * waits for its commit to reach the disk, so both cores work. While one
 * writer is storing a batch, another that finds fewer than gather_events
 * queued waits up to gather_ms for more (as PostgreSQL's commit_delay waits
 * for siblings): a batch costs about a millisecond of database CPU however
 * small it is, so under load fewer, larger batches leave more of it for
 * events, and with no batch in flight nothing waits. They cannot deadlock
 * on targets (both lock in id order first); a duplicate of an event another
 * writer is storing waits for that commit and is then skipped. Writer 0
 * also reloads the signing secrets; the last writer (the same one when
 * there is one), every sweep_ms, applies recent pending events that a
 * concurrent target write made matchable (sweep_pending), a bounded slice
 * per pass.
 *
 * An event's fields are read with the paths configured for its provider,
 * or for the key whose secret signed it (src/webhook/fields.h), which
 * writer 0 reloads with the secrets. When a reload finds a provider's paths
 * changed, writer 0 reads that provider's pending events again from their
 * kept payloads, REMATCH_PAGE at a time between batches (rematch_page), and
 * applies those that now match.
 *
 * Nothing here knows HTTP: an event comes in through whstore_submit and
 * goes back through its `done`, so the store sits below http/ and the
 * loop side keeps the requests.
 */
#include "webhook/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db/db.h"
#include "db/link.h"
#include "metrics.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* One writer thread and what only it touches. */
struct writer {
    struct whstore *st;
    int index; /* 0 also reloads the signing secrets; the last also sweeps pending events */
    pthread_t thread;
    struct db_link db; /* its connection, reconnected with backoff */
    int connected;     /* counted in st->db_ok */
    uint64_t next_refresh_ms, next_sweep_ms;
    /* Where the sweep goes on: received_at, provider, event id (NULL: start). */
    char *sweep_cursor[3];
    int rematch;                     /* writer 0: providers (1 << id) to read again */
    char *rematch_after[PROV_COUNT]; /* writer 0: the last event id read (NULL: start) */
};

struct whstore {
    struct whstore_options opt;
    struct whsec_store *secrets;
    struct whfields *fields;
    struct writer *writers;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct whstore_event *head, **tail; /* the queue, under lock */
    int queued;                         /* events in the queue, under lock */
    int storing;                        /* writers storing a batch, under lock */
    int stopping;                       /* under lock */
    atomic_int db_ok;                   /* writers with a working connection */
};

/* ---- events (any thread) ---- */

json_t *whstore_parse_body(const char *body, size_t len)
{
    /* No JSON text holds a NUL byte, and one would cut the stored payload
     * short (a C string, and PostgreSQL text holds none), while jansson may
     * read the text before it as a whole document. */
    if (memchr(body, '\0', len))
        return NULL;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (!root)
        root = json_loadb(body, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
    return root;
}

static char *dup_value(const struct whpath_values *v, enum whpath_field f)
{
    return v->has[f] ? xstrdup(v->value[f]) : NULL;
}

void whstore_read_fields(struct whstore *st, struct whstore_event *ev, int64_t key_id,
                         const json_t *root)
{
    struct whpath_values v;
    whfields_extract(st->fields, ev->prov, key_id, root, &v);
    const char *type = whpath_verdict_type(v.verdict);
    ev->type = type ? xstrdup(type) : NULL;
    ev->raw_type = dup_value(&v, WHPATH_TYPE);
    ev->reference = dup_value(&v, WHPATH_REFERENCE);
    ev->post_id = dup_value(&v, WHPATH_POST_ID);
    ev->account_id = dup_value(&v, WHPATH_ACCOUNT);
    ev->unreadable = !type || (!ev->reference && !ev->post_id);
}

void whstore_event_clear(struct whstore_event *ev)
{
    free(ev->event_id);
    free(ev->type);
    free(ev->raw_type);
    free(ev->payload);
    free(ev->reference);
    free(ev->post_id);
    free(ev->account_id);
}

int whstore_submit(struct whstore *st, struct whstore_event *ev)
{
    pthread_mutex_lock(&st->lock);
    int stopping = st->stopping;
    if (!stopping) {
        ev->next = NULL;
        *st->tail = ev;
        st->tail = &ev->next;
        /* Wake a writer for the first event, and a gathering one when
         * enough have come: a signal per event woke it two dozen times a
         * batch. */
        if (++st->queued == 1 || st->queued == st->opt.gather_events)
            pthread_cond_signal(&st->cond);
    }
    pthread_mutex_unlock(&st->lock);
    return stopping ? -1 : 0;
}

/* ---- writers ---- */

static void answer_all(struct whstore_event *batch, enum whstore_result r)
{
    while (batch) {
        struct whstore_event *next = batch->next;
        if (batch->result == WHSTORE_PENDING)
            batch->result = r;
        batch->done(batch);
        batch = next;
    }
}

static void connection_lost(struct writer *w, const char *why)
{
    if (w->connected) {
        w->connected = 0;
        if (atomic_fetch_sub(&w->st->db_ok, 1) == 1)
            log_warn("intake lost the database; answering 503 until it is back",
                     LOG_STR("reason", why));
    }
    db_link_close(&w->db);
}

/* Marks each event whose (provider, event id) the INSERT returned as accepted. */
static void mark_new(struct whstore_event *batch, PGresult *r)
{
    for (struct whstore_event *e = batch; e; e = e->next)
        e->result = WHSTORE_DUPLICATE;
    for (int i = 0; i < PQntuples(r); i++) {
        for (struct whstore_event *e = batch; e; e = e->next) {
            if (e->result == WHSTORE_DUPLICATE &&
                strcmp(prov_name(e->prov), PQgetvalue(r, i, 0)) == 0 &&
                strcmp(e->event_id, PQgetvalue(r, i, 1)) == 0) {
                e->result = WHSTORE_ACCEPTED;
                break;
            }
        }
    }
}

/*
 * One statement for the batch (sql/webhook_store.sql): it runs as its own
 * transaction, so its result arrives only after the commit. Returns 0, or -1
 * (nothing stored) with err.
 */
static int store_batch(PGconn *conn, struct whstore_event *batch, char *err, size_t errlen)
{
    size_t n = 0;
    for (struct whstore_event *e = batch; e; e = e->next)
        n++;
    enum { NCOLS = 9 };
    const char **cols[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        cols[c] = xcalloc(n, sizeof(char *));
    size_t i = 0;
    for (struct whstore_event *e = batch; e; e = e->next, i++) {
        cols[0][i] = prov_name(e->prov);
        cols[1][i] = e->event_id;
        cols[2][i] = e->type;
        cols[3][i] = e->payload;
        cols[4][i] = e->reference;
        cols[5][i] = e->post_id;
        cols[6][i] = e->account_id;
        cols[7][i] = e->raw_type;
        cols[8][i] = e->key_id[0] ? e->key_id : NULL;
    }
    char *arrays[NCOLS];
    int lens[NCOLS], binary[NCOLS] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int c = 0; c < NCOLS; c++) {
        arrays[c] = db_text_array_binary(cols[c], n, &lens[c]);
        free(cols[c]);
    }
    PGresult *stored = db_exec_prepared(conn, "webhook_store", NCOLS, (const char *const *)arrays,
                                        lens, binary, 0);
    int ok = PQresultStatus(stored) == PGRES_TUPLES_OK;
    if (ok)
        mark_new(batch, stored);
    else
        db_error(conn, stored, err, errlen);
    PQclear(stored);
    for (int c = 0; c < NCOLS; c++)
        free(arrays[c]);
    return ok ? 0 : -1;
}

static void process(struct writer *w, struct whstore_event *batch)
{
    char err[512];
    if (!w->db.conn) {
        answer_all(batch, WHSTORE_UNAVAILABLE);
        return;
    }
    uint64_t t0 = clk_mono_ms(clk_real);
    if (store_batch(w->db.conn, batch, err, sizeof err) == 0) {
        size_t n = 0;
        for (struct whstore_event *e = batch; e; e = e->next)
            n++;
        log_debug("webhook batch committed", LOG_UINT("events", n),
                  LOG_UINT("ms", clk_mono_ms(clk_real) - t0));
        answer_all(batch, WHSTORE_PENDING);
        return;
    }
    if (PQstatus(w->db.conn) != CONNECTION_OK) {
        connection_lost(w, err);
        for (struct whstore_event *e = batch; e; e = e->next)
            e->result = WHSTORE_UNAVAILABLE;
        answer_all(batch, WHSTORE_UNAVAILABLE);
        return;
    }
    /* A statement failed with the connection intact: isolate the bad event. */
    log_warn("webhook batch failed; storing its events one by one", LOG_STR("reason", err));
    while (batch) {
        struct whstore_event *next = batch->next;
        batch->next = NULL;
        if (store_batch(w->db.conn, batch, err, sizeof err) != 0) {
            batch->result =
                PQstatus(w->db.conn) == CONNECTION_OK ? WHSTORE_FAILED : WHSTORE_UNAVAILABLE;
            log_error("webhook event not stored", LOG_STR("event_id", batch->event_id),
                      LOG_STR("reason", err));
        }
        answer_all(batch, WHSTORE_PENDING);
        batch = next;
    }
}

/* Publishes the stored events that match no target, per provider, as gauges. */
static void count_unmatched(struct writer *w)
{
    char err[512];
    PGresult *r = db_exec(w->db.conn, "webhook_unmatched_counts", 0, NULL, err, sizeof err);
    if (!r) {
        log_warn("cannot count unmatched webhook events", LOG_STR("reason", err));
        return;
    }
    uint64_t unmatched[PROV_COUNT] = {0}, unreadable[PROV_COUNT] = {0};
    for (int i = 0; i < PQntuples(r); i++) {
        enum prov_id p;
        const char *name = PQgetvalue(r, i, 0);
        if (prov_parse(name, strlen(name), &p) != 0)
            continue;
        unmatched[p] = strtoull(PQgetvalue(r, i, 1), NULL, 10);
        unreadable[p] = strtoull(PQgetvalue(r, i, 2), NULL, 10);
    }
    PQclear(r);
    for (int p = 0; p < PROV_COUNT; p++)
        met_webhooks_unmatched((enum prov_id)p, unmatched[p], unreadable[p]);
}

/* Reloads the signing secrets and the field paths; a provider whose paths
 * changed has its pending events read again (rematch_page). */
static void refresh_secrets(struct writer *w, uint64_t now)
{
    char err[512];
    w->next_refresh_ms = now + (uint64_t)w->st->opt.secrets_refresh_ms;
    int n = whsec_store_load(w->st->secrets, w->db.conn, err, sizeof err);
    if (n < 0)
        log_warn("cannot reload webhook secrets", LOG_STR("reason", err));
    int changed = whfields_load(w->st->fields, w->db.conn, err, sizeof err);
    if (changed < 0) {
        log_warn("cannot reload webhook field paths", LOG_STR("reason", err));
        return;
    }
    for (int p = 0; p < PROV_COUNT; p++) {
        if (!(changed & (1 << p)))
            continue;
        w->rematch |= 1 << p;
        free(w->rematch_after[p]);
        w->rematch_after[p] = NULL; /* a pass under way starts over with the new paths */
    }
    count_unmatched(w);
}

/* Pending events one re-read examines at a time, between batches. */
#define REMATCH_PAGE 500

/* Reads the page's events again into the parallel columns; frees nothing. */
static void reread(struct whstore *st, enum prov_id p, PGresult *r, const char **cols[6],
                   char **owned)
{
    for (int i = 0; i < PQntuples(r); i++) {
        struct whstore_event e = {.prov = p};
        json_t *root = whstore_parse_body(PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
        int64_t key_id = PQgetisnull(r, i, 1) ? 0 : strtoll(PQgetvalue(r, i, 1), NULL, 10);
        whstore_read_fields(st, &e, key_id, root);
        json_decref(root);
        cols[0][i] = PQgetvalue(r, i, 0);
        cols[1][i] = owned[5 * i] = e.type;
        cols[2][i] = owned[5 * i + 1] = e.raw_type;
        cols[3][i] = owned[5 * i + 2] = e.reference;
        cols[4][i] = owned[5 * i + 3] = e.post_id;
        cols[5][i] = owned[5 * i + 4] = e.account_id;
    }
}

/* Sends the re-read fields of a page; returns the events now applied, or -1. */
static int rematch_store(struct writer *w, enum prov_id p, const char **cols[6], size_t n)
{
    char *arrays[6], err[512];
    int lens[7], binary[7] = {0, 1, 1, 1, 1, 1, 1};
    const char *params[7] = {prov_name(p)};
    for (int c = 0; c < 6; c++) {
        arrays[c] = db_text_array_binary(cols[c], n, &lens[c + 1]);
        params[c + 1] = arrays[c];
    }
    PGresult *r = db_exec_prepared(w->db.conn, "webhook_rematch", 7, params, lens, binary, 0);
    int applied = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    if (applied < 0) {
        db_error(w->db.conn, r, err, sizeof err);
        log_warn("cannot re-match webhook events", LOG_STR("provider", prov_name(p)),
                 LOG_STR("reason", err));
    }
    PQclear(r);
    for (int c = 0; c < 6; c++)
        free(arrays[c]);
    return applied;
}

/*
 * One page of the re-read that a change of a provider's paths started: its
 * pending events after the cursor, at most REMATCH_PAGE, read again from
 * their payloads with the paths now in force (parsed once, at the load) and
 * applied if they now match. Cost per call: one page; a backlog is read in
 * turns, interleaved with batches. A failed page is tried again next time.
 */
static void rematch_page(struct writer *w)
{
    enum prov_id p = 0;
    while (!(w->rematch & (1 << p)))
        p++;
    char page[16], err[512];
    snprintf(page, sizeof page, "%d", REMATCH_PAGE);
    const char *params[] = {prov_name(p), w->rematch_after[p] ? w->rematch_after[p] : "", page};
    PGresult *r = db_exec_prepared(w->db.conn, "webhook_rematch_page", 3, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        db_error(w->db.conn, r, err, sizeof err);
        log_warn("cannot read pending webhook events", LOG_STR("reason", err));
        PQclear(r);
        return;
    }
    size_t n = (size_t)PQntuples(r);
    const char **cols[6];
    for (int c = 0; c < 6; c++)
        cols[c] = xcalloc(n ? n : 1, sizeof(char *));
    char **owned = xcalloc(5 * n + 1, sizeof(char *));
    reread(w->st, p, r, cols, owned);
    int applied = n ? rematch_store(w, p, cols, n) : 0;
    if (applied > 0)
        log_info("applied pending webhook events that the new field paths read",
                 LOG_STR("provider", prov_name(p)), LOG_INT("events", applied));
    if (applied >= 0) {
        free(w->rematch_after[p]);
        w->rematch_after[p] = n == REMATCH_PAGE ? xstrdup(PQgetvalue(r, (int)n - 1, 0)) : NULL;
        if (n < REMATCH_PAGE) {
            w->rematch &= ~(1 << p);
            count_unmatched(w);
        }
    }
    for (size_t i = 0; i < 5 * n; i++)
        free(owned[i]);
    free(owned);
    for (int c = 0; c < 6; c++)
        free(cols[c]);
    PQclear(r);
}

/* Events one sweep pass examines at most: bounds its cost whatever is pending. */
#define SWEEP_BUDGET "1000"

/* Keeps the cursor the pass returned (NULLs: the next pass starts over). */
static void sweep_move_cursor(struct writer *w, PGresult *r)
{
    for (int i = 0; i < 3; i++) {
        free(w->sweep_cursor[i]);
        w->sweep_cursor[i] =
            r && !PQgetisnull(r, 0, i + 1) ? xstrdup(PQgetvalue(r, 0, i + 1)) : NULL;
    }
}

/*
 * Applies pending events that a target write made matchable while they were
 * being stored, each seeing the other uncommitted (sql/webhook_sweep.sql,
 * postpace_sweep_pending). Nothing else would apply them until that target is
 * written again. Each pass examines at most SWEEP_BUDGET events from where
 * the last stopped, so events that match nothing, however many, cost a
 * bounded pass, never a scan of them all.
 */
static void sweep_pending(struct writer *w, uint64_t now)
{
    char window[16], err[512];
    w->next_sweep_ms = now + (uint64_t)w->st->opt.sweep_ms;
    snprintf(window, sizeof window, "%d", w->st->opt.sweep_window_s);
    const char *params[] = {window, SWEEP_BUDGET, w->sweep_cursor[0], w->sweep_cursor[1],
                            w->sweep_cursor[2]};
    PGresult *r = db_exec_prepared(w->db.conn, "webhook_sweep", 5, params, NULL, NULL, 0);
    int applied = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    sweep_move_cursor(w, applied < 0 ? NULL : r);
    if (applied < 0) {
        db_error(w->db.conn, r, err, sizeof err);
        log_warn("cannot sweep pending webhook events", LOG_STR("reason", err));
    } else if (applied > 0) {
        met_webhooks_swept((unsigned)applied);
        log_info("applied pending webhook events that a concurrent write made matchable",
                 LOG_INT("events", applied));
    }
    PQclear(r);
}

/* The statements each writer prepares: parsed and planned once, not per batch. */
static const char *const prepared[] = {"webhook_store", "webhook_sweep", "webhook_rematch_page",
                                       "webhook_rematch", NULL};

/* Connects when due (db/link.h: backoff from 100 ms to 5 s). */
static void maintain_connection(struct writer *w, uint64_t now)
{
    if (db_link_broken(&w->db))
        connection_lost(w, "connection closed");
    char err[512];
    enum db_link_state st = db_link_ensure(&w->db, now, err, sizeof err);
    if (st == DB_LINK_UNPREPARED)
        log_warn("intake cannot prepare its statements", LOG_STR("reason", err));
    if (st != DB_LINK_NEW)
        return;
    if (w->index == 0)
        refresh_secrets(w, now);
    w->connected = 1;
    if (atomic_fetch_add(&w->st->db_ok, 1) == 0)
        log_info("intake connected to the database", LOG_INT("writer", w->index));
}

/*
 * Takes up to batch_max events, waiting at most `wait_ms` for the first, then
 * (while another writer is storing) at most gather_ms for gather_events. A
 * writer without a connection takes none while another writer has one;
 * when none has, it takes them to answer 503 rather than leave them waiting.
 */
static struct whstore_event *take_batch(struct writer *w, uint64_t wait_ms, int *stop)
{
    struct whstore *st = w->st;
    pthread_mutex_lock(&st->lock);
    if (!st->head && !st->stopping) {
        struct timespec ts = clk_cond_deadline(wait_ms);
        pthread_cond_timedwait(&st->cond, &st->lock, &ts);
    }
    if (w->db.conn && st->head && st->queued < st->opt.gather_events && st->storing > 0) {
        struct timespec ts = clk_cond_deadline((uint64_t)st->opt.gather_ms);
        while (st->queued < st->opt.gather_events && st->storing > 0 && !st->stopping)
            if (pthread_cond_timedwait(&st->cond, &st->lock, &ts) != 0)
                break;
    }
    struct whstore_event *batch = NULL;
    if (w->db.conn || atomic_load(&st->db_ok) == 0) {
        struct whstore_event **end = &st->head;
        int n = 0;
        for (; *end && n < st->opt.batch_max; n++)
            end = &(*end)->next;
        st->queued -= n;
        st->storing += n > 0;
        batch = st->head;
        st->head = *end;
        *end = NULL;
        if (!st->head)
            st->tail = &st->head;
        if (st->head) /* more than one batch waits: wake another writer */
            pthread_cond_signal(&st->cond);
    }
    *stop = st->stopping && !st->head && !batch;
    pthread_mutex_unlock(&st->lock);
    return batch;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (;;) {
        uint64_t now = clk_mono_ms(clk_real);
        maintain_connection(w, now);
        if (w->db.conn && w->index == 0 && now >= w->next_refresh_ms)
            refresh_secrets(w, now);
        uint64_t wait_ms = w->db.conn ? 1000 : 100;
        if (w->db.conn && w->index == 0 && w->rematch) {
            rematch_page(w);
            wait_ms = 0; /* the next page after the batches waiting, if any */
        }
        /* The sweep runs on the last writer, so that with two or more the
         * secrets' reload (writer 0) never waits behind a pass. */
        if (w->db.conn && w->index == w->st->opt.writers - 1 && w->st->opt.sweep_ms > 0) {
            if (now >= w->next_sweep_ms)
                sweep_pending(w, now);
            if (w->next_sweep_ms - now < wait_ms)
                wait_ms = w->next_sweep_ms - now;
        }
        int stop;
        struct whstore_event *batch = take_batch(w, wait_ms, &stop);
        if (stop)
            break;
        if (batch) {
            process(w, batch);
            pthread_mutex_lock(&w->st->lock);
            w->st->storing--;
            pthread_cond_broadcast(&w->st->cond); /* a gathering writer goes now */
            pthread_mutex_unlock(&w->st->lock);
        } else if (w->db.conn && PQstatus(w->db.conn) == CONNECTION_OK)
            PQconsumeInput(w->db.conn); /* notices a server that went away while idle */
    }
    if (w->connected)
        atomic_fetch_sub(&w->st->db_ok, 1);
    w->connected = 0;
    db_link_close(&w->db);
    return NULL;
}

struct whstore *whstore_start(const struct whstore_options *opt)
{
    struct whstore *st = xcalloc(1, sizeof *st);
    st->opt = *opt;
    if (st->opt.batch_max <= 0)
        st->opt.batch_max = 256;
    if (st->opt.secrets_refresh_ms <= 0)
        st->opt.secrets_refresh_ms = 30000;
    if (st->opt.writers <= 0)
        st->opt.writers = 1;
    st->secrets = whsec_store_create();
    st->fields = whfields_create();
    st->tail = &st->head;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->cond, NULL);
    st->writers = xcalloc((size_t)st->opt.writers, sizeof *st->writers);
    for (int i = 0; i < st->opt.writers; i++) {
        struct writer *w = &st->writers[i];
        w->st = st;
        w->index = i;
        db_link_init(&w->db, st->opt.conninfo, prepared);
        /* Connect once up front so the daemon starts ready when the database is. */
        maintain_connection(w, clk_mono_ms(clk_real));
        pthread_create(&w->thread, NULL, writer_main, w);
    }
    return st;
}

void whstore_stop(struct whstore *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->lock);
    st->stopping = 1;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
    for (int i = 0; i < st->opt.writers; i++)
        pthread_join(st->writers[i].thread, NULL);
}

void whstore_destroy(struct whstore *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->opt.writers; i++) {
        sweep_move_cursor(&st->writers[i], NULL);
        for (int p = 0; p < PROV_COUNT; p++)
            free(st->writers[i].rematch_after[p]);
    }
    whfields_destroy(st->fields);
    free(st->writers);
    whsec_store_destroy(st->secrets);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
    free(st);
}

int whstore_ready(const struct whstore *st)
{
    return atomic_load(&st->db_ok) > 0;
}

struct whsec_store *whstore_secrets(struct whstore *st)
{
    return st->secrets;
}
