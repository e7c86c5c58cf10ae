/*
 * DESIGN: `postpace limits`: every window of every bucket each enabled key
 * draws on, with its usage and next free slot against the live database.
 * The wall clock is read once; the windows are rebuilt from the attempts log
 * of every key (a shared user or account bucket counts all its keys' sends)
 * exactly as a new lease owner rebuilds them. Reads only.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "util/cli.h"
#include "plan/view.h"
#include "plan/commands.h"

struct limits_args {
    const char *provider, *key;
    int json;
    enum prov_id prov;
};

/* One window as shown: the core's state plus the bucket's label and block. */
struct shown {
    uint32_t bucket, window;
    const struct plan_bucket_label *label;
    struct lim_window_state st;
    uint64_t blocked_until; /* 0: not blocked */
    uint64_t next_free;     /* the later of frees_at and the block; LIM_NEVER: never */
};

static int parse_args(struct limits_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    const struct cli_flag flags[] = {
        {"provider", 1, &a->provider, NULL},
        {"key", 1, &a->key, NULL},
        {"json", 0, NULL, &a->json},
    };
    int rc = cli_parse("limits", flags, sizeof flags / sizeof flags[0], argc, argv);
    if (rc)
        return rc;
    if (a->provider && prov_parse(a->provider, strlen(a->provider), &a->prov) != 0)
        return cli_usage_error("--provider: unknown provider \"%s\"", a->provider);
    return 0;
}

static int key_selected(const struct reg_key *k, const struct limits_args *a)
{
    if (k->provider >= PROV_COUNT || (a->provider && k->provider != a->prov))
        return 0;
    if (!a->key)
        return 1;
    char id[32];
    snprintf(id, sizeof id, "%" PRId64, k->id);
    return strcmp(a->key, id) == 0 || strcmp(a->key, k->label) == 0;
}

static void window_of(const struct plan_view *db, uint32_t b, uint32_t w, uint64_t now,
                      struct shown *out)
{
    out->bucket = b;
    out->window = w;
    out->label = &db->labels[b];
    lim_window_state(db->snap.reg.limits, b, w, now, &out->st);
    uint64_t blocked = lim_bucket_blocked_until(db->snap.reg.limits, b);
    out->blocked_until = blocked > now ? blocked : 0;
    out->next_free = out->st.frees_at > out->blocked_until ? out->st.frees_at : out->blocked_until;
}

/* ---- text ---- */

static void print_key_header(const struct reg_key *k)
{
    printf("%s key %" PRId64 " %s  plan %s", prov_name(k->provider), k->id, k->label, k->plan);
    if (k->user_id)
        printf("  user %s", k->user_id);
    if (k->account_id)
        printf("  account %s", k->account_id);
    if (k->time_scale != 1)
        printf("  time scale %g (windows %g times shorter)", k->time_scale, k->time_scale);
    printf("\n  %-8s %-24s %-14s %-8s %6s %-8s %6s  %s\n", "SCOPE", "ROUTE", "KIND", "WINDOW",
           "LIMIT", "COST", "USED", "NEXT FREE");
}

static void format_next_free(const struct shown *w, uint64_t now, char *buf, size_t len)
{
    char when[40], in[24];
    if (w->next_free == LIM_NEVER) {
        snprintf(buf, len, "never");
        return;
    }
    if (w->next_free <= now) {
        snprintf(buf, len, "now");
        return;
    }
    plan_format_time(w->next_free, when, sizeof when);
    plan_format_duration(w->next_free - now, in, sizeof in);
    snprintf(buf, len, "%s (in %s%s)", when, in, w->blocked_until ? ", blocked by a 429" : "");
}

static void print_window_row(const struct shown *w, uint64_t now)
{
    char win[32], next[96], unknown[16];
    plan_format_window(&w->st.spec, win, sizeof win);
    format_next_free(w, now, next, sizeof next);
    snprintf(unknown, sizeof unknown, "bucket %u", w->bucket);
    printf("  %-8s %-24s %-14s %-8s %6" PRIu64 " %-8s %6" PRIu64 "  %s\n",
           w->label->known ? plan_scope_name(w->label->scope) : "?",
           w->label->known ? w->label->route : unknown, plan_kind_name(w->st.spec.kind), win,
           w->st.spec.max_units, plan_cost_name(w->st.spec.cost), w->st.used, next);
}

/* ---- JSON ---- */

static json_t *time_or_null(uint64_t ms)
{
    char buf[40];
    if (ms == LIM_NEVER)
        return json_null();
    plan_format_time(ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *window_json(const struct shown *w, uint64_t now)
{
    const struct lim_window_state *st = &w->st;
    json_t *o = json_object();
    json_object_set_new(o, "bucket", json_integer(w->bucket));
    json_object_set_new(
        o, "scope", w->label->known ? json_string(plan_scope_name(w->label->scope)) : json_null());
    json_object_set_new(o, "route", w->label->known ? json_string(w->label->route) : json_null());
    json_object_set_new(o, "kind", json_string(plan_kind_name(st->spec.kind)));
    json_object_set_new(o, "window_ms", json_integer((json_int_t)st->spec.window_ms));
    json_object_set_new(o, "effective_window_ms", json_integer((json_int_t)st->len_ms));
    json_object_set_new(o, "limit", json_integer((json_int_t)st->spec.max_units));
    json_object_set_new(o, "cost", json_string(plan_cost_name(st->spec.cost)));
    json_object_set_new(o, "used", json_integer((json_int_t)st->used));
    uint64_t next = w->next_free != LIM_NEVER && w->next_free < now ? now : w->next_free;
    json_object_set_new(o, "next_free", time_or_null(next));
    json_object_set_new(o, "never", json_boolean(w->next_free == LIM_NEVER));
    json_object_set_new(o, "blocked_until",
                        w->blocked_until ? time_or_null(w->blocked_until) : json_null());
    return o;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *key_json(const struct reg_key *k)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(k->id));
    json_object_set_new(o, "provider", json_string(prov_name(k->provider)));
    json_object_set_new(o, "label", json_string(k->label));
    json_object_set_new(o, "plan", json_string(k->plan));
    json_object_set_new(o, "user_id", str_or_null(k->user_id));
    json_object_set_new(o, "account_id", str_or_null(k->account_id));
    json_object_set_new(o, "time_scale", json_real(k->time_scale));
    json_object_set_new(o, "windows", json_array());
    return o;
}

/* ---- the command ---- */

/* Shows one key's windows, as text or appended to the JSON array. */
static void show_key(const struct plan_view *db, const struct reg_key *k, uint64_t now, json_t *keys)
{
    json_t *kj = keys ? key_json(k) : NULL;
    if (!keys)
        print_key_header(k);
    for (size_t i = 0; i < k->nbuckets; i++) {
        uint32_t b = k->buckets[i];
        for (uint32_t w = 0; w < lim_bucket_nwindows(db->snap.reg.limits, b); w++) {
            struct shown s;
            window_of(db, b, w, now, &s);
            if (kj)
                json_array_append_new(json_object_get(kj, "windows"), window_json(&s, now));
            else
                print_window_row(&s, now);
        }
    }
    if (kj)
        json_array_append_new(keys, kj);
}

static size_t count_selected(const struct plan_view *db, const struct limits_args *a)
{
    size_t n = 0;
    for (size_t i = 0; i < db->snap.reg.nkeys; i++)
        n += key_selected(&db->snap.reg.keys[i], a);
    return n;
}

json_t *cmd_limits_json(const struct plan_view *db, const char *provider, const char *key,
                        uint64_t now)
{
    struct limits_args a = {.provider = provider, .key = key, .json = 1};
    if (provider && prov_parse(provider, strlen(provider), &a.prov) != 0)
        return NULL;
    char when[40];
    plan_format_time(now, when, sizeof when);
    json_t *root = json_pack("{s:s, s:[]}", "now", when, "keys");
    json_t *keys = json_object_get(root, "keys");
    for (size_t i = 0; i < db->snap.reg.nkeys; i++)
        if (key_selected(&db->snap.reg.keys[i], &a))
            show_key(db, &db->snap.reg.keys[i], now, keys);
    return root;
}

static int show(const struct plan_view *db, const struct limits_args *a, uint64_t now)
{
    if (a->key && count_selected(db, a) == 0)
        return cli_usage_error("--key: no enabled key \"%s\"%s%s", a->key,
                                a->provider ? " of provider " : "", a->provider ? a->provider : "");
    if (a->json) {
        json_t *root = cmd_limits_json(db, a->provider, a->key, now);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
        json_decref(root);
        return 0;
    }
    char when[40];
    plan_format_time(now, when, sizeof when);
    printf("limits at %s\n", when);
    for (size_t i = 0; i < db->snap.reg.nkeys; i++) {
        if (!key_selected(&db->snap.reg.keys[i], a))
            continue;
        printf("\n");
        show_key(db, &db->snap.reg.keys[i], now, NULL);
    }
    return 0;
}

int cmd_limits(struct config *cfg, int argc, char **argv)
{
    struct limits_args a;
    int rc = parse_args(&a, argc, argv);
    if (rc)
        return rc;
    uint64_t now = clk_now_ms(clk_real);
    struct plan_view db;
    if (plan_view_open(&db, cfg->database_url, cfg->skew_ms) != 0)
        return 1;
    rc = show(&db, &a, now);
    plan_view_close(&db);
    return rc;
}
