/*
 * log: logfmt lines on stderr, one call one line, safe from any thread.
 *
 *   log_info("migration applied", LOG_STR("version", v), LOG_STR("name", name));
 *   -> ts=2026-11-26T20:30:00.123Z level=info msg="migration applied" version=0001 name=baseline
 *
 * Callers never format the key=value tail themselves: each field is a typed
 * item (LOG_STR, LOG_INT, LOG_UINT, LOG_DBL, LOG_BOOL), and the log module
 * writes every key and value, so a line is logfmt whatever the values hold:
 *   - keys are identifiers [A-Za-z_][A-Za-z0-9_.]*; other bytes become '_';
 *   - a string value is bare when it is non-empty printable ASCII without
 *     space, '=', '"' or '\\'; otherwise it is double-quoted with \" \\ \n
 *     \r \t, \u00XX for other control bytes and DEL, and \ufffd for each byte
 *     that is not part of valid UTF-8 (NULL is written as "");
 *   - a line is at most LOG_LINE_MAX bytes: fields that do not fit are
 *     dropped whole, from the first that does not fit to the end, and the line
 *     ends with truncated=true. A value is never cut.
 * Every registered secret (log_secret_add) is replaced by *** in the message
 * and in every string value before quoting, whoever produced the text (libpq,
 * libcurl, a provider's answer): the last line of defence, not the first.
 */
#ifndef POSTPACE_LOG_H
#define POSTPACE_LOG_H

#include <stddef.h>
#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* The longest line written, newline included. */
#define LOG_LINE_MAX 2048

void log_set_level(enum log_level level);
/* Sends log lines to `f` instead of stderr (tests). */
void log_set_stream(FILE *f);
/* Parses "debug", "info", "warn", "error"; returns 0, or -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);

/* The type of a field's value; LOG_K_NONE only pads the arrays the macros build. */
enum log_kind { LOG_K_NONE, LOG_K_STR, LOG_K_INT, LOG_K_UINT, LOG_K_DBL, LOG_K_BOOL };

/* One key=value item. Build it with the macros below, not by hand. */
struct log_field {
    const char *key;
    enum log_kind kind;
    union {
        const char *s;
        long long i;
        unsigned long long u;
        double d;
    } v;
};

/* Initialisers of a field (the key must be a string; no casts, so a value of
 * the wrong type is a compile error or warning). */
#define LOG_STR(key_, s_) {.key = (key_), .kind = LOG_K_STR, .v.s = (s_)}
#define LOG_INT(key_, n_) {.key = (key_), .kind = LOG_K_INT, .v.i = (n_)}
#define LOG_UINT(key_, n_) {.key = (key_), .kind = LOG_K_UINT, .v.u = (n_)}
#define LOG_DBL(key_, x_) {.key = (key_), .kind = LOG_K_DBL, .v.d = (x_)}
#define LOG_BOOL(key_, b_) {.key = (key_), .kind = LOG_K_BOOL, .v.i = !!(b_)}

/*
 * Writes one line of `n` fields. The macros below call it with a compound
 * literal whose first element is padding (so that an empty list is still a
 * valid initialiser) and count the fields with sizeof; call it directly only
 * for a list built at run time.
 */
void log_emit(enum log_level level, const char *msg, const struct log_field *f, size_t n);

#define LOG_FIELDS_(...)                                                                           \
    (const struct log_field[]){{0}, __VA_ARGS__} + 1,                                              \
        sizeof((const struct log_field[]){{0}, __VA_ARGS__}) / sizeof(struct log_field) - 1

#define log_debug(msg, ...) log_emit(LOG_DEBUG, (msg), LOG_FIELDS_(__VA_ARGS__))
#define log_info(msg, ...) log_emit(LOG_INFO, (msg), LOG_FIELDS_(__VA_ARGS__))
#define log_warn(msg, ...) log_emit(LOG_WARN, (msg), LOG_FIELDS_(__VA_ARGS__))
#define log_error(msg, ...) log_emit(LOG_ERROR, (msg), LOG_FIELDS_(__VA_ARGS__))

/*
 * Writes `s` as a logfmt value (the one quoting function, rules above) into
 * buf, for other logfmt writers (the simulator's request log). When buf is
 * too small the value is cut at a character boundary and the quote still
 * closed. Secrets are not masked here.
 */
const char *log_quote(const char *s, char *buf, size_t size);

/*
 * Registers a secret: from now on every line written has it replaced by ***.
 * Copies it; empty strings and NULL are ignored; adding one twice is harmless.
 * Call it as each secret is loaded (the database password and connection
 * string, API tokens, webhook secrets, provider keys). Any thread.
 */
void log_secret_add(const char *secret);

/* Forgets every registered secret (tests). */
void log_secret_forget_all(void);

/*
 * Copies `s` into buf with every registered secret replaced by ***; cut to
 * size. For text that leaves the process some other way (stored errors).
 */
const char *log_mask(const char *s, char *buf, size_t size);

/*
 * Copies a libpq connection string or URL with any password replaced by
 * "***" into buf, so it can be logged.
 */
const char *log_redact_conninfo(const char *conninfo, char *buf, size_t size);

#endif
