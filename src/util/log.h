/*
 * log: logfmt lines on stderr, one call one line, safe from any thread.
 *
 *   log_info("migration applied", "version=%s name=%s", v, name);
 *   -> ts=2026-11-26T20:30:00.123Z level=info msg="migration applied" version=0001 name=calendar
 *
 * The second argument is the already-formatted key=value tail (may be NULL).
 * Values that may hold spaces or quotes must go through log_quote(). Secrets
 * are never passed here: use log_redact_conninfo() for connection strings.
 */
#ifndef POSTPACE_LOG_H
#define POSTPACE_LOG_H

#include <stddef.h>
#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* Sends log lines to `f` instead of stderr (tests). */
void log_set_stream(FILE *f);
/* Parses "debug", "info", "warn", "error"; returns 0, or -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Writes `s` as a logfmt value (quoted and escaped when needed) into buf. */
const char *log_quote(const char *s, char *buf, size_t size);

/*
 * Copies a libpq connection string or URL with any password replaced by
 * "***" into buf, so it can be logged.
 */
const char *log_redact_conninfo(const char *conninfo, char *buf, size_t size);

#endif
