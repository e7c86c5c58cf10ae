/*
 * Webhook intake throughput (issue #6): N signed post.published deliveries,
 * each with a fresh event id, over C keep-alive loopback connections to a
 * real `postpace serve` on a real PostgreSQL; prints events/s and latency
 * side by side for three runs:
 *   durable  the daemon as configured by default (group commit);
 *   1-txn    the same daemon with webhook_batch_max=1: one transaction per event,
 *            on 16 writer connections (a typical receiver's pool);
 *   bare     an h2o server on src/http/server.c whose handler only answers 200:
 *            the ceiling of the generator and the HTTP layer on this machine.
 * and, when asked for (issue #24: what announcing status changes costs):
 *   quiet    durable with postpace.status_notify = off on the database: no
 *            NOTIFY postpace_status at all (the statement trigger still runs);
 *   outbox   durable with one subscription to every event, so each settle
 *            also writes an outbox row (the dispatcher is off: only the
 *            write is measured).
 * The generator is tests/support/loadgen (plain epoll, keep-alive), every
 * request signed and serialised before the clock starts.
 * Each run also reports the CPU it cost per event, from /proc: its own
 * cluster's postgres processes (the postmaster's live children, backends,
 * autovacuum, WAL writer, checkpointer, plus the ones that exited, which
 * the postmaster reaped into its children's time; another cluster on the
 * machine is not counted), the daemon, and this generator: a figure steadier than events/s on a
 * shared machine, and the one that says where the time goes; and how much of the machine sat idle
 * (a core the pipeline left unused) or was stolen by the hypervisor (a slow spell that is not ours)
 * while it ran. Bounded: each run sends exactly N and stops. Usage: bench_webhooks [N] [C]
 * [THREADS] [RUNS]  (RUNS: comma list of durable, quiet, outbox, 1-txn, bare, in that order;
 * default "durable,1-txn,bare"; the 1-txn run sends at most 5000 events).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/server.h"
#include "cpustat.h"
#include "loadgen.h"
#include "pgtest.h"
#include "proc.h"
#include "webhook/whsig.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

struct result {
    const char *name;
    int sent, ok, published; /* published < 0: not applicable */
    double rate, p50_ms, p99_ms;
    double pg_us, daemon_us, gen_us; /* CPU per event */
    double idle_pct, steal_pct;      /* of the whole machine during the run */
};

/* Event i (from 1) names target i through its request key. */
static void prepare(struct lg_req *r, int i, int port, const struct whsig_key *k)
{
    char body[256], id[32], ts[32], sig[WHSIG_SIG_LEN];
    int blen = snprintf(
        body, sizeof body,
        "{\"type\":\"post.published\",\"data\":{\"reference\":\"ref-%d\",\"post_id\":\"p%d\"}}", i,
        i);
    snprintf(id, sizeof id, "evt-%d", i);
    snprintf(ts, sizeof ts, "%ld", (long)time(NULL));
    whsig_sign(k, id, ts, body, (size_t)blen, sig);
    r->text = malloc(1024);
    int n = snprintf(r->text, 1024,
                     "POST /webhooks/feedhorizon HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     "webhook-id: %s\r\nwebhook-timestamp: %s\r\nwebhook-signature: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                     port, id, ts, sig, blen, body);
    r->len = (size_t)n;
}

static struct lg_req *prepare_all(int n, int port)
{
    struct whsig_key k;
    whsig_key_parse(&k, SECRET);
    struct lg_req *reqs = calloc((size_t)n, sizeof *reqs);
    for (int i = 0; i < n; i++)
        prepare(&reqs[i], i + 1, port, &k);
    return reqs;
}

static void free_all(struct lg_req *reqs, int n)
{
    for (int i = 0; i < n; i++)
        free(reqs[i].text);
    free(reqs);
}

/* Sends reqs[0..n) with `conc` in flight (tests/support/loadgen), and what it cost. */
static void load(int port, struct lg_req *reqs, int n, int conc, struct result *res)
{
    struct cpu c0 = cpu_now("bench_webhooks");
    double elapsed = lg_run(port, reqs, n, conc);
    struct cpu c1 = cpu_now("bench_webhooks");
    for (int i = 0; i < n; i++)
        res->ok += reqs[i].status == 200;
    res->pg_us = (c1.pg - c0.pg) * 1e6 / n;
    res->daemon_us = (c1.daemon - c0.daemon) * 1e6 / n;
    res->gen_us = (c1.gen - c0.gen) * 1e6 / n;
    double all = (double)(c1.all - c0.all);
    res->idle_pct = all > 0 ? 100.0 * (double)(c1.idle - c0.idle) / all : 0;
    res->steal_pct = all > 0 ? 100.0 * (double)(c1.steal - c0.steal) / all : 0;
    res->sent = n;
    res->rate = n / elapsed;
    res->p50_ms = lg_quantile_ms(reqs, n, 0.5);
    res->p99_ms = lg_quantile_ms(reqs, n, 0.99);
}

/* A migrated database with n submitted targets, target i carrying request key
 * ref-i and, as a 2xx answer leaves it, the provider's post id pi. */
enum variant { PLAIN, QUIET, OUTBOX };

static char *bench_db(int n, enum variant v)
{
    char *ci = pgt_create_migrated_db();
    PGconn *c = pgt_connect(ci);
    if (v == QUIET)
        pgt_exec(c, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET postpace.status_notify = "
                    "off', current_database()); END $$");
    if (v == OUTBOX)
        pgt_exec(c, "INSERT INTO subscriptions (url, secret_ref) VALUES "
                    "('http://127.0.0.1:9/none', 'env:NONE')");
    pgt_exec(c, "INSERT INTO provider_keys (provider, label, secret_ref, webhook_secret_ref) "
                "VALUES ('feedhorizon', 'k', 'env:K', 'env:PP_BENCH_WHSEC')");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
             "SELECT 1, '{acct}', 'post ' || g, now() FROM generate_series(1, %d) g",
             n);
    pgt_exec(c, sql);
    pgt_exec(c, "UPDATE post_targets SET status = 'submitted', attempts = 1, "
                "request_ref = 'ref-' || post_id, provider_post_id = 'p' || post_id");
    pgt_exec(c, "VACUUM ANALYZE post_targets");
    pgt_exec(c, "CHECKPOINT");
    PQfinish(c);
    return ci;
}

/* Runs the daemon on a fresh database; batch_max 0 keeps the daemon's default. */
static void run_daemon(const char *name, int n, int conc, const char *threads, int batch_max,
                       enum variant v, struct result *res)
{
    char *ci = bench_db(n, v);
    char env_db[1024], env_threads[64], env_batch[64], env_writers[64];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", ci);
    snprintf(env_threads, sizeof env_threads, "POSTPACE_HTTP_THREADS=%s", threads);
    snprintf(env_batch, sizeof env_batch, "POSTPACE_WEBHOOK_BATCH_MAX=%d", batch_max);
    /* One transaction per event is what a receiver without group commit
     * does, on a pool of connections: 16 (the most webhook_writers allows). */
    snprintf(env_writers, sizeof env_writers, "POSTPACE_WEBHOOK_WRITERS=%d",
             batch_max == 1 ? 16 : 2);
    char *envs[] = {env_db,
                    env_threads,
                    "PP_BENCH_WHSEC=" SECRET,
                    "POSTPACE_LOG_LEVEL=warn",
                    "POSTPACE_OUTBOX=0",
                    env_writers,
                    batch_max > 0 ? env_batch : NULL,
                    NULL};
    char *args[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0",
                    getenv("BENCH_DEBUG") ? "--log-level=debug" : "--log-level=info", NULL};
    struct proc server;
    proc_start(&server, args, envs);
    const char *at = proc_await(&server, " port=");
    if (!at) {
        fprintf(stderr, "bench: the daemon did not start:\n%s\n", server.out);
        exit(1);
    }
    int port = atoi(at + 6);
    struct lg_req *reqs = prepare_all(n, port);
    res->name = name;
    load(port, reqs, n, conc, res);

    PGconn *c = pgt_connect(ci);
    PGresult *r = PQexec(c, "SELECT count(*) FROM post_targets WHERE status = 'published'");
    res->published = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);

    kill(server.pid, SIGTERM);
    proc_wait(&server);
    if (getenv("BENCH_DEBUG"))
        fputs(server.out, stderr);
    free_all(reqs, n);
    pgt_drop_db(ci);
}

static int on_bare(void *app, h2o_req_t *req)
{
    static const char accepted[] = "{\"status\":\"accepted\"}";
    (void)app;
    http_send_json(req, 200, "OK", accepted, sizeof accepted - 1);
    return 0;
}

/* The same load against a handler that answers 200 at once. */
static void run_bare(int n, int conc, const char *threads, struct result *res)
{
    static const struct http_route routes[] = {{"POST", "/webhooks/", on_bare}};
    struct http_options opt = {"127.0.0.1:0", atoi(threads), 262144, 1000};
    char err[256];
    struct http_server *s = http_server_start(&opt, routes, 1, NULL, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bench: bare server: %s\n", err);
        exit(1);
    }
    struct lg_req *reqs = prepare_all(n, http_server_port(s));
    res->name = "bare 200";
    res->published = -1;
    load(http_server_port(s), reqs, n, conc, res);
    http_server_stop(s);
    free_all(reqs, n);
}

static int wanted(const char *runs, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = runs; (p = strstr(p, name)); p += len)
        if ((p == runs || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000, conc = argc > 2 ? atoi(argv[2]) : 64;
    const char *threads = argc > 3 ? argv[3] : "2";
    const char *runs = argc > 4 ? argv[4] : "durable,1-txn,bare";
    struct result res[5];
    int nres = 0, bad = 0;
    if (wanted(runs, "durable")) {
        memset(&res[nres], 0, sizeof res[nres]);
        run_daemon("durable", n, conc, threads, 0, PLAIN, &res[nres++]);
    }
    if (wanted(runs, "quiet")) {
        memset(&res[nres], 0, sizeof res[nres]);
        run_daemon("quiet", n, conc, threads, 0, QUIET, &res[nres++]);
    }
    if (wanted(runs, "outbox")) {
        memset(&res[nres], 0, sizeof res[nres]);
        run_daemon("outbox", n, conc, threads, 0, OUTBOX, &res[nres++]);
    }
    if (wanted(runs, "1-txn")) {
        memset(&res[nres], 0, sizeof res[nres]);
        run_daemon("1-txn", n < 5000 ? n : 5000, conc, threads, 1, PLAIN, &res[nres++]);
    }
    if (wanted(runs, "bare")) {
        memset(&res[nres], 0, sizeof res[nres]);
        run_bare(n, conc, threads, &res[nres++]);
    }
    printf("webhooks: concurrency %d, %s loop threads\n", conc, threads);
    printf("  %-9s %7s %7s %10s %10s %9s %9s   %s   %s\n", "run", "sent", "200", "published",
           "events/s", "p50 ms", "p99 ms", "CPU us/event: postgres daemon generator",
           "machine: idle% steal%");
    for (int i = 0; i < nres; i++) {
        struct result *r = &res[i];
        char pub[16] = "-";
        if (r->published >= 0)
            snprintf(pub, sizeof pub, "%d", r->published);
        printf("  %-9s %7d %7d %10s %10.0f %9.1f %9.1f   %8.0f %6.0f %9.0f   %14.1f %6.1f\n",
               r->name, r->sent, r->ok, pub, r->rate, r->p50_ms, r->p99_ms, r->pg_us, r->daemon_us,
               r->gen_us, r->idle_pct, r->steal_pct);
        bad |= r->ok != r->sent || (r->published >= 0 && r->published != r->sent);
    }
    return bad;
}
