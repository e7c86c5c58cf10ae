/*
 * publish: the scheduler's wire side. A flight is one HTTP request to a
 * provider on a libcurl easy handle: a create, or a lookup (the GET of its
 * list of posts for unconfirmed targets), with the targets it carries and
 * what its answer needs (the body, the rate-limit headers, Retry-After as
 * sent). Building one resolves the key's API secret (registered for masking
 * in every log line, never kept) and sets every header; what an answer means
 * is the scheduler's to decide (outcome.h, provider/lookup.h). Owned by the
 * scheduler thread, which adds the handle to its multi handle.
 *
 * Never posting twice on the wire: a create's body comes from a read
 * callback that refuses to rewind, so libcurl's one silent re-send (a reused
 * keep-alive connection that died before answering) cannot happen: such a
 * request fails (CURLE_SEND_FAIL_REWIND) and its fate is unknown.
 */
#ifndef POSTPACE_SCHEDULER_PUBLISH_H
#define POSTPACE_SCHEDULER_PUBLISH_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "limits/limiter.h"
#include "provider/provider_id.h"
#include "registry/registry.h"

#define PUB_MAX_BATCH 100 /* targets one request carries */

/* What a lookup looks for, parallel to its flight's targets. */
struct pub_lookup {
    char route[300]; /* "GET /posts", as the limiter sees it */
    char *refs[PUB_MAX_BATCH], *keys[PUB_MAX_BATCH], *contents[PUB_MAX_BATCH];
    uint64_t first_sent[PUB_MAX_BATCH];
};

/* One request. The caller fills key_id .. accounts (and a lookup's job),
 * then builds it with pub_create or pub_lookup. */
struct flight {
    CURL *easy;
    struct curl_slist *headers;
    int64_t key_id;
    enum prov_id provider;
    int64_t attempt_id;
    size_t n;
    int64_t target_ids[PUB_MAX_BATCH];
    int attempts[PUB_MAX_BATCH];
    char *accounts[PUB_MAX_BATCH];
    char *body;
    size_t body_len, body_sent; /* what the read callback has handed libcurl */
    char *resp;                 /* the answer's body, NUL-terminated (cut: see publish.c) */
    size_t resp_len;
    struct lim_feedback fb;     /* X-RateLimit-* as answered */
    char retry_after[64];       /* the Retry-After header as sent */
    uint64_t sent_ms;
    const char *route;          /* as the limiter sees it: the create route, or job->route */
    struct pub_lookup *job;     /* a lookup, else NULL: a create */
    struct flight *next;
};

/* Builds a create of k's request: its body, headers (auth, Idempotency-Key
 * `reference`) and easy handle. 0, or -1 when the key's API secret cannot be
 * read (logged; nothing built). */
int pub_create(struct flight *f, const struct reg_key *k, const char *content, const char *media,
               const char *reference, long timeout_ms);

/* Builds the GET of k's list of posts at `path` (after the base URL); sets
 * f->route. 0, or -1 as pub_create. */
int pub_lookup(struct flight *f, const struct reg_key *k, const char *path, long timeout_ms);

/* Frees a flight and everything it owns (its easy handle is the caller's). */
void pub_free(struct flight *f);

#endif
