/*
 * sim_hook: the simulator's webhook sender. One delivery thread owns a curl
 * multi handle; the HTTP loop hands it jobs through hook_submit(), which
 * never blocks beyond a short mutex hold, so the loop never waits on I/O.
 * Each attempt is signed afresh (Standard Webhooks, sim_sign.h); a non-2xx
 * answer or a transport error is retried with exponential backoff up to
 * max_attempts, then counted as failed.
 */
#ifndef POSTPACE_SIM_HOOK_H
#define POSTPACE_SIM_HOOK_H

#include <stddef.h>
#include <stdint.h>

#include "sim_sign.h"

struct hook;

struct hook_options {
    int max_attempts;    /* attempts per delivery, >= 1 */
    uint64_t backoff_ms; /* wait after the first failure; doubles each time */
    long timeout_ms;     /* per attempt */
    int max_inflight;    /* concurrent requests */
    int nclasses;        /* stats classes (one per provider) */
};

/* One delivery; after hook_submit() the hook owns it and its strings. */
struct hook_job {
    char *url;                        /* full target URL */
    unsigned char key[WHSIG_KEY_MAX]; /* decoded signing key */
    size_t keylen;
    char id[48]; /* webhook-id; duplicates reuse it */
    char *body;  /* raw JSON, signed as is */
    size_t bodylen;
    int cls;           /* stats class */
    uint64_t delay_us; /* wait before the first attempt */
};

struct hook_stats {
    uint64_t queued;    /* deliveries submitted (duplicates included) */
    uint64_t delivered; /* answered 2xx */
    uint64_t failed;    /* gave up after max_attempts */
    uint64_t retried;   /* attempts scheduled again after a failure */
    uint64_t attempts;  /* HTTP requests made */
};

/* Starts the delivery thread. */
struct hook *hook_create(const struct hook_options *opt);
/* Stops and joins the thread, dropping what is pending. NULL is a no-op. */
void hook_destroy(struct hook *h);

/* Allocates a job with copies of url and body. */
struct hook_job *hook_job_create(const char *url, const unsigned char *key, size_t keylen,
                                 const char *id, const char *body, size_t bodylen, int cls);
/* Queues a job; ownership passes to the hook. Thread-safe. */
void hook_submit(struct hook *h, struct hook_job *job);
/* Drops every pending delivery and zeroes the stats. Thread-safe. */
void hook_reset(struct hook *h);
/* Copies the stats of one class. Thread-safe. */
void hook_get_stats(struct hook *h, int cls, struct hook_stats *out);
/* Deliveries queued or in flight. Thread-safe. */
uint64_t hook_pending(struct hook *h);

#endif
