/*
 * Every HTTP route driven with mutated inputs: a seeded, bounded run of
 * requests built from valid ones (API bodies, query strings, path ids,
 * correctly signed webhooks whose id, timestamp, signature or body are
 * bent) with a field replaced by a hostile value, dropped, retyped, or the
 * bytes themselves broken (invalid UTF-8, NUL, truncation). The database
 * stays up throughout, so every answer must be below 500: a 5xx is a
 * client-controlled input that reached somewhere it should have been
 * refused with a 4xx naming it. The daemon must still stop cleanly after.
 * FUZZ_REQUESTS sets how many requests (default 3000); FAULT_SEED replays.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "faultfx.h"
#include "pgtest.h"
#include "proc.h"
#include "webhook/whsig.h"

#define TOKEN "tok-0123456789abcdef"
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define BODY_MAX (96 * 1024)

static char base[128];

/* ---- hostile values ---- */

static const char *const nasty_strings[] = {
    "", " ", "\xc2\xa0", "\xe2\x80\x83\xe2\x80\x8b", "0", "-1", "1e999", "NaN", "null",
    "0001-01-01T00:00:00Z", "0000-00-00T00:00:00Z", "1969-12-31T23:59:59Z",
    "9999-12-31T23:59:59-15:00", "9999-12-31T23:59:59Z", "10000-01-01T00:00:00Z",
    "2026-02-30T10:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:59:60Z",
    "2026-01-01T10:00:00+25:00", "2026-01-01T10:00:00.1234567890123Z", "2026-01-01",
    "294277-01-01T00:00:00Z", "-infinity", "infinity", "epoch", "now", "today",
    "Europe/Nowhere", "../../etc/passwd", "'; DROP TABLE posts; --", "%00", "%ff%fe",
    "\xff\xfe", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\tb", "\x1b[31m",
    "\xf0\x9f\x98\x80", "\xd8\xa7\xd9\x84", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "99999999999999999999999", "1.5", "0x10", "+1", "1 ",
    "posteverywhere", "jestha", "scheduled", "published", "failed", "je",
};

static const char *nasty_string(void)
{
    return nasty_strings[ffx_rand(0, (int)(sizeof nasty_strings / sizeof *nasty_strings) - 1)];
}

static json_t *long_string(void)
{
    size_t n = (size_t)ffx_rand(200, 70000);
    char *s = malloc(n + 1);
    memset(s, 'x', n);
    s[n] = '\0';
    json_t *v = json_string(s);
    free(s);
    return v;
}

static json_t *nasty_value(int depth)
{
    switch (ffx_rand(0, 13)) {
    case 0: return json_null();
    case 1: return json_true();
    case 2: return json_integer(INT64_MAX);
    case 3: return json_integer(INT64_MIN);
    case 4: return json_integer(ffx_rand(-3, 3));
    case 5: return json_real(1e308);
    case 6: return json_real(-0.5);
    case 7: return long_string();
    case 8: return json_object();
    case 9: {
        json_t *a = json_array();
        int n = ffx_rand(0, 3) == 0 ? ffx_rand(100, 2000) : ffx_rand(0, 4);
        for (int i = 0; i < n; i++)
            json_array_append_new(a, depth < 3 && ffx_rand(0, 3) == 0 ? nasty_value(depth + 1)
                                                                       : json_string("a"));
        return a;
    }
    case 10: {
        json_t *o = json_object();
        json_object_set_new(o, "url", nasty_value(depth + 1));
        json_object_set_new(o, "mime_type", json_string("image/png"));
        json_object_set_new(o, "size_bytes", nasty_value(depth + 1));
        json_t *a = json_array();
        json_array_append_new(a, o);
        return a;
    }
    default: {
        /* jansson keeps invalid UTF-8 out of its strings: those go in as bytes later. */
        const char *s = nasty_string();
        json_t *v = json_string(s);
        return v ? v : json_string("?");
    }
    }
}

/* Replaces, drops or adds one field of obj (recursing into nested objects sometimes). */
static void mutate_object(json_t *obj)
{
    size_t n = json_object_size(obj);
    int op = ffx_rand(0, 9);
    if (n == 0 || op == 0) {
        json_object_set_new(obj, ffx_rand(0, 1) ? "unknown_field" : nasty_string(),
                            nasty_value(0));
        return;
    }
    int pick = ffx_rand(0, (int)n - 1), i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (i++ != pick)
            continue;
        if (json_is_object(v) && ffx_rand(0, 1))
            mutate_object(v);
        else if (op == 1)
            json_object_del(obj, key);
        else
            json_object_set_new(obj, key, nasty_value(0));
        return;
    }
}

/* Breaks the bytes of buf (length *len, room BODY_MAX) in one of several ways. */
static void mutate_bytes(char *buf, size_t *len)
{
    static const char *const inserts[] = {"\xff", "\xc0\x80", "\x00", "\xed\xa0\x80", "\\u0000",
                                          "\\ud800", "\"", "{", "]", "\\", ",,", "\x7f"};
    size_t at = *len ? (size_t)ffx_rand(0, (int)*len - 1) : 0;
    switch (ffx_rand(0, 3)) {
    case 0: *len = at; break; /* truncated */
    case 1: buf[at] = (char)ffx_rand(0, 255); break;
    default: {
        const char *ins = inserts[ffx_rand(0, (int)(sizeof inserts / sizeof *inserts) - 1)];
        size_t k = *ins ? strlen(ins) : 1;
        if (*len + k < BODY_MAX) {
            memmove(buf + at + k, buf + at, *len - at);
            memcpy(buf + at, ins, k);
            *len += k;
        }
    }
    }
}

/* JSON text of a mutated template into buf; sometimes its bytes broken too. */
static size_t mutated_body(const char *template, char *buf)
{
    json_t *root = json_loads(template, 0, NULL);
    for (int i = ffx_rand(1, 3); i > 0; i--)
        mutate_object(root);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    size_t len = strlen(text);
    if (len >= BODY_MAX)
        len = BODY_MAX - 1;
    memcpy(buf, text, len);
    free(text);
    if (ffx_rand(0, 4) == 0)
        mutate_bytes(buf, &len);
    buf[len] = '\0';
    return len;
}

/* Percent-encodes a hostile value (every byte outside unreserved). */
static void encode(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, size - o, "%%%02X", *p);
    }
    out[o] = '\0';
}

static const char *query_value(char *buf, size_t size)
{
    int r = ffx_rand(0, 9);
    if (r == 0) { /* a forged cursor: base64 of something odd */
        static const char *const cursors[] = {"MjAyNi0wMS0wMQ", "OTk5OTk5OTk5OTk5OTk5OTl8MQ",
                                              "LTk5OTk5OTk5OTk5OXwtMQ", "AAAA", "____", "%%%"};
        snprintf(buf, size, "%s", cursors[ffx_rand(0, 5)]);
        return buf;
    }
    encode(nasty_string(), buf, size);
    return buf;
}

/* ---- the requests ---- */

struct req {
    const char *method;
    char url[1024];
    char body[BODY_MAX];
    size_t len;
    int has_body, webhook;
    char hdr[4][2600];
};

static const char *const post_template =
    "{\"external_id\":\"fz-1\",\"provider_key\":\"je\",\"account_ids\":[\"a1\",\"a2\"],"
    "\"content\":\"Hello\",\"scheduled_at\":\"2099-01-01T09:00:00Z\",\"time_zone\":\"UTC\","
    "\"media\":[{\"url\":\"https://example.invalid/a.png\",\"mime_type\":\"image/png\","
    "\"size_bytes\":1000}]}";
static const char *const event_template =
    "{\"type\":\"post.published\",\"data\":{\"provider\":\"x\",\"reference\":\"pp-1-abc\","
    "\"post_id\":\"p-1\",\"account_id\":\"a1\",\"error\":{\"code\":\"c\",\"message\":\"m\"}}}";

static const char *post_id(char *buf, size_t size)
{
    static const char *const ids[] = {"1", "2", "0", "-1", "99999999999999999999", "abc", "%00",
                                      "1%20", "1.0", "%ff", "9223372036854775807", "+1"};
    snprintf(buf, size, "%s", ids[ffx_rand(0, (int)(sizeof ids / sizeof *ids) - 1)]);
    return buf;
}

static void list_query(struct req *r, const char *path)
{
    static const char *const params[] = {"status", "provider", "key", "from", "to",
                                         "limit", "cursor", "bogus"};
    size_t o = (size_t)snprintf(r->url, sizeof r->url, "%s%s?", base, path);
    for (int i = ffx_rand(1, 3); i > 0 && o < sizeof r->url - 300; i--) {
        char v[256];
        o += (size_t)snprintf(r->url + o, sizeof r->url - o, "%s=%s&",
                              params[ffx_rand(0, 7)], query_value(v, sizeof v));
    }
}

static void webhook(struct req *r)
{
    static const char *const providers[] = {"posteverywhere", "schedpilot", "feedhorizon",
                                            "postlark", "jestha", "nope", "%00"};
    snprintf(r->url, sizeof r->url, "%s/webhooks/%s", base, providers[ffx_rand(0, 6)]);
    r->has_body = r->webhook = 1;
    if (ffx_rand(0, 1)) { /* half the bodies readable, so the id and headers reach storage */
        r->len = strlen(event_template);
        memcpy(r->body, event_template, r->len + 1);
    } else {
        r->len = mutated_body(event_template, r->body);
    }
    char id[2100], ts[64];
    int idk = ffx_rand(0, 5);
    if (idk == 0)
        snprintf(id, sizeof id, "%s", nasty_string());
    else if (idk == 1) {
        size_t n = (size_t)ffx_rand(190, 2050);
        memset(id, 'i', n);
        id[n] = '\0';
    } else
        snprintf(id, sizeof id, "evt-%d", ffx_rand(0, 100000));
    if (!*id || strpbrk(id, "\r\n"))
        snprintf(id, sizeof id, "evt-x");
    snprintf(ts, sizeof ts, "%lld",
             (long long)time(NULL) + (ffx_rand(0, 5) == 0 ? ffx_rand(-100000, 100000) : 0));
    struct whsig_key k;
    whsig_key_parse(&k, SECRET);
    char sig[WHSIG_SIG_LEN];
    whsig_sign(&k, id, ts, r->body, r->len, sig);
    snprintf(r->hdr[0], sizeof r->hdr[0], "webhook-id: %s", id);
    snprintf(r->hdr[1], sizeof r->hdr[1], "webhook-timestamp: %s",
             ffx_rand(0, 9) == 0 ? nasty_string() : ts);
    if (ffx_rand(0, 9) == 0) { /* a signature header too long to hold */
        size_t n = (size_t)ffx_rand(2000, 2500);
        size_t o = (size_t)snprintf(r->hdr[2], sizeof r->hdr[2], "webhook-signature: %s ", sig);
        memset(r->hdr[2] + o, 'v', n);
        r->hdr[2][o + n] = '\0';
    } else {
        snprintf(r->hdr[2], sizeof r->hdr[2], "webhook-signature: %s", sig);
    }
}

static void make_request(struct req *r)
{
    memset(r->hdr, 0, sizeof r->hdr);
    r->has_body = r->webhook = 0;
    r->len = 0;
    char id[64];
    switch (ffx_rand(0, 11)) {
    case 0:
    case 1:
        r->method = "POST";
        snprintf(r->url, sizeof r->url, "%s/v1/posts", base);
        r->has_body = 1;
        r->len = mutated_body(post_template, r->body);
        break;
    case 2:
        r->method = "GET";
        list_query(r, "/v1/posts");
        break;
    case 3:
        r->method = "GET";
        snprintf(r->url, sizeof r->url, "%s/v1/posts/%s", base, post_id(id, sizeof id));
        break;
    case 4:
        r->method = "PATCH";
        snprintf(r->url, sizeof r->url, "%s/v1/posts/%s", base, post_id(id, sizeof id));
        r->has_body = 1;
        r->len = mutated_body(post_template, r->body);
        break;
    case 5:
        r->method = "DELETE";
        snprintf(r->url, sizeof r->url, "%s/v1/posts/%s", base, post_id(id, sizeof id));
        break;
    case 6:
        r->method = "GET";
        list_query(r, "/v1/limits");
        break;
    case 7:
        r->method = "GET";
        list_query(r, "/v1/plan");
        break;
    case 8:
        r->method = "GET";
        snprintf(r->url, sizeof r->url, "%s%s", base,
                 ffx_rand(0, 2) == 0 ? "/metrics" : ffx_rand(0, 1) ? "/healthz" : "/readyz");
        break;
    default:
        r->method = "POST";
        webhook(r);
        break;
    }
}

static long send_request(struct req *r, char *resp, size_t size)
{
    const char *headers[8];
    int n = 0;
    if (!r->webhook)
        headers[n++] = "Authorization: Bearer " TOKEN;
    headers[n++] = "Content-Type: application/json";
    for (int i = 0; i < 3 && r->webhook; i++)
        headers[n++] = r->hdr[i];
    headers[n] = NULL;
    return http_request(r->method, r->url, headers, r->has_body ? r->body : NULL, r->len, resp,
                        size);
}

static void test_every_route_answers_mutated_input_below_500(void **state)
{
    (void)state;
    unsigned seed = ffx_seed("route_fuzz");
    const char *env_n = getenv("FUZZ_REQUESTS");
    int total = env_n && *env_n ? atoi(env_n) : 3000;
    curl_global_init(CURL_GLOBAL_ALL);
    char *db = pgt_create_migrated_db();
    PGconn *c = pgt_connect(db);
    pgt_exec(c, "INSERT INTO provider_keys (provider, label, plan, secret_ref, webhook_secret_ref) "
                "VALUES ('jestha', 'je', 'default', 'env:JK', 'env:PP_FUZZ_WHSEC'), "
                "('posteverywhere', 'pe', 'default', 'env:PK', 'env:PP_FUZZ_WHSEC'), "
                "('postlark', 'pl', 'scale', 'env:LK', 'env:PP_FUZZ_WHSEC'), "
                "('feedhorizon', 'fh', 'default', 'env:FK', 'env:PP_FUZZ_WHSEC'), "
                "('schedpilot', 'sp', 'default', 'env:SK', 'env:PP_FUZZ_WHSEC')");
    pgt_exec(c, "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at) "
                "SELECT 1 + g % 5, '{a1,a2}', 'seed post ' || g, now() + interval '1 day' "
                "FROM generate_series(1, 20) g");
    char *envs[] = {"PP_FUZZ_WHSEC=" SECRET, "POSTPACE_SCHEDULER=0", "POSTPACE_API_TOKENS=" TOKEN,
                    "POSTPACE_HTTP_THREADS=2", NULL};
    static struct proc server;
    int port = proc_serve(&server, db, envs);
    assert_true(port > 0);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);

    static struct req r;
    static char resp[65536];
    int bad = 0, by_class[6] = {0};
    long deadline = ffx_now_ms() + 240000; /* bounded in time as well as in count */
    int sent = 0;
    for (; sent < total && ffx_now_ms() < deadline; sent++) {
        make_request(&r);
        long st = send_request(&r, resp, sizeof resp);
        by_class[st / 100 < 6 ? st / 100 : 0]++;
        if (st >= 500 || st == 0) {
            bad++;
            if (bad <= 5)
                printf("route_fuzz: %ld for %s %s [%.120s] (body %zu bytes: %.300s) -> %.300s\n",
                       st, r.method, r.url, r.webhook ? r.hdr[0] : "", r.len,
                       r.has_body ? r.body : "", resp);
        }
    }
    kill(server.pid, SIGTERM);
    int rc = proc_wait(&server);
    printf("route_fuzz: verdict %s: seed=%u requests=%d 2xx=%d 4xx=%d 5xx=%d failed=%d exit=%d\n",
           bad == 0 && rc == 0 ? "PASS" : "FAIL", seed, sent, by_class[2], by_class[4],
           by_class[5], by_class[0], rc);
    if (rc != 0 || bad)
        fprintf(stderr, "%.4000s\n", server.out);
    assert_int_equal(bad, 0);
    assert_int_equal(rc, 0);
    PQfinish(c);
    pgt_drop_db(db);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_answers_mutated_input_below_500),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
