/*
 * provider: how postpace speaks to each provider. Behaviour is code behind
 * one interface (struct prov_ops); limits are data (rate_limits rows). The
 * requests follow the providers' docs and tests/sim/README.md, with the
 * member names the docs leave open configurable (reqfields.h); create
 * answers, which no doc shows, are read liberally (answer.c). Pure: no SQL,
 * no threads, no clock.
 */
#ifndef POSTPACE_PROVIDER_H
#define POSTPACE_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "limits/limiter.h"
#include "provider/provider_id.h"
#include "provider/reqfields.h"

/* One create request: one post to one or more accounts of one key. */
struct prov_post {
    const char *content;
    const char *media_json;            /* JSON array (posts.media), may be "[]" */
    const char *const *accounts;
    size_t naccounts;
    const char *reference;             /* our idempotency key for the request */
    const struct prov_fields *fields;  /* body member names; NULL: the provider's defaults */
};

/*
 * What a 2xx create answer said about one account of the request. A 2xx
 * means the provider accepted the request, so an account is failed only
 * where the body clearly says so; the scheduler maps the first two to
 * `submitted` and the third to `failed`.
 */
enum prov_outcome {
    PROV_CREATED,       /* created (or queued); post_id holds the provider's id */
    PROV_CREATED_NO_ID, /* accepted, but no id could be read for this account:
                           its webhook settles it (matched by our reference) */
    PROV_FAILED,        /* the body marks this account failed: error_code/message */
};

struct prov_result {
    enum prov_outcome outcome;
    char post_id[128];                 /* PROV_CREATED only; "" otherwise */
    char error_code[64];               /* PROV_FAILED only */
    char error_message[256];
};

/* A decoded error body (any status). */
struct prov_error {
    char code[64];
    char message[256];
    int64_t retry_after_s;             /* body retry_after / retryAfter, -1 if absent */
};

struct prov_ops {
    enum prov_id id;
    const char *create_route;          /* as the limiter names it: "POST /posts" */
    const char *create_path;           /* appended to the key's base URL */
    const char *auth_prefix;           /* header line before the secret */
    size_t max_batch;                  /* accounts per create request (1: no batching) */
    /* The JSON body of a create request; heap, the caller frees. */
    char *(*encode_create)(const struct prov_post *p);
    /* Fills out[0..p->naccounts) from a 2xx body, whatever it holds (it
     * need not be JSON); returns how many accounts are PROV_CREATED_NO_ID. */
    size_t (*decode_created)(const char *body, size_t len, const struct prov_post *p,
                             struct prov_result *out);
    /* Reads an error body; fields stay empty / -1 when absent. */
    void (*decode_error)(const char *body, size_t len, struct prov_error *out);
};

const struct prov_ops *prov_ops(enum prov_id p);

/* The limiter route of a provider's create request ("POST /api/posts"). */
const char *prov_create_route(enum prov_id p);

/* ---- helpers shared by the provider files (provider.c) ---- */

/* Builds {"content":..,<accounts>:[..] (or "..", when provider `id` takes
 * one account per request),<media_list>:[..],<reference>:..} with the names
 * of p->fields (NULL: id's defaults); a member named "" is left out, and so
 * is an empty media list. Media items are renamed member by member. */
char *prov_encode_common(const struct prov_post *p, enum prov_id id);

/*
 * The one reading of a 2xx create answer (answer.c), liberal by construction
 * because no provider documents that body: per-account entries are found
 * wherever they are (arrays or objects, up to a few levels down, under any
 * key), matched to the request's accounts by name (account_id, accountId,
 * platform, account, blog_id, ... or any string member equal to the name) or
 * by position when the counts match, and read for an id (post_id, postId,
 * id, ...) and a clear failure (status/state "failed"/"error", success
 * false, or an error and no id). Plain string entries are account names or
 * ids. Anything else is PROV_CREATED_NO_ID. `_batch` is for providers whose
 * top-level id names the request (PostEverywhere, SchedPilot, FeedHorizon):
 * it is never taken for an account's post id. `_single` is for one post per
 * request (Postlark, Jestha): a top-level id is that post's id. Both return
 * how many accounts are PROV_CREATED_NO_ID.
 */
size_t prov_decode_created_batch(const char *body, size_t len, const struct prov_post *p,
                                 struct prov_result *out);
size_t prov_decode_created_single(const char *body, size_t len, const struct prov_post *p,
                                  struct prov_result *out);

/* Reads code/message at error.code|error.message, or top-level error/message,
 * and a numeric retry field named `retry_field` (NULL: none). */
void prov_decode_error_common(const char *body, size_t len, const char *retry_field,
                              struct prov_error *out);

/*
 * A Retry-After header value (RFC 9110 10.2.3) as seconds from now_s: either
 * delay-seconds or an HTTP-date (IMF-fixdate and the two obsolete forms,
 * parsed by libcurl's curl_getdate), a date in the past being 0. Surrounding
 * whitespace is ignored; -1 when the value is neither form.
 */
int64_t prov_retry_after_s(const char *value, int64_t now_s);

#endif
