/*
 * DESIGN: reads API requests on the loop thread (CPU only, no I/O): the
 * JSON body of a post into SQL parameters, times, query strings and
 * cursors. It checks what a body alone can tell (types, required fields,
 * counts, duplicates, time syntax); what depends on the provider or the
 * database (lengths, media rules, zones, daylight saving, keys) is
 * sql/api_post_check.sql's job, and both sets of reasons are sent together.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "http/api_int.h"
#include "util/rfc3339.h"
#include "util/text.h"
#include "util/xmalloc.h"

#define MAX_ACCOUNTS 100

void api_detail(json_t **details, const char *field, const char *reason)
{
    if (!*details)
        *details = json_object();
    json_t *old = json_object_get(*details, field);
    if (old) {
        /* Two reasons for one field: keep both. */
        char *both = xmalloc(strlen(json_string_value(old)) + strlen(reason) + 3);
        sprintf(both, "%s; %s", json_string_value(old), reason);
        json_object_set_new(*details, field, json_string(both));
        free(both);
        return;
    }
    json_object_set_new(*details, field, json_string(reason));
}

void api_post_in_free(void *p)
{
    struct api_post_in *in = p;
    if (!in)
        return;
    free(in->external_id);
    free(in->provider_key);
    free(in->accounts);
    free(in->content);
    free(in->media);
    free(in->local);
    free(in->offset);
    free(in->time_zone);
    json_decref(in->details);
    free(in);
}

/* ---- times ---- */

const char *api_time_parse(const char *s, char *local, char *offset)
{
    struct rfc3339_time t;
    enum rfc3339_err e = rfc3339_parse(s, strlen(s), &t);
    if (e != RFC3339_E_OK)
        return rfc3339_strerror(e);
    rfc3339_local_text(&t, local, 96);
    rfc3339_offset_text(&t, offset, 32);
    return NULL;
}

/* ---- the post body ---- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void read_external_id(json_t *v, struct api_post_in *in)
{
    if (json_is_null(v))
        return;
    if (!json_is_string(v) || text_is_blank(json_string_value(v), json_string_length(v)))
        api_detail(&in->details, "external_id", "must be a non-empty string");
    else if (utf8_chars(json_string_value(v)) > 200)
        api_detail(&in->details, "external_id", "longer than 200 characters");
    else
        in->external_id = xstrdup(json_string_value(v));
}

static void read_provider_key(json_t *v, struct api_post_in *in)
{
    char buf[32];
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        in->provider_key = xstrdup(buf);
    } else if (json_is_string(v) && json_string_length(v) > 0) {
        in->provider_key = xstrdup(json_string_value(v));
    } else {
        api_detail(&in->details, "provider_key", "must be a key id (number) or a key label (string)");
    }
}

static const char *account_problem(json_t *v)
{
    size_t n = json_array_size(v);
    if (!json_is_array(v))
        return "must be an array of account id strings";
    if (n == 0)
        return "empty: give at least one account id";
    if (n > MAX_ACCOUNTS)
        return "more than 100 accounts";
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(v, i);
        if (!json_is_string(a) || json_string_length(a) == 0)
            return "every account id must be a non-empty string";
        for (size_t k = 0; k < i; k++)
            if (json_equal(a, json_array_get(v, k)))
                return "an account id appears twice";
    }
    return NULL;
}

static void read_accounts(json_t *v, struct api_post_in *in)
{
    const char *why = account_problem(v);
    if (why) {
        api_detail(&in->details, "account_ids", why);
        return;
    }
    size_t n = json_array_size(v);
    const char **vals = xcalloc(n, sizeof *vals);
    for (size_t i = 0; i < n; i++)
        vals[i] = json_string_value(json_array_get(v, i));
    in->accounts = db_text_array(vals, n);
    free(vals);
}

static void read_content(json_t *v, struct api_post_in *in)
{
    if (!json_is_string(v))
        api_detail(&in->details, "content", "must be a string");
    else if (text_is_blank(json_string_value(v), json_string_length(v)))
        api_detail(&in->details, "content", "empty");
    else
        in->content = xstrdup(json_string_value(v));
}

/* What is wrong with media item i (1-based in the message), or NULL. */
static const char *media_item_problem(json_t *item)
{
    static const char *const known[] = {"url", "mime_type", "size_bytes"};
    if (!json_is_object(item))
        return "must be an object {\"url\",\"mime_type\",\"size_bytes\"}";
    json_t *url = json_object_get(item, "url"), *type = json_object_get(item, "mime_type"),
           *size = json_object_get(item, "size_bytes");
    if (!json_is_string(url) || json_string_length(url) == 0)
        return "url must be a non-empty string";
    if (!json_is_string(type) || json_string_length(type) == 0)
        return "mime_type must be a non-empty string";
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return "size_bytes must be a whole number of bytes";
    const char *key;
    json_t *val;
    json_object_foreach(item, key, val) {
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            ok |= strcmp(key, known[k]) == 0;
        if (!ok)
            return "unknown field (want url, mime_type, size_bytes)";
    }
    return NULL;
}

static void read_media(json_t *v, struct api_post_in *in)
{
    if (json_is_null(v)) {
        in->media = xstrdup("[]");
        return;
    }
    if (!json_is_array(v)) {
        api_detail(&in->details, "media", "must be an array of {\"url\",\"mime_type\",\"size_bytes\"} objects");
        return;
    }
    int bad = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *why = media_item_problem(json_array_get(v, i));
        if (why) {
            char msg[160];
            snprintf(msg, sizeof msg, "file %zu: %s", i + 1, why);
            api_detail(&in->details, "media", msg);
            bad = 1;
        }
    }
    if (!bad)
        in->media = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

static void read_scheduled(json_t *v, struct api_post_in *in)
{
    char local[96], offset[32], msg[256];
    const char *why = json_is_string(v) ? api_time_parse(json_string_value(v), local, offset)
                                        : "must be a string";
    if (why) {
        /* The grammar's words, then the shape wanted: the caller sees both. */
        snprintf(msg, sizeof msg,
                 "not an ISO 8601 time postpace accepts: %s (YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z "
                 "or ±HH:MM, or without an offset for a local time in time_zone)",
                 why);
        api_detail(&in->details, "scheduled_at", msg);
        return;
    }
    in->local = xstrdup(local);
    in->offset = *offset ? xstrdup(offset) : NULL;
}

static void read_zone(json_t *v, struct api_post_in *in)
{
    if (json_is_null(v))
        return;
    if (!json_is_string(v) || json_string_length(v) == 0)
        api_detail(&in->details, "time_zone", "must be an IANA zone name such as Europe/Paris");
    else
        in->time_zone = xstrdup(json_string_value(v));
}

struct field {
    const char *name;
    unsigned flag;  /* API_F_* (0: not patchable) */
    int required;   /* by POST */
    void (*read)(json_t *v, struct api_post_in *in);
};

static const struct field fields[] = {
    {"external_id", 0, 0, read_external_id},
    {"provider_key", 0, 1, read_provider_key},
    {"account_ids", API_F_ACCOUNTS, 1, read_accounts},
    {"content", API_F_CONTENT, 1, read_content},
    {"media", API_F_MEDIA, 0, read_media},
    {"scheduled_at", API_F_SCHEDULED, 1, read_scheduled},
    {"time_zone", API_F_ZONE, 0, read_zone},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const struct field *field_named(const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

int api_post_parse(const char *body, size_t len, int patch, struct api_post_in *in)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        const struct field *f = field_named(key);
        if (!f)
            api_detail(&in->details, key, "unknown field");
        else if (patch && !f->flag)
            api_detail(&in->details, key, "cannot be changed: cancel the post and create another");
        else
            in->given |= f->flag, f->read(v, in);
    }
    for (size_t i = 0; i < NFIELDS && !patch; i++)
        if (fields[i].required && !json_object_get(root, fields[i].name))
            api_detail(&in->details, fields[i].name, "required");
    if (!patch && !in->media && !json_object_get(root, "media"))
        in->media = xstrdup("[]");
    if (patch && !in->given && !in->details)
        api_detail(&in->details, "body", "names no field to change");
    json_decref(root);
    return 0;
}

/* ---- query strings and cursors ---- */

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Percent- and '+'-decodes s[0..n) (heap, NUL-terminated); *out_len (if
 * given) is its length, which a decoded %00 makes longer than strlen. */
static char *decode_component(const char *s, size_t n, size_t *out_len)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
                   hexval((unsigned char)s[i + 2]) >= 0) {
            *o++ = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    if (out_len)
        *out_len = (size_t)(o - out);
    return out;
}

char *api_query_get(const char *path, size_t len, size_t query_at, const char *name)
{
    if (query_at == SIZE_MAX || query_at >= len)
        return NULL;
    const char *p = path + query_at + 1, *end = path + len;
    size_t nl = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        if ((size_t)(kend - p) == nl && memcmp(p, name, nl) == 0)
            return eq ? decode_component(eq + 1, (size_t)(stop - eq - 1), NULL) : xstrdup("");
        p = stop + 1;
    }
    return NULL;
}

/* Whether s[0..n) percent-decodes to text PostgreSQL can hold. */
static int decodes_to_text(const char *s, size_t n)
{
    size_t len;
    char *v = decode_component(s, n, &len);
    int ok = text_utf8_check(v, len) == len;
    free(v);
    return ok;
}

int api_query_check(const char *path, size_t len, size_t query_at, char *bad, size_t badlen)
{
    if (query_at == SIZE_MAX || query_at >= len)
        return 0;
    const char *p = path + query_at + 1, *end = path + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        size_t nlen;
        char *name = decode_component(p, (size_t)(kend - p), &nlen);
        int name_ok = text_utf8_check(name, nlen) == nlen;
        int value_ok = !eq || decodes_to_text(eq + 1, (size_t)(stop - eq - 1));
        if (!name_ok || !value_ok)
            snprintf(bad, badlen, "%s", name_ok ? name : "query");
        free(name);
        if (!name_ok || !value_ok)
            return -1;
        p = stop + 1;
    }
    return 0;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *api_cursor_encode(const char *us, const char *id)
{
    char plain[80];
    int n = snprintf(plain, sizeof plain, "v1:%s:%s", us, id);
    char *out = xmalloc((size_t)n * 2 + 4), *o = out;
    for (int i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)plain[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)plain[i + 1] << 8;
        if (i + 2 < n)
            v |= (uint32_t)(unsigned char)plain[i + 2];
        *o++ = b64url[(v >> 18) & 63];
        *o++ = b64url[(v >> 12) & 63];
        if (i + 1 < n)
            *o++ = b64url[(v >> 6) & 63];
        if (i + 2 < n)
            *o++ = b64url[v & 63];
    }
    *o = '\0';
    return out;
}

static int is_integer(const char *s, int allow_minus)
{
    if (allow_minus && *s == '-')
        s++;
    size_t n = strspn(s, "0123456789");
    return n > 0 && n <= 18 && s[n] == '\0';
}

int api_cursor_decode(const char *cursor, char **us, char **id)
{
    size_t n = strlen(cursor);
    if (n == 0 || n > 100)
        return -1;
    char plain[80];
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = strchr(b64url, cursor[i]);
        if (!c || !cursor[i])
            return -1;
        acc = (acc << 6) | (uint32_t)(c - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len + 1 >= sizeof plain)
                return -1;
            plain[len++] = (char)((acc >> bits) & 0xFF);
        }
    }
    plain[len] = '\0';
    char a[40], b[40];
    if (sscanf(plain, "v1:%39[-0-9]:%39[0-9]", a, b) != 2 || !is_integer(a, 1) || !is_integer(b, 0))
        return -1;
    /* A forged time must not reach SQL: it would be out of timestamptz's range there. */
    if (!rfc3339_us_in_range(strtoll(a, NULL, 10)))
        return -1;
    *us = xstrdup(a);
    *id = xstrdup(b);
    return 0;
}

void api_list_in_free(void *p)
{
    struct api_list_in *in = p;
    if (!in)
        return;
    free(in->status), free(in->provider), free(in->key);
    free(in->from_ms), free(in->to_ms), free(in->after_us), free(in->after_id);
    free(in->since_ms);
    free(in);
}

void api_read_in_free(void *p)
{
    struct api_read_in *in = p;
    if (!in)
        return;
    free(in->conninfo), free(in->provider), free(in->key);
    free(in);
}
