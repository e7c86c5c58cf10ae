/*
 * rfc3339: the one time grammar postpace reads, wherever a time comes from
 * (API bodies and query strings, list cursors, import files, CLI flags), and
 * the range every time must fall in. Pure: no clock, no TZ, no libc time.
 *
 *   YYYY-MM-DD ( T | t | space ) HH:MM [ :SS [ .f{1,6} ] ] [ Z | z | ±HH:MM | ±HHMM | ±HH ]
 *
 * Without an offset the time is a local wall-clock time, to be read in a
 * zone given elsewhere (time_zone); a caller that needs an instant refuses
 * it (RFC3339_E_NEED_OFFSET). The range, in UTC after the offset is applied,
 * is 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z: what RFC 3339 can
 * print with a four-digit year, and what an epoch in unsigned ms can hold.
 * A local time cannot be placed exactly without its zone, so it must lie at
 * least RFC3339_ZONE_MARGIN_S inside the range: no zone moves it out then.
 */
#ifndef POSTPACE_UTIL_RFC3339_H
#define POSTPACE_UTIL_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* The range, in µs since 1970-01-01T00:00:00Z, both ends included. */
#define RFC3339_MIN_US INT64_C(0)
#define RFC3339_MAX_US INT64_C(253402300799999999)
/* Largest offset accepted (as PostgreSQL's timestamptz input): 15:59. */
#define RFC3339_MAX_OFFSET_MIN (15 * 60 + 59)
/* A local time keeps this far from the range's ends (covers every offset). */
#define RFC3339_ZONE_MARGIN_S (16 * 3600)

/* Reasons a time is refused, with their words (X-macro: enum and text from one list). */
#define RFC3339_ERRORS(X)                                                                        \
    X(OK, "ok")                                                                                  \
    X(SYNTAX, "want YYYY-MM-DDTHH:MM[:SS[.ffffff]] with an optional Z or ±HH:MM")                \
    X(DATE, "no such date")                                                                      \
    X(TIME, "no such time of day")                                                               \
    X(LEAP, "no such time of day: leap seconds (:60) are not accepted")                          \
    X(FRACTION, "want 1 to 6 digits of fractional seconds")                                      \
    X(OFFSET, "bad offset (want Z or ±HH:MM, at most ±15:59)")                                   \
    X(TRAILING, "unexpected text after the time")                                                \
    X(RANGE, "outside the supported range 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (in UTC)") \
    X(EDGE, "a local time within 16 hours of 1970-01-01 or of 9999-12-31 needs an offset")       \
    X(NEED_OFFSET, "needs an offset: Z or ±HH:MM")

enum rfc3339_err {
#define RFC3339_ENUM(name, text) RFC3339_E_##name,
    RFC3339_ERRORS(RFC3339_ENUM)
#undef RFC3339_ENUM
};

struct rfc3339_time {
    int year, month, day, hour, minute, second;
    int usec;       /* the fraction, in microseconds */
    int has_offset; /* 0: a local time */
    int offset_min; /* with has_offset: minutes east of UTC */
};

/*
 * Parses s[0..len) (no NUL needed; an embedded NUL is trailing text) and
 * checks the date exists and the range holds. RFC3339_E_OK or the reason;
 * *t is filled only on success.
 */
enum rfc3339_err rfc3339_parse(const char *s, size_t len, struct rfc3339_time *t)
    __attribute__((warn_unused_result));

/* rfc3339_parse for a NUL-terminated string that must carry an offset; *us the instant. */
enum rfc3339_err rfc3339_parse_instant(const char *s, int64_t *us)
    __attribute__((warn_unused_result));

/* The instant in µs since the epoch (a local time taken as UTC). */
int64_t rfc3339_to_us(const struct rfc3339_time *t);

/* 1 when us lies in the range. */
int rfc3339_us_in_range(int64_t us);

/* The reason's words ("no such date"); never NULL. */
const char *rfc3339_strerror(enum rfc3339_err e);

/* "YYYY-MM-DD HH:MM:SS.ffffff", the wall-clock part as PostgreSQL reads it (27 bytes). */
void rfc3339_local_text(const struct rfc3339_time *t, char *buf, size_t len);
/* "+HH:MM", or "" for a local time (7 bytes). */
void rfc3339_offset_text(const struct rfc3339_time *t, char *buf, size_t len);

/* ms since the epoch (>= 0) as YYYY-MM-DDTHH:MM:SS[.fff]Z; milliseconds only when not whole. */
void rfc3339_format_ms(int64_t ms, char *buf, size_t len);

#endif
