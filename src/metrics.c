/*
 * DESIGN: fixed arrays of atomic counters, no allocation on the update path.
 * Rendering (any thread, rare) builds a string with open_memstream; the
 * collector list is guarded by a mutex because registration is rare too.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_BUCKETS 14
static const double bucket_s[HIST_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                              0.25,  0.5,    1,     2.5,  5,     10,   30};

struct hist {
    atomic_uint_fast64_t buckets[HIST_BUCKETS];
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
};

static atomic_uint_fast64_t webhook_counts[PROV_COUNT][MET_WH_COUNT];
static atomic_uint_fast64_t unmatched_events[PROV_COUNT][2]; /* all, unreadable */
static atomic_uint_fast64_t publish_counts[PROV_COUNT][MET_PUB_COUNT];
static atomic_uint_fast64_t swept;
static struct hist hists[MET_HIST_COUNT][PROV_COUNT];

static const char *const hist_names[MET_HIST_COUNT] = {"postpace_webhook_seconds",
                                                       "postpace_publish_seconds"};
static const char *const hist_help[MET_HIST_COUNT] = {
    "Time from webhook receipt to its committed answer",
    "Round trip of publish requests to providers"};
static const char *const wh_labels[] = {
#define X(id, label) label,
    MET_WEBHOOK_RESULTS(X)
#undef X
};

static const char *const pub_labels[] = {
#define X(id, label) label,
    MET_PUBLISH_RESULTS(X)
#undef X
};

#define MAX_COLLECTORS 8
static pthread_mutex_t collectors_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    met_collector_fn fn;
    void *arg;
} collectors[MAX_COLLECTORS];

void met_webhooks_swept(unsigned n)
{
    atomic_fetch_add_explicit(&swept, n, memory_order_relaxed);
}

void met_webhooks_unmatched(enum prov_id p, uint64_t unmatched, uint64_t unreadable)
{
    atomic_store(&unmatched_events[p][0], unmatched);
    atomic_store(&unmatched_events[p][1], unreadable);
}

void met_webhook(enum prov_id p, enum met_webhook_result r)
{
    atomic_fetch_add_explicit(&webhook_counts[p][r], 1, memory_order_relaxed);
}

void met_publish(enum prov_id p, enum met_publish_result r)
{
    atomic_fetch_add_explicit(&publish_counts[p][r], 1, memory_order_relaxed);
}

void met_observe_ms(enum met_histogram h, enum prov_id p, uint64_t ms)
{
    struct hist *x = &hists[h][p];
    for (int i = 0; i < HIST_BUCKETS; i++)
        if ((double)ms / 1000.0 <= bucket_s[i])
            atomic_fetch_add_explicit(&x->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&x->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&x->sum_us, ms * 1000, memory_order_relaxed);
}

void met_register_collector(met_collector_fn fn, void *arg)
{
    pthread_mutex_lock(&collectors_lock);
    for (int i = 0; i < MAX_COLLECTORS; i++) {
        if (!collectors[i].fn) {
            collectors[i].fn = fn;
            collectors[i].arg = arg;
            break;
        }
    }
    pthread_mutex_unlock(&collectors_lock);
}

void met_unregister_collector(met_collector_fn fn, void *arg)
{
    pthread_mutex_lock(&collectors_lock);
    for (int i = 0; i < MAX_COLLECTORS; i++)
        if (collectors[i].fn == fn && collectors[i].arg == arg)
            collectors[i].fn = NULL;
    pthread_mutex_unlock(&collectors_lock);
}

static void emit_to_file(void *sink, const char *text)
{
    fputs(text, (FILE *)sink);
}

static void render_hist(FILE *f, enum met_histogram h)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", hist_names[h], hist_help[h], hist_names[h]);
    for (int p = 0; p < PROV_COUNT; p++) {
        struct hist *x = &hists[h][p];
        const char *prov = prov_name((enum prov_id)p);
        for (int i = 0; i < HIST_BUCKETS; i++)
            fprintf(f, "%s_bucket{provider=\"%s\",le=\"%g\"} %lu\n", hist_names[h], prov,
                    bucket_s[i], (unsigned long)atomic_load(&x->buckets[i]));
        unsigned long count = (unsigned long)atomic_load(&x->count);
        fprintf(f, "%s_bucket{provider=\"%s\",le=\"+Inf\"} %lu\n", hist_names[h], prov, count);
        fprintf(f, "%s_sum{provider=\"%s\"} %.6f\n", hist_names[h], prov,
                (double)atomic_load(&x->sum_us) / 1e6);
        fprintf(f, "%s_count{provider=\"%s\"} %lu\n", hist_names[h], prov, count);
    }
}

char *met_render(size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        abort();
    fputs("# HELP postpace_webhooks_total Webhook deliveries received, by provider and result\n"
          "# TYPE postpace_webhooks_total counter\n",
          f);
    for (int p = 0; p < PROV_COUNT; p++)
        for (int r = 0; r < MET_WH_COUNT; r++)
            fprintf(f, "postpace_webhooks_total{provider=\"%s\",result=\"%s\"} %lu\n",
                    prov_name((enum prov_id)p), wh_labels[r],
                    (unsigned long)atomic_load(&webhook_counts[p][r]));
    fprintf(f,
            "# HELP postpace_webhook_events_swept_total Pending webhook events applied by the "
            "sweep\n# TYPE postpace_webhook_events_swept_total counter\n"
            "postpace_webhook_events_swept_total %lu\n",
            (unsigned long)atomic_load(&swept));
    fputs("# HELP postpace_webhook_events_unmatched Stored webhook events that match no target, "
          "by provider and whether postpace can read them (counted at each reload)\n"
          "# TYPE postpace_webhook_events_unmatched gauge\n",
          f);
    for (int p = 0; p < PROV_COUNT; p++) {
        unsigned long all = (unsigned long)atomic_load(&unmatched_events[p][0]);
        unsigned long unreadable = (unsigned long)atomic_load(&unmatched_events[p][1]);
        fprintf(f,
                "postpace_webhook_events_unmatched{provider=\"%s\",readable=\"yes\"} %lu\n"
                "postpace_webhook_events_unmatched{provider=\"%s\",readable=\"no\"} %lu\n",
                prov_name((enum prov_id)p), all - unreadable, prov_name((enum prov_id)p),
                unreadable);
    }
    fputs("# HELP postpace_publish_requests_total Publish requests sent, by provider and result\n"
          "# TYPE postpace_publish_requests_total counter\n",
          f);
    for (int p = 0; p < PROV_COUNT; p++)
        for (int r = 0; r < MET_PUB_COUNT; r++)
            fprintf(f, "postpace_publish_requests_total{provider=\"%s\",result=\"%s\"} %lu\n",
                    prov_name((enum prov_id)p), pub_labels[r],
                    (unsigned long)atomic_load(&publish_counts[p][r]));
    for (int h = 0; h < MET_HIST_COUNT; h++)
        render_hist(f, (enum met_histogram)h);
    pthread_mutex_lock(&collectors_lock);
    for (int i = 0; i < MAX_COLLECTORS; i++)
        if (collectors[i].fn)
            collectors[i].fn(collectors[i].arg, emit_to_file, f);
    pthread_mutex_unlock(&collectors_lock);
    fclose(f);
    return buf;
}

void met_reset(void)
{
    memset(webhook_counts, 0, sizeof webhook_counts);
    memset(unmatched_events, 0, sizeof unmatched_events);
    memset(publish_counts, 0, sizeof publish_counts);
    atomic_store(&swept, 0);
    memset(hists, 0, sizeof hists);
}
