/*
 * DESIGN: the recorder thread owns its PGconn and nothing else. The
 * scheduler thread hands it lists of outcomes under `lock`; the recorder
 * takes everything queued at once and writes it in one transaction (one
 * statement for the targets, one for the attempts rows), so the busier the
 * scheduler, the bigger and cheaper each batch. A batch that fails (the
 * database went away) goes back in front of the queue and is tried again
 * after a backoff; nothing handed over is dropped while the recorder lives.
 *
 * Order does not matter inside the queue: a target has at most one outcome
 * waiting, because it can only be claimed again once its outcome is written
 * (the claim takes scheduled targets only).
 */
#include "scheduler/recorder.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db/db.h"
#include "db/link.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct recorder {
    char *conninfo;
    char *instance_id;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work; /* something was handed over, or quit */
    pthread_cond_t idle; /* a batch was written */
    int quit;
    int busy; /* a batch is being written */
    struct rec_settle *settles;
    struct rec_finish *finishes;
    atomic_long pending;
    struct db_link db;   /* the recorder thread's own connection */
    uint64_t backoff_ms; /* the wait after the last failed batch; 0 after a success */
};

void rec_free_settles(struct rec_settle *x)
{
    while (x) {
        struct rec_settle *next = x->next;
        free(x->post_id);
        free(x->error);
        free(x);
        x = next;
    }
}

void rec_free_finishes(struct rec_finish *f)
{
    while (f) {
        struct rec_finish *next = f->next;
        free(f->excerpt);
        free(f);
        f = next;
    }
}

static long count_settles(const struct rec_settle *x)
{
    long n = 0;
    for (; x; x = x->next)
        n++;
    return n;
}

static long count_finishes(const struct rec_finish *f)
{
    long n = 0;
    for (; f; f = f->next)
        n++;
    return n;
}

/* Appends list b behind list a. */
static struct rec_settle *join_settles(struct rec_settle *a, struct rec_settle *b)
{
    if (!a)
        return b;
    struct rec_settle *t = a;
    while (t->next)
        t = t->next;
    t->next = b;
    return a;
}

static struct rec_finish *join_finishes(struct rec_finish *a, struct rec_finish *b)
{
    if (!a)
        return b;
    struct rec_finish *t = a;
    while (t->next)
        t = t->next;
    t->next = b;
    return a;
}

/* ---- writing (recorder thread, no lock held) ---- */

static int run(struct recorder *r, const char *name, struct db_column *cols, int n,
               const char *last)
{
    char *texts[8], err[512];
    const char *params[9];
    for (int i = 0; i < n; i++)
        params[i] = texts[i] = db_col_take(&cols[i]);
    params[n] = last;
    PGresult *res = db_exec(r->db.conn, name, last ? n + 1 : n, params, err, sizeof err);
    for (int i = 0; i < n; i++)
        free(texts[i]);
    if (!res) {
        log_warn("cannot record outcomes", LOG_STR("query", name), LOG_STR("reason", err));
        return -1;
    }
    PQclear(res);
    return 0;
}

/* Every settle in one statement. */
static int write_settles(struct recorder *r, const struct rec_settle *x)
{
    struct db_column c[6] = {0};
    for (; x; x = x->next) {
        db_col_push_i64(&c[0], x->target_id);
        db_col_push(&c[1], ts_name(x->status));
        db_col_push(&c[2], x->post_id);
        if (x->next_ms)
            db_col_push_i64(&c[3], (long long)x->next_ms);
        else
            db_col_push(&c[3], NULL);
        db_col_push(&c[4], x->error);
        db_col_push_i64(&c[5], x->uncount);
    }
    return run(r, "sched_settle", c, 6, r->instance_id);
}

/* Every attempts row to finish in one statement. */
static int write_finishes(struct recorder *r, const struct rec_finish *f)
{
    struct db_column c[6] = {0};
    for (; f; f = f->next) {
        db_col_push_i64(&c[0], f->attempt_id);
        if (f->http_status)
            db_col_push_i64(&c[1], f->http_status);
        else
            db_col_push(&c[1], NULL);
        db_col_push(&c[2], ao_name(f->outcome));
        if (f->retry_after_ms >= 0)
            db_col_push_i64(&c[3], f->retry_after_ms);
        else
            db_col_push(&c[3], NULL);
        db_col_push(&c[4], f->excerpt);
        if (f->sent_ms)
            db_col_push_i64(&c[5], (long long)f->sent_ms);
        else
            db_col_push(&c[5], NULL);
    }
    return run(r, "sched_finish_attempt", c, 6, NULL);
}

/*
 * One transaction. Outcomes need not wait for the disk: if this commit is
 * lost in a crash, the targets stay publishing, are recovered as
 * unconfirmed and settled by their webhooks. The statements touch a few
 * hundred rows by id, given as arrays: they plan with index probes only
 * (db_begin_index_only).
 *
 * The link is asked with the deadline its own last failure set, so it
 * connects whenever asked: the wait between tries is back_off's, which
 * follows every failed batch (a failed connect among them) and is never
 * shorter than the link's own.
 */
static int write_batch(struct recorder *r, const struct rec_settle *settles,
                       const struct rec_finish *finishes)
{
    char err[512];
    if (db_link_ensure(&r->db, r->db.next_connect_ms, err, sizeof err) == DB_LINK_DOWN)
        return -1;
    int ok = db_begin_index_only(r->db.conn, 1, err, sizeof err) == 0;
    if (ok && settles)
        ok = write_settles(r, settles) == 0;
    if (ok && finishes)
        ok = write_finishes(r, finishes) == 0;
    if (ok)
        ok = db_simple(r->db.conn, "COMMIT", err, sizeof err) == 0;
    if (ok)
        return 0;
    db_rollback(r->db.conn);
    if (db_link_broken(&r->db))
        db_link_close(&r->db);
    return -1;
}

/* Sleeps (lock held) for the backoff, or until quit. */
static void back_off(struct recorder *r)
{
    r->backoff_ms = db_link_backoff(r->backoff_ms);
    struct timespec until = clk_cond_deadline(r->backoff_ms);
    while (!r->quit && pthread_cond_timedwait(&r->work, &r->lock, &until) == 0)
        ;
}

static void *rec_main(void *arg)
{
    struct recorder *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (!r->quit && !r->settles && !r->finishes)
            pthread_cond_wait(&r->work, &r->lock);
        if (r->quit)
            break;
        struct rec_settle *settles = r->settles;
        struct rec_finish *finishes = r->finishes;
        r->settles = NULL;
        r->finishes = NULL;
        r->busy = 1;
        pthread_mutex_unlock(&r->lock);
        int ok = write_batch(r, settles, finishes) == 0;
        pthread_mutex_lock(&r->lock);
        r->busy = 0;
        if (ok) {
            atomic_fetch_sub(&r->pending, count_settles(settles) + count_finishes(finishes));
            rec_free_settles(settles);
            rec_free_finishes(finishes);
            r->backoff_ms = 0;
            pthread_cond_broadcast(&r->idle);
            continue;
        }
        r->settles = join_settles(settles, r->settles);
        r->finishes = join_finishes(finishes, r->finishes);
        back_off(r);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* ---- the scheduler's side ---- */

struct recorder *rec_create(const char *conninfo, const char *instance_id)
{
    struct recorder *r = xcalloc(1, sizeof *r);
    r->conninfo = xstrdup(conninfo ? conninfo : "");
    r->instance_id = xstrdup(instance_id);
    db_link_init(&r->db, r->conninfo, NULL);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->work, NULL);
    pthread_cond_init(&r->idle, NULL);
    pthread_create(&r->thread, NULL, rec_main, r);
    return r;
}

void rec_hand(struct recorder *r, struct rec_settle *settles, struct rec_finish *finishes)
{
    if (!settles && !finishes)
        return;
    atomic_fetch_add(&r->pending, count_settles(settles) + count_finishes(finishes));
    pthread_mutex_lock(&r->lock);
    r->settles = join_settles(settles, r->settles);
    r->finishes = join_finishes(finishes, r->finishes);
    pthread_cond_signal(&r->work);
    pthread_mutex_unlock(&r->lock);
}

int rec_drain(struct recorder *r, int timeout_ms)
{
    struct timespec until = clk_cond_deadline((uint64_t)timeout_ms);
    pthread_mutex_lock(&r->lock);
    while ((r->busy || r->settles || r->finishes) &&
           pthread_cond_timedwait(&r->idle, &r->lock, &until) == 0)
        ;
    int left = r->busy || r->settles || r->finishes;
    pthread_mutex_unlock(&r->lock);
    return left ? -1 : 0;
}

long rec_pending(struct recorder *r)
{
    return atomic_load(&r->pending);
}

void rec_destroy(struct recorder *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->quit = 1;
    pthread_cond_signal(&r->work);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    long left = atomic_load(&r->pending);
    if (left > 0)
        log_warn("outcomes left unrecorded; their targets will be recovered as unconfirmed",
                 LOG_INT("outcomes", left));
    rec_free_settles(r->settles);
    rec_free_finishes(r->finishes);
    db_link_close(&r->db);
    pthread_cond_destroy(&r->work);
    pthread_cond_destroy(&r->idle);
    pthread_mutex_destroy(&r->lock);
    free(r->conninfo);
    free(r->instance_id);
    free(r);
}
