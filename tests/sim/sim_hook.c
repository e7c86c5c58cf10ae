/*
 * DESIGN: hook_submit() appends to an incoming list under `lock` and wakes
 * the thread with curl_multi_wakeup(). The thread alone owns the curl multi
 * handle, the easy handles and a min-heap of jobs ordered by due time
 * (first attempts with their delay, and retries with their backoff). Each
 * easy handle maps back to its job through CURLINFO_PRIVATE and completions
 * are drained in one place, finish_done(). A reset bumps `gen`; jobs of an
 * older generation are dropped when they surface and their results ignored.
 */
#include "sim_hook.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/xmalloc.h"

#define MAX_CLASSES 16

struct job {
    struct hook_job pub;
    struct job *next;              /* incoming list */
    struct job *fl_prev, *fl_next; /* in-flight list (delivery thread) */
    uint64_t gen;
    uint64_t due_us;
    int attempts;
    CURL *easy;
    struct curl_slist *headers;
};

struct hook {
    struct hook_options opt;
    pthread_t tid;
    CURLM *multi;
    pthread_mutex_t lock; /* guards incoming, gen, stop, stats, pending */
    struct job *incoming, **incoming_tail;
    uint64_t gen;
    int stop;
    struct hook_stats stats[MAX_CLASSES];
    uint64_t pending;
    /* Delivery thread only. */
    struct job **heap;
    size_t nheap, capheap;
    int inflight;
    struct job *flying; /* head of the in-flight list */
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void heap_push(struct hook *h, struct job *j)
{
    if (h->nheap == h->capheap) {
        h->capheap = h->capheap ? h->capheap * 2 : 64;
        h->heap = xrealloc(h->heap, h->capheap * sizeof *h->heap);
    }
    size_t i = h->nheap++;
    while (i > 0 && h->heap[(i - 1) / 2]->due_us > j->due_us) {
        h->heap[i] = h->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->heap[i] = j;
}

static struct job *heap_pop(struct hook *h)
{
    struct job *top = h->heap[0], *last = h->heap[--h->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->nheap)
            break;
        if (c + 1 < h->nheap && h->heap[c + 1]->due_us < h->heap[c]->due_us)
            c++;
        if (h->heap[c]->due_us >= last->due_us)
            break;
        h->heap[i] = h->heap[c];
        i = c;
    }
    if (h->nheap > 0)
        h->heap[i] = last;
    return top;
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->pub.url);
    free(j->pub.body);
    free(j);
}

struct hook_job *hook_job_create(const char *url, const unsigned char *key, size_t keylen,
                                 const char *id, const char *body, size_t bodylen, int cls)
{
    struct job *j = xcalloc(1, sizeof *j);
    j->pub.url = xstrdup(url);
    memcpy(j->pub.key, key, keylen < WHSIG_KEY_MAX ? keylen : WHSIG_KEY_MAX);
    j->pub.keylen = keylen;
    snprintf(j->pub.id, sizeof j->pub.id, "%s", id);
    j->pub.body = xstrndup(body, bodylen);
    j->pub.bodylen = bodylen;
    j->pub.cls = cls;
    return &j->pub;
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return size * nmemb;
}

static void count(struct hook *h, const struct job *j, size_t field_offset, int64_t pending_delta)
{
    pthread_mutex_lock(&h->lock);
    if (j->gen == h->gen) {
        uint64_t *f = (uint64_t *)((char *)&h->stats[j->pub.cls] + field_offset);
        (*f)++;
        h->pending = (uint64_t)((int64_t)h->pending + pending_delta);
    }
    pthread_mutex_unlock(&h->lock);
}

static void unlink_flying(struct hook *h, struct job *j)
{
    if (j->fl_prev)
        j->fl_prev->fl_next = j->fl_next;
    else
        h->flying = j->fl_next;
    if (j->fl_next)
        j->fl_next->fl_prev = j->fl_prev;
}

static void start_attempt(struct hook *h, struct job *j)
{
    char ts[24], sig[WHSIG_SIG_LEN], line[128];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    whsig_sign(j->pub.key, j->pub.keylen, j->pub.id, ts, j->pub.body, j->pub.bodylen, sig);
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(line, sizeof line, "webhook-id: %s", j->pub.id);
    hd = curl_slist_append(hd, line);
    snprintf(line, sizeof line, "webhook-timestamp: %s", ts);
    hd = curl_slist_append(hd, line);
    snprintf(line, sizeof line, "webhook-signature: %s", sig);
    hd = curl_slist_append(hd, line);
    hd = curl_slist_append(hd, "Expect:");
    j->headers = hd;
    j->easy = curl_easy_init();
    curl_easy_setopt(j->easy, CURLOPT_URL, j->pub.url);
    curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->pub.body);
    curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE, (long)j->pub.bodylen);
    curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, h->opt.timeout_ms);
    curl_easy_setopt(j->easy, CURLOPT_USERAGENT, "postpace-sim/1");
    curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
    curl_multi_add_handle(h->multi, j->easy);
    j->fl_prev = NULL;
    j->fl_next = h->flying;
    if (h->flying)
        h->flying->fl_prev = j;
    h->flying = j;
    j->attempts++;
    h->inflight++;
    count(h, j, offsetof(struct hook_stats, attempts), 0);
}

/* Settles one finished attempt: delivered, retried later, or failed. */
static void finish_done(struct hook *h, CURL *easy, CURLcode rc)
{
    struct job *j;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    unlink_flying(h, j);
    curl_multi_remove_handle(h->multi, easy);
    curl_easy_cleanup(easy);
    curl_slist_free_all(j->headers);
    j->easy = NULL;
    j->headers = NULL;
    h->inflight--;
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        count(h, j, offsetof(struct hook_stats, delivered), -1);
        job_free(j);
    } else if (j->attempts < h->opt.max_attempts) {
        count(h, j, offsetof(struct hook_stats, retried), 0);
        uint64_t backoff = h->opt.backoff_ms * 1000
                           << (j->attempts - 1 < 20 ? j->attempts - 1 : 20);
        j->due_us = mono_us() + backoff;
        heap_push(h, j);
    } else {
        log_debug("webhook gave up", LOG_STR("id", j->pub.id), LOG_INT("status", status),
                  LOG_INT("curl", rc));
        count(h, j, offsetof(struct hook_stats, failed), -1);
        job_free(j);
    }
}

static void abandon_attempt(struct hook *h, struct job *j)
{
    unlink_flying(h, j);
    curl_multi_remove_handle(h->multi, j->easy);
    curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->headers);
    job_free(j);
}

static void take_incoming(struct hook *h, uint64_t *gen, int *stop)
{
    pthread_mutex_lock(&h->lock);
    struct job *list = h->incoming;
    h->incoming = NULL;
    h->incoming_tail = &h->incoming;
    *gen = h->gen;
    *stop = h->stop;
    pthread_mutex_unlock(&h->lock);
    uint64_t now = mono_us();
    while (list) {
        struct job *next = list->next;
        list->due_us = now + list->pub.delay_us;
        heap_push(h, list);
        list = next;
    }
}

static void start_due(struct hook *h, uint64_t gen)
{
    uint64_t now = mono_us();
    while (h->nheap > 0 && h->heap[0]->due_us <= now && h->inflight < h->opt.max_inflight) {
        struct job *j = heap_pop(h);
        if (j->gen != gen)
            job_free(j);
        else
            start_attempt(h, j);
    }
}

static int poll_timeout_ms(struct hook *h)
{
    if (h->nheap == 0)
        return 1000;
    uint64_t now = mono_us(), due = h->heap[0]->due_us;
    if (due <= now)
        return h->inflight < h->opt.max_inflight ? 0 : 10;
    uint64_t ms = (due - now + 999) / 1000;
    return ms > 1000 ? 1000 : (int)ms;
}

static void *hook_main(void *arg)
{
    struct hook *h = arg;
    for (;;) {
        uint64_t gen;
        int stop, running;
        take_incoming(h, &gen, &stop);
        if (stop)
            break;
        start_due(h, gen);
        curl_multi_perform(h->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(h->multi, &left)))
            if (msg->msg == CURLMSG_DONE)
                finish_done(h, msg->easy_handle, msg->data.result);
        curl_multi_poll(h->multi, NULL, 0, poll_timeout_ms(h), NULL);
    }
    return NULL;
}

struct hook *hook_create(const struct hook_options *opt)
{
    struct hook *h = xcalloc(1, sizeof *h);
    h->opt = *opt;
    if (h->opt.max_attempts < 1)
        h->opt.max_attempts = 1;
    if (h->opt.max_inflight < 1)
        h->opt.max_inflight = 1;
    if (h->opt.nclasses > MAX_CLASSES)
        h->opt.nclasses = MAX_CLASSES;
    h->incoming_tail = &h->incoming;
    pthread_mutex_init(&h->lock, NULL);
    h->multi = curl_multi_init();
    pthread_create(&h->tid, NULL, hook_main, h);
    return h;
}

void hook_submit(struct hook *h, struct hook_job *pub)
{
    struct job *j = (struct job *)pub;
    pthread_mutex_lock(&h->lock);
    j->gen = h->gen;
    *h->incoming_tail = j;
    h->incoming_tail = &j->next;
    if (pub->cls >= 0 && pub->cls < MAX_CLASSES)
        h->stats[pub->cls].queued++;
    else
        pub->cls = 0;
    h->pending++;
    pthread_mutex_unlock(&h->lock);
    curl_multi_wakeup(h->multi);
}

void hook_reset(struct hook *h)
{
    pthread_mutex_lock(&h->lock);
    struct job *list = h->incoming;
    h->incoming = NULL;
    h->incoming_tail = &h->incoming;
    h->gen++;
    memset(h->stats, 0, sizeof h->stats);
    h->pending = 0;
    pthread_mutex_unlock(&h->lock);
    while (list) {
        struct job *next = list->next;
        job_free(list);
        list = next;
    }
    curl_multi_wakeup(h->multi);
}

void hook_get_stats(struct hook *h, int cls, struct hook_stats *out)
{
    pthread_mutex_lock(&h->lock);
    *out = h->stats[cls];
    pthread_mutex_unlock(&h->lock);
}

uint64_t hook_pending(struct hook *h)
{
    pthread_mutex_lock(&h->lock);
    uint64_t n = h->pending;
    pthread_mutex_unlock(&h->lock);
    return n;
}

void hook_destroy(struct hook *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stop = 1;
    pthread_mutex_unlock(&h->lock);
    curl_multi_wakeup(h->multi);
    pthread_join(h->tid, NULL);
    /* Abandon what is left: in-flight attempts, the heap, the incoming list. */
    while (h->flying)
        abandon_attempt(h, h->flying);
    while (h->nheap > 0)
        job_free(heap_pop(h));
    struct job *list = h->incoming;
    while (list) {
        struct job *next = list->next;
        job_free(list);
        list = next;
    }
    curl_multi_cleanup(h->multi);
    free(h->heap);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
