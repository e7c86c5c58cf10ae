/*
 * DESIGN: table-driven configuration (redis static_configs, pgbouncer
 * bouncer_params). Adding a setting is one row here and one field in
 * struct config. Runs on the main thread before any other starts.
 *
 * The config file is read by a small parser of the grammar in README
 * "Configuration": one setting per line, no continuation, values bare or
 * double-quoted, '#' a comment only at a line's start or after a blank. It
 * refuses, with FILE:LINE, whatever the grammar does not allow instead of
 * guessing (an inline comment used to become part of the value: three extra
 * API tokens). Values are checked where they are set (set_value), so the file,
 * the environment and the flags obey the same rules.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    KEY_INT("webhook_reload_ms", "POSTPACE_WEBHOOK_RELOAD_MS", webhook_reload_ms, "30000", 10,
            3600000, "how often webhook secrets and field paths are reloaded, in milliseconds"),
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
    KEY_INT("import_id_memory_mb", "POSTPACE_IMPORT_ID_MEMORY_MB", import_id_memory_mb, "40", 0,
            4000,
            "import: memory for the external ids read, to name repeats without the database (0: "
            "the database finds them)"),
    KEY_INT("unconfirmed_retry_ms", "POSTPACE_UNCONFIRMED_RETRY_MS", unconfirmed_retry_ms, "300000",
            0, 2000000000,
            "how long an unconfirmed target waits for its webhook before it is re-sent"),
    KEY_INT("lease_ttl_ms", "POSTPACE_LEASE_TTL_MS", lease_ttl_ms, "15000", 300, 3600000,
            "key-group lease length (renewed at a third of it)"),
    KEY_INT("skew_ms", "POSTPACE_SKEW_MS", skew_ms, "1000", 0, 60000,
            "clock-skew margin at rate-limit window edges"),
    KEY_INT("claim_ahead_ms", "POSTPACE_CLAIM_AHEAD_MS", claim_ahead_ms, "50", 0, 10000,
            "claim and commit a request this long before its rate-limit slot, to send at the slot"),
    KEY_INT("outbox", "POSTPACE_OUTBOX", outbox, "1", 0, 1,
            "1: this instance delivers outgoing webhooks to subscriptions; 0: it does not"),
    KEY_INT("outbox_concurrency", "POSTPACE_OUTBOX_CONCURRENCY", outbox_concurrency, "16", 1, 1024,
            "outgoing webhook requests in flight at once"),
    KEY_INT("outbox_timeout_ms", "POSTPACE_OUTBOX_TIMEOUT_MS", outbox_timeout_ms, "10000", 100,
            600000, "timeout of one outgoing webhook request"),
    KEY_INT("outbox_backoff_ms", "POSTPACE_OUTBOX_BACKOFF_MS", outbox_backoff_ms, "5000", 1,
            86400000, "first retry delay of an outgoing webhook; doubles per try, with jitter"),
    KEY_INT("outbox_backoff_max_ms", "POSTPACE_OUTBOX_BACKOFF_MAX_MS", outbox_backoff_max_ms,
            "3600000", 1, 86400000, "longest delay between two tries of an outgoing webhook"),
    KEY_INT("outbox_retry_for_ms", "POSTPACE_OUTBOX_RETRY_FOR_MS", outbox_retry_for_ms, "86400000",
            0, 2000000000,
            "an outgoing webhook is retried this long, then dead (listed, replayable)"),
    KEY_INT("outbox_poll_ms", "POSTPACE_OUTBOX_POLL_MS", outbox_poll_ms, "1000", 10, 60000,
            "the outbox looks for due deliveries at least this often"),
    KEY_STR("api_tokens", "POSTPACE_API_TOKENS", api_tokens, "",
            "space-separated bearer tokens of the /v1 API; empty: the API answers 401"),
    KEY_INT("api_workers", "POSTPACE_API_WORKERS", api_workers, "2", 1, 64,
            "API worker threads, each with its own database connection"),
    KEY_INT("api_batch_max", "POSTPACE_API_BATCH_MAX", api_batch_max, "64", 1, 1024,
            "most concurrent POST /v1/posts committed in one transaction (1: one each)"),
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

/* The bytes a token may hold: RFC 6750's b64token. */
static int token_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("-._~+/=", ch));
}

/*
 * api_tokens: at most CFG_MAX_API_TOKENS tokens of CFG_MIN_TOKEN_LEN or more
 * token_char bytes, separated by spaces, none twice. Errors name a token by
 * its position, never by its text. Registers each as a secret.
 */
static int check_tokens(const char *list, char *err, size_t errlen)
{
    const char *toks[CFG_MAX_API_TOKENS];
    size_t lens[CFG_MAX_API_TOKENS], n = 0;
    for (const char *p = list + strspn(list, " "); *p; p += strspn(p, " ")) {
        size_t len = strcspn(p, " ");
        if (n == CFG_MAX_API_TOKENS) {
            snprintf(err, errlen, "api_tokens: more than %d tokens", CFG_MAX_API_TOKENS);
            return -1;
        }
        for (size_t i = 0; i < len; i++)
            if (!token_char(p[i])) {
                snprintf(err, errlen, "api_tokens: token %zu has a byte outside A-Z a-z 0-9 - . _ ~ + / =",
                         n + 1);
                return -1;
            }
        if (len < CFG_MIN_TOKEN_LEN) {
            snprintf(err, errlen, "api_tokens: token %zu is shorter than %d bytes", n + 1,
                     CFG_MIN_TOKEN_LEN);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if (lens[i] == len && memcmp(toks[i], p, len) == 0) {
                snprintf(err, errlen, "api_tokens: tokens %zu and %zu are the same", i + 1, n + 1);
                return -1;
            }
        toks[n] = p, lens[n++] = len;
        p += len;
    }
    for (size_t i = 0; i < n; i++) {
        char *t = xstrndup(toks[i], lens[i]);
        log_secret_add(t);
        free(t);
    }
    return 0;
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
        if (strcmp(k->name, "api_tokens") == 0 && check_tokens(value, err, errlen) != 0)
            return -1;
        if (strcmp(k->name, "database_url") == 0 || strcmp(k->name, "scheduler_database_url") == 0)
            log_secret_add(value); /* masked in every log line */
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

/* ---- the file grammar (README "Configuration"; every rule in src/README.md) ---- */

static char *skip_blank(char *s)
{
    return s + strspn(s, " \t");
}

static int refuse(char *why, size_t n, const char *what)
{
    snprintf(why, n, "%s", what);
    return -1;
}

/* A double-quoted value at s, unescaped in place into *value; *rest after the quote. */
static int quoted_value(char *s, char **value, char **rest, char *why, size_t n)
{
    char *out = s, *p = s + 1;
    *value = out;
    for (;; p++) {
        if (*p == '\0')
            return refuse(why, n, "the quoted value is not closed");
        if (*p == '"')
            break;
        if (*p == '\\') {
            p++;
            if (*p != '"' && *p != '\\')
                return refuse(why, n, "only \\\" and \\\\ are escapes in a quoted value");
        }
        *out++ = *p;
    }
    *out = '\0';
    *rest = skip_blank(p + 1);
    if (**rest != '\0' && **rest != '#')
        return refuse(why, n, "only a comment may follow a quoted value");
    return 0;
}

/* An unquoted value at s: up to a '#' after a blank, or the end; blanks trimmed. */
static int bare_value(char *s, char **value, char *why, size_t n)
{
    char *p = s;
    for (; *p && !(*p == '#' && (p[-1] == ' ' || p[-1] == '\t')); p++)
        if (*p == '"')
            return refuse(why, n, "a quote inside an unquoted value (quote the whole value)");
    while (p > s && (p[-1] == ' ' || p[-1] == '\t'))
        p--;
    *p = '\0';
    if (p > s && p[-1] == '\\')
        return refuse(why, n, "a value ends with \\ (continuation lines are not allowed)");
    *value = s;
    return 0;
}

/*
 * Parses one line (no newline). Sets *key to NULL for a blank or comment
 * line, else *key and *value (pointing into line). 0, or -1 with why.
 */
static int parse_line(char *line, char **key, char **value, char *why, size_t n)
{
    *key = NULL;
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return refuse(why, n, "a control character (other than tab) in the line");
    char *s = skip_blank(line), *k = s;
    if (*s == '\0' || *s == '#')
        return 0;
    while ((*s >= 'a' && *s <= 'z') || *s == '_' || (s > k && *s >= '0' && *s <= '9'))
        s++;
    char *kend = s;
    s = skip_blank(s);
    if (kend == k || *s != '=')
        return refuse(why, n, "expected \"key = value\" (key: a-z, 0-9 and _)");
    *kend = '\0';
    *key = k;
    s = skip_blank(s + 1);
    char *rest;
    return *s == '"' ? quoted_value(s, value, &rest, why, n) : bare_value(s, value, why, n);
}

/* Reads one line of at most CFG_LINE_MAX bytes into buf (no newline): 1, 0 at the end, -1. */
static int read_line(FILE *f, char *buf, char *why, size_t n)
{
    size_t len = 0;
    int ch;
    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (ch == '\0')
            return refuse(why, n, "a NUL byte in the line");
        if (len == CFG_LINE_MAX)
            return refuse(why, n, "the line is longer than " CFG_LINE_MAX_TEXT " bytes");
        buf[len++] = (char)ch;
    }
    if (ch == EOF && ferror(f))
        return refuse(why, n, strerror(errno));
    if (len > 0 && buf[len - 1] == '\r')
        len--; /* CRLF files */
    buf[len] = '\0';
    return ch == EOF && len == 0 ? 0 : 1;
}

/* Applies the lines of f; seen[i] is the line that set cfg_keys[i]. */
int cfg_load_stream(struct config *c, FILE *f, const char *path, char *err, size_t errlen)
{
    static char line[CFG_LINE_MAX + 1];
    int seen[sizeof cfg_keys / sizeof cfg_keys[0]] = {0}, lineno = 0, more;
    char why[256], *key, *value;
    while ((more = read_line(f, line, why, sizeof why)) != 0) {
        lineno++;
        if (more < 0 || parse_line(line, &key, &value, why, sizeof why) != 0)
            goto fail;
        if (!key)
            continue;
        const struct cfg_key *k = find_key(key);
        if (!k) {
            snprintf(why, sizeof why, "unknown setting \"%s\"", key);
            goto fail;
        }
        size_t i = (size_t)(k - cfg_keys);
        if (seen[i]) {
            snprintf(why, sizeof why, "%s is already set on line %d", k->name, seen[i]);
            goto fail;
        }
        seen[i] = lineno;
        if (set_value(c, k, value, why, sizeof why) != 0)
            goto fail;
    }
    return 0;
fail:
    snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
    return -1;
}

int cfg_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    struct stat st;
    if (!f) {
        snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "config file %s: is a directory", path);
        fclose(f);
        return -1;
    }
    int rc = cfg_load_stream(c, f, path, err, errlen);
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
