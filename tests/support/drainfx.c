/* DESIGN: test support only; one test thread. */
#include "drainfx.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "db/migrate.h"
#include "logfmt.h"
#include "pgtest.h"
#include "util/xmalloc.h"

#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static const char *sim_config(char *buf, size_t size, int webhook_port)
{
    char hook[80] = "";
    if (webhook_port)
        snprintf(hook, sizeof hook, "\"webhook_url\":\"http://127.0.0.1:%d\",", webhook_port);
    snprintf(buf, size,
             "{%s\"webhook_secret\":\"" WHSEC "\",\"keys\":["
             "{\"provider\":\"posteverywhere\",\"key\":\"pe_live_1\",\"label\":\"pe\"},"
             "{\"provider\":\"schedpilot\",\"key\":\"smm_a\",\"label\":\"sp\",\"user\":\"u1\"},"
             "{\"provider\":\"feedhorizon\",\"key\":\"fh_1\",\"label\":\"fh\"},"
             "{\"provider\":\"postlark\",\"key\":\"pk_live_1\",\"label\":\"pl\",\"plan\":\"scale\","
             "\"account\":\"pl-acct\"},"
             "{\"provider\":\"jestha\",\"key\":\"jk_1\",\"label\":\"je\",\"account\":\"je-acct\"}]}",
             hook);
    return buf;
}

static int add_key(struct drainfx *f, const char *provider, const char *label, const char *plan,
                   const char *user, const char *account, const char *env, const char *prefix)
{
    char base[160];
    snprintf(base, sizeof base, "%s%s", f->sim.base, prefix);
    char scale[32];
    snprintf(scale, sizeof scale, "%g", f->scale);
    const char *p[] = {provider, label, plan, user, account, env, base, scale};
    PGresult *r = PQexecParams(
        f->conn,
        "INSERT INTO provider_keys (provider, label, plan, provider_user_id, provider_account_id, "
        "secret_ref, webhook_secret_ref, base_url, time_scale) "
        "VALUES ($1, $2, $3, $4, $5, 'env:' || $6, 'env:PP_SIM_WHSEC', $7, $8)",
        8, NULL, p, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? 0 : -1;
}

int drainfx_setup(struct drainfx *f)
{
    return drainfx_setup_scaled(f, 60);
}

int drainfx_setup_scaled(struct drainfx *f, double scale)
{
    return drainfx_setup_sim(f, scale, NULL);
}

/* Where unconfirmed targets are looked up: the simulator lists the newest
 * 1,000 posts of a key for every provider, also FeedHorizon and Jestha, whose
 * docs have no such route (so by default theirs are held for the operator). */
static void sim_lookup_config(struct drainfx *f)
{
    pgt_exec(f->conn, "UPDATE providers SET lookup = lookup || '{\"page_size\": 1000}'");
    pgt_exec(f->conn, "UPDATE providers SET lookup = lookup || '{\"path\": \"/posts\"}' "
                      "WHERE id = 'feedhorizon'");
    pgt_exec(f->conn, "UPDATE providers SET lookup = lookup || '{\"path\": \"/api/posts\"}' "
                      "WHERE id = 'jestha'");
}

int drainfx_setup_sim(struct drainfx *f, double scale, const char *const *sim_args)
{
    memset(f, 0, sizeof *f);
    f->scale = scale;
    char cfg[2048];
    if (sim_ctl_start(&f->sim, sim_config(cfg, sizeof cfg, 0), scale, sim_args) != 0)
        return -1;
    f->db = pgt_create_migrated_db();
    f->conn = pgt_connect(f->db);
    sim_lookup_config(f);
    return add_key(f, "posteverywhere", "pe", "default", NULL, NULL, "PP_PE",
                   "/posteverywhere/api/v1") |
           add_key(f, "schedpilot", "sp", "default", "u1", NULL, "PP_SP",
                   "/schedpilot/developers/v1") |
           add_key(f, "feedhorizon", "fh", "default", NULL, NULL, "PP_FH", "/feedhorizon/v1") |
           add_key(f, "postlark", "pl", "scale", NULL, "pl-acct", "PP_PL", "/postlark/v1") |
           add_key(f, "jestha", "je", "default", NULL, "je-acct", "PP_JE", "/jestha");
}

void drainfx_posts(struct drainfx *f, const char *label, int n, const char *accounts,
                   int offset_s)
{
    static int batch;
    char sql[768];
    batch++;
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at, external_id) "
             "SELECT (SELECT id FROM provider_keys WHERE label = '%s'), '%s', "
             "'post ' || g || ' of batch %d for %s', now() + interval '%d seconds', "
             "'%s-%d-' || g FROM generate_series(1, %d) g",
             label, accounts, batch, label, offset_s, label, batch, n);
    pgt_exec(f->conn, sql);
}

/* The margin the daemons keep at window edges: it must cover the time from a
 * send's record to its arrival at the simulator. Under the sanitizers both
 * stall for longer (CI once saw two 429s in the kill -9 drain at 50 ms), so
 * the margin is wider there. It slows the per-minute windows, 100 ms long at
 * time scale 600, but the drains wait on the hourly ones: the kill -9 drain
 * takes about 20 s under ASan with either margin. */
#if defined(__SANITIZE_ADDRESS__)
#define SKEW_ENV "POSTPACE_SKEW_MS=150"
#else
#define SKEW_ENV "POSTPACE_SKEW_MS=50"
#endif

int drainfx_start(struct drainfx *f, int i, char *const *extra_env)
{
    static char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", f->db);
    char inst[64];
    snprintf(inst, sizeof inst, "POSTPACE_INSTANCE_ID=instance-%d", i);
    char *envs[32] = {env_db, "PP_PE=pe_live_1", "PP_SP=smm_a", "PP_FH=fh_1", "PP_PL=pk_live_1",
                      "PP_JE=jk_1", "PP_SIM_WHSEC=" WHSEC, SKEW_ENV, inst};
    int n = 9;
    for (int k = 0; extra_env && extra_env[k] && n < 31; k++)
        envs[n++] = extra_env[k];
    envs[n] = NULL;
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    proc_start(&f->daemons[i], argv, envs);
    const char *at = proc_await(&f->daemons[i], " port=");
    if (!at)
        return -1;
    f->ports[i] = atoi(at + 6);
    f->running[i] = 1;
    char cfg[2048];
    return i == 0 && !f->own_sim_config ? sim_ctl_reset(&f->sim, sim_config(cfg, sizeof cfg, f->ports[0])) : 0;
}

/* Fails the test unless every whole line the daemon wrote is logfmt. */
static void check_log(const struct proc *p)
{
    const char *last = memrchr(p->out, '\n', p->len);
    if (!last)
        return;
    char *text = xstrndup(p->out, (size_t)(last - p->out) + 1), err[512];
    int rc = lf_check_text(text, err, sizeof err);
    free(text);
    if (rc < 0) { /* the whole log: a sanitizer's report says why */
        fprintf(stderr, "drainfx: the daemon's log:\n%.*s\n", (int)p->len, p->out);
        fail_msg("drainfx: a daemon's log is not logfmt: %s", err);
    }
}

int drainfx_stop(struct drainfx *f, int i, int hard)
{
    if (!f->running[i])
        return 0;
    kill(f->daemons[i].pid, hard ? SIGKILL : SIGTERM);
    f->running[i] = 0;
    int rc = proc_wait(&f->daemons[i]);
    check_log(&f->daemons[i]);
    return rc;
}

long drainfx_count(struct drainfx *f, const char *sql)
{
    PGresult *r = PQexec(f->conn, sql);
    long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

int drainfx_await_count(struct drainfx *f, const char *sql, long want)
{
    for (int i = 0; i < 600; i++) {
        if (drainfx_count(f, sql) >= want)
            return 0;
        usleep(100 * 1000);
    }
    drainfx_dump(f);
    return -1;
}

int drainfx_await_settled(struct drainfx *f, int timeout_s)
{
    for (int i = 0; i < timeout_s * 10; i++) {
        if (drainfx_count(f, "SELECT count(*) FROM post_targets WHERE status NOT IN "
                             "('published', 'failed', 'cancelled', 'expired')") == 0)
            return 0;
        usleep(100 * 1000);
    }
    drainfx_dump(f);
    return -1;
}

void drainfx_dump(struct drainfx *f)
{
    PGresult *r = PQexec(f->conn, "SELECT status, count(*) FROM post_targets GROUP BY 1");
    for (int i = 0; i < PQntuples(r); i++)
        fprintf(stderr, "drainfx: %s=%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    /* By provider, with the attempts' outcomes: which key did what. */
    r = PQexec(f->conn, "SELECT k.provider, t.status, count(*), sum(t.attempts), "
                        "       count(*) FILTER (WHERE t.last_error IS NOT NULL) "
                        "  FROM post_targets t JOIN provider_keys k ON k.id = t.provider_key_id "
                        " GROUP BY 1, 2 ORDER BY 1, 2");
    for (int i = 0; i < PQntuples(r); i++)
        fprintf(stderr, "drainfx: %s %s=%s attempts=%s with_error=%s\n", PQgetvalue(r, i, 0),
                PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
    PQclear(r);
    r = PQexec(f->conn, "SELECT k.provider, a.outcome, a.http_status, count(*) "
                        "  FROM attempts a JOIN provider_keys k ON k.id = a.provider_key_id "
                        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
    for (int i = 0; i < PQntuples(r); i++)
        fprintf(stderr, "drainfx: attempts %s %s http=%s: %s\n", PQgetvalue(r, i, 0),
                PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
    PQclear(r);
    /* What the simulator saw, per provider: its faults included. */
    json_t *stats = sim_ctl_stats(&f->sim);
    json_t *provs = json_object_get(stats, "providers");
    const char *name;
    json_t *v;
    json_object_foreach(provs, name, v)
    {
        char *text = json_dumps(v, JSON_COMPACT);
        fprintf(stderr, "drainfx: sim %s %s\n", name, text ? text : "?");
        free(text);
    }
    json_decref(stats);
    /* The outgoing webhooks too: a test awaiting them says where they stand. */
    r = PQexec(f->conn, "SELECT state, attempts, last_status, left(last_error, 120), count(*) "
                        "FROM outbox GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4");
    for (int i = 0; i < PQntuples(r); i++)
        fprintf(stderr, "drainfx: outbox %s attempts=%s status=%s error=%s: %s\n",
                PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                PQgetvalue(r, i, 4));
    PQclear(r);
    for (int i = 0; i < DRAINFX_MAX_DAEMONS; i++) {
        struct proc *d = &f->daemons[i];
        if (!d->pid)
            continue;
        int alive = proc_alive(d);
        proc_read_available(d);
        fprintf(stderr, "drainfx: daemon %d (%s, wait status %d):\n%s\n", i,
                alive ? "running" : "exited", alive ? 0 : d->status, d->out);
    }
}

void drainfx_teardown(struct drainfx *f)
{
    for (int i = 0; i < DRAINFX_MAX_DAEMONS; i++)
        drainfx_stop(f, i, 0);
    PQfinish(f->conn);
    pgt_drop_db(f->db);
    sim_ctl_stop(&f->sim);
}

/* A fresh database with every migration, on the cluster `cluster_conninfo`. */
static char *create_migrated_db_on(const char *cluster_conninfo)
{
    static int counter;
    char name[64], sql[128], err[512];
    snprintf(name, sizeof name, "f_%d_%d", (int)getpid(), ++counter);
    PGconn *c = pgt_connect(cluster_conninfo);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0", name);
    pgt_exec(c, sql);
    PQfinish(c);
    char *ci = xasprintf("%s dbname=%s", cluster_conninfo, name);
    c = pgt_connect(ci);
    size_t n;
    const struct mig_file *files = mig_builtin(&n);
    int rc = mig_apply(c, files, n, NULL, err, sizeof err);
    PQfinish(c);
    if (rc < 0) {
        fprintf(stderr, "drainfx: migrate: %s\n", err);
        free(ci);
        return NULL;
    }
    return ci;
}

int drainfx_setup_cluster(struct drainfx *f, const char *cluster_conninfo, double scale,
                          const char *const *sim_args)
{
    memset(f, 0, sizeof *f);
    f->scale = scale;
    char cfg[2048];
    if (sim_ctl_start(&f->sim, sim_config(cfg, sizeof cfg, 0), scale, sim_args) != 0)
        return -1;
    f->db = create_migrated_db_on(cluster_conninfo);
    if (!f->db)
        return -1;
    f->conn = pgt_connect(f->db);
    sim_lookup_config(f);
    return add_key(f, "posteverywhere", "pe", "default", NULL, NULL, "PP_PE",
                   "/posteverywhere/api/v1") |
           add_key(f, "schedpilot", "sp", "default", "u1", NULL, "PP_SP",
                   "/schedpilot/developers/v1") |
           add_key(f, "feedhorizon", "fh", "default", NULL, NULL, "PP_FH", "/feedhorizon/v1") |
           add_key(f, "postlark", "pl", "scale", NULL, "pl-acct", "PP_PL", "/postlark/v1") |
           add_key(f, "jestha", "je", "default", NULL, "je-acct", "PP_JE", "/jestha");
}

void drainfx_teardown_cluster(struct drainfx *f)
{
    for (int i = 0; i < DRAINFX_MAX_DAEMONS; i++)
        drainfx_stop(f, i, 0);
    PQfinish(f->conn);
    free(f->db);
    f->db = NULL;
    sim_ctl_stop(&f->sim);
}
