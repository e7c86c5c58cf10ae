/*
 * registry: the providers and API keys this process knows, and the
 * rate-limit buckets each key draws on, loaded from the database into one
 * lim_set. Keys that share a provider user or account share those buckets,
 * and form one lease group (named by the smallest key id of the group).
 * Owned by one thread (the scheduler, or a `plan`/`limits` command).
 */
#ifndef POSTPACE_REGISTRY_REGISTRY_H
#define POSTPACE_REGISTRY_REGISTRY_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "limits/limiter.h"
#include "provider/provider_id.h"
#include "provider/lookup.h"
#include "provider/reqfields.h"

#define REG_MAX_BUCKETS 16

struct reg_provider {
    int known;                 /* a row exists in providers */
    char *base_url;
    enum lim_reset_kind reset_kind;
    int batch_accounts;        /* one create request may name several accounts */
    int max_content_len;       /* 0: no limit known */
    int max_media;             /* -1: no limit known */
    int64_t max_media_bytes;   /* 0: no limit known */
    char *media_types;         /* space-separated; NULL: any */
    double time_scale;
    struct prov_fields fields; /* create body member names: defaults + request_fields */
    struct lookup_config *lookup; /* unconfirmed targets: re-send, look up, or hold */
};

struct reg_key {
    int64_t id;
    enum prov_id provider;
    char *label, *plan, *user_id, *account_id;
    char *secret_ref;          /* env:NAME or file:/path; resolve at use, never log */
    char *base_url;            /* effective: the key's, else the provider's */
    double time_scale;         /* effective */
    struct prov_fields fields; /* effective: the provider's, then the key's request_fields */
    int64_t group_id;          /* lease unit: smallest key id sharing a bucket */
    uint32_t buckets[REG_MAX_BUCKETS];
    size_t nbuckets;
};

struct registry {
    struct reg_provider providers[PROV_COUNT];
    struct reg_key *keys;      /* by ascending id */
    size_t nkeys;
    struct lim_set *limits;
};

/*
 * Loads providers, enabled keys and their limit rows. cfg NULL takes the
 * limiter's defaults. A request_fields object that cannot be applied is
 * logged and skipped (the level below stays in force), never fatal. Returns 0, or -1 with a reason in err (r is then empty).
 */
int reg_load(struct registry *r, PGconn *c, const struct lim_config *cfg, char *err,
             size_t errlen) __attribute__((warn_unused_result));
void reg_finish(struct registry *r);

/* The rows of sql/registry_limits.sql as the pure core reads them (heap; the
 * caller frees it); their strings point into `res`, which must outlive them. */
struct lim_row *reg_read_rows(PGresult *res, size_t *n);

struct reg_key *reg_key_by_id(const struct registry *r, int64_t id);

/* A request of key k on `route` naming `accounts` accounts and creating `posts` posts. */
void reg_request(const struct reg_key *k, const char *route, uint32_t accounts, uint32_t posts,
                 struct lim_req *out);

/*
 * Rebuilds the windows of every bucket of key k from the attempts log (the
 * new owner of a lease calls it). Returns the number of sends replayed, or -1.
 */
int reg_replay_key(struct registry *r, PGconn *c, const struct reg_key *k, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

#endif
