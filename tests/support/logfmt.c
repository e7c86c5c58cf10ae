/*
 * DESIGN: a hand-written recursive-descent reader of the grammar in
 * logfmt.h, deliberately stricter than the writer needs (single spaces, no
 * empty bare values, only the writer's escapes), so any drift in
 * src/util/log.c shows up as a parse error in the tests.
 */
#include "logfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
    const unsigned char *p, *end, *start;
    char *err;
    size_t errlen;
};

static int fail(struct cursor *c, const char *why)
{
    snprintf(c->err, c->errlen, "%s at byte %td", why, (const char *)c->p - (const char *)c->start);
    return -1;
}

static int is_key_char(unsigned ch, int first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (!first && ((ch >= '0' && ch <= '9') || ch == '.'));
}

static int read_key(struct cursor *c, char *key, size_t size)
{
    size_t n = 0;
    while (c->p < c->end && is_key_char(*c->p, n == 0)) {
        if (n + 1 >= size)
            return fail(c, "key too long");
        key[n++] = (char)*c->p++;
    }
    key[n] = '\0';
    if (n == 0)
        return fail(c, "expected a key");
    if (c->p >= c->end || *c->p != '=')
        return fail(c, "expected '=' after the key");
    c->p++;
    return 0;
}

/* The length of the valid UTF-8 sequence at p (within end), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned ch = p[0], cp, min;
    size_t n;
    if (ch < 0x80)
        return 1;
    if (ch >= 0xc2 && ch <= 0xdf)
        n = 2, cp = ch & 0x1f, min = 0x80;
    else if (ch >= 0xe0 && ch <= 0xef)
        n = 3, cp = ch & 0x0f, min = 0x800;
    else if (ch >= 0xf0 && ch <= 0xf4)
        n = 4, cp = ch & 0x07, min = 0x10000;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : n;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80)
        return out[0] = (char)cp, 1;
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | cp >> 12), out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

static int read_escape(struct cursor *c, char *out, size_t *o, size_t size)
{
    static const char named[] = "\"\"\\\\n\nr\rt\t";
    if (++c->p >= c->end)
        return fail(c, "unfinished escape");
    for (const char *e = named; *e; e += 2)
        if (*c->p == (unsigned char)e[0]) {
            out[(*o)++] = e[1];
            c->p++;
            return 0;
        }
    if (*c->p != 'u' || c->end - c->p < 5)
        return fail(c, "unknown escape");
    char hex[5] = {0};
    memcpy(hex, c->p + 1, 4);
    char *stop;
    unsigned long cp = strtoul(hex, &stop, 16);
    if (*stop || (cp >= 0xd800 && cp <= 0xdfff))
        return fail(c, "bad \\u escape");
    if (*o + 3 >= size)
        return fail(c, "value too long");
    *o += put_utf8(out + *o, (unsigned)cp);
    c->p += 5;
    return 0;
}

static int read_quoted(struct cursor *c, char *out, size_t size)
{
    size_t o = 0;
    c->p++;
    for (;;) {
        if (c->p >= c->end)
            return fail(c, "unterminated quoted value");
        unsigned ch = *c->p;
        if (o + 5 >= size)
            return fail(c, "value too long");
        if (ch == '"') {
            c->p++;
            break;
        }
        if (ch == '\\') {
            if (read_escape(c, out, &o, size) != 0)
                return -1;
            continue;
        }
        if (ch < 0x20 || ch == 0x7f)
            return fail(c, "raw control byte in a quoted value");
        size_t n = utf8_seq(c->p, c->end);
        if (n == 0)
            return fail(c, "invalid UTF-8 in a quoted value");
        memcpy(out + o, c->p, n);
        o += n;
        c->p += n;
    }
    out[o] = '\0';
    return 0;
}

static int read_bare(struct cursor *c, char *out, size_t size)
{
    size_t o = 0;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\n') {
        unsigned ch = *c->p;
        if (ch < 0x21 || ch > 0x7e || ch == '=' || ch == '"' || ch == '\\')
            return fail(c, "byte not allowed in a bare value");
        if (o + 1 >= size)
            return fail(c, "value too long");
        out[o++] = (char)ch;
        c->p++;
    }
    out[o] = '\0';
    return o ? 0 : fail(c, "empty bare value");
}

const char *lf_get(const struct lf_pair *pairs, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(pairs[i].key, key) == 0)
            return pairs[i].value;
    return NULL;
}

int lf_parse_line(const char *line, size_t len, struct lf_pair *pairs, int max, char *err,
                  size_t errlen)
{
    struct cursor c = {(const unsigned char *)line, (const unsigned char *)line + len,
                       (const unsigned char *)line, err, errlen};
    static const char *const head[] = {"ts", "level", "msg"};
    int n = 0;
    if (len == 0 || line[len - 1] != '\n')
        return fail(&c, "line does not end with a newline");
    c.end--; /* the newline */
    for (;;) {
        if (n == max)
            return fail(&c, "too many pairs");
        struct lf_pair *pr = &pairs[n];
        if (read_key(&c, pr->key, sizeof pr->key) != 0)
            return -1;
        int rc = c.p < c.end && *c.p == '"' ? read_quoted(&c, pr->value, sizeof pr->value)
                                            : read_bare(&c, pr->value, sizeof pr->value);
        if (rc != 0)
            return -1;
        if (n < 3 && strcmp(pr->key, head[n]) != 0)
            return fail(&c, "a line starts with ts=, level=, msg=");
        if (lf_get(pairs, n, pr->key))
            return fail(&c, "key given twice");
        n++;
        if (c.p == c.end)
            break;
        if (*c.p != ' ')
            return fail(&c, "expected a space between pairs");
        c.p++;
    }
    return n < 3 ? fail(&c, "a line starts with ts=, level=, msg=") : n;
}

int lf_check_text(const char *text, char *err, size_t errlen)
{
    static struct lf_pair pairs[64];
    int lines = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
        char why[256];
        lines++;
        if (lf_parse_line(p, len, pairs, 64, why, sizeof why) < 0) {
            snprintf(err, errlen, "line %d: %s: %.*s", lines, why, (int)(len > 300 ? 300 : len), p);
            return -1;
        }
        p += len;
    }
    return lines;
}
