/*
 * DESIGN: table-driven configuration (redis static_configs, pgbouncer
 * bouncer_params). Adding a setting is one row here and one field in
 * struct config. Runs on the main thread before any other starts.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xmalloc.h"

#define KEY_STR(n, e, field, def, help)                                                            \
    {                                                                                              \
        n, e, CFG_STR, offsetof(struct config, field), def, 0, 0, help                             \
    }
#define KEY_INT(n, e, field, def, lo, hi, help)                                                    \
    {                                                                                              \
        n, e, CFG_INT, offsetof(struct config, field), def, lo, hi, help                           \
    }

const struct cfg_key cfg_keys[] = {
    KEY_STR("database_url", "DATABASE_URL", database_url, "",
            "PostgreSQL connection string or URL"),
    KEY_STR("listen", "POSTPACE_LISTEN", listen, "127.0.0.1:8080", "HTTP listen address host:port"),
    KEY_INT("http_threads", "POSTPACE_HTTP_THREADS", http_threads, "1", 1, 64,
            "HTTP event-loop threads"),
    KEY_STR("log_level", "POSTPACE_LOG_LEVEL", log_level, "info", "debug, info, warn or error"),
    KEY_INT("body_limit", "POSTPACE_BODY_LIMIT", body_limit, "262144", 1024, 64 << 20,
            "largest accepted request body in bytes"),
    KEY_STR("instance_id", "POSTPACE_INSTANCE_ID", instance_id, "",
            "name of this instance in leases (default host:pid)"),
    KEY_INT("shutdown_grace_ms", "POSTPACE_SHUTDOWN_GRACE_MS", shutdown_grace_ms, "10000", 0,
            600000, "how long shutdown waits for requests in flight"),
    KEY_INT("webhook_tolerance_s", "POSTPACE_WEBHOOK_TOLERANCE_S", webhook_tolerance_s, "300", 1,
            86400, "accepted webhook-timestamp skew in seconds, both directions"),
    KEY_INT("webhook_batch_max", "POSTPACE_WEBHOOK_BATCH_MAX", webhook_batch_max, "256", 1, 10000,
            "most webhook events committed in one transaction"),
    KEY_INT("webhook_writers", "POSTPACE_WEBHOOK_WRITERS", webhook_writers, "2", 1, 16,
            "webhook writer threads, each with its own database connection"),
    KEY_INT("webhook_gather_events", "POSTPACE_WEBHOOK_GATHER_EVENTS", webhook_gather_events, "24",
            0, 10000,
            "while one writer stores a batch, another waits for this many events (0: never)"),
    KEY_INT("webhook_gather_ms", "POSTPACE_WEBHOOK_GATHER_MS", webhook_gather_ms, "1", 0, 1000,
            "longest such wait, in milliseconds"),
    KEY_INT("webhook_sweep_ms", "POSTPACE_WEBHOOK_SWEEP_MS", webhook_sweep_ms, "1000", 0, 3600000,
            "how often pending events are matched again, in milliseconds (0: never)"),
    KEY_INT("webhook_sweep_window_s", "POSTPACE_WEBHOOK_SWEEP_WINDOW_S", webhook_sweep_window_s,
            "300", 1, 86400, "the sweep looks at pending events received this recently"),
    KEY_INT("scheduler", "POSTPACE_SCHEDULER", scheduler, "1", 0, 1,
            "1: this instance publishes; 0: HTTP only"),
    KEY_INT("max_in_flight", "POSTPACE_MAX_IN_FLIGHT", max_in_flight, "64", 1, 4096,
            "publish requests in flight at once"),
    KEY_INT("request_timeout_ms", "POSTPACE_REQUEST_TIMEOUT_MS", request_timeout_ms, "30000", 100,
            600000, "timeout of one provider request"),
    KEY_INT("max_attempts", "POSTPACE_MAX_ATTEMPTS", max_attempts, "5", 1, 100,
            "tries of a target (5xx, network, unconfirmed) before it fails"),
    KEY_INT("backoff_ms", "POSTPACE_BACKOFF_MS", backoff_ms, "1000", 1, 3600000,
            "first retry delay; doubles each try, with jitter"),
    KEY_INT("catchup_ms", "POSTPACE_CATCHUP_MS", catchup_ms, "3600000", 0, 2000000000,
            "never-tried targets overdue beyond this expire instead of going out late"),
    KEY_INT("unconfirmed_retry_ms", "POSTPACE_UNCONFIRMED_RETRY_MS", unconfirmed_retry_ms, "300000",
            0, 2000000000,
            "how long an unconfirmed target waits for its webhook before it is re-sent"),
    KEY_INT("lease_ttl_ms", "POSTPACE_LEASE_TTL_MS", lease_ttl_ms, "15000", 300, 3600000,
            "key-group lease length (renewed at a third of it)"),
    KEY_INT("skew_ms", "POSTPACE_SKEW_MS", skew_ms, "1000", 0, 60000,
            "clock-skew margin at rate-limit window edges"),
    KEY_STR("api_tokens", "POSTPACE_API_TOKENS", api_tokens, "",
            "space-separated bearer tokens of the /v1 API; empty: the API answers 401"),
    KEY_INT("api_workers", "POSTPACE_API_WORKERS", api_workers, "2", 1, 64,
            "API worker threads, each with its own database connection"),
    KEY_STR("scheduler_database_url", "POSTPACE_SCHEDULER_DATABASE_URL", scheduler_database_url, "",
            "the scheduler's own connection (a session, for LISTEN); empty: database_url"),
    KEY_INT("prepared_statements", "POSTPACE_PREPARED_STATEMENTS", prepared_statements, "1", 0, 1,
            "1: named prepared statements; 0: none (behind a transaction-mode pooler)"),
};
const size_t cfg_key_count = sizeof cfg_keys / sizeof cfg_keys[0];

static const struct cfg_key *find_key(const char *name)
{
    for (size_t i = 0; i < cfg_key_count; i++) {
        const char *a = cfg_keys[i].name, *b = name;
        while (*a && (*a == *b || (*a == '_' && *b == '-')))
            a++, b++;
        if (*a == '\0' && *b == '\0')
            return &cfg_keys[i];
    }
    return NULL;
}

static int set_value(struct config *c, const struct cfg_key *k, const char *value, char *err,
                     size_t errlen)
{
    void *field = (char *)c + k->offset;
    if (k->type == CFG_STR) {
        if (strcmp(k->name, "log_level") == 0) {
            enum log_level lv;
            if (log_level_parse(value, &lv) != 0) {
                snprintf(err, errlen, "%s: must be debug, info, warn or error, not \"%s\"", k->name,
                         value);
                return -1;
            }
        }
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0' || v < k->min || v > k->max) {
        snprintf(err, errlen, "%s: must be an integer from %d to %d, not \"%s\"", k->name, k->min,
                 k->max, value);
        return -1;
    }
    *(int *)field = (int)v;
    return 0;
}

void cfg_init(struct config *c)
{
    char err[256];
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < cfg_key_count; i++)
        if (set_value(c, &cfg_keys[i], cfg_keys[i].def, err, sizeof err) != 0)
            abort(); /* a bad default is a programming error */
}

void cfg_finish(struct config *c)
{
    for (size_t i = 0; i < cfg_key_count; i++)
        if (cfg_keys[i].type == CFG_STR)
            free(*(char **)((char *)c + cfg_keys[i].offset));
    memset(c, 0, sizeof *c);
}

int cfg_set(struct config *c, const char *name, const char *value, char *err, size_t errlen)
{
    const struct cfg_key *k = find_key(name);
    if (!k) {
        snprintf(err, errlen, "unknown setting \"%s\"", name);
        return -1;
    }
    return set_value(c, k, value, err, errlen);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int cfg_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096], why[256];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected \"key = value\"", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"')
            value[vl - 1] = '\0', value++;
        if (cfg_set(c, key, value, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

int cfg_load_env(struct config *c, char *err, size_t errlen)
{
    char why[256];
    for (size_t i = 0; i < cfg_key_count; i++) {
        const char *v = getenv(cfg_keys[i].env);
        if (v && set_value(c, &cfg_keys[i], v, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s: %s", cfg_keys[i].env, why);
            return -1;
        }
    }
    return 0;
}

/* Splits "--name=value" / "--name value"; returns the index of the next arg. */
static int flag_value(int argc, char **argv, int i, char *name, size_t namelen, const char **value)
{
    const char *arg = argv[i] + 2, *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    snprintf(name, namelen, "%.*s", (int)n, arg);
    if (eq) {
        *value = eq + 1;
        return i + 1;
    }
    *value = i + 1 < argc ? argv[i + 1] : NULL;
    return i + 2;
}

int cfg_load(struct config *c, int argc, char **argv, char **rest, int *nrest, int allow_unknown,
             char *err, size_t errlen)
{
    const char *file = getenv("POSTPACE_CONFIG");
    char name[128];
    const char *value;
    /* Pass 1: find --config, which must apply before env and flags. */
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strncmp(argv[i], "--config", 8) == 0 && (argv[i][8] == '\0' || argv[i][8] == '=')) {
            flag_value(argc, argv, i, name, sizeof name, &value);
            if (!value) {
                snprintf(err, errlen, "--config: needs a file name");
                return -1;
            }
            file = value;
        }
    }
    if (file && *file && cfg_load_file(c, file, err, errlen) != 0)
        return -1;
    if (cfg_load_env(c, err, errlen) != 0)
        return -1;
    *nrest = 0;
    for (int i = 0; i < argc;) {
        if (strcmp(argv[i], "--") == 0) {
            while (++i < argc)
                rest[(*nrest)++] = argv[i];
            break;
        }
        if (strncmp(argv[i], "--", 2) != 0 || strcmp(argv[i], "--help") == 0) {
            rest[(*nrest)++] = argv[i++];
            continue;
        }
        int next = flag_value(argc, argv, i, name, sizeof name, &value);
        if (strcmp(name, "config") == 0) {
            i = next;
            continue;
        }
        if (!find_key(name)) {
            if (!allow_unknown) {
                snprintf(err, errlen, "--%s: unknown flag", name);
                return -1;
            }
            rest[(*nrest)++] = argv[i++];
            continue;
        }
        char why[256];
        if (!value) {
            snprintf(err, errlen, "--%s: needs a value", name);
            return -1;
        }
        if (cfg_set(c, name, value, why, sizeof why) != 0) {
            snprintf(err, errlen, "--%s: %s", name, why);
            return -1;
        }
        i = next;
    }
    return 0;
}

void cfg_print_help(FILE *f)
{
    fprintf(f, "Settings (flag, environment variable, default):\n");
    for (size_t i = 0; i < cfg_key_count; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", cfg_keys[i].name);
        for (char *p = flag + 2; *p; p++)
            if (*p == '_')
                *p = '-';
        fprintf(f, "  %-22s %-28s %s\n  %22s %s\n", flag, cfg_keys[i].env,
                *cfg_keys[i].def ? cfg_keys[i].def : "(empty)", "", cfg_keys[i].help);
    }
    fprintf(f, "  %-22s %-28s %s\n", "--config FILE", "POSTPACE_CONFIG",
            "file of key = value lines, applied before env and flags");
}
