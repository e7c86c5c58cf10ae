/*
 * DESIGN: turns the JSON key file (README "Configuration") into keys and
 * shared buckets with their windows sized for the time scale. Validation is
 * strict: an unknown provider, plan or window name, a bad whsec_ secret or a
 * non-loopback webhook URL is an error, so a typo never silently changes a
 * limit. Runs at start and on POST /_reset (loop thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "util/xmalloc.h"

#define MONTH_MS (30ULL * 86400000ULL) /* a scaled "month" */

uint64_t sim_scaled_us(uint64_t ms, double time_scale)
{
    double us = (double)ms * 1000.0 / time_scale;
    return us < 1.0 ? 1 : (uint64_t)(us + 0.5);
}

int sim_prov_by_name(const char *name)
{
    for (int i = 0; i < SIM_NPROV; i++)
        if (name && strcmp(sim_provs[i]->name, name) == 0)
            return i;
    return -1;
}

static int url_is_loopback(const char *url)
{
    static const char *const ok[] = {"http://127.", "http://localhost:", "http://localhost/",
                                     "http://[::1]"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strncmp(url, ok[i], strlen(ok[i])) == 0)
            return 1;
    return strcmp(url, "http://localhost") == 0;
}

static void init_window(struct swin *w, const struct sim_wdef *d, uint32_t limit, double scale)
{
    if (d->kind == SWIN_MONTH)
        swin_init(w, d->kind, limit, sim_scaled_us(MONTH_MS, scale), scale == 1.0);
    else
        swin_init(w, d->kind, limit, sim_scaled_us(d->len_ms, scale), 0);
}

static char *opt_str(json_t *o, const char *field)
{
    const char *s = json_string_value(json_object_get(o, field));
    return s && *s ? xstrdup(s) : NULL;
}

static struct sim_bucket *find_bucket(struct sim_config *c, enum sim_prov prov, const char *name)
{
    for (size_t i = 0; i < c->nbuckets; i++)
        if (c->buckets[i].prov == prov && strcmp(c->buckets[i].name, name) == 0)
            return &c->buckets[i];
    return NULL;
}

/* Creates or joins the key's shared bucket (SchedPilot user, Postlark/Jestha account). */
static int attach_bucket(struct sim_config *c, struct sim_key *k, double scale, char *err,
                         size_t errlen)
{
    const struct sim_prov_def *p = sim_provs[k->prov];
    int has_shared = 0;
    for (int i = 0; i < p->nw; i++)
        has_shared |= p->w[i].shared;
    if (!has_shared)
        return 0;
    struct sim_bucket *b = find_bucket(c, k->prov, k->owner);
    if (b) {
        if (k->plan && b->plan && strcmp(k->plan, b->plan) != 0) {
            snprintf(err, errlen, "key %s: account %s already has plan %s", k->label, k->owner,
                     b->plan);
            return -1;
        }
        k->bucket = b;
        return 0;
    }
    b = &c->buckets[c->nbuckets++];
    b->prov = k->prov;
    b->name = xstrdup(k->owner);
    b->plan = k->plan ? xstrdup(k->plan) : NULL;
    for (int i = 0; i < p->nw; i++) {
        uint32_t limit = 0;
        sim_default_limit(k->prov, i, k->plan, &limit);
        init_window(&b->w[i], &p->w[i], p->w[i].shared ? limit : 0, scale);
    }
    k->bucket = b;
    return 0;
}

static int apply_overrides(struct sim_key *k, json_t *limits, char *err, size_t errlen)
{
    const struct sim_prov_def *p = sim_provs[k->prov];
    const char *name;
    json_t *v;
    json_object_foreach(limits, name, v)
    {
        int widx = -1;
        for (int i = 0; i < p->nw; i++)
            if (strcmp(p->w[i].name, name) == 0)
                widx = i;
        if (widx < 0 || !json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > UINT32_MAX) {
            snprintf(err, errlen, "key %s: bad limit override \"%s\"", k->label, name);
            return -1;
        }
        struct swin *w = p->w[widx].shared ? &k->bucket->w[widx] : &k->w[widx];
        w->limit = (uint32_t)json_integer_value(v);
    }
    return 0;
}

static int load_accounts(struct sim_key *k, json_t *arr, char *err, size_t errlen)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "key %s: accounts must be an array of strings", k->label);
        return -1;
    }
    k->accounts = xcalloc(json_array_size(arr) + 1, sizeof *k->accounts);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v)) {
            snprintf(err, errlen, "key %s: accounts must be an array of strings", k->label);
            return -1;
        }
        k->accounts[k->naccounts++] = xstrdup(json_string_value(v));
    }
    return 0;
}

static int load_secret(struct sim_key *k, const char *secret, char *err, size_t errlen)
{
    k->hook_keylen = -1;
    if (!secret)
        return 0;
    k->hook_keylen = whsig_decode_secret(secret, k->hook_key);
    if (k->hook_keylen <= 0) {
        snprintf(err, errlen, "key %s: webhook_secret is not whsec_<base64>", k->label);
        return -1;
    }
    return 0;
}

static int load_key(struct sim_config *c, json_t *o, size_t idx, const char *default_secret,
                    double scale, char *err, size_t errlen)
{
    struct sim_key *k = &c->keys[idx];
    int prov = sim_prov_by_name(json_string_value(json_object_get(o, "provider")));
    k->secret = opt_str(o, "key");
    if (prov < 0 || !k->secret) {
        snprintf(err, errlen, "keys[%zu]: needs a known \"provider\" and a non-empty \"key\"", idx);
        return -1;
    }
    k->prov = (enum sim_prov)prov;
    k->label = opt_str(o, "label");
    if (!k->label)
        k->label = xasprintf("%s#%zu", sim_provs[prov]->name, idx);
    for (size_t i = 0; i < idx; i++) {
        if (c->keys[i].prov == k->prov && strcmp(c->keys[i].secret, k->secret) == 0) {
            snprintf(err, errlen, "key %s: the same key appears twice", k->label);
            return -1;
        }
    }
    k->plan = opt_str(o, "plan");
    if (k->prov == SIM_PL) {
        uint32_t dummy;
        if (!k->plan)
            k->plan = xstrdup("free");
        if (sim_default_limit(SIM_PL, 0, k->plan, &dummy) != 0) {
            snprintf(err, errlen, "key %s: unknown postlark plan \"%s\"", k->label, k->plan);
            return -1;
        }
    }
    k->owner = opt_str(o, k->prov == SIM_SP ? "user" : "account");
    if (!k->owner)
        k->owner = xstrdup(k->label);
    k->webhook_url = opt_str(o, "webhook_url");
    if (k->webhook_url && !url_is_loopback(k->webhook_url)) {
        snprintf(err, errlen, "key %s: webhook_url must be a loopback http URL", k->label);
        return -1;
    }
    const char *secret = json_string_value(json_object_get(o, "webhook_secret"));
    const struct sim_prov_def *p = sim_provs[prov];
    for (int i = 0; i < p->nw; i++) {
        uint32_t limit = 0;
        sim_default_limit(k->prov, i, k->plan, &limit);
        init_window(&k->w[i], &p->w[i], p->w[i].shared ? 0 : limit, scale);
    }
    if (load_secret(k, secret ? secret : default_secret, err, errlen) != 0 ||
        load_accounts(k, json_object_get(o, "accounts"), err, errlen) != 0 ||
        attach_bucket(c, k, scale, err, errlen) != 0)
        return -1;
    if ((k->webhook_url || c->webhook_url) && k->hook_keylen <= 0) {
        snprintf(err, errlen, "key %s: webhooks need a webhook_secret (per key or top level)",
                 k->label);
        return -1;
    }
    json_t *limits = json_object_get(o, "limits");
    return limits ? apply_overrides(k, limits, err, errlen) : 0;
}

int sim_dialect_parse(const char *name)
{
    if (!name || strcmp(name, "default") == 0)
        return SIM_DIALECT_DEFAULT;
    return strcmp(name, "alt") == 0 ? SIM_DIALECT_ALT : -1;
}

int sim_config_load(json_t *root, double time_scale, struct sim_config *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(root)) {
        snprintf(err, errlen, "config: expected a JSON object");
        return -1;
    }
    json_t *keys = json_object_get(root, "keys");
    if (keys && !json_is_array(keys)) {
        snprintf(err, errlen, "config: \"keys\" must be an array");
        return -1;
    }
    out->dialect = -1;
    json_t *dialect = json_object_get(root, "dialect");
    if (dialect && (out->dialect = sim_dialect_parse(json_string_value(dialect))) < 0) {
        snprintf(err, errlen, "config: \"dialect\" must be \"default\" or \"alt\"");
        return -1;
    }
    out->webhook_url = opt_str(root, "webhook_url");
    if (out->webhook_url && !url_is_loopback(out->webhook_url)) {
        snprintf(err, errlen, "config: webhook_url must be a loopback http URL");
        goto fail;
    }
    const char *default_secret = json_string_value(json_object_get(root, "webhook_secret"));
    size_t n = keys ? json_array_size(keys) : 0;
    out->keys = xcalloc(n + 1, sizeof *out->keys);
    out->buckets = xcalloc(n + 1, sizeof *out->buckets);
    for (size_t i = 0; i < n; i++) {
        out->nkeys = i + 1;
        if (load_key(out, json_array_get(keys, i), i, default_secret, time_scale, err, errlen))
            goto fail;
    }
    return 0;
fail:
    sim_config_finish(out);
    return -1;
}

void sim_config_finish(struct sim_config *c)
{
    for (size_t i = 0; i < c->nkeys; i++) {
        struct sim_key *k = &c->keys[i];
        for (int w = 0; w < SIM_MAXW; w++)
            swin_finish(&k->w[w]);
        for (size_t a = 0; a < k->naccounts; a++)
            free(k->accounts[a]);
        free(k->accounts);
        free(k->secret);
        free(k->label);
        free(k->plan);
        free(k->owner);
        free(k->webhook_url);
        free(k->posts);
    }
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (int w = 0; w < SIM_MAXW; w++)
            swin_finish(&c->buckets[i].w[w]);
        free(c->buckets[i].name);
        free(c->buckets[i].plan);
    }
    free(c->keys);
    free(c->buckets);
    free(c->webhook_url);
    memset(c, 0, sizeof *c);
}

void sim_config_clear_windows(struct sim_config *c)
{
    for (size_t i = 0; i < c->nkeys; i++) {
        for (int w = 0; w < SIM_MAXW; w++)
            swin_clear(&c->keys[i].w[w]);
        c->keys[i].nposts = 0;
        memset(&c->keys[i].counts, 0, sizeof c->keys[i].counts);
    }
    for (size_t i = 0; i < c->nbuckets; i++)
        for (int w = 0; w < SIM_MAXW; w++)
            swin_clear(&c->buckets[i].w[w]);
}
