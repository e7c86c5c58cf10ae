/*
 * DESIGN: one thread owns everything here: a PGconn (queries and LISTEN), a
 * curl multi handle, the registry and its limiter set. Outcomes go to the
 * recorder (recorder.h), which writes them on a thread and connection of its
 * own, so claiming the next requests never waits for recording the last.
 * Each turn of the loop fires the requests whose slot has come, reads the
 * clock, renews leases when due, does housekeeping when due, learns when each
 * owned key is next due, claims what the limiter allows within
 * claim_ahead_ms, then sleeps in curl_multi_poll (with the database socket as
 * an extra fd, so a NOTIFY wakes it) until the earliest of: a request
 * finishing, a slot, the next budget opening, the next due time, or a
 * housekeeping deadline. Requests are built and their answers gathered by
 * publish.h; what an answer does to a target is outcome.h's table.
 *
 * Never double-post: the claim and the attempts row commit before a request
 * leaves; a request whose fate is unknown (timeout, 5xx, crash) leaves its
 * targets unconfirmed, to be settled by the webhook, else re-sent, looked up
 * or held as the provider's lookup config says (provider/lookup.h), never
 * re-sent blindly.
 */
#include "scheduler/scheduler.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/link.h"
#include "metrics.h"
#include "provider/provider.h"
#include "provider/lookup.h"
#include "scheduler/outcome.h"
#include "scheduler/publish.h"
#include "scheduler/recorder.h"
#include "registry/registry.h"
#include "util/log.h"
#include "util/rfc3339.h"
#include "util/secret_ref.h"
#include "util/text.h"
#include "util/xmalloc.h"

#define HOUSEKEEPING_MS 1000
#define STATS_MS 2000
#define REGISTRY_RELOAD_MS 30000
#define DUE_REFRESH_MS 1000
#define EXCERPT_MAX 2048
#define LOOKUP_MAX 50 /* unconfirmed targets one lookup looks for */

/*
 * A claimed request: its intent commits with the turn's, then it waits on
 * s->armed until fire_ms, the moment the limiter allows it. Claiming up to
 * claim_ahead_ms early takes the claim's and the intent's round trips (a
 * commit, ~5 ms) out of the gap between two sends: a window whose pacing
 * allows one send at a time restarts from each actual send, so every
 * millisecond a send is late is lost for good.
 */
struct pending {
    struct flight *f;
    char *content, *media;
    char ref[256];
    uint64_t fire_ms;
    unsigned rebuilds; /* s->rebuilds when it was armed */
    struct pending *next;
};

struct key_state {
    uint64_t due_ms; /* earliest scheduled target at the last look; 0 none */
    int stale;       /* a claim found nothing due: look again next turn */
    /* On a lease group's first key (reg_key.group_id) only: */
    int armed;             /* requests of the group waiting for their slot */
    int looking;           /* a lookup of the key's unconfirmed targets is in flight (any key) */
    uint64_t claimed_turn; /* the last turn that claimed for the group */
    /* A quota (a month's, a lifetime's, or a post count's window) holds the
     * key's next request back until quota_until (LIM_NEVER: for good);
     * announced as key.quota_exhausted once per value (quota_told). */
    uint64_t quota_until, quota_told;
    struct lim_window_spec quota;
};


struct scheduler {
    struct sched_options o;
    pthread_t thread;
    atomic_int stopping;
    atomic_ullong notifies; /* NOTIFYs received (a metric) */
    CURLM *multi;
    struct db_link db; /* the connection, reconnected with backoff (db/link.h) */
    PGconn *conn;      /* db.conn, NULL while down: set only by connect_db and db_lost */
    struct registry reg;
    int reg_loaded;
    uint64_t next_reload_ms;
    int64_t *owned; /* key ids whose group this instance leases */
    size_t nowned;
    struct key_state *state; /* parallel to reg.keys */
    size_t rr;               /* where the next turn starts in owned */
    uint64_t next_due_ms;    /* when to look at every owned key's due time again */
    uint64_t next_lease_ms, next_house_ms, next_stats_ms;
    struct flight *flights;
    int in_flight;
    struct pending *armed; /* committed, waiting for their slot; by fire time */
    uint64_t turns;        /* turns taken (names a turn in key_state.claimed_turn) */
    unsigned rebuilds;     /* times the windows were rebuilt from attempts */
    struct rec_settle *settles; /* outcomes of this turn, for the recorder */
    struct rec_finish *finishes;
    struct recorder *rec;
    unsigned rng;
    pthread_mutex_t stats_lock;
    char *stats_text; /* rendered gauges, under stats_lock */
    char last_progress[512];
    char fingerprint[64]; /* of the configuration the registry was loaded from */
    int64_t *unread_keys; /* keys whose 2xx answer we could not fully read (warned once) */
    size_t nunread_keys;
};

/* ---- small helpers ---- */

static uint64_t now_ms(struct scheduler *s)
{
    return clk_now_ms(s->o.clock);
}

static const char *fmt_i64(char *buf, size_t size, int64_t v)
{
    snprintf(buf, size, "%lld", (long long)v);
    return buf;
}

static char *id_array(const int64_t *ids, size_t n)
{
    size_t cap = 3 + n * 21, len = 0;
    char *out = xmalloc(cap);
    out[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%lld", i ? "," : "", (long long)ids[i]);
    out[len++] = '}';
    out[len] = '\0';
    return out;
}

static char *error_json(const char *source, int http_status, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "source", source, "code", code ? code : "", "message",
                          msg ? msg : "");
    if (http_status)
        json_object_set_new(o, "http_status", json_integer(http_status));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static void add_settle(struct scheduler *s, int64_t target, enum target_status status, const char *post_id,
                       uint64_t next_ms, char *error, int uncount)
{
    struct rec_settle *x = xcalloc(1, sizeof *x);
    x->target_id = target;
    x->status = status;
    x->post_id = post_id && *post_id ? xstrdup(post_id) : NULL;
    x->next_ms = next_ms;
    x->error = error;
    x->uncount = uncount;
    x->next = s->settles;
    s->settles = x;
}

/* `sent_ms`: when the request really left (0: it never did; the intent's time stays). */
static void add_finish(struct scheduler *s, int64_t attempt, uint64_t sent_ms, int status,
                       enum attempt_outcome outcome, int64_t retry_ms, const char *excerpt,
                       size_t len)
{
    struct rec_finish *f = xcalloc(1, sizeof *f);
    f->attempt_id = attempt;
    f->sent_ms = sent_ms;
    f->http_status = status;
    f->outcome = outcome;
    f->retry_after_ms = retry_ms;
    if (excerpt) {
        /* Masked before it is cut, so a secret the provider echoes (our
         * API key in an error body) is never stored, not even in part; then
         * made text PostgreSQL can hold, whatever bytes the provider sent
         * (invalid UTF-8 or a NUL would fail the recorder's whole batch). */
        char *raw = xstrndup(excerpt, len), masked[EXCERPT_MAX * 2 + 1];
        log_mask(raw, masked, sizeof masked);
        free(raw);
        f->excerpt = text_sanitize(masked, strlen(masked), EXCERPT_MAX);
    }
    f->next = s->finishes;
    s->finishes = f;
}

/* Exponential backoff with jitter (50%..150%) for the n-th attempt. */
static uint64_t backoff(struct scheduler *s, int attempt)
{
    uint64_t b = (uint64_t)s->o.backoff_ms;
    for (int i = 1; i < attempt && b < 3600000; i++)
        b *= 2;
    return b / 2 + (uint64_t)rand_r(&s->rng) % (b + 1);
}

static uint64_t backoff_of(void *arg, int attempt)
{
    return backoff(arg, attempt);
}

/* The answer table's settings (outcome.h), this scheduler's. */
static struct outcome_rules rules_of(struct scheduler *s)
{
    return (struct outcome_rules){s->o.max_attempts, (uint64_t)s->o.unconfirmed_retry_ms,
                                  backoff_of, s};
}

/* The state that stands for key k's lease group (see key_state). */
static struct key_state *group_state(struct scheduler *s, const struct reg_key *k)
{
    const struct reg_key *g = reg_key_by_id(&s->reg, k->group_id);
    return &s->state[(g ? g : k) - s->reg.keys];
}

static void reconcile(struct scheduler *s, uint64_t now);

/* ---- database plumbing ---- */

static void db_lost(struct scheduler *s, const char *why)
{
    log_warn("scheduler lost the database; reconnecting", LOG_STR("reason", why));
    db_link_close(&s->db);
    s->conn = NULL;
}

/* Runs a query; on a broken connection drops it. NULL on any failure. */
static PGresult *q(struct scheduler *s, const char *name, int n, const char *const *params)
{
    char err[512];
    if (!s->conn)
        return NULL;
    PGresult *r = db_exec(s->conn, name, n, params, err, sizeof err);
    if (!r) {
        if (db_link_broken(&s->db))
            db_lost(s, err);
        else
            log_error("scheduler query failed", LOG_STR("query", name), LOG_STR("reason", err));
    }
    return r;
}

/*
 * Opens a transaction. Its statements touch a few hundred rows by id out of
 * a calendar of millions, given as arrays, so it plans with index probes
 * and nested loops only (db_begin_index_only says why).
 */
static int begin(struct scheduler *s)
{
    char err[256];
    if (!s->conn || db_begin_index_only(s->conn, 0, err, sizeof err) != 0) {
        if (db_link_broken(&s->db))
            db_lost(s, err);
        return -1;
    }
    return 0;
}

static int commit(struct scheduler *s)
{
    char err[256];
    if (db_simple(s->conn, "COMMIT", err, sizeof err) != 0) {
        if (db_link_broken(&s->db))
            db_lost(s, err);
        else
            db_rollback(s->conn);
        return -1;
    }
    return 0;
}

static void load_registry(struct scheduler *s)
{
    char err[512];
    struct registry fresh;
    struct lim_config cfg;
    lim_config_init(&cfg);
    cfg.skew_ms = (uint64_t)s->o.skew_ms;
    if (reg_load(&fresh, s->conn, &cfg, err, sizeof err) != 0) {
        log_error("cannot load provider keys", LOG_STR("reason", err));
        return;
    }
    if (s->reg_loaded)
        reg_finish(&s->reg);
    s->reg = fresh;
    s->reg_loaded = 1;
    free(s->state);
    s->state = xcalloc(s->reg.nkeys ? s->reg.nkeys : 1, sizeof *s->state);
    for (struct pending *p = s->armed; p; p = p->next) {
        struct reg_key *k = reg_key_by_id(&s->reg, p->f->key_id);
        if (k)
            group_state(s, k)->armed++;
    }
    s->next_due_ms = 0;
    free(s->owned);
    s->owned = NULL;
    s->nowned = 0;
    s->next_lease_ms = 0; /* lease at once; fresh windows are rebuilt from attempts */
}

/* Whether keys, providers or limits changed since the registry was loaded. */
static int config_changed(struct scheduler *s)
{
    PGresult *r = q(s, "registry_fingerprint", 0, NULL);
    if (!r)
        return 0;
    int changed = strcmp(PQgetvalue(r, 0, 0), s->fingerprint) != 0;
    snprintf(s->fingerprint, sizeof s->fingerprint, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return changed;
}

static void connect_db(struct scheduler *s, uint64_t now)
{
    char err[512];
    if (db_link_ensure(&s->db, now, err, sizeof err) != DB_LINK_NEW)
        return;
    s->conn = s->db.conn;
    PQclear(PQexec(s->conn, "LISTEN postpace_due"));
    config_changed(s);
    load_registry(s);
    s->next_reload_ms = now + REGISTRY_RELOAD_MS;
    log_info("scheduler connected", LOG_UINT("keys", s->reg.nkeys));
}

/* ---- leases ---- */

static void rebuild_windows(struct scheduler *s)
{
    char err[512];
    s->rebuilds++;
    lim_set_reset(s->reg.limits);
    for (size_t i = 0; i < s->nowned; i++) {
        struct reg_key *k = reg_key_by_id(&s->reg, s->owned[i]);
        if (k && reg_replay_key(&s->reg, s->conn, k, err, sizeof err) < 0)
            log_warn("cannot rebuild windows", LOG_INT("key", k->id));
    }
}

static int group_held(PGresult *r, int64_t group)
{
    for (int i = 0; i < PQntuples(r); i++)
        if (atoll(PQgetvalue(r, i, 0)) == group)
            return 1;
    return 0;
}

static void renew_leases(struct scheduler *s, uint64_t now)
{
    s->next_lease_ms = now + (uint64_t)s->o.lease_ttl_ms / 3;
    if (s->reg.nkeys == 0 || atomic_load(&s->stopping))
        return;
    int64_t *groups = xcalloc(s->reg.nkeys, sizeof *groups);
    for (size_t i = 0; i < s->reg.nkeys; i++)
        groups[i] = s->reg.keys[i].group_id;
    char *arr = id_array(groups, s->reg.nkeys), ttl[32];
    free(groups);
    const char *params[] = {arr, s->o.instance_id, fmt_i64(ttl, sizeof ttl, s->o.lease_ttl_ms)};
    PGresult *r = q(s, "sched_lease", 3, params);
    free(arr);
    if (!r)
        return;
    int fresh = 0;
    for (int i = 0; i < PQntuples(r); i++)
        fresh |= strcmp(PQgetvalue(r, i, 1), "t") == 0;
    size_t before = s->nowned;
    free(s->owned);
    s->owned = xcalloc(s->reg.nkeys, sizeof *s->owned);
    s->nowned = 0;
    for (size_t i = 0; i < s->reg.nkeys; i++)
        if (group_held(r, s->reg.keys[i].group_id))
            s->owned[s->nowned++] = s->reg.keys[i].id;
    PQclear(r);
    s->next_due_ms = 0;
    if (fresh || s->nowned != before) {
        rebuild_windows(s);
        log_info("leases", LOG_UINT("keys", s->nowned), LOG_UINT("of", s->reg.nkeys));
    }
}

static void release_leases(struct scheduler *s)
{
    const char *params[] = {s->o.instance_id};
    PQclear(q(s, "sched_release", 1, params));
}

/* ---- housekeeping and gauges ---- */

static void emit_gauges(void *arg, void (*emit)(void *sink, const char *text), void *sink)
{
    struct scheduler *s = arg;
    char line[512];
    snprintf(line, sizeof line,
             "# HELP postpace_scheduler_notifies_total Calendar NOTIFYs that woke the scheduler\n"
             "# TYPE postpace_scheduler_notifies_total counter\n"
             "postpace_scheduler_notifies_total %llu\n"
             "# HELP postpace_scheduler_outcomes_pending Outcomes handed to the recorder, not yet "
             "written\n"
             "# TYPE postpace_scheduler_outcomes_pending gauge\n"
             "postpace_scheduler_outcomes_pending %ld\n",
             (unsigned long long)atomic_load(&s->notifies), rec_pending(s->rec));
    emit(sink, line);
    pthread_mutex_lock(&s->stats_lock);
    if (s->stats_text)
        emit(sink, s->stats_text);
    pthread_mutex_unlock(&s->stats_lock);
}

/* One logfmt line of counts by status, when they changed: the live progress. */
static void log_progress(struct scheduler *s, PGresult *r)
{
    char line[512] = "";
    size_t len = 0, n = 0;
    struct log_field f[17];
    for (int i = 0; i < PQntuples(r) && len < sizeof line - 64; i++) {
        len += (size_t)snprintf(line + len, sizeof line - len, "%s%s=%s", i ? " " : "",
                                PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
        if (n < 16)
            f[n++] = (struct log_field)LOG_STR(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    }
    if (strcmp(line, s->last_progress) == 0)
        return;
    snprintf(s->last_progress, sizeof s->last_progress, "%s", line);
    f[n++] = (struct log_field)LOG_INT("in_flight", s->in_flight);
    log_emit(LOG_INFO, "progress", f, n);
}

static void refresh_stats(struct scheduler *s)
{
    PGresult *r = q(s, "sched_status_counts", 0, NULL);
    if (!r)
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fprintf(f, "# HELP postpace_targets Post targets by status\n# TYPE postpace_targets gauge\n");
    for (int i = 0; i < PQntuples(r); i++)
        fprintf(f, "postpace_targets{status=\"%s\"} %s\n", PQgetvalue(r, i, 0),
                PQgetvalue(r, i, 1));
    fprintf(f,
            "# HELP postpace_in_flight Publish requests in flight\n# TYPE postpace_in_flight "
            "gauge\npostpace_in_flight %d\n",
            s->in_flight);
    fprintf(f,
            "# HELP postpace_leased_keys Keys this instance leases\n# TYPE postpace_leased_keys "
            "gauge\npostpace_leased_keys %zu\n",
            s->nowned);
    uint64_t now = now_ms(s);
    fprintf(f, "# HELP postpace_key_lag_seconds How far the key's earliest due target is behind "
               "schedule\n# TYPE postpace_key_lag_seconds gauge\n");
    for (size_t i = 0; i < s->reg.nkeys; i++) {
        uint64_t due = s->state[i].due_ms;
        fprintf(f, "postpace_key_lag_seconds{key=\"%s\"} %.3f\n", s->reg.keys[i].label,
                due && due < now ? (double)(now - due) / 1000.0 : 0.0);
    }
    fclose(f);
    log_progress(s, r);
    PQclear(r);
    pthread_mutex_lock(&s->stats_lock);
    free(s->stats_text);
    s->stats_text = buf;
    pthread_mutex_unlock(&s->stats_lock);
}

static void announce_quotas(struct scheduler *s);

static void housekeeping(struct scheduler *s, uint64_t now)
{
    char a[32], b[32];
    s->next_house_ms = now + HOUSEKEEPING_MS;
    const char *expire[] = {fmt_i64(a, sizeof a, s->o.catchup_ms)};
    PQclear(q(s, "sched_expire", 1, expire));
    const char *recover[] = {fmt_i64(b, sizeof b, s->o.unconfirmed_retry_ms)};
    PQclear(q(s, "sched_recover", 1, recover));
    reconcile(s, now);
    announce_quotas(s);
    if (now >= s->next_stats_ms) {
        /* Counting every target reads the whole calendar: at least every
         * STATS_MS, but never more than 5% of the time. */
        uint64_t t0 = clk_mono_ms(clk_real);
        refresh_stats(s);
        uint64_t took = clk_mono_ms(clk_real) - t0;
        s->next_stats_ms = now + (20 * took > STATS_MS ? 20 * took : STATS_MS);
    }
}

/* ---- quotas ---- */

/* Notes on k's state that a quota holds its next request back until `slot`,
 * when `why` names a quota window: a calendar month's, a lifetime's, or one
 * that counts posts or accounts rather than requests. */
static void note_quota(struct scheduler *s, struct reg_key *k, uint64_t now, uint64_t slot,
                       const struct lim_why *why)
{
    if (why->reason != LIM_WHY_WINDOW || why->bucket < 0 || why->window < 0)
        return;
    struct lim_window_state w;
    lim_window_state(s->reg.limits, (uint32_t)why->bucket, (uint32_t)why->window, now, &w);
    if (w.spec.kind != LIM_CALENDAR_MONTH && w.spec.kind != LIM_LIFETIME &&
        w.spec.cost == LIM_COST_REQUEST)
        return;
    struct key_state *st = &s->state[k - s->reg.keys];
    st->quota_until = slot;
    st->quota = w.spec;
}

/* Puts key.quota_exhausted into the outbox for each key a quota newly holds
 * back (once per key and reopening time: the SQL skips one already there,
 * so a restart does not repeat it). */
static void announce_quotas(struct scheduler *s)
{
    static const char *const kinds[] = {"rolling", "fixed", "calendar_month", "lifetime"};
    static const char *const costs[] = {"request", "post", "account"};
    for (size_t i = 0; i < s->reg.nkeys && s->conn; i++) {
        struct key_state *st = &s->state[i];
        if (!st->quota_until || st->quota_until == st->quota_told)
            continue;
        st->quota_told = st->quota_until;
        char until[48] = "", id[24], data[512], dedupe[96];
        if (st->quota_until != LIM_NEVER)
            rfc3339_format_ms((int64_t)st->quota_until, until, sizeof until);
        json_t *d = json_pack("{s:o,s:{s:s,s:I,s:s}}", "until",
                              *until ? json_string(until) : json_null(), "window", "kind",
                              kinds[st->quota.kind], "max_units", (json_int_t)st->quota.max_units,
                              "cost", costs[st->quota.cost]);
        if (st->quota.kind == LIM_ROLLING || st->quota.kind == LIM_FIXED)
            json_object_set_new(json_object_get(d, "window"), "window_ms",
                                json_integer((json_int_t)st->quota.window_ms));
        char *text = json_dumps(d, JSON_COMPACT);
        json_decref(d);
        snprintf(data, sizeof data, "%s", text);
        free(text);
        snprintf(dedupe, sizeof dedupe, "%s:%s", kinds[st->quota.kind], *until ? until : "never");
        const char *params[] = {fmt_i64(id, sizeof id, s->reg.keys[i].id), data, dedupe};
        PQclear(q(s, "sched_quota_event", 3, params));
        log_info("a quota holds a key back", LOG_STR("key", s->reg.keys[i].label),
                 LOG_STR("window", kinds[st->quota.kind]), LOG_STR("until", *until ? until : "never"));
    }
}

/* ---- writing outcomes ---- */

/* Hands the turn's outcomes to the recorder, which writes them on its own
 * connection while this thread goes on claiming. */
static void flush(struct scheduler *s)
{
    rec_hand(s->rec, s->settles, s->finishes);
    s->settles = NULL;
    s->finishes = NULL;
}

/* ---- responses ---- */

/* Every target of the flight to one status. */
static void settle_all(struct scheduler *s, struct flight *f, enum target_status status, uint64_t next_ms,
                       const char *error, int uncount)
{
    for (size_t i = 0; i < f->n; i++)
        add_settle(s, f->target_ids[i], status, NULL, next_ms, error ? xstrdup(error) : NULL,
                   uncount);
}

/* Whether `key` is already in the set; adds it if not. */
static int key_seen(int64_t **set, size_t *n, int64_t key)
{
    for (size_t i = 0; i < *n; i++)
        if ((*set)[i] == key)
            return 1;
    *set = xrealloc(*set, (*n + 1) * sizeof **set);
    (*set)[(*n)++] = key;
    return 0;
}

/* A 2xx whose body did not give every account's post id. The targets are
 * submitted all the same (the webhook settles them, and the body is kept in
 * the attempt's response_excerpt): say so loudly once per key, since it
 * means the provider speaks a dialect we do not read, then quietly. */
static void note_unread_answer(struct scheduler *s, struct flight *f, size_t unknown)
{
    char excerpt[256];
    size_t n = f->resp_len < sizeof excerpt - 1 ? f->resp_len : sizeof excerpt - 1;
    memcpy(excerpt, f->resp ? f->resp : "", n);
    excerpt[n] = '\0';
    int seen = key_seen(&s->unread_keys, &s->nunread_keys, f->key_id);
    const struct log_field fields[] = {
        LOG_STR("provider", prov_name(f->provider)),
        LOG_INT("key", f->key_id),
        LOG_INT("attempt", f->attempt_id),
        LOG_UINT("accounts", f->n),
        LOG_UINT("unread", unknown),
        LOG_STR("excerpt", excerpt),
    };
    log_emit(seen ? LOG_DEBUG : LOG_WARN,
             "create answer without a post id for some accounts; their webhooks will settle them",
             fields, sizeof fields / sizeof *fields);
}

/* A 2xx: the request was accepted, so every target is submitted unless the
 * body clearly marks its account failed (see prov_decode_created_batch). */
static void on_created(struct scheduler *s, struct flight *f, const struct prov_ops *ops,
                       const struct prov_post *post)
{
    struct prov_result res[PUB_MAX_BATCH];
    size_t unknown = ops->decode_created(f->resp ? f->resp : "", f->resp_len, post, res);
    for (size_t i = 0; i < f->n; i++) {
        if (out_created(res[i].outcome) == TS_FAILED)
            add_settle(s, f->target_ids[i], TS_FAILED, NULL, 0,
                       error_json("provider", 0, res[i].error_code, res[i].error_message), 0);
        else /* PROV_CREATED, or PROV_CREATED_NO_ID with an empty post_id */
            add_settle(s, f->target_ids[i], TS_SUBMITTED, res[i].post_id, 0, NULL, 0);
    }
    if (unknown)
        note_unread_answer(s, f, unknown);
}

/* Limiter feedback; returns when a 429 lets the request's buckets open again. */
static uint64_t feed_limiter(struct scheduler *s, struct flight *f, long status, uint64_t now)
{
    struct reg_key *k = reg_key_by_id(&s->reg, f->key_id);
    if (!k)
        return 0;
    struct lim_req req; /* a lookup names no account and creates nothing */
    reg_request(k, f->route, f->job ? 0 : (uint32_t)f->n, f->job ? 0 : 1, &req);
    f->fb.status = (int)status;
    f->fb.reset_kind = s->reg.providers[f->provider].reset_kind;
    lim_apply_feedback(s->reg.limits, &req, &f->fb, now);
    uint64_t until = 0;
    for (size_t i = 0; i < req.nbuckets; i++) {
        uint64_t b = lim_bucket_blocked_until(s->reg.limits, req.buckets[i]);
        until = b > until ? b : until;
    }
    return until;
}

static void on_status(struct scheduler *s, struct flight *f, long status, uint64_t now)
{
    const struct prov_ops *ops = prov_ops(f->provider);
    struct prov_post post = {NULL, NULL, (const char *const *)f->accounts, f->n, NULL, NULL};
    struct prov_error pe;
    ops->decode_error(f->resp ? f->resp : "", f->resp_len, &pe);
    if (*f->retry_after) /* seconds or an HTTP-date */
        f->fb.retry_after_s = prov_retry_after_s(f->retry_after, (int64_t)(now / 1000));
    if (pe.retry_after_s >= 0)
        f->fb.body_retry_after_s = pe.retry_after_s;
    uint64_t until = feed_limiter(s, f, status, now);
    enum attempt_outcome outcome = out_attempt(ANS_HTTP, status);
    met_publish(f->provider, outcome == AO_OK             ? MET_PUB_OK
                             : outcome == AO_RATE_LIMITED ? MET_PUB_RATE_LIMITED
                             : outcome == AO_UNKNOWN      ? MET_PUB_SERVER_ERROR
                                                          : MET_PUB_CLIENT_ERROR);
    if (outcome == AO_OK) {
        on_created(s, f, ops, &post);
    } else {
        char *err = error_json("provider", (int)status, pe.code, pe.message);
        struct outcome_rules rules = rules_of(s);
        struct target_move m = out_move(&rules, ANS_HTTP, status, 1, now, until);
        settle_all(s, f, m.status, m.next_ms, m.records ? err : NULL, m.uncount);
        free(err);
        if (outcome == AO_RATE_LIMITED)
            log_warn("rate limited", LOG_STR("provider", prov_name(f->provider)),
                     LOG_INT("key", f->key_id), LOG_UINT("retry_in_ms", m.next_ms - now));
    }
    int64_t retry_ms = f->fb.retry_after_s >= 0        ? f->fb.retry_after_s * 1000
                       : f->fb.body_retry_after_s >= 0 ? f->fb.body_retry_after_s * 1000
                                                       : -1;
    add_finish(s, f->attempt_id, f->sent_ms, (int)status, outcome, retry_ms, f->resp, f->resp_len);
}

static void on_transport_error(struct scheduler *s, struct flight *f, CURLcode rc, uint64_t now)
{
    met_publish(f->provider, MET_PUB_NETWORK_ERROR);
    char *err = error_json("network", 0, "transport", curl_easy_strerror(rc));
    int never_left = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                     rc == CURLE_COULDNT_RESOLVE_PROXY;
    enum answer_kind kind = never_left ? ANS_NEVER_LEFT : ANS_LOST;
    struct outcome_rules rules = rules_of(s);
    for (size_t i = 0; i < f->n; i++) {
        struct target_move m = out_move(&rules, kind, 0, f->attempts[i], now, 0);
        add_settle(s, f->target_ids[i], m.status, NULL, m.next_ms, m.records ? xstrdup(err) : NULL,
                   m.uncount);
    }
    add_finish(s, f->attempt_id, f->sent_ms, 0, out_attempt(kind, 0), -1, curl_easy_strerror(rc),
               strlen(curl_easy_strerror(rc)));
    free(err);
}

static void unlink_flight(struct scheduler *s, struct flight *f)
{
    for (struct flight **p = &s->flights; *p; p = &(*p)->next) {
        if (*p == f) {
            *p = f->next;
            break;
        }
    }
    s->in_flight--;
}

/* ---- lookups: the fate of unconfirmed targets (provider/lookup.h) ---- */

static char *lookup_error(const char *why, long status)
{
    return error_json("lookup", (int)status, "unconfirmed", why);
}

/* A lookup's answer (rc: its transport result) moves each target on. */
static void on_lookup(struct scheduler *s, struct flight *f, CURLcode rc, long status, uint64_t now)
{
    struct reg_key *k = reg_key_by_id(&s->reg, f->key_id);
    if (k)
        s->state[k - s->reg.keys].looking = 0;
    uint64_t until = 0;
    if (rc == CURLE_OK) {
        if (*f->retry_after)
            f->fb.retry_after_s = prov_retry_after_s(f->retry_after, (int64_t)(now / 1000));
        until = feed_limiter(s, f, status, now);
    }
    const struct lookup_config *lc = s->reg.providers[f->provider].lookup;
    struct lookup_result res[PUB_MAX_BATCH];
    const char *failed = rc != CURLE_OK                  ? "the list of posts got no answer"
                         : status < 200 || status >= 300 ? "the list of posts answered an error"
                         : !lc                           ? "the provider is not configured"
                                                         : NULL;
    if (failed) {
        for (size_t i = 0; i < f->n; i++)
            res[i] = (struct lookup_result){LOOK_UNDECIDABLE, WHPATH_UNKNOWN, "", failed};
    } else {
        struct lookup_want want[PUB_MAX_BATCH];
        for (size_t i = 0; i < f->n; i++)
            want[i] = (struct lookup_want){f->job->refs[i], f->job->keys[i], f->accounts[i],
                                           f->job->contents[i], f->job->first_sent[i]};
        lookup_read(lc, f->resp ? f->resp : "", f->resp_len, (uint64_t)s->o.skew_ms, want, f->n,
                    res);
    }
    size_t found = 0, absent = 0;
    uint64_t later = now + (uint64_t)s->o.unconfirmed_retry_ms;
    for (size_t i = 0; i < f->n; i++) {
        const struct lookup_result *r = &res[i];
        if (r->verdict == LOOK_FOUND) {
            found++;
            enum target_status to = r->status == WHPATH_PUBLISHED ? TS_PUBLISHED
                                    : r->status == WHPATH_FAILED  ? TS_FAILED
                                                                  : TS_SUBMITTED;
            add_settle(s, f->target_ids[i], to, r->post_id, 0,
                       to == TS_FAILED ? lookup_error("the provider's list of posts says it failed",
                                                      status)
                                       : NULL,
                       0);
        } else if (r->verdict == LOOK_ABSENT && f->attempts[i] < s->o.max_attempts) {
            absent++; /* proven never created: sent again */
            add_settle(s, f->target_ids[i], TS_SCHEDULED, NULL, now, NULL, 0);
        } else if (r->verdict == LOOK_ABSENT) {
            absent++;
            add_settle(s, f->target_ids[i], TS_FAILED, NULL, 0,
                       lookup_error("not created, and no attempt is left", status), 0);
        } else {
            add_settle(s, f->target_ids[i], TS_UNCONFIRMED, NULL, until > later ? until : later,
                       lookup_error(r->why, status), 0);
        }
    }
    log_info("looked up unconfirmed targets", LOG_STR("provider", prov_name(f->provider)),
             LOG_INT("key", f->key_id), LOG_UINT("found", found), LOG_UINT("absent", absent),
             LOG_UINT("undecided", f->n - found - absent), LOG_INT("http_status", status));
}

/* Starts the GET of key k's list of posts for the claim rows [lo, hi). */
enum { L_KEY, L_ID, L_ACCOUNT, L_IDEM, L_REF, L_CONTENT, L_ATTEMPTS, L_FIRST };

static void start_lookup(struct scheduler *s, struct reg_key *k, PGresult *r, int lo, int hi,
                         uint64_t now)
{
    struct flight *f = xcalloc(1, sizeof *f);
    struct pub_lookup *j = f->job = xcalloc(1, sizeof *j);
    f->key_id = k->id;
    f->provider = k->provider;
    f->n = (size_t)(hi - lo);
    f->sent_ms = now;
    for (size_t i = 0; i < f->n; i++) {
        int row = lo + (int)i;
        f->target_ids[i] = atoll(PQgetvalue(r, row, L_ID));
        f->accounts[i] = xstrdup(PQgetvalue(r, row, L_ACCOUNT));
        f->attempts[i] = atoi(PQgetvalue(r, row, L_ATTEMPTS));
        j->keys[i] = xstrdup(PQgetvalue(r, row, L_IDEM));
        j->refs[i] = xstrdup(PQgetvalue(r, row, L_REF));
        j->contents[i] = xstrdup(PQgetvalue(r, row, L_CONTENT));
        j->first_sent[i] =
            PQgetisnull(r, row, L_FIRST) ? 0 : (uint64_t)atoll(PQgetvalue(r, row, L_FIRST));
    }
    const char *path = lookup_path(s->reg.providers[k->provider].lookup);
    if (pub_lookup(f, k, path, (long)s->o.request_timeout_ms) != 0) {
        on_lookup(s, f, CURLE_LOGIN_DENIED, 0, now);
        pub_free(f);
        return;
    }
    struct lim_req req;
    reg_request(k, f->route, 0, 0, &req);
    lim_commit(s->reg.limits, &req, now);
    curl_multi_add_handle(s->multi, f->easy);
    s->state[k - s->reg.keys].looking = 1;
    f->next = s->flights;
    s->flights = f;
    s->in_flight++;
}

/*
 * Unconfirmed targets whose webhook is overdue, by what their provider
 * allows (provider/lookup.h): re-sent where it honours idempotency keys,
 * looked up where it lists posts (one lookup per owned key at a time,
 * within its read budget), else held for the operator.
 */
static void reconcile(struct scheduler *s, uint64_t now)
{
    struct db_column idem = {0}, hold = {0}, look = {0};
    for (size_t i = 0; i < s->reg.nkeys; i++) {
        const struct reg_key *k = &s->reg.keys[i];
        const struct lookup_config *lc = s->reg.providers[k->provider].lookup;
        if (lc && lookup_idempotent(lc))
            db_col_push_i64(&idem, k->id);
        else if (!lc || !lookup_path(lc))
            db_col_push_i64(&hold, k->id);
    }
    for (size_t i = 0; i < s->nowned; i++) {
        struct reg_key *k = reg_key_by_id(&s->reg, s->owned[i]);
        const struct lookup_config *lc = k ? s->reg.providers[k->provider].lookup : NULL;
        if (!lc || lookup_idempotent(lc) || !lookup_path(lc) || s->state[k - s->reg.keys].looking)
            continue;
        struct lim_req req;
        reg_request(k, lookup_route(lc), 0, 0, &req);
        if (lim_next_slot(s->reg.limits, &req, now) <= now)
            db_col_push_i64(&look, k->id);
    }
    char *it = db_col_take(&idem), *ht = db_col_take(&hold), *lt = db_col_take(&look);
    char a[32], b[32], c[32];
    const char *retry[] = {fmt_i64(a, sizeof a, s->o.max_attempts), it};
    PQclear(q(s, "sched_unconfirmed_retry", 2, retry));
    const char *held[] = {ht, fmt_i64(b, sizeof b, s->o.unconfirmed_retry_ms)};
    PQclear(q(s, "sched_unconfirmed_hold", 2, held));
    PGresult *r = NULL;
    if (strcmp(lt, "{}") != 0) {
        char lim[16];
        snprintf(lim, sizeof lim, "%d", LOOKUP_MAX);
        const char *claim[] = {lt, lim, s->o.instance_id,
                               fmt_i64(c, sizeof c, 2 * (int64_t)s->o.request_timeout_ms + 10000)};
        r = q(s, "sched_lookup_claim", 4, claim);
    }
    free(it), free(ht), free(lt);
    for (int lo = 0, hi; r && lo < PQntuples(r); lo = hi) {
        int64_t key = atoll(PQgetvalue(r, lo, L_KEY));
        for (hi = lo + 1; hi < PQntuples(r) && atoll(PQgetvalue(r, hi, L_KEY)) == key; hi++)
            ;
        struct reg_key *k = reg_key_by_id(&s->reg, key);
        if (k)
            start_lookup(s, k, r, lo, hi, now);
    }
    PQclear(r);
    int running;
    curl_multi_perform(s->multi, &running);
}

static void drain_done(struct scheduler *s)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(s->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct flight *f;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
        uint64_t now = now_ms(s);
        met_observe_ms(MET_HIST_PUBLISH_SECONDS, f->provider, now - f->sent_ms);
        if (f->job) {
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            on_lookup(s, f, msg->data.result, status, now);
        } else if (msg->data.result == CURLE_OK) {
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            on_status(s, f, status, now);
        } else {
            on_transport_error(s, f, msg->data.result, now);
        }
        curl_multi_remove_handle(s->multi, msg->easy_handle);
        curl_easy_cleanup(msg->easy_handle);
        unlink_flight(s, f);
        pub_free(f);
    }
    flush(s);
}

/* ---- sending ---- */

/* Builds a create and puts it on its way. 0, or -1: its secret is unreadable. */
static int start_request(struct scheduler *s, struct flight *f, const struct reg_key *k,
                         const char *content, const char *media, const char *reference)
{
    if (pub_create(f, k, content, media, reference, (long)s->o.request_timeout_ms) != 0)
        return -1;
    curl_multi_add_handle(s->multi, f->easy);
    f->next = s->flights;
    s->flights = f;
    s->in_flight++;
    return 0;
}

/* Rows [lo, hi) of a claim: one request's targets, with what to send. */
enum { C_KEY, C_ID, C_ACCOUNT, C_IDEM, C_ATTEMPTS, C_CONTENT, C_MEDIA, C_REF };

static struct flight *flight_from_claim(struct reg_key *k, PGresult *r, int lo, int hi,
                                        uint64_t now)
{
    struct flight *f = xcalloc(1, sizeof *f);
    f->key_id = k->id;
    f->provider = k->provider;
    f->n = (size_t)(hi - lo);
    f->sent_ms = now;
    for (size_t i = 0; i < f->n; i++) {
        f->target_ids[i] = atoll(PQgetvalue(r, lo + (int)i, C_ID));
        f->accounts[i] = xstrdup(PQgetvalue(r, lo + (int)i, C_ACCOUNT));
        f->attempts[i] = atoi(PQgetvalue(r, lo + (int)i, C_ATTEMPTS));
    }
    return f;
}

static void pending_free(struct pending *p)
{
    if (p->f)
        pub_free(p->f);
    free(p->content), free(p->media), free(p);
}

/*
 * Turns rows [lo, hi) of the claim, key k's request, into a pending request
 * on *queue, unless the limiter refuses that many accounts before `ahead`
 * (they go back until the window opens, *wake lowered) or ever (they fail).
 */
static void take_claim(struct scheduler *s, struct reg_key *k, PGresult *r, int lo, int hi,
                       uint64_t now, uint64_t ahead, uint64_t *wake, struct pending **queue)
{
    struct lim_req req;
    struct lim_why why;
    reg_request(k, prov_create_route(k->provider), (uint32_t)(hi - lo), 1, &req);
    uint64_t slot = lim_next_slot_why(s->reg.limits, &req, now, &why);
    if (slot > now + ahead)
        note_quota(s, k, now, slot, &why);
    struct flight *f = flight_from_claim(k, r, lo, hi, now);
    if (slot == LIM_NEVER) {
        char *err = error_json("limiter", 0, "quota_exhausted",
                               "a quota of this key will not reopen (lifetime, or smaller than "
                               "the request)");
        settle_all(s, f, TS_FAILED, 0, err, 1);
        free(err);
        pub_free(f);
        return;
    }
    if (slot > now + ahead) {
        /* More accounts than the window holds soon: put them back until it opens. */
        settle_all(s, f, TS_SCHEDULED, slot - ahead, NULL, 1);
        pub_free(f);
        *wake = slot - ahead < *wake ? slot - ahead : *wake;
        return;
    }
    struct pending *p = xcalloc(1, sizeof *p);
    p->f = f;
    p->fire_ms = slot;
    snprintf(p->ref, sizeof p->ref, "%s", PQgetvalue(r, lo, C_REF));
    p->content = xstrdup(PQgetvalue(r, lo, C_CONTENT));
    p->media = xstrdup(PQgetvalue(r, lo, C_MEDIA));
    p->next = *queue;
    *queue = p;
}

/* Inserts the attempts rows of every pending request (inside the turn's
 * transaction), each sent at its fire time, and notes each one's id. */
static int record_intents(struct scheduler *s, struct pending *queue)
{
    struct db_column c[5] = {0};
    int i = 0;
    for (struct pending *p = queue; p; p = p->next) {
        i++;
        db_col_push_i64(&c[0], p->f->key_id);
        db_col_push(&c[1], prov_create_route(p->f->provider));
        db_col_push_i64(&c[4], (int64_t)p->fire_ms);
        for (size_t j = 0; j < p->f->n; j++) {
            db_col_push_i64(&c[2], i);
            db_col_push_i64(&c[3], p->f->target_ids[j]);
        }
    }
    char *texts[5];
    const char *params[6];
    for (int j = 0; j < 5; j++)
        params[j] = texts[j] = db_col_take(&c[j]);
    params[5] = s->o.instance_id;
    PGresult *a = q(s, "sched_intent", 6, params);
    for (int j = 0; j < 5; j++)
        free(texts[j]);
    if (!a)
        return -1;
    /* Each row names its request by the request's smallest target id. */
    for (int row = 0; row < PQntuples(a); row++) {
        int64_t first = atoll(PQgetvalue(a, row, 1));
        for (struct pending *p = queue; p; p = p->next) {
            int64_t lowest = p->f->target_ids[0];
            for (size_t j = 1; j < p->f->n; j++)
                lowest = p->f->target_ids[j] < lowest ? p->f->target_ids[j] : lowest;
            if (lowest == first)
                p->f->attempt_id = atoll(PQgetvalue(a, row, 0));
        }
    }
    PQclear(a);
    return 0;
}

/* A committed request that will not leave after all (its key is gone, or
 * the scheduler stops first): its targets go back, the try uncounted. */
static void unsend(struct scheduler *s, struct flight *f, const char *why)
{
    uint64_t now = now_ms(s);
    settle_all(s, f, TS_SCHEDULED, now, NULL, 1);
    add_finish(s, f->attempt_id, 0, 0, out_attempt(ANS_NEVER_LEFT, 0), -1, why, strlen(why));
}

/*
 * Sends a committed request now, if the limiter still allows it: since it
 * was armed, a lookup may have spent the same budget, or an answer may have
 * taught the limiter a block or a lower Remaining. Returns 0 when it left
 * (or never will: settled), else the slot it must wait for now.
 */
/* An armed request that will never leave: put back unsent (unsend). */
static uint64_t drop_unsent(struct scheduler *s, struct pending *p, const char *why)
{
    unsend(s, p->f, why);
    pub_free(p->f);
    p->f = NULL;
    return 0;
}

static uint64_t fire(struct scheduler *s, struct pending *p)
{
    struct flight *f = p->f;
    struct reg_key *k = reg_key_by_id(&s->reg, f->key_id);
    if (!k)
        return drop_unsent(s, p, "not sent: the key was removed before its slot");
    /* Counted from when it really leaves, so the provider never sees it
     * later than the limiter assumed; unless the windows were rebuilt from
     * attempts meanwhile, which counted it already (at fire_ms). */
    struct lim_req req;
    reg_request(k, prov_create_route(k->provider), (uint32_t)f->n, 1, &req);
    uint64_t now = now_ms(s);
    if (p->rebuilds == s->rebuilds) {
        uint64_t slot = lim_next_slot(s->reg.limits, &req, now);
        if (slot == LIM_NEVER)
            return drop_unsent(s, p, "not sent: a quota ran out before its slot");
        if (slot > now)
            return slot;
        lim_commit(s->reg.limits, &req, now);
    }
    p->f = NULL;
    f->sent_ms = now;
    if (start_request(s, f, k, p->content, p->media, p->ref) != 0) {
        /* Never left: the intent is recorded, so settle it as not sent. */
        char *err = error_json("config", 0, "secret_unavailable", "the key's API secret is not set");
        settle_all(s, f, TS_FAILED, 0, err, 0);
        add_finish(s, f->attempt_id, 0, 0, AO_PERMANENT, -1, NULL, 0);
        free(err);
        pub_free(f);
    }
    return 0;
}

static void arm(struct scheduler *s, struct pending *p)
{
    struct reg_key *k = reg_key_by_id(&s->reg, p->f->key_id);
    if (k)
        group_state(s, k)->armed++;
    p->rebuilds = s->rebuilds;
    struct pending **at = &s->armed;
    while (*at && (*at)->fire_ms <= p->fire_ms)
        at = &(*at)->next;
    p->next = *at;
    *at = p;
}

static void disarm(struct scheduler *s, struct pending *p)
{
    struct reg_key *k = reg_key_by_id(&s->reg, p->f->key_id);
    if (k && group_state(s, k)->armed > 0)
        group_state(s, k)->armed--;
}

/* Fires every armed request whose slot has come: one pass over the multi
 * handle for them all (a pass per request walks every transfer each time). */
static void fire_due(struct scheduler *s)
{
    int fired = 0;
    while (s->armed && s->armed->fire_ms <= now_ms(s)) {
        struct pending *p = s->armed;
        s->armed = p->next;
        disarm(s, p);
        uint64_t later = fire(s, p);
        if (later) { /* not yet after all: armed again, for its new slot */
            p->fire_ms = later;
            arm(s, p);
            continue;
        }
        pending_free(p);
        fired = 1;
    }
    if (fired) {
        int running;
        curl_multi_perform(s->multi, &running);
    }
}

/* Drops every armed request unsent (the scheduler stops). */
static void unsend_armed(struct scheduler *s)
{
    while (s->armed) {
        struct pending *p = s->armed;
        s->armed = p->next;
        unsend(s, p->f, "not sent: the scheduler stopped before its slot");
        pending_free(p);
    }
}

/* After the turn's commit, the queued requests wait for their slot (those
 * whose slot has come leave at once); without it, they are dropped. */
static void launch(struct scheduler *s, struct pending *queue, int committed)
{
    while (queue) {
        struct pending *p = queue;
        queue = p->next;
        if (committed) {
            arm(s, p);
        } else {
            pending_free(p);
        }
    }
    fire_due(s);
}

/*
 * Learns when owned keys' earliest scheduled targets are due: every key once
 * a second, after a NOTIFY or a lease change, else only the keys whose last
 * claim found nothing (a key that just sent is looked at by its next claim).
 */
static int refresh_due(struct scheduler *s, uint64_t now)
{
    int all = now >= s->next_due_ms;
    int64_t *keys = xcalloc(s->nowned ? s->nowned : 1, sizeof *keys);
    size_t n = 0;
    for (size_t i = 0; i < s->nowned; i++) {
        struct reg_key *k = reg_key_by_id(&s->reg, s->owned[i]);
        if (k && (all || s->state[k - s->reg.keys].stale))
            keys[n++] = k->id;
    }
    if (n == 0) {
        free(keys);
        return 0;
    }
    char *arr = id_array(keys, n);
    free(keys);
    const char *params[] = {arr};
    PGresult *r = q(s, "sched_due", 1, params);
    free(arr);
    if (!r)
        return -1;
    if (all)
        s->next_due_ms = now + DUE_REFRESH_MS;
    for (int i = 0; i < PQntuples(r); i++) {
        struct reg_key *k = reg_key_by_id(&s->reg, atoll(PQgetvalue(r, i, 0)));
        if (!k)
            continue;
        struct key_state *st = &s->state[k - s->reg.keys];
        st->due_ms = PQgetisnull(r, i, 1) ? 0 : (uint64_t)atoll(PQgetvalue(r, i, 1));
        st->stale = 0;
    }
    PQclear(r);
    return 0;
}

/*
 * Claims what is due and allowed within claim_ahead_ms; lowers *wake to the
 * next moment worth waking for. One request per lease group per turn and
 * none while one of the group's waits for its slot: the limiter counts a
 * request when it leaves, so a second claim before then would be allowed
 * the same slot (keys of a group share buckets). A key with more to send
 * comes right back. Every claim of the turn is one statement and one
 * transaction (one fsync) with the attempts rows; only then may the
 * requests leave, so the intent is durable first.
 */
static void dispatch(struct scheduler *s, uint64_t now, uint64_t *wake)
{
    if (refresh_due(s, now) != 0)
        return;
    uint64_t ahead = (uint64_t)s->o.claim_ahead_ms;
    struct db_column keys = {0}, lims = {0};
    int room = s->o.max_in_flight - s->in_flight;
    for (struct pending *p = s->armed; p; p = p->next)
        room--;
    s->turns++;
    /* Start where the last turn stopped, so no key waits behind the others. */
    size_t start = s->nowned ? s->rr % s->nowned : 0;
    for (size_t n = 0; n < s->nowned && (int)keys.n < room; n++) {
        size_t i = (start + n) % s->nowned;
        struct reg_key *k = reg_key_by_id(&s->reg, s->owned[i]);
        uint64_t due = k ? s->state[k - s->reg.keys].due_ms : 0;
        if (!due)
            continue;
        if (due > now) { /* never before the post's own time, only before its slot */
            *wake = due < *wake ? due : *wake;
            continue;
        }
        struct key_state *g = group_state(s, k);
        if (g->armed) /* the group's armed request wakes the loop */
            continue;
        if (g->claimed_turn == s->turns) {
            *wake = now;
            continue;
        }
        const struct prov_ops *ops = prov_ops(k->provider);
        struct lim_req req;
        struct lim_why why;
        reg_request(k, ops->create_route, 1, 1, &req);
        uint64_t slot = lim_next_slot_why(s->reg.limits, &req, now, &why);
        if (slot > now + ahead)
            note_quota(s, k, now, slot, &why);
        if (slot > now + ahead && slot != LIM_NEVER) {
            *wake = slot - ahead < *wake ? slot - ahead : *wake;
            continue;
        }
        size_t batch = s->reg.providers[k->provider].batch_accounts ? ops->max_batch : 1;
        db_col_push_i64(&keys, k->id);
        db_col_push_i64(&lims, (int64_t)batch);
        s->state[k - s->reg.keys].stale = 1; /* until the claim finds something */
        g->claimed_turn = s->turns;
        s->rr = i + 1;
    }
    if (keys.n == 0) {
        free(db_col_take(&keys));
        free(db_col_take(&lims));
        return;
    }
    char *kt = db_col_take(&keys), *lt = db_col_take(&lims), ttl[32];
    const char *params[] = {kt, lt, s->o.instance_id,
                            fmt_i64(ttl, sizeof ttl, 2 * (int64_t)s->o.request_timeout_ms + 10000)};
    PGresult *r = begin(s) == 0 ? q(s, "sched_claim", 4, params) : NULL;
    free(kt), free(lt);
    if (!r) {
        if (s->conn)
            db_rollback(s->conn);
        return;
    }
    struct pending *queue = NULL;
    for (int lo = 0, hi; lo < PQntuples(r); lo = hi) {
        int64_t key = atoll(PQgetvalue(r, lo, C_KEY));
        for (hi = lo + 1; hi < PQntuples(r) && atoll(PQgetvalue(r, hi, C_KEY)) == key; hi++)
            ;
        struct reg_key *k = reg_key_by_id(&s->reg, key);
        if (!k)
            continue;
        s->state[k - s->reg.keys].stale = 0;
        take_claim(s, k, r, lo, hi, now, ahead, wake, &queue);
    }
    PQclear(r);
    int failed = queue && record_intents(s, queue) != 0;
    int committed = !failed && commit(s) == 0;
    if (failed && s->conn)
        db_rollback(s->conn);
    if (queue)
        *wake = now;
    launch(s, queue, committed);
    flush(s);
}

/* ---- the loop ---- */

static int poll_timeout(uint64_t now, uint64_t wake)
{
    if (wake <= now)
        return 0;
    uint64_t d = wake - now;
    return d > 1000 ? 1000 : (int)d;
}

static void wait_for_work(struct scheduler *s, uint64_t now, uint64_t wake)
{
    struct curl_waitfd extra = {0, CURL_WAIT_POLLIN, 0};
    int nextra = 0;
    if (s->conn) {
        extra.fd = PQsocket(s->conn);
        nextra = 1;
    }
    int running;
    curl_multi_perform(s->multi, &running);
    curl_multi_poll(s->multi, &extra, (unsigned)nextra, poll_timeout(now, wake), NULL);
    curl_multi_perform(s->multi, &running);
    if (s->conn) {
        PQconsumeInput(s->conn);
        PGnotify *n;
        while ((n = PQnotifies(s->conn))) {
            PQfreemem(n);
            atomic_fetch_add(&s->notifies, 1);
            s->next_due_ms = 0; /* something became due: look at every key */
        }
        if (PQstatus(s->conn) != CONNECTION_OK)
            db_lost(s, "connection closed");
    }
}

static void turn(struct scheduler *s)
{
    fire_due(s);
    uint64_t now = now_ms(s);
    connect_db(s, now);
    uint64_t wake = now + 1000;
    if (s->conn) {
        if (now >= s->next_reload_ms && s->in_flight == 0 && !s->armed) {
            s->next_reload_ms = now + REGISTRY_RELOAD_MS;
            if (config_changed(s))
                load_registry(s);
        }
        if (now >= s->next_lease_ms)
            renew_leases(s, now);
        if (now >= s->next_house_ms)
            housekeeping(s, now);
        if (s->conn && !atomic_load(&s->stopping))
            dispatch(s, now, &wake);
        wake = s->next_lease_ms < wake ? s->next_lease_ms : wake;
        wake = s->next_house_ms < wake ? s->next_house_ms : wake;
    }
    if (s->armed && s->armed->fire_ms < wake)
        wake = s->armed->fire_ms;
    wait_for_work(s, now_ms(s), wake);
    fire_due(s);
    drain_done(s);
}

/* Cuts what is still in flight at the end of the grace period short. */
static void abandon_flights(struct scheduler *s)
{
    while (s->flights) {
        struct flight *f = s->flights;
        if (f->job)
            on_lookup(s, f, CURLE_OPERATION_TIMEDOUT, 0, now_ms(s));
        else
            on_transport_error(s, f, CURLE_OPERATION_TIMEDOUT, now_ms(s));
        curl_multi_remove_handle(s->multi, f->easy);
        curl_easy_cleanup(f->easy);
        unlink_flight(s, f);
        pub_free(f);
    }
}

static void *sched_main(void *arg)
{
    struct scheduler *s = arg;
    while (!atomic_load(&s->stopping))
        turn(s);
    uint64_t deadline = clk_mono_ms(clk_real) + (uint64_t)s->o.shutdown_grace_ms;
    while ((s->in_flight > 0 || s->armed) && clk_mono_ms(clk_real) < deadline)
        turn(s);
    unsend_armed(s);
    abandon_flights(s);
    /* The leases go only once the outcomes are recorded (bounded: with the
     * database gone, what is left is recovered as unconfirmed). */
    flush(s);
    if (rec_drain(s->rec, 5000) != 0)
        log_warn("scheduler stopped before every outcome was recorded",
                 LOG_INT("pending", rec_pending(s->rec)));
    if (s->conn)
        release_leases(s);
    return NULL;
}

void sched_options_init(struct sched_options *o)
{
    memset(o, 0, sizeof *o);
    o->instance_id = "postpace";
    o->lease_ttl_ms = 15000;
    o->max_in_flight = 64;
    o->request_timeout_ms = 30000;
    o->max_attempts = 5;
    o->backoff_ms = 1000;
    o->catchup_ms = 3600000;
    o->unconfirmed_retry_ms = 300000;
    o->skew_ms = 1000;
    o->claim_ahead_ms = 50;
    o->shutdown_grace_ms = 10000;
    o->clock = clk_real;
}

struct scheduler *sched_start(const struct sched_options *o)
{
    struct scheduler *s = xcalloc(1, sizeof *s);
    s->o = *o;
    s->o.instance_id = xstrdup(o->instance_id);
    s->o.conninfo = xstrdup(o->conninfo ? o->conninfo : "");
    db_link_init(&s->db, s->o.conninfo, NULL);
    if (!s->o.clock)
        s->o.clock = clk_real;
    s->rng = (unsigned)clk_mono_ms(clk_real);
    s->multi = curl_multi_init();
    s->rec = rec_create(s->o.conninfo, s->o.instance_id);
    pthread_mutex_init(&s->stats_lock, NULL);
    met_register_collector(emit_gauges, s);
    pthread_create(&s->thread, NULL, sched_main, s);
    return s;
}

void sched_stop(struct scheduler *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    curl_multi_wakeup(s->multi);
    pthread_join(s->thread, NULL);
    met_unregister_collector(emit_gauges, s);
    rec_destroy(s->rec);
    if (s->reg_loaded)
        reg_finish(&s->reg);
    db_link_close(&s->db);
    curl_multi_cleanup(s->multi);
    pthread_mutex_destroy(&s->stats_lock);
    free(s->stats_text);
    free(s->state);
    free(s->unread_keys);
    free(s->owned);
    free((char *)s->o.instance_id);
    free((char *)s->o.conninfo);
    free(s);
}
