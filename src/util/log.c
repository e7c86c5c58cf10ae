/*
 * DESIGN: formats each line in a stack buffer and writes it with one
 * fwrite under the stream lock, so lines from several threads never
 * interleave. Owns the level, the stream and the secret registry; allocates
 * only when a secret is registered.
 *
 * The line is built field by field: a field is appended whole or not at all
 * (then it and every later field are dropped and truncated=true closes the
 * line), so the cap can never cut inside a quoted value. Values are masked
 * (registered secrets become ***) before they are quoted, so a secret is
 * found whatever characters it holds.
 */
#include "util/log.h"
#include "util/text.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/xmalloc.h"

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

/* ---- secrets ---- */

static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;
static size_t nsecrets, secrets_cap;

void log_secret_add(const char *secret)
{
    if (!secret || !*secret)
        return;
    pthread_mutex_lock(&secrets_lock);
    size_t i = 0;
    while (i < nsecrets && strcmp(secrets[i], secret) != 0)
        i++;
    if (i == nsecrets) {
        if (nsecrets == secrets_cap) {
            secrets_cap = secrets_cap ? 2 * secrets_cap : 16;
            secrets = xrealloc(secrets, secrets_cap * sizeof *secrets);
        }
        secrets[nsecrets++] = xstrdup(secret);
    }
    pthread_mutex_unlock(&secrets_lock);
}

void log_secret_forget_all(void)
{
    pthread_mutex_lock(&secrets_lock);
    for (size_t i = 0; i < nsecrets; i++)
        free(secrets[i]);
    free(secrets);
    secrets = NULL;
    nsecrets = secrets_cap = 0;
    pthread_mutex_unlock(&secrets_lock);
}

/* The length of the longest registered secret starting at p, or 0. */
static size_t secret_at(const char *p)
{
    size_t best = 0;
    for (size_t i = 0; i < nsecrets; i++) {
        size_t n = strlen(secrets[i]);
        if (n > best && strncmp(p, secrets[i], n) == 0)
            best = n;
    }
    return best;
}

/* Copies s with secrets masked; returns 0 when it had to be cut to fit. */
static int mask_into(const char *s, char *out, size_t size)
{
    size_t o = 0;
    int whole = 1;
    pthread_mutex_lock(&secrets_lock);
    while (*s) {
        size_t n = nsecrets ? secret_at(s) : 0;
        const char *piece = n ? "***" : s;
        size_t len = n ? 3 : 1;
        if (o + len >= size) {
            whole = 0;
            break;
        }
        memcpy(out + o, piece, len);
        o += len;
        s += n ? n : 1;
    }
    pthread_mutex_unlock(&secrets_lock);
    out[o] = '\0';
    return whole;
}

const char *log_mask(const char *s, char *buf, size_t size)
{
    if (size == 0)
        abort();
    mask_into(s ? s : "", buf, size);
    return buf;
}

/* ---- quoting ---- */

#define NOFIT ((size_t)-1)

static int needs_quotes(const char *s)
{
    if (!*s)
        return 1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '=' || *p == '"' || *p == '\\')
            return 1;
    return 0;
}

/* The escaped form of the character at p, into out (at most 6 bytes); *adv gets the bytes read. */
static size_t escape_char(const unsigned char *p, char *out, size_t *adv)
{
    static const char named[] = "\"\"\\\\\nn\rr\tt";
    *adv = 1;
    for (const char *e = named; *e; e += 2)
        if (*p == (unsigned char)e[0]) {
            out[0] = '\\', out[1] = e[1];
            return 2;
        }
    if (*p < 0x20 || *p == 0x7f)
        return (size_t)snprintf(out, 7, "\\u%04x", *p);
    /* p is inside a NUL-terminated string: a sequence never runs past it. */
    size_t n = *p < 0x80 ? 1 : text_utf8_seq(p, strnlen((const char *)p, 4));
    if (n == 0) {
        memcpy(out, "\\ufffd", 6);
        return 6;
    }
    memcpy(out, p, n);
    *adv = n;
    return n;
}

/*
 * Writes s as a logfmt value into dst (NUL-terminated). Returns its length,
 * or NOFIT when it does not fit whole and `cut` is 0; with `cut`, as much as
 * fits, ending at a character boundary and with the closing quote.
 */
static size_t quote_into(const char *s, char *dst, size_t size, int cut)
{
    size_t n = strlen(s), o = 0;
    if (!needs_quotes(s) && n < size) {
        memcpy(dst, s, n + 1);
        return n;
    }
    if (size < 3)
        return NOFIT;
    dst[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        char piece[8];
        size_t adv, len = escape_char(p, piece, &adv);
        if (o + len + 2 > size) {
            if (!cut)
                return NOFIT;
            break;
        }
        memcpy(dst + o, piece, len);
        o += len;
        p += adv;
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return o;
}

const char *log_quote(const char *s, char *buf, size_t size)
{
    if (size == 0 || s == buf)
        abort(); /* quoting in place would read what it just wrote */
    if (quote_into(s ? s : "", buf, size, 1) == NOFIT)
        buf[0] = '\0';
    return buf;
}

/* ---- lines ---- */

static int key_char_ok(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && ((c >= '0' && c <= '9') || c == '.'));
}

/* " key=" with the key made an identifier; NOFIT when it does not fit. */
static size_t put_key(const char *key, char *dst, size_t size)
{
    size_t o = 0;
    if (!key || !*key)
        key = "_";
    if (size < strlen(key) + 3)
        return NOFIT;
    dst[o++] = ' ';
    for (const char *k = key; *k; k++)
        dst[o++] = key_char_ok(*k, k == key) ? *k : '_';
    dst[o++] = '=';
    return o;
}

/* The field's value as text (masked for strings); 0 when it had to be cut. */
static int value_text(const struct log_field *f, char *buf, size_t size)
{
    switch (f->kind) {
    case LOG_K_STR:
        return mask_into(f->v.s ? f->v.s : "", buf, size);
    case LOG_K_INT:
        snprintf(buf, size, "%lld", f->v.i);
        return 1;
    case LOG_K_UINT:
        snprintf(buf, size, "%llu", f->v.u);
        return 1;
    case LOG_K_DBL:
        snprintf(buf, size, "%g", f->v.d);
        return 1;
    case LOG_K_BOOL:
        snprintf(buf, size, "%s", f->v.i ? "true" : "false");
        return 1;
    default:
        buf[0] = '\0';
        return 1;
    }
}

/* Appends " key=value" to line[*len..room) whole, or leaves *len as it was and returns 0. */
static int append_field(char *line, size_t *len, size_t room, const struct log_field *f)
{
    char text[LOG_LINE_MAX];
    size_t k = put_key(f->key, line + *len, room - *len);
    if (k == NOFIT || !value_text(f, text, sizeof text))
        return 0;
    size_t v = quote_into(text, line + *len + k, room - *len - k, 0);
    if (v == NOFIT)
        return 0;
    *len += k + v;
    return 1;
}

/* The message always goes in: cut (quote closed) when it cannot fit whole; then 0. */
static int append_msg(char *line, size_t *len, size_t room, const char *msg)
{
    struct log_field f = LOG_STR("msg", msg);
    if (append_field(line, len, room, &f))
        return 1;
    char text[LOG_LINE_MAX];
    mask_into(msg ? msg : "", text, sizeof text);
    memcpy(line + *len, " msg=", 5);
    *len += 5;
    *len += quote_into(text, line + *len, room - *len, 1);
    return 0;
}

void log_emit(enum log_level level, const char *msg, const struct log_field *f, size_t n)
{
    static const char tail[] = " truncated=true\n";
    if (level < min_level)
        return;
    char line[LOG_LINE_MAX];
    size_t room = sizeof line - sizeof tail; /* tail and a NUL always fit */
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int h = snprintf(line, room, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
    size_t len = (size_t)h;
    int whole = append_msg(line, &len, room, msg);
    for (size_t i = 0; whole && i < n; i++)
        whole = append_field(line, &len, room, &f[i]);
    if (whole) {
        line[len++] = '\n';
    } else {
        memcpy(line + len, tail, sizeof tail - 1);
        len += sizeof tail - 1;
    }
    FILE *out = out_stream ? out_stream : stderr;
    fwrite(line, 1, len, out);
    fflush(out);
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
