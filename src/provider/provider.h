/*
 * provider: how postpace speaks to each provider. Behaviour is code behind
 * one interface (struct prov_ops); limits are data (rate_limits rows). The
 * wire shapes follow the providers' docs and tests/sim/README.md. Pure:
 * no SQL, no threads, no clock.
 */
#ifndef POSTPACE_PROVIDER_H
#define POSTPACE_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "limits/limiter.h"
#include "provider/provider_id.h"

/* One create request: one post to one or more accounts of one key. */
struct prov_post {
    const char *content;
    const char *media_json;            /* JSON array (posts.media), may be "[]" */
    const char *const *accounts;
    size_t naccounts;
    const char *reference;             /* our idempotency key for the request */
};

/* What the provider said about one account of the request. */
struct prov_result {
    int ok;                            /* created (or queued) */
    char post_id[128];                 /* the provider's id for this account's post */
    char error_code[64];
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
    /* Fills out[0..p->naccounts) from a 2xx body; 0, or -1 if unreadable. */
    int (*decode_created)(const char *body, size_t len, const struct prov_post *p,
                          struct prov_result *out);
    /* Reads an error body; fields stay empty / -1 when absent. */
    void (*decode_error)(const char *body, size_t len, struct prov_error *out);
};

const struct prov_ops *prov_ops(enum prov_id p);

/* The limiter route of a provider's create request ("POST /api/posts"). */
const char *prov_create_route(enum prov_id p);

/* ---- helpers shared by the provider files (provider.c) ---- */

/* Builds {"content":..,<accounts_field>:[..] or <single_field>:"..",
 * "media":[..],"reference":..}; fields named NULL are left out. */
char *prov_encode_common(const struct prov_post *p, const char *accounts_field,
                         const char *single_field, int with_media);

/* Matches per-account entries of array `items` (objects with `account_key`,
 * "status", "post_id", "error") to the request's accounts. */
int prov_decode_entries(const char *body, size_t len, const char *const *path,
                        const char *account_key, const struct prov_post *p,
                        struct prov_result *out);

/* A one-post answer {"id": ...}: every account of the request gets that id. */
int prov_decode_single_id(const char *body, size_t len, const struct prov_post *p,
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
