/*
 * DESIGN: the one reading of a 2xx create answer, for every provider. None
 * of the providers' docs shows that body, and our simulator was written with
 * this code, so no dialect is assumed: a 2xx means the request was accepted,
 * and the body can only add detail (an account's post id) or say clearly
 * that an account failed. The reading never fails: what it cannot read is
 * PROV_CREATED_NO_ID, settled later by the webhook. Pure: no clock, no
 * state, no log (the scheduler, which owns the keys, says what was unread).
 *
 * How an answer is read:
 *  1. every array and every object down to MAX_DEPTH is a candidate list of
 *     per-account entries: an array's elements, an object on its own (a list
 *     of one), or an object's members named after the request's accounts;
 *  2. an entry is about an account when one of its account members
 *     (account_keys), or failing that any of its string members, is the
 *     account's name; a plain string entry is about the account it names;
 *  3. the candidate that says most wins (2 per account named, 1 more per id
 *     or failure read), the shallowest on a tie;
 *  4. when no candidate names any account, an array under a list key
 *     (list_keys) with one element per account is read by position;
 *  5. for single-post providers, an id at the top (or under data, post...)
 *     is the post's id when nothing more specific was found.
 * A batch provider's top-level "id" names the whole request, not one
 * account's post, so an object read on its own (steps 1 and 5) gives a batch
 * provider's account an id only from a specific key (post_id, postId...).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "provider/provider.h"
#include "util/xmalloc.h"

/* {"data":{"post":{"results":[...]}}} is three levels down. */
#define MAX_DEPTH 3

/* Members naming the account an entry is about, most specific first. */
static const char *const account_keys[] = {
    "account_id", "accountId", "account",           "platform",        "platform_id", "platformId",
    "blog_id",    "blogId",    "social_account_id", "socialAccountId", "channel",     "network",
    "profile",    NULL,
};
/* Members holding the provider's id of an account's post, most specific
 * first; "id" last, being also the name of a request or of an account. */
static const char *const id_keys[] = {
    "post_id", "postId", "platform_post_id", "platformPostId", "external_id", "externalId",
    "id",      NULL,
};
static const char *const status_keys[] = {"status", "state", "result", NULL};
static const char *const error_keys[] = {"error", "errors", NULL};
static const char *const code_keys[] = {"code", "type", NULL};
static const char *const entry_code_keys[] = {"error_code", "errorCode", "code", NULL};
static const char *const message_keys[] = {
    "message", "detail", "details", "description", "error_message", "errorMessage", "reason", NULL,
};
/* Status words that clearly mean "this account failed". */
static const char *const failed_words[] = {"failed",  "failure",  "error",
                                           "errored", "rejected", NULL};
/* Words that are a status, never an id, when an entry is a plain string. */
static const char *const status_words[] = {
    "ok",      "success", "succeeded",  "created",   "accepted", "queued", "scheduled",
    "pending", "sent",    "processing", "published", "posted",   "failed", "failure",
    "error",   "errored", "rejected",   "true",      "false",    NULL,
};
/* Keys under which an array may be read by position. */
static const char *const list_keys[] = {
    "results", "posts", "platforms", "accounts", "targets", "items",
    "entries", "data",  "post_ids",  "postIds",  "ids",     NULL,
};
/* Objects that may wrap a single post (step 5). */
static const char *const wrapper_keys[] = {"data", "post", "result", "response", NULL};

struct reading {
    const struct prov_post *p;
    int single;                  /* one post per request: a top-level id is its id */
    struct prov_result *best;    /* the reading of the best candidate so far */
    int best_score;              /* -1: no candidate yet */
    struct prov_result *scratch; /* the candidate being read */
    unsigned char *named;        /* per account: the candidate named it */
    json_t *by_position;         /* step 4's array, if any (borrowed) */
    int by_position_depth;
};

static int in_words(const char *s, const char *const *words)
{
    for (size_t i = 0; s && words[i]; i++)
        if (strcasecmp(s, words[i]) == 0)
            return 1;
    return 0;
}

static int account_index(const struct prov_post *p, const char *s)
{
    for (size_t a = 0; s && a < p->naccounts; a++)
        if (strcmp(s, p->accounts[a]) == 0)
            return (int)a;
    return -1;
}

/* The name a member gives: a string, or an object's "id" or "name". */
static const char *name_of(json_t *v)
{
    if (!json_is_object(v))
        return json_string_value(v);
    const char *s = json_string_value(json_object_get(v, "id"));
    return s ? s : json_string_value(json_object_get(v, "name"));
}

/* Which of the request's accounts an entry is about, or -1. */
static int entry_account(const struct prov_post *p, json_t *e)
{
    if (!json_is_object(e))
        return account_index(p, json_string_value(e));
    for (size_t i = 0; account_keys[i]; i++) {
        int a = account_index(p, name_of(json_object_get(e, account_keys[i])));
        if (a >= 0)
            return a;
    }
    const char *k;
    json_t *v;
    json_object_foreach(e, k, v)
    {
        int a = account_index(p, json_string_value(v));
        if (a >= 0)
            return a;
    }
    return -1;
}

/* Whether an entry says it is about an account the request did not name. */
static int names_other_account(const struct prov_post *p, json_t *e)
{
    for (size_t i = 0; json_is_object(e) && account_keys[i]; i++) {
        const char *s = name_of(json_object_get(e, account_keys[i]));
        if (s && account_index(p, s) < 0)
            return 1;
    }
    return 0;
}

/* A string or integer as text; 0 when it is neither, empty, or too long to
 * keep whole (a cut id would be a wrong id). */
static int read_text(json_t *v, char *dst, size_t size)
{
    if (json_is_integer(v))
        return snprintf(dst, size, "%lld", (long long)json_integer_value(v)) < (int)size;
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) >= size)
        return 0;
    memcpy(dst, s, strlen(s) + 1);
    return 1;
}

static int read_first(json_t *o, const char *const *keys, char *dst, size_t size)
{
    for (size_t i = 0; json_is_object(o) && keys[i]; i++)
        if (read_text(json_object_get(o, keys[i]), dst, size))
            return 1;
    return 0;
}

/* The post id of an object entry about `account`; `bare_id` allows "id". */
static int read_post_id(json_t *e, const char *account, int bare_id, char *dst, size_t size)
{
    for (size_t i = 0; id_keys[i]; i++) {
        if (!bare_id && strcmp(id_keys[i], "id") == 0)
            continue;
        json_t *v = json_object_get(e, id_keys[i]);
        if (!(json_is_string(v) && strcmp(json_string_value(v), account) == 0) &&
            read_text(v, dst, size))
            return 1;
    }
    json_t *post = json_object_get(e, "post"); /* {"post":{"id":..}} */
    return json_is_object(post) && read_post_id(post, account, 1, dst, size);
}

static json_t *error_of(json_t *e)
{
    for (size_t i = 0; error_keys[i]; i++) {
        json_t *v = json_object_get(e, error_keys[i]);
        if (json_is_array(v))
            v = json_array_get(v, 0);
        if (json_is_true(v) || (json_is_object(v) && json_object_size(v) > 0) ||
            (json_is_string(v) && *json_string_value(v)))
            return v;
    }
    return NULL;
}

static void read_failure(json_t *e, json_t *err, const char *status, struct prov_result *r)
{
    r->outcome = PROV_FAILED;
    r->post_id[0] = '\0';
    if (json_is_object(err)) {
        read_first(err, code_keys, r->error_code, sizeof r->error_code);
        read_first(err, message_keys, r->error_message, sizeof r->error_message);
    } else if (json_is_string(err)) {
        read_text(err, r->error_code, sizeof r->error_code);
    }
    if (!*r->error_code)
        read_first(e, entry_code_keys, r->error_code, sizeof r->error_code);
    if (!*r->error_message)
        read_first(e, message_keys, r->error_message, sizeof r->error_message);
    if (!*r->error_code)
        snprintf(r->error_code, sizeof r->error_code, "%s", status ? status : "failed");
}

/* Reads one entry about account `a`; a plain string is a name or an id. */
static void read_entry(const struct prov_post *p, json_t *e, size_t a, int bare_id,
                       struct prov_result *r)
{
    const char *account = p->accounts[a];
    memset(r, 0, sizeof *r);
    r->outcome = PROV_CREATED_NO_ID;
    if (!json_is_object(e)) {
        const char *s = json_string_value(e);
        if (!(s && (strcmp(s, account) == 0 || in_words(s, status_words))) &&
            read_text(e, r->post_id, sizeof r->post_id))
            r->outcome = PROV_CREATED;
        return;
    }
    int has_id = read_post_id(e, account, bare_id, r->post_id, sizeof r->post_id);
    const char *status = NULL;
    for (size_t i = 0; !status && status_keys[i]; i++)
        status = json_string_value(json_object_get(e, status_keys[i]));
    json_t *err = error_of(e);
    if (in_words(status, failed_words) || json_is_false(json_object_get(e, "success")) ||
        json_is_false(json_object_get(e, "ok")) || (!has_id && err))
        read_failure(e, err, status, r);
    else if (has_id)
        r->outcome = PROV_CREATED;
}

static void clear(struct reading *r, struct prov_result *res)
{
    for (size_t a = 0; a < r->p->naccounts; a++) {
        memset(&res[a], 0, sizeof res[a]);
        res[a].outcome = PROV_CREATED_NO_ID;
        r->named[a] = 0;
    }
}

/* Keeps the scratch reading if it says more than the best so far. */
static void consider(struct reading *r)
{
    int score = 0;
    for (size_t a = 0; a < r->p->naccounts; a++)
        score += r->named[a] ? 2 + (r->scratch[a].outcome != PROV_CREATED_NO_ID) : 0;
    if (score > r->best_score) {
        struct prov_result *t = r->best;
        r->best = r->scratch;
        r->scratch = t;
        r->best_score = score;
    }
}

/* One entry of a candidate: the first that says something about an account wins. */
static void take(struct reading *r, json_t *e, int a, int bare_id)
{
    if (a < 0 || (r->named[a] && r->scratch[a].outcome != PROV_CREATED_NO_ID))
        return;
    read_entry(r->p, e, (size_t)a, bare_id, &r->scratch[a]);
    r->named[a] = 1;
}

static void read_array(struct reading *r, json_t *arr)
{
    clear(r, r->scratch);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) take(r, e, entry_account(r->p, e), 1);
    consider(r);
}

static void read_object(struct reading *r, json_t *o)
{
    clear(r, r->scratch); /* the object as one entry */
    take(r, o, entry_account(r->p, o), r->single);
    consider(r);
    clear(r, r->scratch); /* {"<account>": entry, ...} */
    for (size_t a = 0; a < r->p->naccounts; a++) {
        json_t *e = json_object_get(o, r->p->accounts[a]);
        if (e)
            take(r, e, (int)a, 1);
    }
    consider(r);
}

static void walk(struct reading *r, json_t *v, const char *key, int depth)
{
    if (json_is_array(v)) {
        read_array(r, v);
        if ((!key || in_words(key, list_keys)) && json_array_size(v) == r->p->naccounts &&
            (!r->by_position || depth < r->by_position_depth)) {
            r->by_position = v;
            r->by_position_depth = depth;
        }
        return;
    }
    if (!json_is_object(v))
        return;
    read_object(r, v);
    const char *k;
    json_t *m;
    json_object_foreach(v, k, m)
    {
        if (depth < MAX_DEPTH)
            walk(r, m, k, depth + 1);
    }
}

/* Step 4: element i is about account i, unless it names another account. */
static void read_by_position(struct reading *r)
{
    for (size_t a = 0; a < r->p->naccounts; a++) {
        json_t *e = json_array_get(r->by_position, a);
        if (names_other_account(r->p, e))
            continue;
        read_entry(r->p, e, a, 1, &r->best[a]);
    }
}

/* Step 5: the post id at the top, or in a wrapper object below it. */
static void read_top_id(struct reading *r, json_t *root)
{
    char id[sizeof r->best->post_id];
    int found = json_is_object(root) && read_post_id(root, "", 1, id, sizeof id);
    for (size_t i = 0; !found && wrapper_keys[i]; i++) {
        json_t *w = json_object_get(root, wrapper_keys[i]);
        found = json_is_object(w) && read_post_id(w, "", 1, id, sizeof id);
    }
    for (size_t a = 0; found && a < r->p->naccounts; a++) {
        if (r->best[a].outcome == PROV_CREATED_NO_ID && strcmp(id, r->p->accounts[a]) != 0) {
            r->best[a].outcome = PROV_CREATED;
            memcpy(r->best[a].post_id, id, sizeof id);
        }
    }
}

static size_t decode(const char *body, size_t len, const struct prov_post *p, int single,
                     struct prov_result *out)
{
    size_t n = p->naccounts ? p->naccounts : 1;
    struct reading r = {.p = p, .single = single, .best = out, .best_score = -1};
    r.scratch = xcalloc(n, sizeof *r.scratch);
    r.named = xcalloc(n, 1);
    clear(&r, r.best);
    json_t *root = json_loadb(body, len, 0, NULL);
    if (root) {
        walk(&r, root, NULL, 0);
        if (r.best_score <= 0 && r.by_position)
            read_by_position(&r);
        if (single)
            read_top_id(&r, root);
    }
    if (r.best != out)
        memcpy(out, r.best, p->naccounts * sizeof *out);
    size_t unknown = 0;
    for (size_t a = 0; a < p->naccounts; a++)
        unknown += out[a].outcome == PROV_CREATED_NO_ID;
    free(r.best != out ? r.best : r.scratch);
    free(r.named);
    json_decref(root);
    return unknown;
}

size_t prov_decode_created_batch(const char *body, size_t len, const struct prov_post *p,
                                 struct prov_result *out)
{
    return decode(body, len, p, 0, out);
}

size_t prov_decode_created_single(const char *body, size_t len, const struct prov_post *p,
                                  struct prov_result *out)
{
    return decode(body, len, p, 1, out);
}
