/*
 * api_int: what the files of the api module share (private; api.h is the
 * module's face). api_input.c reads request bodies and query strings on the
 * loop thread; api_posts.c and api_reads.c run on API workers.
 */
#ifndef POSTPACE_HTTP_API_INT_H
#define POSTPACE_HTTP_API_INT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "http/api_pool.h"

/* Which fields a body gave (PATCH changes only these). */
enum {
    API_F_ACCOUNTS = 1 << 0,
    API_F_CONTENT = 1 << 1,
    API_F_MEDIA = 1 << 2,
    API_F_SCHEDULED = 1 << 3,
    API_F_ZONE = 1 << 4,
};

/* One post as a request gave it, as SQL parameters (NULL: not given or unreadable). */
struct api_post_in {
    int64_t id; /* the post of PATCH */
    char *external_id;
    char *provider_key; /* a key id or label */
    char *accounts;     /* text[] literal */
    char *content;
    char *media;  /* compact JSON array */
    char *local;  /* scheduled_at without its offset: YYYY-MM-DD HH:MM:SS.ffffff */
    char *offset; /* +HH:MM, or NULL for a local time in time_zone */
    char *time_zone;
    unsigned given;  /* API_F_* */
    json_t *details; /* field -> reason: what the body itself got wrong */
};

/*
 * Reads a POST (patch 0) or PATCH (patch 1) body into `in`. Returns -1 when
 * the body is not a JSON object (400); else 0, with every field it could
 * not accept named in in->details (checked against the provider later).
 */
int api_post_parse(const char *body, size_t len, int patch, struct api_post_in *in);
void api_post_in_free(void *in);

/*
 * Parses a time in the grammar and range of util/rfc3339.h. local gets
 * "YYYY-MM-DD HH:MM:SS.ffffff" (a buffer of 96 bytes), offset "+HH:MM" or ""
 * (32 bytes). Returns NULL, or the reason it is refused.
 */
const char *api_time_parse(const char *s, char *local, char *offset);

/* The value of query parameter `name`, percent-decoded (heap), or NULL. */
char *api_query_get(const char *path, size_t len, size_t query_at, const char *name);

/*
 * Checks every parameter of the query string: its name and value, once
 * percent-decoded, must be UTF-8 without NUL (what PostgreSQL text can
 * hold). 0, or -1 with the offending parameter's name (or "query" when the
 * name itself is not text) in bad.
 */
int api_query_check(const char *path, size_t len, size_t query_at, char *bad, size_t badlen);

/* Adds "field: reason" to *details (created on first use). */
void api_detail(json_t **details, const char *field, const char *reason);

/* ---- worker side (api_posts.c, api_reads.c) ---- */

/* GET /v1/posts filters, checked on the loop (GET /v1/events: status holds
 * the state, provider and limit the rest). */
struct api_list_in {
    char *status, *provider, *key; /* NULL: any */
    char *from_ms, *to_ms;         /* epoch ms, or NULL */
    char *after_us, *after_id;     /* the cursor, or NULL */
    char *since_ms;                /* updated_since, epoch ms, or NULL */
    int limit;
};
void api_list_in_free(void *in);

/* GET /v1/limits and /v1/plan. */
struct api_read_in {
    char *conninfo;          /* limits and plan open their own read session */
    int skew_ms;             /* the limiter as the scheduler configures it */
    char *provider, *key;    /* limits filters, NULL: all */
    uint64_t from_ms, to_ms; /* plan range, when has_from / has_to */
    int has_from, has_to;    /* given (0 ms is 1970-01-01, a time like any other) */
};
void api_read_in_free(void *in);

/* A post id as a job input. */
struct api_id_in {
    int64_t id;
};

void api_work_create(PGconn *c, struct api_job *j);
void api_work_create_batch(PGconn *c, struct api_job **jobs, size_t n);
void api_work_list(PGconn *c, struct api_job *j);
void api_work_get(PGconn *c, struct api_job *j);
void api_work_patch(PGconn *c, struct api_job *j);
void api_work_delete(PGconn *c, struct api_job *j);
void api_work_limits(PGconn *c, struct api_job *j);
void api_work_plan(PGconn *c, struct api_job *j);
void api_work_events(PGconn *c, struct api_job *j);
void api_work_keys(PGconn *c, struct api_job *j); /* GET /v1/keys: status.h's document */

/* POST /v1/keys/pause|resume (control.h). */
struct api_pause_in {
    char actor[64];         /* "api:token-N" */
    char *key, *provider;   /* NULL: any */
    int all, pause;
};
void api_pause_in_free(void *in);
void api_work_pause(PGconn *c, struct api_job *j);

/* ---- routes kept in files of their own (api_outbox.c) ---- */

struct api;
/* The request's token (1 for the first configured) after checking it and
 * the query string; 0 when the request was answered (401 or 422). */
size_t api_authorize(struct api *a, h2o_req_t *req);
/* Hands the request to an API worker (api_pool_submit). */
void api_submit(struct api *a, h2o_req_t *req, api_work_fn work, void *in, void (*free_in)(void *));
/* POST /v1/targets/retry|cancel (control.h): the selector as SQL parameter text. */
struct api_targets_in {
    char actor[64];      /* "api:token-N" */
    int action;          /* enum ctl_action */
    int dry_run, force;
    char target_id[24], post_id[24], since_ms[24], until_ms[24]; /* "": not given */
    char *key, *provider, *error_code;                           /* NULL: not given */
};
void api_targets_in_free(void *in);
void api_work_targets(PGconn *c, struct api_job *j);

/*
 * Reads a retry (retry 1) or cancel body into `in`. Returns -1 when the
 * body is not a JSON object (400); else 0, with every field it refuses
 * named in *details (422).
 */
int api_targets_parse(const char *body, size_t len, int retry, struct api_targets_in *in,
                      json_t **details);

/* A cursor for the page after (scheduled_at in µs, id); heap. Decoding returns 0, or -1 for
 * anything but a cursor this API could have made (a time outside util/rfc3339.h's range too). */
char *api_cursor_encode(const char *us, const char *id);
int api_cursor_decode(const char *cursor, char **us, char **id);

#endif
