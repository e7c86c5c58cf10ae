/*
 * DESIGN: formats each line in a stack buffer and writes it with one
 * fwrite under the stream lock, so lines from several threads never
 * interleave. Owns the level and stream; never allocates.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level min_level = LOG_INFO;
static FILE *out_stream;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    min_level = level;
}

void log_set_stream(FILE *f)
{
    out_stream = f;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOG_ERROR; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *log_quote(const char *s, char *buf, size_t size)
{
    int plain = *s != '\0' && strpbrk(s, " \"=\\\n\t") == NULL;
    size_t o = 0;
    if (size == 0 || s == buf)
        abort(); /* quoting in place would read what it just wrote */
    if (!plain && o + 1 < size)
        buf[o++] = '"';
    for (; *s && o + 3 < size; s++) {
        if (*s == '"' || *s == '\\') {
            buf[o++] = '\\';
            buf[o++] = *s;
        } else if (*s == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else {
            buf[o++] = *s;
        }
    }
    if (!plain && o + 1 < size)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

void log_msg(enum log_level level, const char *msg, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char line[2048], qmsg[512];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level],
                     log_quote(msg, qmsg, sizeof qmsg));
    if (fmt && n > 0 && (size_t)n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
        n = m < 0 ? n - 1 : n + m;
    }
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    FILE *f = out_stream ? out_stream : stderr;
    fwrite(line, 1, (size_t)n, f);
    fflush(f);
}

/* Masks "password=..." in key/value form and "user:pass@" in URL form. */
const char *log_redact_conninfo(const char *ci, char *buf, size_t size)
{
    size_t o = 0;
    const char *scheme = strstr(ci, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    for (const char *p = ci; *p && o + 4 < size;) {
        if (colon && p == colon + 1) {
            memcpy(buf + o, "***", 3), o += 3;
            p = at;
            continue;
        }
        if (!scheme && strncasecmp(p, "password", 8) == 0 && (p == ci || p[-1] == ' ')) {
            const char *eq = p + 8;
            while (*eq == ' ')
                eq++;
            if (*eq == '=') {
                o += (size_t)snprintf(buf + o, size - o, "password=***");
                p = eq + 1;
                while (*p == ' ')
                    p++;
                if (*p == '\'') {
                    for (p++; *p && *p != '\''; p++)
                        if (*p == '\\' && p[1])
                            p++;
                    if (*p)
                        p++;
                } else {
                    while (*p && *p != ' ')
                        p++;
                }
                continue;
            }
        }
        buf[o++] = *p++;
    }
    /* URL query parameters may carry the password too. */
    buf[o] = '\0';
    char *qp = scheme ? strstr(buf, "password=") : NULL;
    if (qp) {
        char *end = strchr(qp, '&');
        size_t tail = end ? strlen(end) : 0;
        if (qp + 12 + tail < buf + size) {
            memmove(qp + 12, end ? end : qp + strlen(qp), tail + 1);
            memcpy(qp + 9, "***", 3);
        }
    }
    return buf;
}
