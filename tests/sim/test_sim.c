/*
 * Tests for postpace-sim over real HTTP on loopback: simulators started
 * in-process (simcore) with large time scales, plus the binary once. Each
 * provider: the Nth+1 request in a window gets exactly the documented 429
 * (status, headers, body) and the first request after the reset succeeds;
 * 401s; shared SchedPilot user and Jestha account buckets; Jestha media
 * rules; Standard Webhooks signatures (published vector, real deliveries to
 * a loopback receiver); duplicate counting; faults. Waits are on conditions
 * (a delivery arrived, the wall clock passed a window's reset), never fixed
 * sleeps used as synchronisation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim_http.h"
#include "sim.h"
#include "sim_sign.h"
#include "sim_window.h"

#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/* ---- clock and waiting ------------------------------------------------- */

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Waits for the wall clock to reach t (a window's announced reset). */
static void await_wall(uint64_t t)
{
    for (uint64_t n = now_us(); n < t; n = now_us()) {
        uint64_t d = t - n > 5000 ? 5000 : t - n;
        struct timespec ts = {0, (long)d * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Waits until just after the start of the next epoch-aligned window of len_us. */
static uint64_t await_window_start(uint64_t len_us)
{
    uint64_t start = (now_us() / len_us + 1) * len_us;
    await_wall(start + 2000);
    return start;
}

/* ---- a small keep-alive HTTP client ------------------------------------ */

struct resp {
    CURLcode rc;
    long status;
    char body[16384];
    size_t len;
    char hdrs[8192];
    size_t hlen;
    json_t *json;
    double secs;
};

struct client {
    CURL *easy;
    int port;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t take = sz * n;
    if (r->len + take >= sizeof r->body)
        take = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, p, take);
    r->len += take;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_hdr(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t take = sz * n;
    if (r->hlen + take >= sizeof r->hdrs)
        take = sizeof r->hdrs - 1 - r->hlen;
    memcpy(r->hdrs + r->hlen, p, take);
    r->hlen += take;
    r->hdrs[r->hlen] = '\0';
    return sz * n;
}

static void client_init(struct client *c, int port)
{
    c->easy = curl_easy_init();
    c->port = port;
}

static void client_finish(struct client *c)
{
    curl_easy_cleanup(c->easy);
}

static void resp_clear(struct resp *r)
{
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* One request; `auth` and `extra` are whole header lines or NULL. */
static void http(struct client *c, struct resp *r, const char *method, const char *path,
                 const char *auth, const char *extra, const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->port, path);
    resp_clear(r);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (auth)
        h = curl_slist_append(h, auth);
    if (extra)
        h = curl_slist_append(h, extra);
    curl_easy_reset(c->easy);
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, 10000L);
    if (body) {
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_hdr);
    curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, r);
    uint64_t t0 = now_us();
    r->rc = curl_easy_perform(c->easy);
    r->secs = (double)(now_us() - t0) / 1e6;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    json_error_t jerr;
    r->json = r->len ? json_loadb(r->body, r->len, 0, &jerr) : NULL;
}

/* The value of a response header (case-insensitive name), or NULL. */
static const char *hdr(const struct resp *r, const char *name, char *buf, size_t size)
{
    size_t n = strlen(name);
    for (const char *line = r->hdrs; *line;) {
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            snprintf(buf, size, "%.*s", (int)(len - (size_t)(v - line)), v);
            return buf;
        }
        line += len + (eol ? 2 : 0);
    }
    return NULL;
}

static long long hdr_ll(const struct resp *r, const char *name)
{
    char buf[64];
    const char *v = hdr(r, name, buf, sizeof buf);
    return v ? atoll(v) : -1;
}

static const char *jstr(json_t *o, const char *path)
{
    /* path like "error.code" */
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *tok = strtok_r(tmp, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, tok);
    return json_string_value(cur);
}

static long long jint(json_t *o, const char *path)
{
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *tok = strtok_r(tmp, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, tok);
    return json_is_integer(cur) ? (long long)json_integer_value(cur) : -1;
}

/* ---- simulators -------------------------------------------------------- */

static struct sim *start_sim(const char *config, double scale, uint64_t jestha_extend_ms)
{
    struct sim_options o;
    sim_options_defaults(&o);
    o.config_json = config;
    o.time_scale = scale;
    o.jestha_extend_ms = jestha_extend_ms;
    o.webhook_backoff_ms = 20;
    char err[256];
    struct sim *s = sim_start(&o, err, sizeof err);
    if (!s)
        fail_msg("sim_start: %s", err);
    return s;
}

static json_t *get_stats(struct client *c)
{
    struct resp r = {0};
    http(c, &r, "GET", "/_stats", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *j = json_incref(r.json);
    resp_clear(&r);
    return j;
}

static long long stat_of(struct client *c, const char *path)
{
    json_t *j = get_stats(c);
    long long v = jint(j, path);
    json_decref(j);
    return v;
}

/* Polls /_stats until `path` equals want (or 10 s pass); returns the last value. */
static long long await_stat(struct client *c, const char *path, long long want)
{
    uint64_t deadline = now_us() + 10000000;
    long long v = stat_of(c, path);
    while (v != want && now_us() < deadline) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
        v = stat_of(c, path);
    }
    return v;
}

/* ---- a webhook receiver ------------------------------------------------ */

#define MAX_HOOKS 64

struct delivery {
    char id[64], ts[32], sig[256];
    char body[2048];
};

struct receiver {
    struct simhttp *server;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int fail_first; /* answer 500 to this many deliveries first */
    int n, failed;
    struct delivery d[MAX_HOOKS];
};

static void copy_header(h2o_req_t *req, const char *name, char *out, size_t size)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0)
        out[0] = '\0';
    else
        snprintf(out, size, "%.*s", (int)req->headers.entries[i].value.len,
                 req->headers.entries[i].value.base);
}

static int on_hook(void *app, h2o_req_t *req)
{
    struct receiver *rv = app;
    pthread_mutex_lock(&rv->lock);
    int fail = rv->fail_first > 0;
    if (fail) {
        rv->fail_first--;
        rv->failed++;
    } else if (rv->n < MAX_HOOKS) {
        struct delivery *d = &rv->d[rv->n++];
        copy_header(req, "webhook-id", d->id, sizeof d->id);
        copy_header(req, "webhook-timestamp", d->ts, sizeof d->ts);
        copy_header(req, "webhook-signature", d->sig, sizeof d->sig);
        snprintf(d->body, sizeof d->body, "%.*s", (int)req->entity.len, req->entity.base);
    }
    pthread_cond_broadcast(&rv->cond);
    pthread_mutex_unlock(&rv->lock);
    simhttp_send_json(req, fail ? 500 : 200, "{}", 2);
    return 0;
}

static struct receiver *receiver_start(int fail_first)
{
    struct receiver *rv = calloc(1, sizeof *rv);
    pthread_mutex_init(&rv->lock, NULL);
    pthread_cond_init(&rv->cond, NULL);
    rv->fail_first = fail_first;
    char err[256];
    rv->server = simhttp_start("127.0.0.1:0", 1 << 20, on_hook, NULL, rv, err, sizeof err);
    if (!rv->server)
        fail_msg("receiver: %s", err);
    return rv;
}

/* Waits up to timeout_ms for at least n deliveries; returns how many arrived. */
static int receiver_await(struct receiver *rv, int n, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&rv->lock);
    while (rv->n < n && pthread_cond_timedwait(&rv->cond, &rv->lock, &dl) == 0)
        ;
    int got = rv->n;
    pthread_mutex_unlock(&rv->lock);
    return got;
}

static void receiver_stop(struct receiver *rv)
{
    simhttp_stop(rv->server);
    pthread_mutex_destroy(&rv->lock);
    pthread_cond_destroy(&rv->cond);
    free(rv);
}

/* ---- unit: signer and windows ------------------------------------------ */

static void test_signer_matches_published_vector(void **state)
{
    unsigned char key[WHSIG_KEY_MAX];
    int n = whsig_decode_secret(VEC_SECRET, key);
    assert_int_equal(n, 24);
    char sig[WHSIG_SIG_LEN];
    const char *body = "{\"test\": 2432232314}";
    whsig_sign(key, (size_t)n, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, strlen(body),
               sig);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_true(
        whsig_verify(VEC_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, strlen(body),
                     "v1,bogus v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", 1614265330, 300));
    assert_false(whsig_verify(VEC_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                              "{\"test\": 2432232315}", strlen(body), sig, 1614265330, 300));
    /* Too old: more than 5 minutes. */
    assert_false(whsig_verify(VEC_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body,
                              strlen(body), sig, 1614265330 + 301, 300));
}

static void test_rolling_window_frees_one_slot_per_expired_send(void **state)
{
    struct swin w;
    swin_init(&w, SWIN_ROLLING, 3, 1000, 0);
    swin_add(&w, 100, 1);
    swin_add(&w, 200, 1);
    swin_add(&w, 300, 1);
    assert_int_equal(swin_remaining(&w, 400), 0);
    assert_int_equal(swin_free_at(&w, 400, 1), 1100);
    assert_int_equal(swin_reset_at(&w, 400), 1100);
    assert_int_equal(swin_remaining(&w, 1099), 0);
    assert_int_equal(swin_remaining(&w, 1100), 1);
    assert_int_equal(swin_free_at(&w, 1100, 3), 1300);
    swin_finish(&w);
}

static void test_fixed_window_aligns_to_epoch_multiples(void **state)
{
    struct swin w;
    swin_init(&w, SWIN_FIXED, 2, 1000, 0);
    swin_add(&w, 1999, 2);
    assert_int_equal(swin_free_at(&w, 1999, 1), 2000);
    assert_int_equal(swin_remaining(&w, 2000), 2);
    swin_finish(&w);
}

static void test_calendar_month_resets_on_the_first(void **state)
{
    struct swin w;
    swin_init(&w, SWIN_MONTH, 1, 1, 1);
    uint64_t feb15 = 1771156800ULL * 1000000; /* 2026-02-15T12:00:00Z */
    swin_add(&w, feb15, 1);
    assert_int_equal(swin_free_at(&w, feb15, 1), 1772323200ULL * 1000000); /* 2026-03-01 */
    swin_finish(&w);
}

/* ---- PostEverywhere ---------------------------------------------------- */

#define PE "/posteverywhere/api/v1"
#define PE_AUTH "Authorization: Bearer pe_live_1"

static const char pe_config[] =
    "{\"keys\":[{\"provider\":\"posteverywhere\",\"key\":\"pe_live_1\",\"label\":\"pe1\","
    "\"accounts\":[\"acc1\",\"acc2\"]}]}";

static void pe_post(struct client *c, struct resp *r, int i)
{
    char body[256];
    snprintf(body, sizeof body, "{\"content\":\"post %d\",\"account_ids\":[\"acc1\"]}", i);
    http(c, r, "POST", PE "/posts", PE_AUTH, NULL, body);
}

static void assert_pe_429(struct resp *r, const char *details, long limit)
{
    assert_int_equal(r->status, 429);
    assert_true(hdr_ll(r, "Retry-After") >= 1);
    assert_int_equal(hdr_ll(r, "X-RateLimit-Limit"), limit);
    assert_int_equal(hdr_ll(r, "X-RateLimit-Remaining"), 0);
    assert_true(hdr_ll(r, "X-RateLimit-Reset") >= (long long)(now_us() / 1000000));
    assert_string_equal(jstr(r->json, "error.code"), "rate_limit_exceeded");
    assert_string_equal(jstr(r->json, "error.message"),
                        "Rate limit exceeded. Please wait before retrying.");
    assert_string_equal(jstr(r->json, "error.details"), details);
    assert_non_null(jstr(r->json, "meta.request_id"));
    assert_non_null(jstr(r->json, "meta.timestamp"));
}

static void test_posteverywhere_limits_and_reset(void **state)
{
    struct sim *s = start_sim(pe_config, 60, 0); /* a minute is a second */
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    for (int i = 0; i < 20; i++) {
        pe_post(&c, &r, i);
        assert_int_equal(r.status, 201);
        assert_int_equal(hdr_ll(&r, "X-RateLimit-Remaining"), 19 - i);
    }
    json_t *results = json_object_get(json_object_get(r.json, "data"), "results");
    assert_string_equal(jstr(json_array_get(results, 0), "status"), "scheduled");
    assert_non_null(jstr(json_array_get(results, 0), "post_id"));
    pe_post(&c, &r, 20);
    assert_pe_429(&r, "You have exceeded the 20 POST /posts requests per minute limit.", 20);
    /* 20 posts counted in the key-wide 60/min; the refused one did not. */
    for (int i = 0; i < 40; i++) {
        http(&c, &r, "GET", PE "/accounts", PE_AUTH, NULL, NULL);
        assert_int_equal(r.status, 200);
    }
    http(&c, &r, "GET", PE "/posts", PE_AUTH, NULL, NULL);
    assert_pe_429(&r, "You have exceeded the 60 requests per minute limit.", 60);
    uint64_t reset = (uint64_t)hdr_ll(&r, "X-RateLimit-Reset") * 1000000;
    await_wall(reset);
    http(&c, &r, "GET", PE "/posts", PE_AUTH, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "data")), 20);
    assert_int_equal(stat_of(&c, "providers.posteverywhere.rate_limited_by.posts_minute"), 1);
    assert_int_equal(stat_of(&c, "providers.posteverywhere.rate_limited_by.key_minute"), 1);
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

static void test_posteverywhere_401_and_400(void **state)
{
    struct sim *s = start_sim(pe_config, 1, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    http(&c, &r, "GET", PE "/posts", NULL, NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_string_equal(jstr(r.json, "error.code"), "unauthorized");
    assert_non_null(jstr(r.json, "meta.request_id"));
    http(&c, &r, "GET", PE "/posts", "Authorization: Bearer nope", NULL, NULL);
    assert_int_equal(r.status, 401);
    http(&c, &r, "POST", PE "/posts", PE_AUTH, NULL, "{\"content\":\"\",\"account_ids\":[]}");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error.code"), "invalid_request");
    assert_string_equal(jstr(r.json, "error.message"), "Validation failed");
    assert_non_null(jstr(r.json, "error.details.content"));
    assert_non_null(jstr(r.json, "error.details.account_ids"));
    assert_int_equal(stat_of(&c, "providers.posteverywhere.unauthorized"), 2);
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

/* ---- SchedPilot -------------------------------------------------------- */

#define SP "/schedpilot/developers/v1"

static void test_schedpilot_user_bucket_shared_by_two_keys(void **state)
{
    const char *cfg = "{\"keys\":["
                      "{\"provider\":\"schedpilot\",\"key\":\"smm_a\",\"user\":\"u1\"},"
                      "{\"provider\":\"schedpilot\",\"key\":\"smm_b\",\"user\":\"u1\"},"
                      "{\"provider\":\"schedpilot\",\"key\":\"smm_c\",\"user\":\"u2\"}]}";
    struct sim *s = start_sim(cfg, 1800, 0); /* an hour is 2 s, aligned to even seconds */
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    char body[128];
    uint64_t start = await_window_start(2000000);
    for (int i = 0; i < 30; i++) {
        snprintf(body, sizeof body, "{\"content\":\"w%d\",\"accounts\":[\"x\",\"y\"]}", i);
        http(&c, &r, "POST", SP "/post", i % 2 ? "X-API-KEY: smm_b" : "X-API-KEY: smm_a", NULL,
             body);
        assert_int_equal(r.status, 201);
        assert_int_equal(json_array_size(json_object_get(r.json, "accounts")), 2);
    }
    http(&c, &r, "POST", SP "/post", "X-API-KEY: smm_b", NULL,
         "{\"content\":\"late\",\"accounts\":[\"x\"]}");
    assert_int_equal(r.status, 429);
    assert_string_equal(
        r.body, "{\"code\":429,\"message\":\"Rate limit exceeded. Max 30 write requests/hour.\"}");
    assert_int_equal(hdr_ll(&r, "X-RateLimit-Limit"), -1);
    assert_int_equal(hdr_ll(&r, "Retry-After"), -1);
    /* Another user has its own bucket. */
    http(&c, &r, "POST", SP "/post", "X-API-KEY: smm_c", NULL,
         "{\"content\":\"other\",\"accounts\":[\"x\"]}");
    assert_int_equal(r.status, 201);
    for (int i = 0; i < 60; i++) {
        http(&c, &r, "GET", SP "/posts", i % 2 ? "X-API-KEY: smm_b" : "X-API-KEY: smm_a", NULL,
             NULL);
        assert_int_equal(r.status, 200);
    }
    http(&c, &r, "GET", SP "/accounts", "X-API-KEY: smm_a", NULL, NULL);
    assert_int_equal(r.status, 429);
    assert_string_equal(
        r.body, "{\"code\":429,\"message\":\"Rate limit exceeded. Max 60 read requests/hour.\"}");
    assert_true(now_us() < start + 2000000); /* all of it inside one window */
    await_wall(start + 2000000);
    http(&c, &r, "POST", SP "/post", "X-API-KEY: smm_b", NULL,
         "{\"content\":\"next hour\",\"accounts\":[\"x\"]}");
    assert_int_equal(r.status, 201);
    http(&c, &r, "GET", SP "/posts", "X-API-KEY: smm_a", NULL, NULL);
    assert_int_equal(r.status, 200);
    http(&c, &r, "GET", SP "/posts", "X-API-KEY: wrong", NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.body, "{\"code\":401,\"message\":\"Unauthorized\"}");
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

static void test_schedpilot_delete_is_a_write_of_the_same_user(void **state)
{
    const char *cfg = "{\"keys\":["
                      "{\"provider\":\"schedpilot\",\"key\":\"smm_a\",\"user\":\"u1\","
                      "\"limits\":{\"write_hour\":2}},"
                      "{\"provider\":\"schedpilot\",\"key\":\"smm_b\",\"user\":\"u1\"},"
                      "{\"provider\":\"schedpilot\",\"key\":\"smm_c\",\"user\":\"u2\"}]}";
    struct sim *s = start_sim(cfg, 1, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    http(&c, &r, "POST", SP "/post", "X-API-KEY: smm_a", NULL,
         "{\"content\":\"to delete\",\"accounts\":[\"x\"]}");
    assert_int_equal(r.status, 201);
    char path[128];
    snprintf(path, sizeof path, SP "/posts/%s",
             jstr(json_array_get(json_object_get(r.json, "accounts"), 0), "post_id"));
    http(&c, &r, "DELETE", path, "X-API-KEY: smm_c", NULL, NULL); /* another user */
    assert_int_equal(r.status, 404);
    http(&c, &r, "DELETE", path, "X-API-KEY: smm_b", NULL, NULL);
    assert_int_equal(r.status, 200);
    http(&c, &r, "DELETE", path, "X-API-KEY: smm_b", NULL, NULL); /* third write of u1 */
    assert_int_equal(r.status, 429);
    assert_string_equal(jstr(r.json, "message"), "Rate limit exceeded. Max 2 write requests/hour.");
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

/* ---- FeedHorizon ------------------------------------------------------- */

#define FH "/feedhorizon/v1"

static void test_feedhorizon_sliding_window_reset_in_seconds(void **state)
{
    struct sim *s =
        start_sim("{\"keys\":[{\"provider\":\"feedhorizon\",\"key\":\"fh_1\"}]}", 60, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    for (int i = 0; i < 100; i++) {
        http(&c, &r, "GET", FH "/posts", "Authorization: Bearer fh_1", NULL, NULL);
        assert_int_equal(r.status, 200);
        assert_int_equal(hdr_ll(&r, "X-RateLimit-Remaining"), 99 - i);
        assert_true(hdr_ll(&r, "X-RateLimit-Reset") >= 1 && hdr_ll(&r, "X-RateLimit-Reset") <= 60);
    }
    http(&c, &r, "POST", FH "/posts", "Authorization: Bearer fh_1", NULL,
         "{\"content\":\"x\",\"platforms\":[\"twitter\"]}");
    assert_int_equal(r.status, 429);
    assert_string_equal(
        r.body, "{\"error\":{\"code\":\"RATE_LIMITED\",\"message\":\"Too many requests\"}}");
    assert_int_equal(hdr_ll(&r, "X-RateLimit-Limit"), 100);
    assert_int_equal(hdr_ll(&r, "X-RateLimit-Remaining"), 0);
    long long wait_s = hdr_ll(&r, "X-RateLimit-Reset");
    assert_int_equal(wait_s, 1); /* seconds, rounded up: the window is 1 s at this scale */
    await_wall(now_us() + (uint64_t)wait_s * 1000000);
    http(&c, &r, "POST", FH "/posts", "Authorization: Bearer fh_1", NULL,
         "{\"content\":\"x\",\"platforms\":[\"twitter\",\"linkedin\"]}");
    assert_int_equal(r.status, 201);
    assert_string_equal(
        jstr(json_array_get(json_object_get(json_object_get(r.json, "data"), "platforms"), 1),
             "status"),
        "queued");
    http(&c, &r, "GET", FH "/posts", NULL, NULL, NULL);
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

/* ---- Postlark ---------------------------------------------------------- */

#define PL "/postlark/v1"

static void test_postlark_hourly_limit_and_post_quotas(void **state)
{
    const char *cfg = "{\"keys\":["
                      "{\"provider\":\"postlark\",\"key\":\"pk_free\",\"plan\":\"free\","
                      "\"accounts\":[\"blog1\"]},"
                      "{\"provider\":\"postlark\",\"key\":\"pk_starter\",\"plan\":\"starter\"}]}";
    struct sim *s = start_sim(cfg, 1800, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    char body[128];
    uint64_t start = await_window_start(2000000);
    for (int i = 0; i < 10; i++) {
        snprintf(body, sizeof body, "{\"content\":\"p%d\",\"blog_id\":\"blog1\"}", i);
        http(&c, &r, "POST", PL "/posts", "Authorization: Bearer pk_free", NULL, body);
        assert_int_equal(r.status, 201);
        assert_string_equal(jstr(r.json, "status"), "published");
    }
    http(&c, &r, "POST", PL "/posts", "Authorization: Bearer pk_free", NULL,
         "{\"content\":\"p10\",\"blog_id\":\"blog1\"}");
    assert_int_equal(r.status, 402);
    assert_string_equal(jstr(r.json, "error"), "post_limit_exceeded");
    for (int i = 0; i < 50; i++) {
        http(&c, &r, "GET", PL "/posts", "Authorization: Bearer pk_free", NULL, NULL);
        assert_int_equal(r.status, 200);
        assert_int_equal(hdr_ll(&r, "X-RateLimit-Remaining"), 49 - i);
    }
    http(&c, &r, "GET", PL "/posts", "Authorization: Bearer pk_free", NULL, NULL);
    assert_int_equal(r.status, 429);
    assert_string_equal(jstr(r.json, "error"), "rate_limit_exceeded");
    assert_string_equal(jstr(r.json, "message"), "Rate limit exceeded. Limit: 60 requests/hour.");
    assert_int_equal(jint(r.json, "retry_after"), 2);
    assert_int_equal(hdr_ll(&r, "X-RateLimit-Limit"), 60);
    assert_int_equal(hdr_ll(&r, "X-RateLimit-Remaining"), 0);
    assert_int_equal(hdr_ll(&r, "X-RateLimit-Reset"), (long long)((start + 2000000) / 1000000));
    assert_true(now_us() < start + 2000000);
    await_wall((uint64_t)hdr_ll(&r, "X-RateLimit-Reset") * 1000000);
    http(&c, &r, "GET", PL "/posts", "Authorization: Bearer pk_free", NULL, NULL);
    assert_int_equal(r.status, 200);
    /* Starter: 15 posts a (scaled) month, then 429 with the time to the next month. */
    for (int i = 0; i < 15; i++) {
        snprintf(body, sizeof body, "{\"content\":\"s%d\",\"blog_id\":\"b\"}", i);
        http(&c, &r, "POST", PL "/posts", "Authorization: Bearer pk_starter", NULL, body);
        assert_int_equal(r.status, 201);
    }
    http(&c, &r, "POST", PL "/posts", "Authorization: Bearer pk_starter", NULL,
         "{\"content\":\"s15\",\"blog_id\":\"b\"}");
    assert_int_equal(r.status, 429);
    assert_string_equal(jstr(r.json, "error"), "post_limit_exceeded");
    assert_true(jint(r.json, "retry_after") >= 1 && jint(r.json, "retry_after") <= 1440);
    http(&c, &r, "POST", PL "/posts", "Authorization: Bearer pk_free", NULL,
         "{\"content\":\"two\",\"blog_ids\":[\"a\",\"b\"]}");
    assert_int_equal(r.status, 400);
    http(&c, &r, "GET", PL "/posts", "Authorization: Bearer bad", NULL, NULL);
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

/* ---- Jestha ------------------------------------------------------------ */

#define JE "/jestha"

static void je_post(struct client *c, struct resp *r, const char *auth, int i)
{
    char body[128];
    snprintf(body, sizeof body, "{\"content\":\"jes %d\"}", i);
    http(c, r, "POST", JE "/api/posts", auth, NULL, body);
}

static void test_jestha_key_limits_and_reset(void **state)
{
    struct sim *s = start_sim(
        "{\"keys\":[{\"provider\":\"jestha\",\"key\":\"jk_1\",\"account\":\"j1\"}]}", 60, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    for (int i = 0; i < 10; i++) {
        je_post(&c, &r, "Authorization: Bearer jk_1", i);
        assert_int_equal(r.status, 201);
        assert_int_equal(hdr_ll(&r, "X-Jestha-Api-Version"), 1);
    }
    je_post(&c, &r, "Authorization: Bearer jk_1", 10);
    assert_int_equal(r.status, 429);
    assert_string_equal(jstr(r.json, "error"), "Rate limit exceeded");
    assert_string_equal(jstr(r.json, "message"),
                        "This API key is limited to 10 posts per minute on POST /api/posts.");
    assert_int_equal(jint(r.json, "retryAfter"), 1);
    assert_int_equal(hdr_ll(&r, "X-RateLimit-Remaining"), 50); /* headers: the per-minute window */
    for (int i = 0; i < 50; i++) {
        http(&c, &r, "GET", JE "/api/posts", "Authorization: Bearer jk_1", NULL, NULL);
        assert_int_equal(r.status, 200);
    }
    http(&c, &r, "GET", JE "/api/posts", "Authorization: Bearer jk_1", NULL, NULL);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.body, "{\"error\":\"Rate limit exceeded\",\"message\":\"This API key is "
                                "limited to 60 requests per minute.\",\"retryAfter\":1}");
    assert_int_equal(hdr_ll(&r, "X-RateLimit-Limit"), 60);
    assert_int_equal(hdr_ll(&r, "X-RateLimit-Remaining"), 0);
    assert_int_equal(hdr_ll(&r, "X-Jestha-Api-Version"), 1);
    await_wall((uint64_t)hdr_ll(&r, "X-RateLimit-Reset") * 1000000);
    http(&c, &r, "GET", JE "/api/posts", "Authorization: Bearer jk_1", NULL, NULL);
    assert_int_equal(r.status, 200);
    http(&c, &r, "GET", JE "/api/posts", "Authorization: Bearer nope", NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_int_equal(hdr_ll(&r, "X-Jestha-Api-Version"), -1); /* not a keyed response */
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

static void test_jestha_lockout_extends_on_early_requests(void **state)
{
    /* Scale 60: minute = 1 s; each early request adds 30 s / 60 = 0.5 s. */
    struct sim *s = start_sim(
        "{\"keys\":[{\"provider\":\"jestha\",\"key\":\"jk_1\",\"account\":\"j1\"}]}", 60, 30000);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    for (int i = 0; i < 10; i++)
        je_post(&c, &r, "Authorization: Bearer jk_1", i);
    je_post(&c, &r, "Authorization: Bearer jk_1", 10);
    assert_int_equal(r.status, 429);
    for (int i = 0; i < 4; i++)
        je_post(&c, &r, "Authorization: Bearer jk_1", 11 + i);
    assert_int_equal(r.status, 429);
    assert_true(jint(r.json, "retryAfter") >= 2); /* 1 s window + 4 x 0.5 s */
    assert_int_equal(stat_of(&c, "providers.jestha.lockout_extensions"), 4);
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

static void test_jestha_account_quota_shared_across_keys(void **state)
{
    const char *cfg = "{\"keys\":["
                      "{\"provider\":\"jestha\",\"key\":\"jk_a\",\"account\":\"acct\","
                      "\"limits\":{\"account_day\":5}},"
                      "{\"provider\":\"jestha\",\"key\":\"jk_b\",\"account\":\"acct\"},"
                      "{\"provider\":\"jestha\",\"key\":\"jk_other\",\"account\":\"other\"}]}";
    struct sim *s = start_sim(cfg, 60, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    for (int i = 0; i < 5; i++) {
        je_post(&c, &r, i < 3 ? "Authorization: Bearer jk_a" : "Authorization: Bearer jk_b", i);
        assert_int_equal(r.status, 201);
    }
    je_post(&c, &r, "Authorization: Bearer jk_a", 5);
    assert_int_equal(r.status, 429);
    assert_string_equal(jstr(r.json, "error"), "Daily content quota exceeded");
    assert_string_equal(jstr(r.json, "message"),
                        "Your account has hit the 5 posts/day limit for content posted via API "
                        "keys. Try again tomorrow.");
    assert_true(jint(r.json, "retryAfter") >= 1 && jint(r.json, "retryAfter") <= 1440);
    je_post(&c, &r, "Authorization: Bearer jk_other", 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(stat_of(&c, "providers.jestha.rate_limited_by.account_day"), 1);
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

static void test_jestha_media_rules(void **state)
{
    struct sim *s = start_sim("{\"keys\":[{\"provider\":\"jestha\",\"key\":\"jk_1\"}]}", 1, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    const char *auth = "Authorization: Bearer jk_1";
#define M(type, size)                                                                              \
    "{\"url\":\"https://x/y\",\"mime_type\":\"" type "\",\"size_bytes\":" #size "}"
    http(&c, &r, "POST", JE "/api/posts", auth, NULL,
         "{\"content\":\"ok\",\"media\":[" M("image/jpeg", 8000000) "," M("video/webm", 1) "," M(
             "video/quicktime", 5) "," M("image/webp", 7) "]}");
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(jstr(r.json, "id"), "jes_"));
    http(&c, &r, "POST", JE "/api/posts", auth, NULL,
         "{\"content\":\"big\",\"media\":[" M("image/png", 8000001) "]}");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error"), "Invalid media");
    http(&c, &r, "POST", JE "/api/posts", auth, NULL,
         "{\"content\":\"bmp\",\"media\":[" M("image/bmp", 10) "]}");
    assert_int_equal(r.status, 400);
    http(&c, &r, "POST", JE "/api/posts", auth, NULL,
         "{\"content\":\"five\",\"media\":[" M("image/gif", 1) "," M("image/gif", 1) "," M(
             "image/gif", 1) "," M("image/gif", 1) "," M("image/gif", 1) "]}");
    assert_int_equal(r.status, 400);
    assert_int_equal(hdr_ll(&r, "X-Jestha-Api-Version"), 1);
#undef M
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

/* The alt dialect: other member names, strict bodies, other answer shapes;
 * the documented media limits stay. */
static void test_alt_dialect_names_and_answers(void **state)
{
    struct sim *s = start_sim("{\"dialect\":\"alt\",\"keys\":[{\"provider\":\"jestha\",\"key\":\"jk_1\"},"
                              "{\"provider\":\"feedhorizon\",\"key\":\"fh_1\"},"
                              "{\"provider\":\"postlark\",\"key\":\"pk_1\",\"plan\":\"scale\"}]}",
                              1, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    const char *je = "Authorization: Bearer jk_1", *fh = "Authorization: Bearer fh_1";
    http(&c, &r, "POST", JE "/api/posts", je, NULL,
         "{\"content\":\"a\",\"media\":[{\"url\":\"https://x/y\",\"mime_type\":\"image/png\","
         "\"size_bytes\":10}]}");
    assert_int_equal(r.status, 400);
    assert_string_equal(jstr(r.json, "error"), "Invalid media");
    http(&c, &r, "POST", JE "/api/posts", je, NULL,
         "{\"content\":\"b\",\"media\":[{\"src\":\"https://x/y\",\"type\":\"image/png\","
         "\"bytes\":8000001}]}");
    assert_int_equal(r.status, 400);
    http(&c, &r, "POST", JE "/api/posts", je, NULL,
         "{\"content\":\"c\",\"client_reference\":\"r1\",\"media\":[{\"src\":\"https://x/y\","
         "\"type\":\"image/png\",\"bytes\":10}]}");
    assert_int_equal(r.status, 201);
    assert_memory_equal(r.body, "\"jes_", 5); /* a bare JSON string */
    assert_int_equal(hdr_ll(&r, "X-Jestha-Api-Version"), 1);
    http(&c, &r, "POST", JE "/api/posts", je, NULL, "{\"content\":\"d\",\"reference\":\"r2\"}");
    assert_int_equal(r.status, 400); /* strict: "reference" is not a field here */
    http(&c, &r, "POST", FH "/posts", fh, NULL, "{\"content\":\"e\",\"platforms\":[\"x\"]}");
    assert_int_equal(r.status, 400);
    http(&c, &r, "POST", FH "/posts", fh, NULL, "{\"content\":\"f\",\"channels\":[\"x\",\"y\"]}");
    assert_int_equal(r.status, 202);
    json_t *ids = json_object_get(json_object_get(r.json, "data"), "post_ids");
    assert_int_equal(json_array_size(ids), 2);
    assert_non_null(strstr(json_string_value(json_array_get(ids, 1)), "fhp_"));
    http(&c, &r, "POST", PL "/posts", "Authorization: Bearer pk_1", NULL,
         "{\"content\":\"g\",\"blog\":\"b1\"}");
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(jstr(json_object_get(r.json, "post"), "postId"), "pl_"));
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

/* ---- webhooks, duplicates, faults -------------------------------------- */

static char *hook_config(int port, const char *extra_key)
{
    char *cfg = malloc(1024);
    snprintf(cfg, 1024,
             "{\"webhook_url\":\"http://127.0.0.1:%d\",\"webhook_secret\":\"%s\",\"keys\":["
             "{\"provider\":\"posteverywhere\",\"key\":\"pe_live_1\",\"accounts\":[\"acc1\","
             "\"acc2\"]}%s]}",
             port, VEC_SECRET, extra_key);
    return cfg;
}

static void test_webhooks_are_signed_and_delivered_with_retries(void **state)
{
    struct receiver *rv = receiver_start(1); /* the first delivery gets a 500 */
    char *cfg = hook_config(simhttp_port(rv->server), "");
    struct sim *s = start_sim(cfg, 1, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    http(&c, &r, "POST", PE "/posts", PE_AUTH, "Idempotency-Key: tgt-42",
         "{\"content\":\"hello\",\"account_ids\":[\"acc1\",\"acc2\"],\"reference\":\"tgt-42\"}");
    assert_int_equal(r.status, 201);
    json_t *results = json_object_get(json_object_get(r.json, "data"), "results");
    assert_int_equal(receiver_await(rv, 2, 10000), 2);
    for (int i = 0; i < 2; i++) {
        struct delivery *d = &rv->d[i];
        assert_true(whsig_verify(VEC_SECRET, d->id, d->ts, d->body, strlen(d->body), d->sig,
                                 (int64_t)time(NULL), 300));
        json_error_t jerr;
        json_t *ev = json_loads(d->body, 0, &jerr);
        assert_non_null(ev);
        assert_string_equal(jstr(ev, "type"), "post.published");
        assert_string_equal(jstr(ev, "id"), d->id);
        assert_string_equal(jstr(ev, "data.reference"), "tgt-42");
        assert_string_equal(jstr(ev, "data.provider"), "posteverywhere");
        int found = 0;
        for (size_t k = 0; k < 2; k++)
            found |=
                strcmp(jstr(json_array_get(results, k), "post_id"), jstr(ev, "data.post_id")) == 0;
        assert_true(found);
        json_decref(ev);
    }
    assert_string_not_equal(rv->d[0].id, rv->d[1].id);
    assert_int_equal(rv->failed, 1);
    assert_int_equal(await_stat(&c, "providers.posteverywhere.webhooks.delivered", 2), 2);
    assert_int_equal(stat_of(&c, "providers.posteverywhere.webhooks.retried"), 1);
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
    receiver_stop(rv);
    free(cfg);
}

static void test_webhook_faults_duplicate_and_fail(void **state)
{
    struct receiver *rv = receiver_start(0);
    char *cfg = hook_config(simhttp_port(rv->server), "");
    struct sim *s = start_sim(cfg, 1, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    http(&c, &r, "POST", "/_faults", NULL, NULL,
         "{\"webhook_duplicate_ratio\":1,\"webhook_fail_ratio\":1,\"webhook_reorder\":true,"
         "\"webhook_reorder_ms\":20,\"seed\":7}");
    assert_int_equal(r.status, 200);
    http(&c, &r, "POST", PE "/posts", PE_AUTH, NULL,
         "{\"content\":\"dup\",\"account_ids\":[\"acc1\"],\"reference\":\"r1\"}");
    assert_int_equal(r.status, 201);
    assert_int_equal(receiver_await(rv, 2, 10000), 2);
    assert_string_equal(rv->d[0].id, rv->d[1].id);
    assert_string_equal(rv->d[0].body, rv->d[1].body);
    json_error_t jerr;
    json_t *ev = json_loads(rv->d[0].body, 0, &jerr);
    assert_string_equal(jstr(ev, "type"), "post.failed");
    assert_non_null(jstr(ev, "data.error.code"));
    json_decref(ev);
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
    receiver_stop(rv);
    free(cfg);
}

static void test_stats_count_duplicates(void **state)
{
    struct sim *s = start_sim(pe_config, 1, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    const char *b1 = "{\"content\":\"same\",\"account_ids\":[\"acc1\",\"acc2\"]}";
    http(&c, &r, "POST", PE "/posts", PE_AUTH, "Idempotency-Key: k1", b1);
    assert_int_equal(r.status, 201);
    /* The same idempotency key again, other content: two account-posts duplicated. */
    http(&c, &r, "POST", PE "/posts", PE_AUTH, "Idempotency-Key: k1",
         "{\"content\":\"changed\",\"account_ids\":[\"acc1\",\"acc2\"]}");
    assert_int_equal(r.status, 201);
    /* The same content for acc1 under a new key: one more. */
    http(&c, &r, "POST", PE "/posts", PE_AUTH, "Idempotency-Key: k2",
         "{\"content\":\"same\",\"account_ids\":[\"acc1\"]}");
    assert_int_equal(r.status, 201);
    json_t *st = get_stats(&c);
    assert_int_equal(jint(st, "providers.posteverywhere.created"), 5);
    assert_int_equal(jint(st, "providers.posteverywhere.duplicates"), 3);
    assert_int_equal(jint(st, "providers.posteverywhere.dup_idempotency"), 2);
    assert_int_equal(jint(st, "providers.posteverywhere.dup_content"), 1);
    json_decref(st);
    /* _reset clears everything. */
    http(&c, &r, "POST", "/_reset", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(stat_of(&c, "providers.posteverywhere.created"), 0);
    http(&c, &r, "POST", PE "/posts", PE_AUTH, "Idempotency-Key: k1", b1);
    assert_int_equal(stat_of(&c, "providers.posteverywhere.duplicates"), 0);
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

static void test_faults_errors_latency_drop_partial(void **state)
{
    struct sim *s = start_sim(pe_config, 1, 0);
    struct client c;
    client_init(&c, sim_port(s));
    struct resp r = {0};
    const char *body = "{\"content\":\"f\",\"account_ids\":[\"acc1\",\"acc2\"]}";
    http(&c, &r, "POST", "/_faults", NULL, NULL, "{\"error_ratio\":1}");
    http(&c, &r, "POST", PE "/posts", PE_AUTH, NULL, body);
    assert_int_equal(r.status, 500);
    assert_string_equal(jstr(r.json, "error.code"), "server_error");
    assert_int_equal(stat_of(&c, "providers.posteverywhere.created"), 0);
    http(&c, &r, "POST", "/_faults", NULL, NULL,
         "{\"error_ratio\":0,\"error_after_create_ratio\":1}");
    http(&c, &r, "POST", PE "/posts", PE_AUTH, NULL, body);
    assert_int_equal(r.status, 500);
    assert_int_equal(stat_of(&c, "providers.posteverywhere.created"), 2);
    http(&c, &r, "POST", "/_faults", NULL, NULL,
         "{\"error_after_create_ratio\":0,\"latency_ms\":150}");
    http(&c, &r, "GET", PE "/posts", PE_AUTH, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_true(r.secs >= 0.14);
    http(&c, &r, "POST", "/_faults", NULL, NULL, "{\"latency_ms\":0,\"drop_ratio\":1}");
    http(&c, &r, "GET", PE "/posts", PE_AUTH, NULL, NULL);
    assert_int_not_equal(r.rc, CURLE_OK);
    http(&c, &r, "POST", "/_faults", NULL, NULL, "{\"drop_ratio\":0,\"partial_failure_ratio\":1}");
    http(&c, &r, "POST", PE "/posts", PE_AUTH, NULL, body);
    assert_int_equal(r.status, 201);
    json_t *res = json_object_get(json_object_get(r.json, "data"), "results");
    assert_string_equal(jstr(json_array_get(res, 0), "status"), "failed");
    assert_string_equal(jstr(json_array_get(res, 1), "error.code"), "platform_error");
    http(&c, &r, "POST", "/_faults", NULL, NULL, "{\"error_ratio\":2}");
    assert_int_equal(r.status, 400);
    json_t *st = get_stats(&c);
    /* libcurl re-sends once by itself when a reused connection dies without an answer. */
    assert_in_range(jint(st, "providers.posteverywhere.dropped"), 1, 2);
    assert_int_equal(jint(st, "providers.posteverywhere.server_errors"), 2);
    assert_int_equal(jint(st, "providers.posteverywhere.failed_targets"), 2);
    json_decref(st);
    resp_clear(&r);
    client_finish(&c);
    sim_stop(s);
}

/* The binary prints port=N first and serves until SIGTERM. */
static void test_binary_prints_port_and_serves(void **state)
{
    char cfgpath[] = "/tmp/postpace-sim-test-XXXXXX", logpath[] = "/tmp/postpace-sim-log-XXXXXX";
    int lfd = mkstemp(logpath);
    assert_true(lfd >= 0);
    close(lfd);
    int fd = mkstemp(cfgpath);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, pe_config, strlen(pe_config)), (ssize_t)strlen(pe_config));
    close(fd);
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execl(POSTPACE_SIM_BIN, POSTPACE_SIM_BIN, "--listen", "127.0.0.1:0", "--config", cfgpath,
              "--time-scale", "60", "--log-requests", logpath, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[64] = "";
    assert_non_null(fgets(line, sizeof line, f));
    int port = 0;
    assert_int_equal(sscanf(line, "port=%d", &port), 1);
    struct client c;
    client_init(&c, port);
    struct resp r = {0};
    http(&c, &r, "GET", PE "/accounts", PE_AUTH, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *st = get_stats(&c);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(st, "keys"), 0), "requests")),
                     1);
    json_decref(st);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fclose(f);
    FILE *lf = fopen(logpath, "r");
    char logline[512] = "";
    assert_non_null(fgets(logline, sizeof logline, lf));
    fclose(lf);
    assert_non_null(strstr(logline, " provider=posteverywhere key=pe1 method=GET path=/accounts "));
    assert_non_null(strstr(logline, " status=200 "));
    assert_null(strstr(logline, "pe_live_1")); /* the label, never the secret */
    unlink(logpath);
    unlink(cfgpath);
    resp_clear(&r);
    client_finish(&c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signer_matches_published_vector),
        cmocka_unit_test(test_rolling_window_frees_one_slot_per_expired_send),
        cmocka_unit_test(test_fixed_window_aligns_to_epoch_multiples),
        cmocka_unit_test(test_calendar_month_resets_on_the_first),
        cmocka_unit_test(test_posteverywhere_limits_and_reset),
        cmocka_unit_test(test_posteverywhere_401_and_400),
        cmocka_unit_test(test_schedpilot_user_bucket_shared_by_two_keys),
        cmocka_unit_test(test_schedpilot_delete_is_a_write_of_the_same_user),
        cmocka_unit_test(test_feedhorizon_sliding_window_reset_in_seconds),
        cmocka_unit_test(test_postlark_hourly_limit_and_post_quotas),
        cmocka_unit_test(test_jestha_key_limits_and_reset),
        cmocka_unit_test(test_alt_dialect_names_and_answers),
        cmocka_unit_test(test_jestha_lockout_extends_on_early_requests),
        cmocka_unit_test(test_jestha_account_quota_shared_across_keys),
        cmocka_unit_test(test_jestha_media_rules),
        cmocka_unit_test(test_webhooks_are_signed_and_delivered_with_retries),
        cmocka_unit_test(test_webhook_faults_duplicate_and_fail),
        cmocka_unit_test(test_stats_count_duplicates),
        cmocka_unit_test(test_faults_errors_latency_drop_partial),
        cmocka_unit_test(test_binary_prints_port_and_serves),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
