/*
 * DESIGN: the post routes' database side; runs on an API worker with that
 * worker's connection (api_pool.c). Every rule a post must meet is checked
 * by one statement (sql/api_post_check.sql) together with what the body
 * reader found, so a refusal names every bad field at once; a write is one
 * statement or one transaction, so nothing is ever half-written. The JSON
 * of a post is built by sql/api_posts_json.sql, one shape for every route.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "http/api_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Columns of api_post_check (a row per post). */
enum {
    CK_DETAILS,
    CK_KEY,
    CK_AT,
    CK_TZ,
    CK_EXISTING,
    CK_SAME,
    CK_DIFFERS,
    CK_PAST,
    CK_CREATED,
    CK_N
};

/*
 * A time in the past is accepted (a post for "now" is often a few seconds
 * late; a back-filled calendar may be older), but never silently: the
 * answer says what will happen to it (README "Calendar API").
 */
static const char past_warning[] =
    "in the past: the scheduler sends it at once if it is overdue by less than catchup_ms "
    "(1 hour by default); otherwise its targets expire unsent";

static const char *past_of(PGresult *check, int row)
{
    return strcmp(PQgetvalue(check, row, CK_PAST), "t") == 0 ? past_warning : NULL;
}

static void internal(struct api_job *j, const char *what, const char *err)
{
    log_error(what, LOG_STR("reason", err));
    api_job_error(j, 500, "internal", "the request could not be completed", NULL);
}

/* The posts' JSON texts for ids[0..n) in order, as a JSON array (or NULL on error). */
static json_t *posts_json(PGconn *c, const char *const *ids, size_t n, int attempts, char *err,
                          size_t errlen)
{
    char *arr = db_text_array(ids, n);
    const char *params[] = {arr, attempts ? "true" : "false"};
    PGresult *r = db_exec_named(c, "api_posts_json", 2, params, err, errlen);
    free(arr);
    if (!r)
        return NULL;
    json_t *out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(out, json_loads(PQgetvalue(r, i, 0), 0, NULL));
    PQclear(r);
    return out;
}

/* Answers `status` with post `id`, or 404 when it is gone; warn: warnings.scheduled_at. */
static void reply_post(PGconn *c, struct api_job *j, int status, const char *id, int attempts,
                       json_int_t cancelled, const char *warn)
{
    char err[512];
    json_t *posts = posts_json(c, &id, 1, attempts, err, sizeof err);
    if (!posts) {
        internal(j, "cannot read a post", err);
        return;
    }
    json_t *post = json_incref(json_array_get(posts, 0));
    json_decref(posts);
    if (!post) {
        api_job_error(j, 404, "not_found", "no such post", NULL);
        return;
    }
    if (cancelled >= 0)
        json_object_set_new(post, "cancelled_targets", json_integer(cancelled));
    if (warn)
        json_object_set_new(post, "warnings", json_pack("{s:s}", "scheduled_at", warn));
    api_job_reply_json(j, status, post);
}

/* Adds api_post_check's details (of its row `row`) to the body reader's; returns the merged
 * object or NULL. */
static json_t *merge_details(json_t *from_body, PGresult *check, int row)
{
    json_t *all = from_body ? json_deep_copy(from_body) : NULL;
    if (PQgetisnull(check, row, CK_DETAILS))
        return all;
    json_t *sql = json_loads(PQgetvalue(check, row, CK_DETAILS), 0, NULL);
    const char *field;
    json_t *reason;
    json_object_foreach(sql, field, reason)
        api_detail(&all, field, json_string_value(reason));
    json_decref(sql);
    return all;
}

/*
 * Checks posts ins[0..n), and with `create` inserts each that passes (and
 * that the body reader found no fault in) in the same statement:
 * api_post_check's rows, one per post, in order.
 */
static PGresult *check_posts(PGconn *c, struct api_post_in *const *ins, size_t n, int create,
                             char *err, size_t errlen)
{
    enum { NCOL = 9 };
    const char **col = xcalloc(n, sizeof *col);
    char *arrays[NCOL];
    for (int k = 0; k < NCOL; k++) {
        for (size_t i = 0; i < n; i++) {
            const struct api_post_in *in = ins[i];
            const char *wanted = create && !in->details ? "t" : "f";
            const char *v[NCOL] = {in->external_id, in->provider_key, in->accounts,
                                   in->content,     in->media,        in->local,
                                   in->offset,      in->time_zone,    wanted};
            col[i] = v[k];
        }
        arrays[k] = db_text_array(col, n);
    }
    free(col);
    const char *params[NCOL];
    for (int k = 0; k < NCOL; k++)
        params[k] = arrays[k];
    PGresult *r = db_exec_named(c, "api_post_check", NCOL, params, err, errlen);
    for (int k = 0; k < NCOL; k++)
        free(arrays[k]);
    return r;
}

static void refuse(struct api_job *j, json_t *details)
{
    api_job_error(j, 422, "invalid_post", "the post was refused; details names every bad field",
                  details);
}

/* 409 for an external_id already used by a different post. */
static void conflict(struct api_job *j, PGresult *check, int row)
{
    json_t *details = json_object();
    char why[200], *fields = xstrdup(PQgetvalue(check, row, CK_DIFFERS)), *save = NULL;
    snprintf(why, sizeof why, "differs from post %s, which has this external_id",
             PQgetvalue(check, row, CK_EXISTING));
    for (char *f = strtok_r(fields, ",", &save); f; f = strtok_r(NULL, ",", &save))
        json_object_set_new(details, f, json_string(why));
    free(fields);
    api_job_error(j, 409, "external_id_conflict",
                  "a different post already has this external_id", details);
}

void api_work_create(PGconn *c, struct api_job *j)
{
    struct api_post_in *in = api_job_input(j);
    char err[512];
    /* A second round only when a concurrent create took the external_id in between. */
    for (int round = 0; round < 2; round++) {
        PGresult *check = check_posts(c, &in, 1, 1, err, sizeof err);
        if (!check) {
            internal(j, "cannot check a post", err);
            return;
        }
        json_t *details = merge_details(in->details, check, 0);
        if (details) {
            PQclear(check);
            refuse(j, details);
            return;
        }
        if (!PQgetisnull(check, 0, CK_EXISTING)) {
            if (strcmp(PQgetvalue(check, 0, CK_SAME), "t") == 0)
                reply_post(c, j, 200, PQgetvalue(check, 0, CK_EXISTING), 0, -1, NULL);
            else
                conflict(j, check, 0);
            PQclear(check);
            return;
        }
        if (!PQgetisnull(check, 0, CK_CREATED)) {
            reply_post(c, j, 201, PQgetvalue(check, 0, CK_CREATED), 0, -1, past_of(check, 0));
            PQclear(check);
            return;
        }
        PQclear(check);
    }
    api_job_error(j, 409, "external_id_conflict", "the external_id is being created concurrently",
                  NULL);
}

/*
 * Group commit, set-wise: the creates gathered from the queue are checked
 * and inserted by one statement (every statement trigger runs once for the
 * batch), read back by one, and committed together: one WAL flush, two
 * round trips and two plans for the batch instead of two of each per post.
 * A post refused by the check, or repeating an external_id already there,
 * is answered as on its own; one whose external_id was taken meanwhile
 * (another batch, or an earlier post of this one) goes the one-post way
 * inside the transaction. Two batches sharing external ids insert them in
 * the ids' order, so they cannot deadlock on them. Should any statement
 * fail (an error no check foresaw), the batch is rolled back and
 * every post done again on its own, so one bad post fails alone. The
 * answers leave after the commit (api_pool.h).
 */
static int create_batch(PGconn *c, struct api_job **jobs, size_t n)
{
    char err[512] = "";
    struct api_post_in **ins = xcalloc(n, sizeof *ins);
    for (size_t i = 0; i < n; i++)
        ins[i] = api_job_input(jobs[i]);
    PGresult *check = check_posts(c, ins, n, 1, err, sizeof err);
    free(ins);
    if (!check || (size_t)PQntuples(check) != n) {
        log_warn("a batch of API creates failed", LOG_STR("reason", err));
        PQclear(check);
        return -1;
    }
    /* Answer what needs no read-back; gather what does, and what lost its external_id. */
    const char **want = xcalloc(n, sizeof *want);
    int *status = xcalloc(n, sizeof *status);
    size_t *again = xcalloc(n, sizeof *again), nwant = 0, nagain = 0;
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        struct api_post_in *in = api_job_input(jobs[i]);
        json_t *details = merge_details(in->details, check, row);
        if (details)
            refuse(jobs[i], details);
        else if (!PQgetisnull(check, row, CK_EXISTING) &&
                 strcmp(PQgetvalue(check, row, CK_SAME), "t") != 0)
            conflict(jobs[i], check, row);
        else if (!PQgetisnull(check, row, CK_EXISTING))
            want[nwant++] = PQgetvalue(check, row, CK_EXISTING), status[i] = 200;
        else if (!PQgetisnull(check, row, CK_CREATED))
            want[nwant++] = PQgetvalue(check, row, CK_CREATED), status[i] = 201;
        else
            again[nagain++] = i;
    }
    /* Read back every post to answer with, in one statement. */
    int rc = 0;
    json_t *posts = nwant ? posts_json(c, want, nwant, 0, err, sizeof err) : NULL;
    if (nwant && (!posts || json_array_size(posts) != nwant))
        rc = -1;
    for (size_t i = 0, w = 0; rc == 0 && i < n; i++) {
        if (!status[i])
            continue;
        json_t *post = json_incref(json_array_get(posts, w++));
        const char *warn = status[i] == 201 ? past_of(check, (int)i) : NULL;
        if (warn)
            json_object_set_new(post, "warnings", json_pack("{s:s}", "scheduled_at", warn));
        api_job_reply_json(jobs[i], status[i], post);
    }
    json_decref(posts);
    for (size_t t = 0; rc == 0 && t < nagain; t++) {
        api_work_create(c, jobs[again[t]]);
        if (PQtransactionStatus(c) != PQTRANS_INTRANS)
            rc = -1;
    }
    free(want), free(status), free(again);
    PQclear(check);
    if (rc != 0)
        log_warn("a batch of API creates failed", LOG_STR("reason", err));
    return rc;
}

void api_work_create_batch(PGconn *c, struct api_job **jobs, size_t n)
{
    char err[512];
    /*
     * Generic plans for the batch's statements: a custom plan learns nothing
     * from array parameters, yet was made anew for every batch (12% of the
     * batch's database CPU). A generic plan is kept for the session, so it
     * must not depend on the table's size when it was made (a hash join over
     * a then-small posts table, kept as the calendar grew, halved the rate):
     * nested loops only, whose inner side is an index probe. Seq scans stay
     * allowed: the small tables have no index for every lookup, and a plan
     * priced with enable_seqscan's penalty passes jit_above_cost (JIT then
     * compiled every batch: 1 s each). A lone create is a batch of one
     * too: planning the check cost it more than the transaction's two round
     * trips (a quarter of the batches under load are lone). Outside a
     * batch (the fallback below, edits, reads) the plan cache chooses as
     * usual, and may reuse a generic plan made here.
     */
    static const char begin[] = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; "
                                "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off";
    if (db_simple(c, begin, err, sizeof err) == 0) {
        if (create_batch(c, jobs, n) == 0 && PQtransactionStatus(c) == PQTRANS_INTRANS &&
            db_simple(c, "COMMIT", err, sizeof err) == 0)
            return;
        if (PQtransactionStatus(c) != PQTRANS_IDLE)
            db_rollback(c);
        log_info("a batch of API creates was rolled back; each is done on its own",
                 LOG_UINT("posts", n));
    }
    for (size_t i = 0; i < n; i++)
        api_work_create(c, jobs[i]);
}

void api_work_get(PGconn *c, struct api_job *j)
{
    const struct api_id_in *in = api_job_input(j);
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, in->id);
    reply_post(c, j, 200, id, 1, -1, NULL);
}

void api_work_delete(PGconn *c, struct api_job *j)
{
    const struct api_id_in *in = api_job_input(j);
    char id[32], err[512];
    snprintf(id, sizeof id, "%" PRId64, in->id);
    const char *params[] = {id};
    PGresult *r = db_exec_named(c, "api_post_cancel", 1, params, err, sizeof err);
    if (!r) {
        internal(j, "cannot cancel a post", err);
        return;
    }
    int exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    long cancelled = atol(PQgetvalue(r, 0, 1)), live = atol(PQgetvalue(r, 0, 2));
    PQclear(r);
    if (!exists)
        api_job_error(j, 404, "not_found", "no such post", NULL);
    else if (cancelled == 0 && live > 0)
        api_job_error(j, 409, "already_sent",
                      "nothing to cancel: every target was already sent or settled", NULL);
    else
        reply_post(c, j, 200, id, 0, cancelled, NULL);
}

/* ---- PATCH ---- */

/* Columns of api_post_lock. */
enum { LK_KEY, LK_ACCOUNTS, LK_CONTENT, LK_MEDIA, LK_UTC, LK_TZ, LK_TOUCHED };

/* Fills what the body left out from the stored post; the time stays the same instant. */
static void merge_stored(struct api_post_in *in, PGresult *lk)
{
    in->provider_key = xstrdup(PQgetvalue(lk, 0, LK_KEY));
    if (!(in->given & API_F_ACCOUNTS) && !in->accounts)
        in->accounts = xstrdup(PQgetvalue(lk, 0, LK_ACCOUNTS));
    if (!(in->given & API_F_CONTENT) && !in->content)
        in->content = xstrdup(PQgetvalue(lk, 0, LK_CONTENT));
    if (!(in->given & API_F_MEDIA) && !in->media)
        in->media = xstrdup(PQgetvalue(lk, 0, LK_MEDIA));
    if (!(in->given & API_F_ZONE) && !in->time_zone)
        in->time_zone = xstrdup(PQgetvalue(lk, 0, LK_TZ));
    if (!(in->given & API_F_SCHEDULED) && !in->local) {
        in->local = xstrdup(PQgetvalue(lk, 0, LK_UTC));
        in->offset = xstrdup("+00:00");
    }
}

/* Applies the checked edit; 0 or -1 with err. */
static int apply_patch(PGconn *c, const struct api_post_in *in, const char *id, PGresult *check,
                       char *err, size_t errlen)
{
    const char *params[] = {id, in->accounts, in->content, in->media,
                            PQgetvalue(check, 0, CK_AT), PQgetvalue(check, 0, CK_TZ)};
    PGresult *r = db_exec_named(c, "api_post_update", 6, params, err, errlen);
    if (!r)
        return -1;
    PQclear(r);
    if (in->given & API_F_ACCOUNTS) {
        r = db_exec_named(c, "api_post_retarget", 1, params, err, errlen);
        if (!r)
            return -1;
        PQclear(r);
    }
    return 0;
}

/* Inside the transaction: 0 to commit, else the answer is set (and it rolls back).
 * *warn: the warning for a new scheduled_at in the past, or NULL. */
static int patch_locked(PGconn *c, struct api_job *j, struct api_post_in *in, const char *id,
                        const char **warn)
{
    char err[512];
    const char *params[] = {id};
    PGresult *lk = db_exec_named(c, "api_post_lock", 1, params, err, sizeof err);
    if (!lk) {
        internal(j, "cannot lock a post", err);
        return -1;
    }
    int found = PQntuples(lk) > 0, touched = found && atol(PQgetvalue(lk, 0, LK_TOUCHED)) > 0;
    if (found && !touched)
        merge_stored(in, lk);
    PQclear(lk);
    if (!found || touched) {
        if (!found)
            api_job_error(j, 404, "not_found", "no such post", NULL);
        else
            api_job_error(j, 409, "already_sent",
                          "the post can no longer be edited: a target was already sent or settled",
                          NULL);
        return -1;
    }
    PGresult *check = check_posts(c, &in, 1, 0, err, sizeof err);
    if (!check) {
        internal(j, "cannot check a post", err);
        return -1;
    }
    json_t *details = merge_details(in->details, check, 0);
    int rc = details ? -1 : apply_patch(c, in, id, check, err, sizeof err);
    *warn = (in->given & API_F_SCHEDULED) ? past_of(check, 0) : NULL;
    PQclear(check);
    if (details)
        refuse(j, details);
    else if (rc != 0)
        internal(j, "cannot update a post", err);
    return rc;
}

void api_work_patch(PGconn *c, struct api_job *j)
{
    struct api_post_in *in = api_job_input(j);
    char id[32], err[512];
    snprintf(id, sizeof id, "%" PRId64, in->id);
    if (db_simple(c, "BEGIN", err, sizeof err) != 0) {
        internal(j, "cannot begin", err);
        return;
    }
    const char *warn = NULL;
    if (patch_locked(c, j, in, id, &warn) != 0) {
        db_rollback(c);
        return;
    }
    if (db_simple(c, "COMMIT", err, sizeof err) != 0) {
        db_rollback(c);
        internal(j, "cannot commit a post edit", err);
        return;
    }
    reply_post(c, j, 200, id, 0, -1, warn);
}

/* ---- list ---- */

static void list_params(const struct api_list_in *in, const char **p, char *limit, size_t len)
{
    snprintf(limit, len, "%d", in->limit + 1);
    p[0] = in->status, p[1] = in->provider, p[2] = in->key, p[3] = in->from_ms;
    p[4] = in->to_ms, p[5] = in->after_us, p[6] = in->after_id, p[7] = limit;
    p[8] = in->since_ms;
}

void api_work_list(PGconn *c, struct api_job *j)
{
    const struct api_list_in *in = api_job_input(j);
    char err[512], limit[16];
    const char *params[9];
    list_params(in, params, limit, sizeof limit);
    PGresult *r = db_exec_named(c, "api_posts_list", 9, params, err, sizeof err);
    if (!r) {
        internal(j, "cannot list posts", err);
        return;
    }
    int rows = PQntuples(r), shown = rows > in->limit ? in->limit : rows;
    const char **ids = xcalloc((size_t)shown + 1, sizeof *ids);
    for (int i = 0; i < shown; i++)
        ids[i] = PQgetvalue(r, i, 0);
    json_t *posts = shown ? posts_json(c, ids, (size_t)shown, 0, err, sizeof err) : json_array();
    char *next = rows > in->limit ? api_cursor_encode(PQgetvalue(r, shown - 1, 1),
                                                      PQgetvalue(r, shown - 1, 0))
                                  : NULL;
    free(ids);
    PQclear(r);
    if (!posts) {
        free(next);
        internal(j, "cannot read posts", err);
        return;
    }
    api_job_reply_json(j, 200, json_pack("{s:o, s:o}", "posts", posts, "next_cursor",
                                         next ? json_string(next) : json_null()));
    free(next);
}
