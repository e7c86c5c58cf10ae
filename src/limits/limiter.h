/*
 * limits: the pure rate-limit core. Given the windows every request draws on,
 * it answers "when may this request leave?" and records what left. It never
 * reads a clock, does I/O, touches SQL or starts threads: every time is an
 * argument, in milliseconds since the Unix epoch (UTC). One lim_set belongs to
 * one thread (the scheduler, or a `postpace plan` simulation).
 *
 * Model:
 *   window  one limit: kind (rolling, fixed, calendar month, lifetime), length,
 *           max_units and a cost rule (units per request, per post, per account).
 *   bucket  the windows of one scope instance (a key, a provider user, a
 *           provider account) for one route: "*" (every request), "read" (GET),
 *           "write" (POST/PUT/PATCH/DELETE) or a literal "POST /posts".
 *   set     every bucket the caller knows; buckets are named by their index,
 *           so keys that share a user or an account share the bucket.
 *   request names the buckets it may draw on; it draws on each whose route
 *           matches its own route.
 */
#ifndef POSTPACE_LIMITS_LIMITER_H
#define POSTPACE_LIMITS_LIMITER_H

#include <stddef.h>
#include <stdint.h>

/* lim_next_slot's answer when a request can never go (a lifetime quota is
 * spent, or its cost is larger than a window's max_units). */
#define LIM_NEVER UINT64_MAX

#define LIM_MUST_CHECK __attribute__((warn_unused_result))

/* How a window counts; mirrors the SQL enum window_kind. */
enum lim_kind {
    LIM_ROLLING,        /* exact sliding log of window_ms */
    LIM_FIXED,          /* counter reset at multiples of window_ms since the epoch */
    LIM_CALENDAR_MONTH, /* counter reset at 00:00 UTC on the 1st (window_ms unused) */
    LIM_LIFETIME,       /* never resets (window_ms unused) */
};

/* What one request costs in a window; mirrors the SQL enum limit_cost. */
enum lim_cost {
    LIM_COST_REQUEST, /* 1 unit per request */
    LIM_COST_POST,    /* 1 unit per post created (a batched request still costs 1) */
    LIM_COST_ACCOUNT, /* 1 unit per account named in the request */
};

/* Whose bucket a limit row describes; mirrors the SQL enum limit_scope. */
enum lim_scope {
    LIM_SCOPE_KEY,
    LIM_SCOPE_USER,
    LIM_SCOPE_ACCOUNT,
};

/* How a provider means X-RateLimit-Reset (providers.reset_kind). */
enum lim_reset_kind {
    LIM_RESET_NONE,    /* not sent, or meaningless */
    LIM_RESET_UNIX,    /* unix time in seconds */
    LIM_RESET_SECONDS, /* seconds left from the response */
};

struct lim_window_spec {
    enum lim_kind kind;
    uint64_t window_ms; /* rolling and fixed only */
    uint64_t max_units; /* > 0 */
    enum lim_cost cost;
};

struct lim_bucket_spec {
    const char *route; /* "*", "read", "write" or "METHOD /path"; copied */
    const struct lim_window_spec *windows;
    size_t nwindows;
    /* Divides every window length (0 means 1). Fixed windows then align to
     * multiples of window_ms/scale; a calendar month becomes a fixed window of
     * 30 days/scale, since a scaled calendar has no meaning. */
    double time_scale;
    uint32_t burst; /* pacing burst; 0 takes lim_config.burst */
};

struct lim_config {
    /* Clock-skew margin at window edges: a rolling entry expires skew_ms late;
     * a send within skew_ms of a fixed boundary counts in both periods (so a
     * period opens skew_ms late); blocks end skew_ms late. Keep it under half
     * the shortest fixed window. Whole-second headers suggest >= 1000. */
    uint64_t skew_ms;
    /* Sends beyond the burst are spaced by window/max_units of the bucket's
     * shortest rolling or fixed window no longer than pace_max_window_ms
     * (unscaled); 0 disables pacing. Month, lifetime and longer windows are
     * quotas: they bind exactly but are not spread. */
    uint64_t pace_max_window_ms;
    uint32_t burst; /* 0: max(1, max_units / 10) of the paced window */
};

/* A request as the limiter sees it. */
struct lim_req {
    const char *route;       /* "POST /posts"; NULL matches only "*" buckets */
    const uint32_t *buckets; /* indices into the set, each at most once */
    size_t nbuckets;
    uint32_t accounts; /* accounts named in the request */
    uint32_t posts;    /* posts the request creates (0 for reads) */
};

/* Why lim_next_slot_why answered what it did (for `postpace plan`). */
enum lim_reason {
    LIM_WHY_NOW,    /* nothing holds it back */
    LIM_WHY_WINDOW, /* a window is full until then (LIM_NEVER: never) */
    LIM_WHY_PACE,   /* the bucket's pacing spreads sends */
    LIM_WHY_BLOCK,  /* a 429 blocked the bucket until then */
    LIM_WHY_ORDER,  /* the bucket already recorded a later send */
};

struct lim_why {
    enum lim_reason reason;
    int32_t bucket; /* -1 with LIM_WHY_NOW */
    int32_t window; /* index within the bucket, -1 unless LIM_WHY_WINDOW */
};

struct lim_set;

/* Defaults: skew 0, pacing windows up to one hour, burst max(1, L/10). */
void lim_config_init(struct lim_config *c);

/* create/destroy: the caller owns the set; cfg NULL takes the defaults.
 * clone is a deep copy (a plan simulation plays on a clone); reset forgets
 * every send, block and feedback but keeps the buckets. destroy(NULL) is a
 * no-op. */
struct lim_set *lim_set_create(const struct lim_config *cfg) LIM_MUST_CHECK;
struct lim_set *lim_set_clone(const struct lim_set *s) LIM_MUST_CHECK;
void lim_set_reset(struct lim_set *s);
void lim_set_destroy(struct lim_set *s);

/* Adds a bucket and returns its index (0, 1, 2, ...). */
uint32_t lim_set_add_bucket(struct lim_set *s, const struct lim_bucket_spec *spec);
size_t lim_set_nbuckets(const struct lim_set *s);
size_t lim_bucket_nwindows(const struct lim_set *s, uint32_t bucket);

/* Whether a bucket route ("*", "read", "write", "POST /posts") covers a
 * request route ("POST /posts"). */
int lim_route_matches(const char *bucket_route, const char *req_route);

/* Earliest t >= now_ms at which every window of every bucket the request
 * draws on has room for it, pacing allows it, no block covers it, and no
 * drawn bucket has recorded a later send. LIM_NEVER if it can never go.
 * The answer holds until something is committed or fed back. */
uint64_t lim_next_slot(const struct lim_set *s, const struct lim_req *r,
                       uint64_t now_ms) LIM_MUST_CHECK;
/* The same, also telling which constraint decided (why may be NULL). */
uint64_t lim_next_slot_why(const struct lim_set *s, const struct lim_req *r, uint64_t now_ms,
                           struct lim_why *why) LIM_MUST_CHECK;

/* Records that the request left at sent_ms. Sends are expected in time order
 * per bucket; an older one is counted conservatively (a rolling entry at the
 * bucket's newest time, a fixed window in its true period if still known). */
void lim_commit(struct lim_set *s, const struct lim_req *r, uint64_t sent_ms);

/* One past send, for rebuilding windows from the attempts log. */
struct lim_sent {
    uint64_t sent_ms;
    struct lim_req req;
};
/* Commits the log in time order (it need not be sorted). A new owner of a
 * key calls it on a fresh or reset set. */
void lim_replay(struct lim_set *s, const struct lim_sent *log, size_t n);

/* Blocks a bucket: nothing drawing on it leaves before until_ms (+ skew).
 * Blocks only ever extend. */
void lim_block(struct lim_set *s, uint32_t bucket, uint64_t until_ms);
uint64_t lim_bucket_blocked_until(const struct lim_set *s, uint32_t bucket);

/* A window as `postpace limits` shows it. */
struct lim_window_state {
    struct lim_window_spec spec;
    uint64_t len_ms;   /* effective length after scaling; 0 for month and lifetime */
    uint64_t used;     /* units counted at now */
    uint64_t frees_at; /* earliest time a 1-unit request fits this window alone */
};
void lim_window_state(const struct lim_set *s, uint32_t bucket, uint32_t window, uint64_t now_ms,
                      struct lim_window_state *out);

/* ---- Feedback from responses (feedback.c) ----
 * The provider module extracts numbers from headers and the JSON body; the
 * limiter gives them meaning. Absent values are -1. */
struct lim_feedback {
    int status;                     /* HTTP status; 429 blocks */
    enum lim_reset_kind reset_kind; /* the provider's meaning of X-RateLimit-Reset */
    int64_t limit;                  /* X-RateLimit-Limit */
    int64_t remaining;              /* X-RateLimit-Remaining */
    int64_t reset;                  /* X-RateLimit-Reset, raw */
    int64_t retry_after_s;          /* Retry-After header, seconds */
    int64_t body_retry_after_s;     /* body retry_after (Postlark) / retryAfter (Jestha) */
    int32_t bucket; /* the bucket a 429 names (e.g. Jestha's daily quota), -1: all drawn */
};

/* Every field absent, status 0, bucket -1. */
void lim_feedback_init(struct lim_feedback *fb);

/* X-RateLimit-Reset as epoch ms; 0 when absent or LIM_RESET_NONE. A "unix"
 * value below 10^9 is read as seconds left (a server that mislabels it). */
uint64_t lim_reset_ms(enum lim_reset_kind kind, int64_t reset, uint64_t now_ms);

/* Applies a response received at now_ms to the request's buckets:
 * - Remaining (with Limit, matched to the windows with that max_units, else
 *   the shortest key-wide window) raises the local count to Limit-Remaining
 *   when another client spent more than we know; a fixed window keeps it
 *   until its reset, a rolling window for one window length. It never lowers
 *   a count.
 * - A 429 blocks the named bucket (or every drawn bucket) until the latest
 *   of Retry-After, the body's retry field and Reset; with none of them
 *   (SchedPilot) until the end of the bucket's shortest fixed window (top of
 *   the next clock hour), else one shortest rolling window, else 60 s. */
void lim_apply_feedback(struct lim_set *s, const struct lim_req *r, const struct lim_feedback *fb,
                        uint64_t now_ms);

/* ---- Limit rows as in the rate_limits table (rows.c) ---- */
struct lim_row {
    const char *provider;
    const char *plan; /* NULL: every plan */
    int64_t key_id;   /* 0: the provider's row; else an override for that key */
    enum lim_scope scope;
    const char *route;
    enum lim_kind kind;
    uint64_t window_ms; /* 0 for month and lifetime */
    uint64_t max_units;
    enum lim_cost cost;
};

/* The rows that apply to one key (provider, plan, key_id): rows of the
 * provider with no plan or the key's plan, and the key's own rows; a key row
 * overrides a plan row, which overrides a plan-less row, with the same scope,
 * route, kind and window_ms. Writes pointers into rows to out (room for n),
 * in table order, and returns how many. */
size_t lim_rows_select(const struct lim_row *rows, size_t n, const char *provider, const char *plan,
                       int64_t key_id, const struct lim_row **out);

/* Adds one bucket per distinct route among the selected rows of `scope` and
 * writes their indices to out (room for n). Returns how many were added. */
size_t lim_set_add_rows(struct lim_set *s, const struct lim_row *const *rows, size_t n,
                        enum lim_scope scope, double time_scale, uint32_t *out);

/* SQL enum labels to C enums; -1 when unknown. */
int lim_kind_parse(const char *name);
int lim_cost_parse(const char *name);
int lim_scope_parse(const char *name);
int lim_reset_kind_parse(const char *name);

#endif
