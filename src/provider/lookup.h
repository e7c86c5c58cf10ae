/*
 * lookup: what to do with a target whose fate is unknown (no answer, a 5xx,
 * a crash) once its webhook is overdue, and the reading of a provider's
 * list of posts that decides it. None of the five providers' docs mentions
 * idempotency keys, so a re-send with the same key may post twice. Per
 * provider (providers.lookup, a JSON object):
 *
 *   "idempotent": true   the provider is known to honour our key: re-send;
 *   "path": "/posts"     else read this list-posts route (appended to the
 *                        base URL, query allowed) once per re-check, and
 *                        look for the post there;
 *   neither              the target stays unconfirmed for the operator.
 *
 *   "page_size": N       a list of fewer posts (with no sign of a further
 *                        page) is the whole list (docs silent: unknown).
 *
 * Members "post_id", "reference", "account", "type" (the status), and the
 * status names "published" and "failed" replace the built-in JSON paths read
 * in each listed post (provider/paths.h, rooted at the post itself).
 *
 * A listed post is ours when its reference is the key we sent (or the
 * target's own), else when its content is ours and its account is ours or
 * absent. Absence is proven only by a list with no sign of a further page
 * that is whole (empty, or shorter than page_size) or reaches back before
 * our first send (a post created at least skew_ms earlier): anything less is
 * undecidable, and the target stays unconfirmed.
 *
 * Pure: a config is parsed once per registry load, then only read.
 */
#ifndef POSTPACE_PROVIDER_LOOKUP_H
#define POSTPACE_PROVIDER_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "provider/paths.h"

struct lookup_config;

/* Parses providers.lookup (JSON object text; NULL or "" is {}). NULL with err
 * when it is not such an object or a member has the wrong type. */
struct lookup_config *lookup_config_create(const char *json, char *err, size_t errlen);
void lookup_config_destroy(struct lookup_config *c);

int lookup_idempotent(const struct lookup_config *c);
/* The list-posts route, or NULL: none known; lookup_route is the same as
 * the limiter names it ("GET /posts"). */
const char *lookup_path(const struct lookup_config *c);
const char *lookup_route(const struct lookup_config *c);

/* One target looked for. */
struct lookup_want {
    const char *reference; /* the Idempotency-Key its request carried */
    const char *key;       /* the target's own idempotency key */
    const char *account;
    const char *content;
    uint64_t first_sent_ms; /* its first request left then (0: unknown) */
};

enum lookup_verdict { LOOK_FOUND, LOOK_ABSENT, LOOK_UNDECIDABLE };

struct lookup_result {
    enum lookup_verdict verdict;
    enum whpath_verdict status; /* LOOK_FOUND: what the listed post's status says */
    char post_id[WHPATH_VALUE_MAX + 1];
    const char *why; /* static text: what the list showed */
};

/* Reads a 2xx list body for each of the n targets of `want` into out[n]. */
void lookup_read(const struct lookup_config *c, const char *body, size_t len, uint64_t skew_ms,
                 const struct lookup_want *want, size_t n, struct lookup_result *out);

#endif
