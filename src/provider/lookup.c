/*
 * DESIGN: the list is read liberally (the docs show no list body): the posts
 * are the body itself when it is an array, else the first array among a few
 * common member names; each post's fields are read with provider/paths, so
 * the same path grammar and the same per-provider override apply. Absence
 * is proven strictly (see lookup.h): a wrong "absent" posts twice, a wrong
 * "undecidable" only leaves a target for the operator.
 */
#include "provider/lookup.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rfc3339.h"
#include "util/xmalloc.h"

struct lookup_config {
    int idempotent;
    long page_size; /* a list shorter than this is whole; 0: unknown */
    char *path, *route;
    struct whpath_config *paths;
};

/* Rooted at a listed post, replacing every webhook default. */
static const char item_defaults[] =
    "{\"type\":[\"status\",\"state\",\"data.status\"],"
    "\"published\":[\"published\",\"live\",\"posted\",\"success\",\"succeeded\",\"completed\","
    "\"sent\"],"
    "\"failed\":[\"failed\",\"failure\",\"error\",\"errored\",\"rejected\"],"
    "\"post_id\":[\"id\",\"post_id\",\"postId\",\"provider_post_id\",\"data.id\"],"
    "\"reference\":[\"reference\",\"idempotency_key\",\"idempotencyKey\",\"external_id\","
    "\"externalId\",\"client_reference_id\",\"metadata.reference\",\"metadata.idempotency_key\","
    "\"metadata.external_id\"],"
    "\"account\":[\"account_id\",\"accountId\",\"account.id\",\"social_account_id\"]}";

static const char *const list_names[] = {"data", "posts", "items", "results", "records"};
static const char *const content_names[] = {"content", "text", "body", "caption", "message"};
static const char *const created_names[] = {"created_at", "createdAt", "created", "published_at",
                                            "publishedAt", "timestamp", "at", "time"};
static const char *const next_names[] = {"next", "next_cursor", "nextCursor", "next_page",
                                         "nextPage", "next_page_token", "nextPageToken",
                                         "has_more", "hasMore", "more"};
static const char *const holder_names[] = {"meta", "pagination", "paging", "links", "page_info"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct lookup_config *lookup_config_create(const char *json, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loads(json && *json ? json : "{}", 0, &je);
    if (!json_is_object(o)) {
        snprintf(err, errlen, "lookup must be a JSON object");
        json_decref(o);
        return NULL;
    }
    json_t *path = json_object_get(o, "path"), *idem = json_object_get(o, "idempotent");
    json_t *page = json_object_get(o, "page_size");
    if ((path && !json_is_string(path) && !json_is_null(path)) ||
        (path && json_is_string(path) && json_string_value(path)[0] != '/') ||
        (idem && !json_is_boolean(idem)) ||
        (page && !json_is_null(page) && (!json_is_integer(page) || json_integer_value(page) < 1))) {
        snprintf(err, errlen, "lookup: \"path\" must be a string starting with / (or null), "
                              "\"idempotent\" true or false, \"page_size\" a positive integer");
        json_decref(o);
        return NULL;
    }
    struct lookup_config *c = xcalloc(1, sizeof *c);
    c->idempotent = idem && json_is_true(idem);
    c->path = path && json_is_string(path) ? xstrdup(json_string_value(path)) : NULL;
    c->route = c->path ? xasprintf("GET %s", c->path) : NULL;
    c->page_size = json_is_integer(page) ? (long)json_integer_value(page) : 0;
    json_object_del(o, "page_size");
    json_object_del(o, "path");
    json_object_del(o, "idempotent");
    char *rest = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    c->paths = whpath_config_create(item_defaults, rest, err, errlen);
    free(rest);
    if (!c->paths) {
        lookup_config_destroy(c);
        return NULL;
    }
    return c;
}

void lookup_config_destroy(struct lookup_config *c)
{
    if (!c)
        return;
    whpath_config_destroy(c->paths);
    free(c->path), free(c->route);
    free(c);
}

int lookup_idempotent(const struct lookup_config *c)
{
    return c->idempotent;
}

const char *lookup_path(const struct lookup_config *c)
{
    return c->path;
}

const char *lookup_route(const struct lookup_config *c)
{
    return c->route;
}

/* The array of posts in a list body, or NULL. */
static const json_t *posts_of(const json_t *root)
{
    if (json_is_array(root))
        return root;
    for (size_t i = 0; i < COUNT(list_names); i++) {
        const json_t *v = json_object_get(root, list_names[i]);
        if (json_is_array(v))
            return v;
        if (json_is_object(v)) /* {"data": {"posts": [...]}} */
            for (size_t j = 1; j < COUNT(list_names); j++)
                if (json_is_array(json_object_get(v, list_names[j])))
                    return json_object_get(v, list_names[j]);
    }
    return NULL;
}

static int says_more(const json_t *o)
{
    for (size_t i = 0; json_is_object(o) && i < COUNT(next_names); i++) {
        const json_t *v = json_object_get(o, next_names[i]);
        if (v && !json_is_null(v) && !json_is_false(v) &&
            !(json_is_string(v) && json_string_length(v) == 0))
            return 1;
    }
    return 0;
}

/* Whether the body shows any sign of a further page. */
static int has_more_pages(const json_t *root)
{
    if (says_more(root))
        return 1;
    for (size_t i = 0; i < COUNT(holder_names); i++)
        if (says_more(json_object_get(root, holder_names[i])))
            return 1;
    const json_t *data = json_object_get(root, "data");
    return json_is_object(data) && says_more(data);
}

static const char *first_string(const json_t *post, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(post, names[i]);
        if (json_is_string(v))
            return json_string_value(v);
    }
    return NULL;
}

/* When the post was created, epoch ms (a date, or unix seconds or ms); 0: unknown. */
static uint64_t created_ms(const json_t *post)
{
    for (size_t i = 0; i < COUNT(created_names); i++) {
        const json_t *v = json_object_get(post, created_names[i]);
        if (json_is_string(v)) {
            int64_t us;
            if (rfc3339_parse_instant(json_string_value(v), &us) == RFC3339_E_OK && us > 0)
                return (uint64_t)(us / 1000);
        } else if (json_is_number(v) && json_number_value(v) > 0) {
            double x = json_number_value(v);
            return (uint64_t)(x > 1e11 ? x : x * 1000);
        }
    }
    return 0;
}

static int ours(const struct whpath_values *pv, const char *content, const struct lookup_want *w)
{
    const char *ref = pv->value[WHPATH_REFERENCE];
    if (pv->has[WHPATH_REFERENCE])
        return (w->reference && strcmp(ref, w->reference) == 0) ||
               (w->key && strcmp(ref, w->key) == 0);
    const char *acct = pv->value[WHPATH_ACCOUNT];
    return content && w->content && strcmp(content, w->content) == 0 &&
           (!pv->has[WHPATH_ACCOUNT] || !w->account || strcmp(acct, w->account) == 0);
}

void lookup_read(const struct lookup_config *c, const char *body, size_t len, uint64_t skew_ms,
                 const struct lookup_want *want, size_t n, struct lookup_result *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (struct lookup_result){LOOK_UNDECIDABLE, WHPATH_UNKNOWN, "",
                                        "the list could not be read"};
    json_t *root = json_loadb(body, len, 0, NULL);
    const json_t *posts = posts_of(root);
    if (!posts) {
        json_decref(root);
        return;
    }
    uint64_t oldest = 0;
    size_t npost = json_array_size(posts);
    struct whpath_values pv;
    for (size_t j = 0; j < npost; j++) {
        const json_t *post = json_array_get(posts, j);
        if (!json_is_object(post))
            continue;
        uint64_t t = created_ms(post);
        if (t && (!oldest || t < oldest))
            oldest = t;
        whpath_extract(c->paths, post, &pv);
        const char *content = first_string(post, content_names, COUNT(content_names));
        for (size_t i = 0; i < n; i++) {
            if (out[i].verdict == LOOK_FOUND || !ours(&pv, content, &want[i]))
                continue;
            out[i].verdict = LOOK_FOUND;
            out[i].status = pv.verdict;
            snprintf(out[i].post_id, sizeof out[i].post_id, "%s", pv.value[WHPATH_POST_ID]);
            out[i].why = "found in the provider's list of posts";
        }
    }
    int more = has_more_pages(root);
    int whole = !more && (npost == 0 || (c->page_size && (long)npost < c->page_size));
    for (size_t i = 0; i < n; i++) {
        if (out[i].verdict == LOOK_FOUND)
            continue;
        int covered = oldest && want[i].first_sent_ms && oldest + skew_ms <= want[i].first_sent_ms;
        if (whole || (!more && covered)) {
            out[i].verdict = LOOK_ABSENT;
            out[i].why = whole ? "not in the provider's whole list of posts"
                               : "not in the provider's list of posts, which reaches back before "
                                 "the send";
        } else {
            out[i].why = more ? "not on the first page of the provider's list of posts"
                              : "not in the provider's list of posts, which does not reach back "
                                "to the send";
        }
    }
    json_decref(root);
}
