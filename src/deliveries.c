/*
 * DESIGN: the SQL does the work and the audit in one statement
 * (sql/deliveries_*.sql, sql/subscriptions_*.sql); this file turns their
 * answers into JSON and the command line into their parameters. The outbox
 * thread notices a replay by its next look (at most outbox_poll_ms).
 */
#include "deliveries.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "provider/provider_id.h"
#include "util/cli.h"
#include "util/log.h"

const char *const dlv_event_types[] = {"post.published", "post.failed",  "post.unconfirmed",
                                       "post.expired",   "key.paused",   "key.quota_exhausted",
                                       NULL};

int dlv_state_known(const char *s)
{
    return strcmp(s, "pending") == 0 || strcmp(s, "delivered") == 0 || strcmp(s, "dead") == 0;
}

static json_t *json_result(PGresult *r)
{
    json_t *j = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return j;
}

json_t *dlv_list(PGconn *c, const char *state, int64_t subscription, int64_t post, int limit,
                 char *err, size_t errlen)
{
    char sub[24], pst[24], lim[16];
    snprintf(sub, sizeof sub, "%" PRId64, subscription);
    snprintf(pst, sizeof pst, "%" PRId64, post);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {state, subscription ? sub : NULL, post ? pst : NULL, lim};
    PGresult *r = db_exec(c, "deliveries_list", 4, params, err, errlen);
    return r ? json_result(r) : NULL;
}

json_t *dlv_replay(PGconn *c, const char *actor, int64_t id, int dead, int64_t subscription,
                   char *err, size_t errlen)
{
    char idt[24], sub[24];
    snprintf(idt, sizeof idt, "%" PRId64, id);
    snprintf(sub, sizeof sub, "%" PRId64, subscription);
    const char *params[] = {actor, id ? idt : NULL, dead ? "t" : "f", subscription ? sub : NULL};
    PGresult *r = db_exec(c, "deliveries_replay", 4, params, err, errlen);
    if (!r)
        return NULL;
    json_t *ids = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(ids, json_integer(strtoll(PQgetvalue(r, i, 0), NULL, 10)));
    PQclear(r);
    return ids;
}

json_t *dlv_subscriptions(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = db_exec(c, "subscriptions_list", 0, NULL, err, errlen);
    return r ? json_result(r) : NULL;
}

int64_t dlv_subscribe(PGconn *c, const char *actor, const char *url, const char *secret_ref,
                      const char *const *events, const char *provider, const char *key, char *err,
                      size_t errlen)
{
    size_t n = 0;
    while (events && events[n])
        n++;
    char *types = db_text_array(events, n);
    const char *params[] = {actor, url, secret_ref, types, provider, key};
    PGresult *r = db_exec(c, "subscriptions_add", 6, params, err, errlen);
    free(types);
    if (!r)
        return -1;
    int64_t id = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return id;
}

int dlv_unsubscribe(PGconn *c, const char *actor, int64_t id, char *err, size_t errlen)
{
    char idt[24];
    snprintf(idt, sizeof idt, "%" PRId64, id);
    const char *params[] = {actor, idt};
    PGresult *r = db_exec(c, "subscriptions_remove", 2, params, err, errlen);
    if (!r)
        return -1;
    int n = PQntuples(r);
    PQclear(r);
    return n > 0;
}

/* ---- the command line ---- */

/* A positive id from a flag's value; 0 (after the usage error) if not one. */
static int64_t id_flag(const char *flag, const char *v)
{
    char *end;
    long long id = v ? strtoll(v, &end, 10) : 0;
    if (!v)
        return 0;
    if (*end || id <= 0 || end == v) {
        cli_usage_error("--%s: not a positive id: \"%s\"", flag, v);
        return -1;
    }
    return id;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    puts(s);
    free(s);
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static int replay(const char *conninfo, int argc, char **argv)
{
    const char *id_s = NULL, *sub_s = NULL;
    int dead = 0;
    const struct cli_flag flags[] = {
        {"id", 1, &id_s, NULL},
        {"dead", 0, NULL, &dead},
        {"subscription", 1, &sub_s, NULL},
    };
    int rc = cli_parse("deliveries replay", flags, sizeof flags / sizeof flags[0], argc, argv);
    if (rc)
        return rc;
    int64_t id = id_flag("id", id_s), sub = id_flag("subscription", sub_s);
    if (id < 0 || sub < 0)
        return 2;
    if (!id == !dead)
        return cli_usage_error("deliveries replay: name what: --id N or --dead");
    PGconn *c = db_connect_logged(conninfo);
    if (!c)
        return 1;
    char err[512];
    json_t *ids = dlv_replay(c, "cli", id, dead, sub, err, sizeof err);
    PQfinish(c);
    if (!ids) {
        log_error("cannot replay", LOG_STR("reason", err));
        return 1;
    }
    size_t n = json_array_size(ids);
    printf("replayed %zu deliver%s\n", n, n == 1 ? "y" : "ies");
    json_decref(ids);
    if (n == 0 && id) {
        fprintf(stderr, "postpace: deliveries replay: no delivery %" PRId64 "\n", id);
        return 1;
    }
    return 0;
}

int cmd_deliveries(const char *conninfo, int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "replay") == 0)
        return replay(conninfo, argc - 1, argv + 1);
    const char *state = NULL, *sub_s = NULL, *post_s = NULL, *limit_s = NULL;
    int as_json = 0;
    const struct cli_flag flags[] = {
        {"state", 1, &state, NULL},   {"subscription", 1, &sub_s, NULL},
        {"post", 1, &post_s, NULL},   {"limit", 1, &limit_s, NULL},
        {"json", 0, NULL, &as_json},
    };
    int rc = cli_parse("deliveries", flags, sizeof flags / sizeof flags[0], argc, argv);
    if (rc)
        return rc;
    if (state && !dlv_state_known(state))
        return cli_usage_error("--state: one of pending, delivered, dead (not \"%s\")", state);
    int64_t sub = id_flag("subscription", sub_s), post = id_flag("post", post_s),
            limit = limit_s ? id_flag("limit", limit_s) : 100;
    if (sub < 0 || post < 0 || limit < 0)
        return 2;
    if (limit > 100000)
        return cli_usage_error("--limit: at most 100000");
    PGconn *c = db_connect_logged(conninfo);
    if (!c)
        return 1;
    char err[512];
    json_t *list = dlv_list(c, state, sub, post, (int)limit, err, sizeof err);
    PQfinish(c);
    if (!list) {
        log_error("cannot list deliveries", LOG_STR("reason", err));
        return 1;
    }
    if (as_json) {
        print_json(list);
    } else {
        size_t i;
        json_t *d;
        printf("%-8s %-6s %-20s %-9s %8s %6s  %s\n", "id", "sub", "type", "state", "attempts",
               "last", "target/post, error");
        json_array_foreach(list, i, d)
        {
            json_t *st = json_object_get(d, "last_status");
            char last[16] = "-";
            if (json_is_integer(st))
                snprintf(last, sizeof last, "%lld", (long long)json_integer_value(st));
            printf("%-8lld %-6lld %-20s %-9s %8lld %6s  %lld/%lld %s\n",
                   (long long)json_integer_value(json_object_get(d, "id")),
                   (long long)json_integer_value(json_object_get(d, "subscription_id")),
                   str(d, "type"), str(d, "state"),
                   (long long)json_integer_value(json_object_get(d, "attempts")), last,
                   (long long)json_integer_value(json_object_get(d, "target_id")),
                   (long long)json_integer_value(json_object_get(d, "post_id")),
                   json_is_string(json_object_get(d, "last_error")) ? str(d, "last_error") : "");
        }
    }
    json_decref(list);
    return 0;
}

int cmd_subscriptions(const char *conninfo, int argc, char **argv)
{
    int as_json = 0;
    const struct cli_flag flags[] = {{"json", 0, NULL, &as_json}};
    int rc = cli_parse("subscriptions", flags, 1, argc, argv);
    if (rc)
        return rc;
    PGconn *c = db_connect_logged(conninfo);
    if (!c)
        return 1;
    char err[512];
    json_t *list = dlv_subscriptions(c, err, sizeof err);
    PQfinish(c);
    if (!list) {
        log_error("cannot list subscriptions", LOG_STR("reason", err));
        return 1;
    }
    if (as_json) {
        print_json(list);
    } else {
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s)
        {
            json_t *d = json_object_get(s, "deliveries");
            printf("%lld %s%s pending=%lld delivered=%lld dead=%lld\n",
                   (long long)json_integer_value(json_object_get(s, "id")), str(s, "url"),
                   json_is_true(json_object_get(s, "enabled")) ? "" : " (disabled)",
                   (long long)json_integer_value(json_object_get(d, "pending")),
                   (long long)json_integer_value(json_object_get(d, "delivered")),
                   (long long)json_integer_value(json_object_get(d, "dead")));
        }
    }
    json_decref(list);
    return 0;
}

/* Splits "a,b" into the NULL-terminated events (each a known type). 0 or 2. */
static int parse_events(char *list, const char **events, size_t max)
{
    size_t n = 0;
    for (char *save, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t k = 0;
        while (dlv_event_types[k] && strcmp(dlv_event_types[k], t) != 0)
            k++;
        if (!dlv_event_types[k])
            return cli_usage_error("--events: unknown event type \"%s\"", t);
        if (n + 1 == max)
            return cli_usage_error("--events: too many");
        events[n++] = dlv_event_types[k];
    }
    events[n] = NULL;
    return 0;
}

int cmd_subscribe(const char *conninfo, int argc, char **argv)
{
    const char *url = NULL, *ref = NULL, *events_s = NULL, *provider = NULL, *key = NULL;
    const struct cli_flag flags[] = {
        {"url", 1, &url, NULL},         {"secret-ref", 1, &ref, NULL},
        {"events", 1, &events_s, NULL}, {"provider", 1, &provider, NULL},
        {"key", 1, &key, NULL},
    };
    int rc = cli_parse("subscribe", flags, sizeof flags / sizeof flags[0], argc, argv);
    if (rc)
        return rc;
    if (!url || !ref)
        return cli_usage_error("subscribe: --url URL and --secret-ref env:NAME|file:/path are needed");
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return cli_usage_error("--url: must start with http:// or https://");
    if (strncmp(ref, "env:", 4) != 0 && strncmp(ref, "file:/", 6) != 0)
        return cli_usage_error("--secret-ref: env:NAME or file:/path (never the secret itself)");
    enum prov_id p;
    if (provider && prov_parse(provider, strlen(provider), &p) != 0)
        return cli_usage_error("--provider: unknown provider \"%s\"", provider);
    const char *events[16] = {NULL};
    char *copy = events_s ? strdup(events_s) : NULL;
    rc = copy ? parse_events(copy, events, 16) : 0;
    if (rc) {
        free(copy);
        return rc;
    }
    PGconn *c = db_connect_logged(conninfo);
    if (!c) {
        free(copy);
        return 1;
    }
    char err[512];
    int64_t id = dlv_subscribe(c, "cli", url, ref, events, provider, key, err, sizeof err);
    PQfinish(c);
    free(copy);
    if (id < 0) {
        log_error("cannot subscribe", LOG_STR("reason", err));
        return 1;
    }
    if (id == 0) {
        fprintf(stderr, "postpace: subscribe: --key: no key \"%s\"\n", key);
        return 1;
    }
    printf("subscription %" PRId64 "\n", id);
    return 0;
}

int cmd_unsubscribe(const char *conninfo, int argc, char **argv)
{
    const char *id_s = NULL;
    const struct cli_flag flags[] = {{"id", 1, &id_s, NULL}};
    int rc = cli_parse("unsubscribe", flags, 1, argc, argv);
    if (rc)
        return rc;
    int64_t id = id_flag("id", id_s);
    if (id < 0)
        return 2;
    if (id == 0)
        return cli_usage_error("unsubscribe: --id N is needed");
    PGconn *c = db_connect_logged(conninfo);
    if (!c)
        return 1;
    char err[512];
    int n = dlv_unsubscribe(c, "cli", id, err, sizeof err);
    PQfinish(c);
    if (n < 0) {
        log_error("cannot unsubscribe", LOG_STR("reason", err));
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "postpace: unsubscribe: no subscription %" PRId64 "\n", id);
        return 1;
    }
    printf("removed subscription %" PRId64 "\n", id);
    return 0;
}
