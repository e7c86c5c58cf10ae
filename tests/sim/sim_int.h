/*
 * sim_int: types shared by the simulator's modules (never by its users).
 * Everything here is owned by the single HTTP loop thread, except what
 * sim_hook.h hands to the webhook thread. No locks on this side.
 */
#ifndef POSTPACE_SIM_INT_H
#define POSTPACE_SIM_INT_H

#include <h2o.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "sim.h"
#include "sim_hook.h"
#include "sim_sign.h"
#include "sim_window.h"

enum sim_prov { SIM_PE, SIM_SP, SIM_FH, SIM_PL, SIM_JE, SIM_NPROV };

/* How the providers speak where their docs are silent (README "Dialects");
 * every documented behaviour is the same in both. */
enum sim_dialect {
    SIM_DIALECT_DEFAULT, /* the names postpace's defaults use */
    SIM_DIALECT_ALT,     /* other member names, strict bodies, other answer and event shapes */
};

#define SIM_MAXW 8         /* windows per provider */
#define SIM_MAX_TARGETS 32 /* accounts per create request */
#define SIM_ID_LEN 40

/* One documented limit. */
struct sim_wdef {
    const char *name; /* cause name in /_stats and the request log */
    enum swin_kind kind;
    uint64_t len_ms;  /* unscaled length (month: ignored) */
    uint32_t limit;   /* documented maximum; Postlark: from the plan */
    uint8_t shared;   /* 1: per user (SchedPilot) or per account (Postlark, Jestha) */
    uint8_t per_post; /* 1: counts created posts, checked after validation */
    const char *text; /* phrase for messages, after the number: "requests per minute" */
};

/* What a route does once it passed auth and the limiter. */
enum sim_action {
    ACT_CREATE,   /* create posts, send webhooks */
    ACT_LIST,     /* list this key's posts */
    ACT_ACCOUNTS, /* list this key's accounts */
    ACT_DELETE,   /* delete one post by id (path tail) */
    ACT_STUB,     /* documented but not simulated: 200/201 with a small body */
};

struct sim_route {
    const char *method;
    const char *path; /* after the provider prefix; a trailing '/' matches a prefix */
    enum sim_action action;
    uint32_t req_mask;  /* windows charged one unit per request */
    uint32_t post_mask; /* windows charged one unit per created post */
};

/* A shared bucket: a SchedPilot user, a Postlark or Jestha account. */
struct sim_bucket {
    enum sim_prov prov;
    char *name;
    char *plan; /* Postlark: the plan the account's keys share */
    struct swin w[SIM_MAXW];
};

/* Counters kept per provider and per key. */
struct sim_counts {
    uint64_t requests;           /* every request routed to the provider */
    uint64_t create_requests;    /* POST create requests that created something */
    uint64_t created;            /* account-posts created */
    uint64_t rate_limited;       /* 429 (and Postlark's 402 lifetime quota) */
    uint64_t cause[SIM_MAXW];    /* ... by window */
    uint64_t unauthorized;       /* 401 */
    uint64_t client_errors;      /* 4xx other than 429/402 (401 included) */
    uint64_t server_errors;      /* 5xx injected */
    uint64_t dropped;            /* connections closed without an answer */
    uint64_t duplicates;         /* account-posts created twice (either rule below) */
    uint64_t dup_idempotency;    /* same idempotency key + account created again */
    uint64_t dup_content;        /* same account + content created again */
    uint64_t failed_targets;     /* partial failures in a create response */
    uint64_t failed_events;      /* post.failed webhooks decided */
    uint64_t lockout_extensions; /* Jestha: early requests that extended a lockout */
    uint64_t intent_checked;     /* creates checked against the client's database (intent_db) */
    uint64_t intent_violations;  /* ... whose intent was not committed there (must be 0) */
};

struct sim_key {
    enum sim_prov prov;
    char *secret;
    char *label;     /* logged and reported instead of the secret */
    char *plan;      /* Postlark */
    char *owner;     /* SchedPilot user / Postlark, Jestha account */
    char **accounts; /* accounts this key may post to; none: any */
    size_t naccounts;
    char *webhook_url;
    unsigned char hook_key[WHSIG_KEY_MAX];
    int hook_keylen;           /* -1: no secret */
    struct swin w[SIM_MAXW];   /* key-scoped windows (unused slots for shared ones) */
    struct sim_bucket *bucket; /* shared windows; NULL when the provider has none */
    struct sim_counts counts;
    uint32_t *posts; /* indexes into the provider's post store */
    size_t nposts, capposts;
};

struct sim_config {
    struct sim_key *keys;
    size_t nkeys;
    struct sim_bucket *buckets; /* at most one per key */
    size_t nbuckets;
    char *webhook_url;
    int dialect; /* enum sim_dialect, or -1: the --dialect option's */
};

/* A provider's definition; the personality functions live in sim_prov.c. */
struct rctx;
struct sim_create;
struct sim_verr {
    const char *code;  /* generic code: invalid_request, invalid_media */
    char message[200]; /* the first problem found */
    json_t *details;   /* field -> problem, for PostEverywhere's details */
};

struct sim_prov_def {
    const char *name;      /* "posteverywhere": stats, webhooks path, config */
    const char *prefix;    /* "/posteverywhere/api/v1" */
    const char *id_prefix; /* provider post ids: "pe" */
    int x_api_key;         /* 1: X-API-KEY header, else Authorization: Bearer */
    int multi_account;     /* 1: one create carries several accounts */
    const struct sim_wdef *w;
    int nw;
    const struct sim_route *routes;
    int nroutes;
    /* Sends an error in the provider's envelope. `details` (may be NULL) is stolen. */
    void (*error)(struct rctx *c, int status, const char *code, const char *message,
                  json_t *details);
    void (*unauthorized)(struct rctx *c);
    /* 429 (or 402) for window `widx`, free again at `free_at` (SWIN_NEVER: never). */
    void (*refused)(struct rctx *c, int widx, uint64_t free_at);
    /* Adds rate-limit headers; widx >= 0 names the refusing window. */
    void (*headers)(struct rctx *c, int widx, uint64_t free_at);
    /* Validates a create body; returns 0, or -1 with e filled. */
    int (*parse)(struct rctx *c, json_t *body, struct sim_create *cr, struct sim_verr *e);
    void (*created)(struct rctx *c, const struct sim_create *cr);
    /* Wraps a list of items (stolen) in the provider's list envelope and sends 200. */
    void (*list)(struct rctx *c, json_t *items);
};

extern const struct sim_prov_def *const sim_provs[SIM_NPROV];

struct sim_target {
    const char *account;
    char post_id[SIM_ID_LEN];
    int failed; /* partial failure: not created */
};

struct sim_create {
    const char *content;
    const char *reference; /* body "reference", else the Idempotency-Key */
    char id[SIM_ID_LEN];   /* request-level post id */
    struct sim_target t[SIM_MAX_TARGETS];
    int n;
};

/* One request in flight on the loop thread. */
struct rctx {
    struct sim *sim;
    h2o_req_t *req;
    const struct sim_prov_def *p;
    enum sim_prov prov;
    struct sim_key *key;
    enum sim_dialect dialect;
    uint64_t now;    /* wall clock, microseconds */
    h2o_iovec_t sub; /* path after the prefix */
    const struct sim_route *route;
    struct swin *win[SIM_MAXW]; /* request windows of this route, by index */
    int nwin;
    int widx[SIM_MAXW];
    /* For the request log. */
    int status;
    const char *cause;
    h2o_iovec_t idem;
    char accounts[256];
    uint64_t content_hash;
    const char *fault;
};

/* sim_app.c: helpers for the personalities. */
/* Sends `body` (stolen) as JSON with `status`, after any injected latency. */
void sim_reply(struct rctx *c, int status, json_t *body);
void sim_header(struct rctx *c, const char *name, const char *value);
void sim_header_u64(struct rctx *c, const char *name, uint64_t v);
/* The window `widx` of the request's key (its own or its bucket's). */
struct swin *sim_window(struct rctx *c, int widx);
/* Scaled real seconds from now until t, rounded up (at least 1 when t > now). */
uint64_t sim_secs_until(const struct rctx *c, uint64_t t);
/* t as unix seconds, rounded up. */
uint64_t sim_unix_ceil(uint64_t t);
/* "2026-03-02T10:30:00Z" for now. */
void sim_iso8601(uint64_t us, char out[32]);
/* A fresh id "<prefix>_<hex>" unique for the process lifetime. */
void sim_new_id(struct sim *s, const char *prefix, char out[SIM_ID_LEN]);
/* The effective limit of window `widx` for this request's key. */
uint32_t sim_limit(struct rctx *c, int widx);

/* sim_config.c */
int sim_config_load(json_t *root, double time_scale, struct sim_config *out, char *err,
                    size_t errlen);
void sim_config_finish(struct sim_config *c);
/* Forgets all counted units of every window and bucket. */
void sim_config_clear_windows(struct sim_config *c);
/* Scaled window length in microseconds. */
uint64_t sim_scaled_us(uint64_t ms, double time_scale);
/* Finds the provider by name; -1 if unknown. */
int sim_prov_by_name(const char *name);
/* "default" or "alt" (NULL: default); -1 if neither. */
int sim_dialect_parse(const char *name);

/* sim_prov.c */
/* The documented limit of window `widx` (Postlark: for `plan`); -1 if the plan is unknown. */
int sim_default_limit(enum sim_prov prov, int widx, const char *plan, uint32_t *out);
/* Records a validation problem (the first one also becomes the message). */
void sim_verr_add(struct sim_verr *e, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
