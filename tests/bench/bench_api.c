/*
 * Calendar API: POST /v1/posts throughput (N creates, C in flight over
 * keep-alive loopback connections: tests/support/loadgen) and GET /v1/posts/{id}
 * latency (one connection, one request at a time), against a real
 * `postpace serve` (scheduler off) on a real PostgreSQL. The creates run
 * grouped (api_batch_max 64: concurrent creates committed together) and
 * ungrouped (1: a transaction per post), alternated ROUNDS times on fresh
 * databases. Bounded: exactly N creates per run and G reads.
 * Usage: bench_api [N] [C] [G] [WORKERS] [ROUNDS] [both|grouped|ungrouped]
 * PGTEST_POSTPACE_BIN names another build's postpace to measure (for
 * alternating two builds in one sitting); the default is this build's.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpustat.h"
#include "loadgen.h"
#include "pgtest.h"
#include "proc.h"

#define TOKEN "bench-token-0123456"

struct req {
    char body[320];
    long status;
    double started, seconds;
    char resp[4096];
    size_t len;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t keep(char *p, size_t s, size_t n, void *u)
{
    struct req *r = u;
    size_t k = s * n, room = sizeof r->resp - 1 - r->len;
    memcpy(r->resp + r->len, p, k < room ? k : room);
    r->len += k < room ? k : room;
    r->resp[r->len] = '\0';
    return s * n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_latency(const char *what, double *lat, int n)
{
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    printf("%s latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", what,
           lat[n / 2] * 1e3, lat[n * 9 / 10] * 1e3, lat[n * 99 / 100] * 1e3, lat[n - 1] * 1e3);
}

/* Creates n posts with c in flight (tests/support/loadgen); returns how many got 201,
 * the seconds in *secs and each request's latency in lat. */
static int run_creates(int port, int n, int c, double *secs, double *lat)
{
    struct lg_req *reqs = calloc((size_t)n, sizeof *reqs);
    for (int i = 0; i < n; i++) {
        char body[320];
        int blen = snprintf(body, sizeof body,
                            "{\"external_id\":\"bench-%d\",\"provider_key\":\"je\","
                            "\"account_ids\":[\"acct_%d\",\"acct_%d\"],\"content\":\"Post number "
                            "%d\",\"scheduled_at\":\"2031-06-%02dT%02d:%02d:00+02:00\","
                            "\"time_zone\":\"Europe/Paris\"}",
                            i, i % 7, i % 7 + 1, i, 1 + i % 28, i % 24, i % 60);
        reqs[i].text = malloc(1024);
        reqs[i].len = (size_t)snprintf(reqs[i].text, 1024,
                                       "POST /v1/posts HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                       "Authorization: Bearer " TOKEN "\r\n"
                                       "Content-Type: application/json\r\n"
                                       "Content-Length: %d\r\n\r\n%s",
                                       port, blen, body);
    }
    *secs = lg_run(port, reqs, n, c);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        ok += reqs[i].status == 201;
        lat[i] = reqs[i].seconds;
        free(reqs[i].text);
    }
    free(reqs);
    return ok;
}

/* GETs post ids 1..g (cycling over n) on one keep-alive connection. */
static int run_reads(const char *base, int g, int n, struct curl_slist *headers, double *lat)
{
    CURL *e = curl_easy_init();
    struct req r;
    int ok = 0;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < g; i++) {
        char url[256];
        snprintf(url, sizeof url, "%s/v1/posts/%d", base, 1 + (i * 7919) % n);
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
        r.len = 0;
        double t0 = now_s();
        long status = 0;
        if (curl_easy_perform(e) == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        lat[i] = now_s() - t0;
        ok += status == 200;
    }
    curl_easy_cleanup(e);
    return ok;
}

/* A daemon (scheduler off) on a fresh database; its base URL in base. */
static char *start_server(struct proc *server, const char *workers, int batch_max, char *base,
                          size_t len)
{
    char *db = pgt_create_migrated_db();
    PGconn *conn = pgt_connect(db);
    pgt_exec(conn, "INSERT INTO provider_keys (provider, label, secret_ref) "
                   "VALUES ('jestha', 'je', 'env:JE_KEY')");
    PQfinish(conn);
    char env_db[1024], env_workers[64], env_batch[64];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db);
    snprintf(env_workers, sizeof env_workers, "POSTPACE_API_WORKERS=%s", workers);
    snprintf(env_batch, sizeof env_batch, "POSTPACE_API_BATCH_MAX=%d", batch_max);
    char *envs[] = {
        env_db, env_workers, env_batch, "POSTPACE_API_TOKENS=" TOKEN, "POSTPACE_SCHEDULER=0", NULL};
    char *args[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", "--log-level=info",
                    NULL};
    proc_start(server, args, envs);
    const char *at = proc_await(server, " port=");
    if (!at) {
        fprintf(stderr, "the daemon did not start:\n%s\n", server->out);
        exit(1);
    }
    snprintf(base, len, "http://127.0.0.1:%d", atoi(at + 6));
    return db;
}

static void stop_server(struct proc *server, char *db)
{
    kill(server->pid, SIGTERM);
    proc_wait(server);
    pgt_drop_db(db);
}

/* N creates against a daemon committing at most batch_max per transaction. */
static int creates(const char *name, int batch_max, int n, int c, const char *workers,
                   struct curl_slist *headers, double *lat, int g)
{
    struct proc server;
    char base[64];
    char *db = start_server(&server, workers, batch_max, base, sizeof base);
    double secs;
    struct cpu c0 = cpu_now("bench_api");
    int created = run_creates(atoi(strrchr(base, ':') + 1), n, c, &secs, lat);
    struct cpu c1 = cpu_now("bench_api");
    printf("POST /v1/posts %-9s (api_batch_max %4d): %d of %d created (2 targets each) in %.2f s: "
           "%.0f posts/s (%d in flight, %s API workers)\n",
           name, batch_max, created, n, secs, n / secs, c, workers);
    print_latency("  POST", lat, n);
    double all = (double)(c1.all - c0.all);
    printf("  CPU per post: postgres %.0f us, daemon %.0f us, generator %.0f us; machine idle "
           "%.0f%%, stolen %.0f%%\n",
           (c1.pg - c0.pg) * 1e6 / n, (c1.daemon - c0.daemon) * 1e6 / n,
           (c1.gen - c0.gen) * 1e6 / n, all > 0 ? 100.0 * (double)(c1.idle - c0.idle) / all : 0,
           all > 0 ? 100.0 * (double)(c1.steal - c0.steal) / all : 0);
    int ok = created == n;
    if (g > 0) {
        double t0 = now_s();
        int read = run_reads(base, g, created > 0 ? created : 1, headers, lat);
        secs = now_s() - t0;
        printf("GET /v1/posts/{id}: %d of %d answered 200 in %.2f s: %.0f req/s on one "
               "connection\n",
               read, g, secs, g / secs);
        print_latency("  GET", lat, g);
        ok &= read == g;
    }
    stop_server(&server, db);
    return ok;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000, c = argc > 2 ? atoi(argv[2]) : 64;
    int g = argc > 3 ? atoi(argv[3]) : 5000;
    const char *workers = argc > 4 ? argv[4] : "2";
    int rounds = argc > 5 ? atoi(argv[5]) : 2;
    const char *which = argc > 6 ? argv[6] : "both";
    int grouped = strcmp(which, "ungrouped") != 0, ungrouped = strcmp(which, "grouped") != 0;
    if (n < 1 || n > 1000000 || c < 1 || c > 1024 || g < 1 || g > 1000000 || rounds < 1 ||
        (grouped && ungrouped && strcmp(which, "both") != 0)) {
        fprintf(stderr, "usage: bench_api [N<=1000000] [C<=1024] [G<=1000000] [WORKERS] [ROUNDS] "
                        "[both|grouped|ungrouped]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct curl_slist *headers = curl_slist_append(NULL, "Authorization: Bearer " TOKEN);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    double *lat = calloc((size_t)(n > g ? n : g), sizeof *lat);
    int ok = 1;
    /* Alternated, so a slow spell of a shared machine hits both alike. */
    for (int r = 0; r < rounds; r++) {
        if (grouped)
            ok &= creates("grouped", 64, n, c, workers, headers, lat, r == 0 ? g : 0);
        if (ungrouped)
            ok &= creates("ungrouped", 1, n, c, workers, headers, lat, 0);
    }
    curl_slist_free_all(headers);
    free(lat);
    curl_global_cleanup();
    return ok ? 0 : 1;
}
