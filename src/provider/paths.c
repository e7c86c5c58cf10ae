/*
 * DESIGN: a config is the four path lists and the two name lists, each path
 * split into its segments once, when the config is built (on a reload), so
 * reading an event costs one hash lookup per segment of each path tried and
 * nothing else: no parsing, no allocation. A config is immutable once built,
 * so loop threads read it without locks of its own (the intake swaps whole
 * configs; see src/webhook/secrets.c for the same scheme).
 */
#include "provider/paths.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xmalloc.h"

/* The lists, in the order they are tried. Standard Webhooks senders wrap the
 * object in "data"; others put it at the top or under "post"/"metadata". The
 * top-level "id" is left out on purpose: it names the event, not the post. */
static const char default_json[] =
    "{\"type\":[\"type\",\"event\",\"event_type\",\"eventType\",\"topic\",\"data.event\"],"
    "\"published\":[\"post.published\",\"published\",\"post.succeeded\",\"succeeded\","
    "\"post.success\",\"success\",\"post.posted\",\"posted\",\"post.completed\",\"completed\","
    "\"post.live\",\"publish.succeeded\"],"
    "\"failed\":[\"post.failed\",\"failed\",\"post.failure\",\"failure\",\"post.error\","
    "\"error\",\"post.errored\",\"errored\",\"post.rejected\",\"rejected\",\"publish.failed\"],"
    "\"post_id\":[\"data.post_id\",\"data.provider_post_id\",\"data.post.id\",\"data.id\","
    "\"data.postId\",\"data.platform_post_id\",\"data.object.id\",\"post_id\","
    "\"provider_post_id\",\"post.id\"],"
    "\"reference\":[\"data.reference\",\"data.idempotency_key\",\"data.external_id\","
    "\"data.client_reference_id\",\"data.metadata.reference\",\"data.metadata.idempotency_key\","
    "\"data.metadata.external_id\",\"data.post.reference\",\"data.post.idempotency_key\","
    "\"data.post.external_id\",\"data.idempotencyKey\",\"data.externalId\",\"reference\","
    "\"idempotency_key\",\"external_id\",\"metadata.reference\",\"metadata.idempotency_key\","
    "\"metadata.external_id\"],"
    "\"account\":[\"data.account_id\",\"data.account.id\",\"data.post.account_id\","
    "\"data.accountId\",\"data.social_account_id\",\"account_id\",\"account.id\"]}";

/* One path: its segments, each a key, or (when all digits) also an index. */
struct path {
    char **seg;
    long *index; /* -1: not a number */
    size_t n;
};

struct list {
    struct path *paths;
    size_t n;
};

struct names {
    char **name;
    size_t n;
};

struct whpath_config {
    struct list lists[WHPATH_FIELD_COUNT];
    struct names published, failed;
};

static const char *const field_names[] = {
#define X(id, name) name,
    WHPATH_FIELDS(X)
#undef X
};

static void path_init(struct path *p, const char *text)
{
    memset(p, 0, sizeof *p);
    size_t cap = 1;
    for (const char *s = text; *s; s++)
        cap += *s == '.';
    p->seg = xcalloc(cap, sizeof *p->seg);
    p->index = xcalloc(cap, sizeof *p->index);
    const char *start = text;
    for (;;) {
        const char *dot = strchr(start, '.');
        size_t len = dot ? (size_t)(dot - start) : strlen(start);
        char *seg = xstrndup(start, len);
        long idx = -1;
        if (len > 0 && len < 10 && strspn(seg, "0123456789") == len)
            idx = strtol(seg, NULL, 10);
        p->seg[p->n] = seg;
        p->index[p->n++] = idx;
        if (!dot)
            break;
        start = dot + 1;
    }
}

static void list_clear(struct list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        for (size_t k = 0; k < l->paths[i].n; k++)
            free(l->paths[i].seg[k]);
        free(l->paths[i].seg);
        free(l->paths[i].index);
    }
    free(l->paths);
    memset(l, 0, sizeof *l);
}

static void names_clear(struct names *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->name[i]);
    free(n->name);
    memset(n, 0, sizeof *n);
}

void whpath_config_destroy(struct whpath_config *c)
{
    if (!c)
        return;
    for (int f = 0; f < WHPATH_FIELD_COUNT; f++)
        list_clear(&c->lists[f]);
    names_clear(&c->published);
    names_clear(&c->failed);
    free(c);
}

/* Checks that v is an array of non-empty strings; names the member if not. */
static int check_strings(const json_t *v, const char *member, char *err, size_t errlen)
{
    size_t i;
    json_t *s;
    if (!json_is_array(v)) {
        snprintf(err, errlen, "%s: must be an array of strings", member);
        return -1;
    }
    json_array_foreach(v, i, s)
    {
        if (!json_is_string(s) || json_string_length(s) == 0 ||
            strlen(json_string_value(s)) != json_string_length(s)) {
            snprintf(err, errlen, "%s[%zu]: must be a non-empty string", member, i);
            return -1;
        }
    }
    return 0;
}

static void set_list(struct list *l, const json_t *v)
{
    list_clear(l);
    l->n = json_array_size(v);
    l->paths = xcalloc(l->n ? l->n : 1, sizeof *l->paths);
    for (size_t i = 0; i < l->n; i++)
        path_init(&l->paths[i], json_string_value(json_array_get(v, i)));
}

static void set_names(struct names *n, const json_t *v)
{
    names_clear(n);
    n->n = json_array_size(v);
    n->name = xcalloc(n->n ? n->n : 1, sizeof *n->name);
    for (size_t i = 0; i < n->n; i++)
        n->name[i] = xstrdup(json_string_value(json_array_get(v, i)));
}

/* Applies the members `text` names over c. */
static int apply(struct whpath_config *c, const char *text, const char *what, char *err,
                 size_t errlen)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    int rc = -1;
    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s: must be a JSON object", what);
        goto done;
    }
    const char *member;
    json_t *v;
    json_object_foreach(o, member, v)
    {
        int f = 0;
        while (f < WHPATH_FIELD_COUNT && strcmp(field_names[f], member) != 0)
            f++;
        int names = strcmp(member, "published") == 0 || strcmp(member, "failed") == 0;
        if (f == WHPATH_FIELD_COUNT && !names) {
            snprintf(err, errlen, "%s: unknown member %.64s", what, member);
            goto done;
        }
        if (check_strings(v, member, err, errlen) != 0)
            goto done;
        if (f < WHPATH_FIELD_COUNT)
            set_list(&c->lists[f], v);
        else
            set_names(member[0] == 'p' ? &c->published : &c->failed, v);
    }
    rc = 0;
done:
    json_decref(o);
    return rc;
}

struct whpath_config *whpath_config_create(const char *provider, const char *key, char *err,
                                           size_t errlen)
{
    struct whpath_config *c = xcalloc(1, sizeof *c);
    if (apply(c, default_json, "defaults", err, errlen) != 0 ||
        (provider && apply(c, provider, "provider", err, errlen) != 0) ||
        (key && apply(c, key, "key", err, errlen) != 0)) {
        whpath_config_destroy(c);
        return NULL;
    }
    return c;
}

const char *whpath_default_json(void)
{
    return default_json;
}

const char *whpath_verdict_type(enum whpath_verdict v)
{
    return v == WHPATH_PUBLISHED ? "post.published" : v == WHPATH_FAILED ? "post.failed" : NULL;
}

static const json_t *walk(const json_t *v, const struct path *p)
{
    for (size_t i = 0; v && i < p->n; i++) {
        if (json_is_object(v))
            v = json_object_get(v, p->seg[i]);
        else if (json_is_array(v) && p->index[i] >= 0)
            v = json_array_get(v, (size_t)p->index[i]);
        else
            v = NULL;
    }
    return v;
}

/* Writes v as a value into out; returns 0, or -1 if it cannot be one. */
static int value_of(const json_t *v, char out[WHPATH_VALUE_MAX + 1])
{
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        if (n == 0 || n > WHPATH_VALUE_MAX || strlen(json_string_value(v)) != n)
            return -1; /* empty, too long, or holding a NUL PostgreSQL cannot store */
        memcpy(out, json_string_value(v), n + 1);
        return 0;
    }
    if (json_is_integer(v)) {
        snprintf(out, WHPATH_VALUE_MAX + 1, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || fabs(d) > 9007199254740992.0) /* 2^53: exact up to there */
            return -1;
        snprintf(out, WHPATH_VALUE_MAX + 1, "%.0f", d);
        return 0;
    }
    return -1;
}

static int named(const struct names *n, const char *s)
{
    for (size_t i = 0; i < n->n; i++)
        if (strcasecmp(n->name[i], s) == 0)
            return 1;
    return 0;
}

static enum whpath_verdict verdict_of(const struct whpath_config *c, const char *type)
{
    return named(&c->published, type) ? WHPATH_PUBLISHED
           : named(&c->failed, type)  ? WHPATH_FAILED
                                      : WHPATH_UNKNOWN;
}

/* The first path of the list that holds a value. */
static void lookup(const struct list *l, const json_t *root, struct whpath_values *out,
                   enum whpath_field f)
{
    for (size_t i = 0; i < l->n; i++)
        if (value_of(walk(root, &l->paths[i]), out->value[f]) == 0) {
            out->has[f] = 1;
            return;
        }
    out->value[f][0] = '\0';
}

/* The first type that names a verdict, else the first found. */
static void lookup_type(const struct whpath_config *c, const json_t *root,
                        struct whpath_values *out)
{
    const struct list *l = &c->lists[WHPATH_TYPE];
    char candidate[WHPATH_VALUE_MAX + 1];
    for (size_t i = 0; i < l->n; i++) {
        if (value_of(walk(root, &l->paths[i]), candidate) != 0)
            continue;
        enum whpath_verdict v = verdict_of(c, candidate);
        if (!out->has[WHPATH_TYPE] || v != WHPATH_UNKNOWN) {
            memcpy(out->value[WHPATH_TYPE], candidate, strlen(candidate) + 1);
            out->has[WHPATH_TYPE] = 1;
        }
        if (v != WHPATH_UNKNOWN) {
            out->verdict = v;
            return;
        }
    }
}

void whpath_extract(const struct whpath_config *c, const json_t *root, struct whpath_values *out)
{
    out->verdict = WHPATH_UNKNOWN;
    for (int f = 0; f < WHPATH_FIELD_COUNT; f++) {
        out->has[f] = 0;
        out->value[f][0] = '\0';
    }
    lookup_type(c, root, out);
    for (int f = WHPATH_POST_ID; f < WHPATH_FIELD_COUNT; f++)
        lookup(&c->lists[f], root, out, (enum whpath_field)f);
}
