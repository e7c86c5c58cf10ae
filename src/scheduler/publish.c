/*
 * DESIGN: one function per kind of request builds it whole; the callbacks
 * only gather what the scheduler reads afterwards. A create answer is kept up
 * to 64 KiB (read for ids, kept as an excerpt); a list of posts is read whole
 * up to 16 MiB, since a cut one proves nothing.
 */
#include "scheduler/publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider/provider.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "util/secret_ref.h"

#define CREATE_BODY_MAX 65536
#define LOOKUP_BODY_MAX (16u << 20)

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct flight *f = arg;
    size_t take = size * n, cap = f->job ? LOOKUP_BODY_MAX : CREATE_BODY_MAX;
    if (f->resp_len + take > cap)
        take = f->resp_len < cap ? cap - f->resp_len : 0;
    f->resp = xrealloc(f->resp, f->resp_len + take + 1);
    memcpy(f->resp + f->resp_len, data, take);
    f->resp_len += take;
    f->resp[f->resp_len] = '\0';
    return size * n;
}

static int header_is(const char *line, size_t len, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return 0;
    *value = line + n + 1;
    return 1;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    struct flight *f = arg;
    size_t len = size * n;
    const char *v;
    if (header_is(line, len, "x-ratelimit-limit", &v))
        f->fb.limit = atoll(v);
    else if (header_is(line, len, "x-ratelimit-remaining", &v))
        f->fb.remaining = atoll(v);
    else if (header_is(line, len, "x-ratelimit-reset", &v))
        f->fb.reset = atoll(v);
    else if (header_is(line, len, "retry-after", &v))
        snprintf(f->retry_after, sizeof f->retry_after, "%.*s", (int)(len - (size_t)(v - line)), v);
    return len;
}

static size_t read_body(char *buf, size_t size, size_t n, void *arg)
{
    struct flight *f = arg;
    size_t left = f->body_len - f->body_sent, take = size * n < left ? size * n : left;
    memcpy(buf, f->body + f->body_sent, take);
    f->body_sent += take;
    return take;
}

/* libcurl rewinds a body only to send the request again: after its
 * connection died unanswered (the post may exist) or for a redirect or auth
 * round (not used). Refused: the request fails, and its fate is unknown. */
static int refuse_rewind(void *arg, curl_off_t offset, int origin)
{
    (void)arg, (void)offset, (void)origin;
    return CURL_SEEKFUNC_CANTSEEK;
}

/* The auth header line of key k; -1 when its secret cannot be read. */
static int auth_header(const struct reg_key *k, struct curl_slist **headers)
{
    char secret[1024], line[1200];
    if (sref_resolve(k->secret_ref, secret, sizeof secret) != 0) {
        log_error("API secret unavailable", LOG_STR("key", k->label), LOG_STR("ref", k->secret_ref));
        return -1;
    }
    secret[strcspn(secret, "\r\n")] = '\0';
    log_secret_add(secret); /* masked in every log line from now on */
    snprintf(line, sizeof line, "%s%s", prov_ops(k->provider)->auth_prefix, secret);
    *headers = curl_slist_append(*headers, line);
    memset(secret, 0, sizeof secret);
    memset(line, 0, sizeof line);
    return 0;
}

/* The easy handle every request shares: url, headers, answer callbacks. */
static CURL *easy_for(struct flight *f, const char *url, long timeout_ms)
{
    lim_feedback_init(&f->fb);
    CURL *e = f->easy = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(e, CURLOPT_PRIVATE, f);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    return e;
}

int pub_create(struct flight *f, const struct reg_key *k, const char *content, const char *media,
               const char *reference, long timeout_ms)
{
    const struct prov_ops *ops = prov_ops(k->provider);
    if (auth_header(k, &f->headers) != 0)
        return -1;
    struct prov_post post = {content, media, (const char *const *)f->accounts, f->n, reference,
                             &k->fields};
    f->body = ops->encode_create(&post);
    f->body_len = strlen(f->body);
    f->route = ops->create_route;
    char line[400], url[1024];
    snprintf(line, sizeof line, "Idempotency-Key: %s", reference);
    f->headers = curl_slist_append(f->headers, line);
    f->headers = curl_slist_append(f->headers, "Content-Type: application/json");
    f->headers = curl_slist_append(f->headers, "Expect:");
    snprintf(url, sizeof url, "%s%s", k->base_url, ops->create_path);
    CURL *e = easy_for(f, url, timeout_ms);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->body_len);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(e, CURLOPT_READDATA, f);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, refuse_rewind);
    return 0;
}

int pub_lookup(struct flight *f, const struct reg_key *k, const char *path, long timeout_ms)
{
    snprintf(f->job->route, sizeof f->job->route, "GET %s", path);
    f->route = f->job->route;
    if (auth_header(k, &f->headers) != 0)
        return -1;
    f->headers = curl_slist_append(f->headers, "Accept: application/json");
    char url[1024];
    snprintf(url, sizeof url, "%s%s", k->base_url, path);
    easy_for(f, url, timeout_ms);
    return 0;
}

void pub_free(struct flight *f)
{
    curl_slist_free_all(f->headers);
    for (size_t i = 0; i < f->n; i++) {
        free(f->accounts[i]);
        if (f->job)
            free(f->job->refs[i]), free(f->job->keys[i]), free(f->job->contents[i]);
    }
    free(f->job);
    free(f->body);
    free(f->resp);
    free(f);
}
