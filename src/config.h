/*
 * config: the daemon's settings, one table of keys with defaults. Values come,
 * later sources winning, from the defaults, an optional config file
 * (`key = value` lines), environment variables, and command-line flags
 * (`--key-name=value` or `--key-name value`).
 */
#ifndef POSTPACE_CONFIG_H
#define POSTPACE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct config {
    char *database_url;        /* libpq conninfo or URL; empty: libpq's PG* defaults */
    char *listen;              /* host:port of the HTTP server */
    int http_threads;          /* h2o event-loop threads */
    char *log_level;           /* debug | info | warn | error */
    int body_limit;            /* largest accepted request body, bytes */
    char *instance_id;         /* names this process in leases; empty: host:pid */
    int shutdown_grace_ms;     /* how long shutdown waits for requests in flight */
    int webhook_tolerance_s;   /* accepted webhook-timestamp skew, both directions */
    int webhook_batch_max;     /* most webhook events committed in one transaction */
    int webhook_writers;       /* webhook writer threads, each with its own connection */
    int webhook_gather_events; /* a writer waits for this many while another stores... */
    int webhook_gather_ms;     /* ...at most this long */
    int webhook_sweep_ms;      /* how often pending events are matched again (0: never) */
    int webhook_sweep_window_s; /* ...those received this recently */
    int webhook_reload_ms;      /* secrets and webhook_fields reloaded this often */
    int scheduler;             /* 1: this instance publishes; 0: HTTP only */
    int max_in_flight;         /* publish requests in flight at once */
    int request_timeout_ms;    /* one provider request */
    int max_attempts;          /* tries of a target before it fails */
    int backoff_ms;            /* first retry delay (doubles, with jitter) */
    int catchup_ms;            /* never-tried targets overdue beyond this expire */
    int import_id_memory_mb;   /* import: memory for the ids read (0: SQL finds repeats) */
    int unconfirmed_retry_ms;  /* wait for a webhook before re-sending an unconfirmed target */
    int lease_ttl_ms;          /* key-group lease length */
    int skew_ms;               /* clock-skew margin at window edges */
    int claim_ahead_ms;        /* claim this long before a limiter slot */
    int outbox;                /* 1: deliver outgoing webhooks */
    int outbox_concurrency;    /* outgoing webhook requests in flight */
    int outbox_timeout_ms;     /* one outgoing webhook request */
    int outbox_backoff_ms;     /* first retry delay (doubles, with jitter) */
    int outbox_backoff_max_ms; /* longest retry delay */
    int outbox_retry_for_ms;   /* retried this long, then dead */
    int outbox_poll_ms;        /* looks for due deliveries at least this often */
    char *api_tokens;          /* space-separated bearer tokens of /v1; empty: API disabled */
    int api_workers;           /* API worker threads, each with its own connection */
    int api_batch_max;         /* most POST /v1/posts committed in one transaction */
    int prepared_statements;   /* 0: no named statements (transaction-mode pooler) */
    char *scheduler_database_url; /* the scheduler's connection; empty: database_url */
};

/* One key of the table; exposed so `help` and the README can list them. */
struct cfg_key {
    const char *name; /* file key; the flag is --name with '_' as '-' */
    const char *env;  /* environment variable */
    int type;         /* CFG_STR or CFG_INT */
    size_t offset;    /* into struct config */
    const char *def;  /* default, as text */
    int min, max;     /* CFG_INT bounds */
    const char *help;
};
enum { CFG_STR, CFG_INT };

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_key_count;

/* The longest config-file line, newline excluded; longer lines are refused. */
#define CFG_LINE_MAX 4096
#define CFG_LINE_MAX_TEXT "4096"
/* api_tokens: at most this many, each at least CFG_MIN_TOKEN_LEN bytes. */
#define CFG_MAX_API_TOKENS 64
#define CFG_MIN_TOKEN_LEN 16

/* Sets every key to its default. Pair with cfg_finish. */
void cfg_init(struct config *c);
void cfg_finish(struct config *c);

/*
 * Sets key `name` (file spelling, or flag spelling without the dashes) from
 * text. Returns 0, or -1 with a one-line reason naming the key in err.
 */
int cfg_set(struct config *c, const char *name, const char *value, char *err, size_t errlen);

/*
 * Applies a config file (grammar: README "Configuration"). Returns 0, or -1
 * with "FILE:LINE: reason" in err; a directory, an over-long line, a key set
 * twice or unknown, and a bad value are all refused.
 */
int cfg_load_file(struct config *c, const char *path, char *err, size_t errlen);

/* The same for an open stream; `path` names it in errors (the fuzzer reads memory). */
int cfg_load_stream(struct config *c, FILE *f, const char *path, char *err, size_t errlen);

/* Applies every key's environment variable that is set. */
int cfg_load_env(struct config *c, char *err, size_t errlen);

/*
 * Builds the configuration for a subcommand: defaults, then the file named by
 * --config or POSTPACE_CONFIG, then the environment, then the flags in argv.
 * Arguments that are not config flags are kept, in order, in rest[] (which
 * must hold argc entries); *nrest gets their count. An unknown --flag is an
 * error unless `allow_unknown` lets the subcommand parse it.
 * Returns 0, or -1 with a one-line reason in err.
 */
int cfg_load(struct config *c, int argc, char **argv, char **rest, int *nrest, int allow_unknown,
             char *err, size_t errlen);

/* Prints the keys with their env names and defaults. */
void cfg_print_help(FILE *f);

#endif
