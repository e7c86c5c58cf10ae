/*
 * Webhook intake throughput: N signed post.published deliveries over
 * keep-alive loopback connections (curl multi, C in flight) to a real
 * `postpace serve` on a real PostgreSQL; prints events/s and latency.
 * Bounded: sends exactly N and stops. Usage: bench_webhooks [N] [C] [THREADS]
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgtest.h"
#include "proc.h"
#include "webhook/whsig.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

struct req {
    char body[256];
    struct curl_slist *headers;
    long status;
    double seconds;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    return s * n;
}

static void prepare(struct req *r, int i, const struct whsig_key *k)
{
    char id[32], ts[32], sig[WHSIG_SIG_LEN], h[128];
    snprintf(r->body, sizeof r->body,
             "{\"type\":\"post.published\",\"data\":{\"reference\":\"ref-%d\",\"post_id\":\"p%d\"}}",
             i, i);
    snprintf(id, sizeof id, "evt-%d", i);
    snprintf(ts, sizeof ts, "%ld", (long)time(NULL));
    whsig_sign(k, id, ts, r->body, strlen(r->body), sig);
    snprintf(h, sizeof h, "webhook-id: %s", id);
    r->headers = curl_slist_append(NULL, h);
    snprintf(h, sizeof h, "webhook-timestamp: %s", ts);
    r->headers = curl_slist_append(r->headers, h);
    snprintf(h, sizeof h, "webhook-signature: %s", sig);
    r->headers = curl_slist_append(r->headers, h);
    r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
}

static CURL *easy_for(struct req *r, const char *url)
{
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    return e;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000, conc = argc > 2 ? atoi(argv[2]) : 64;
    const char *threads = argc > 3 ? argv[3] : "2";
    char *ci = pgt_create_migrated_db();
    PGconn *c = pgt_connect(ci);
    pgt_exec(c, "INSERT INTO provider_keys (provider, label, secret_ref, webhook_secret_ref) "
                "VALUES ('feedhorizon', 'k', 'env:K', 'env:PP_BENCH_WHSEC')");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
             "SELECT 1, '{acct}', 'post ' || g, now() FROM generate_series(1, %d) g",
             n);
    pgt_exec(c, sql);
    pgt_exec(c, "UPDATE post_targets SET status = 'submitted', attempts = 1, "
                "request_ref = 'ref-' || post_id");
    pgt_exec(c, "VACUUM ANALYZE post_targets");
    pgt_exec(c, "CHECKPOINT");

    char env_db[1024], env_threads[64];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", ci);
    snprintf(env_threads, sizeof env_threads, "POSTPACE_HTTP_THREADS=%s", threads);
    char *envs[] = {env_db, env_threads, "PP_BENCH_WHSEC=" SECRET, "POSTPACE_LOG_LEVEL=warn",
                    NULL};
    char *args[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0",
                    getenv("BENCH_DEBUG") ? "--log-level=debug" : "--log-level=info", NULL};
    struct proc server;
    proc_start(&server, args, envs);
    const char *at = proc_await(&server, " port=");
    if (!at)
        return 1;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/webhooks/feedhorizon", atoi(at + 6));

    struct whsig_key k;
    whsig_key_parse(&k, SECRET);
    struct req *reqs = calloc((size_t)n, sizeof *reqs);
    for (int i = 0; i < n; i++)
        prepare(&reqs[i], i + 1, &k);

    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conc);
    int next = 0, running = 0, done = 0, ok = 0;
    double t0 = now_s();
    while (done < n) {
        while (next < n && running < conc) {
            curl_multi_add_handle(m, easy_for(&reqs[next++], url));
            running++;
        }
        int still;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            struct req *r;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_TOTAL_TIME, &r->seconds);
            ok += r->status == 200;
            curl_multi_remove_handle(m, msg->easy_handle);
            curl_easy_cleanup(msg->easy_handle);
            running--, done++;
        }
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double elapsed = now_s() - t0;
    double *lat = malloc((size_t)n * sizeof *lat);
    for (int i = 0; i < n; i++)
        lat[i] = reqs[i].seconds;
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);

    PGresult *r = PQexec(c, "SELECT count(*) FROM post_targets WHERE status = 'published'");
    int published = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    printf("webhooks: %d sent, %d answered 200, %d targets published, %.0f events/s "
           "(concurrency %d, %s loop threads), latency p50 %.1f ms p99 %.1f ms\n",
           n, ok, published, n / elapsed, conc, threads, lat[n / 2] * 1000,
           lat[(int)(n * 0.99)] * 1000);

    kill(server.pid, SIGTERM);
    proc_wait(&server);
    if (getenv("BENCH_DEBUG"))
        fputs(server.out, stderr);
    for (int i = 0; i < n; i++)
        curl_slist_free_all(reqs[i].headers);
    free(reqs);
    free(lat);
    curl_multi_cleanup(m);
    PQfinish(c);
    pgt_drop_db(ci);
    return ok == n && published == n ? 0 : 1;
}
