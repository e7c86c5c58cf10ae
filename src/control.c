/*
 * DESIGN: the SQL does the work and the audit in one statement
 * (sql/keys_pause.sql, sql/targets_retry.sql, sql/targets_cancel.sql; the
 * retry-safety rule is the latter's to state); this file only turns their
 * rows into JSON and the command line into their parameters. The scheduler reads paused_at at every
 * claim, so nothing needs to be told.
 */
#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "util/cli.h"
#include "provider/provider_id.h"
#include "util/log.h"
#include "util/rfc3339.h"
#include "util/xmalloc.h"

json_t *ctl_pause(PGconn *c, const char *actor, int pause, const char *key, const char *provider,
                  char *err, size_t errlen)
{
    const char *params[] = {actor, pause ? "t" : "f", key, provider};
    PGresult *r = db_exec(c, "keys_pause", 4, params, err, errlen);
    if (!r)
        return NULL;
    json_t *keys = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(keys, json_pack("{s:I,s:s,s:s,s:b}", "id",
                                              (json_int_t)atoll(PQgetvalue(r, i, 0)), "provider",
                                              PQgetvalue(r, i, 1), "label", PQgetvalue(r, i, 2),
                                              "paused", strcmp(PQgetvalue(r, i, 3), "t") == 0));
    PQclear(r);
    return keys;
}

int cmd_pause(int pause, const char *conninfo, int argc, char **argv)
{
    const char *cmd = pause ? "pause" : "resume", *key = NULL, *provider = NULL;
    int all = 0;
    const struct cli_flag flags[] = {
        {"key", 1, &key, NULL},
        {"provider", 1, &provider, NULL},
        {"all", 0, NULL, &all},
    };
    int rc = cli_parse(cmd, flags, sizeof flags / sizeof flags[0], argc, argv);
    if (rc)
        return rc;
    enum prov_id p;
    if (provider && prov_parse(provider, strlen(provider), &p) != 0)
        return cli_usage_error("--provider: unknown provider \"%s\"", provider);
    if (!key && !provider && !all)
        return cli_usage_error("%s: name the keys: --key ID|LABEL, --provider P, or --all", cmd);
    if (all && (key || provider))
        return cli_usage_error("%s: --all takes no --key or --provider", cmd);
    PGconn *c = db_connect_logged(conninfo);
    if (!c)
        return 1;
    char err[512];
    json_t *keys = ctl_pause(c, "cli", pause, key, provider, err, sizeof err);
    PQfinish(c);
    if (!keys) {
        log_error("cannot change the keys", LOG_STR("reason", err));
        return 1;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
        printf("%s %s (%s, key %lld)\n", pause ? "paused" : "resumed",
               json_string_value(json_object_get(k, "label")),
               json_string_value(json_object_get(k, "provider")),
               (long long)json_integer_value(json_object_get(k, "id")));
    size_t n = json_array_size(keys);
    json_decref(keys);
    if (n == 0) {
        fprintf(stderr, "postpace: %s: no enabled key matches\n", cmd);
        return 1;
    }
    return 0;
}

/* ---- retry and cancel ---- */

int ctl_select_empty(const struct ctl_select *s)
{
    return !s->target_id && !s->post_id && !s->key && !s->provider && !s->error_code &&
           !s->since_ms && !s->until_ms;
}

int ctl_parse_id(const char *s, char *out)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 18 || s[n] != '\0' || strspn(s, "0") == n)
        return -1;
    snprintf(out, 24, "%s", s + strspn(s, "0"));
    return 0;
}

const char *ctl_parse_time(const char *s, char *out)
{
    int64_t us;
    enum rfc3339_err e = rfc3339_parse_instant(s, &us);
    if (e != RFC3339_E_OK)
        return rfc3339_strerror(e);
    snprintf(out, 24, "%lld", (long long)(us / 1000));
    return NULL;
}

char *ctl_targets(PGconn *c, const char *actor, enum ctl_action a, const struct ctl_select *sel,
                  int dry_run, int force, char *err, size_t errlen)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", CTL_LIST_MAX);
    const char *dry = dry_run ? "t" : "f";
    /* Both statements take (actor, dry run), retry its force, then the selector and the limit. */
    const char *params[] = {actor,         dry,           force ? "t" : "f", sel->target_id,
                            sel->post_id,  sel->key,      sel->provider,     sel->error_code,
                            sel->since_ms, sel->until_ms, limit};
    PGresult *r;
    if (a == CTL_RETRY) {
        r = db_exec(c, "targets_retry", 11, params, err, errlen);
    } else {
        const char *cancel[] = {params[0], params[1], params[3], params[4], params[5],
                                params[6], params[7], params[8], params[9], params[10]};
        r = db_exec(c, "targets_cancel", 10, cancel, err, errlen);
    }
    if (!r)
        return NULL;
    char *doc = xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return doc;
}

/* The answer as lines: each target listed, then the counts. */
static void print_targets(enum ctl_action a, const json_t *doc)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "targets"), i, t) {
        const char *reason = json_string_value(json_object_get(t, "reason"));
        printf("%s target %lld (post %lld, %s)%s%s\n",
               json_string_value(json_object_get(t, "action")),
               (long long)json_integer_value(json_object_get(t, "id")),
               (long long)json_integer_value(json_object_get(t, "post_id")),
               json_string_value(json_object_get(t, "status")), reason ? ": " : "",
               reason ? reason : "");
    }
    long long matched = json_integer_value(json_object_get(doc, "matched"));
    long long done = json_integer_value(json_object_get(doc, "done"));
    printf("%s: %lld matched, %lld %s, %lld refused%s%s\n", a == CTL_RETRY ? "retry" : "cancel",
           matched, done, a == CTL_RETRY ? "retried" : "cancelled", matched - done,
           json_is_true(json_object_get(doc, "truncated")) ? " (the first 1000 listed)" : "",
           json_is_true(json_object_get(doc, "dry_run")) ? "; a dry run: nothing changed" : "");
}

/* Reads the selector flags into sel (ids and times into bufs); 0, or 2 after a usage error. */
static int select_flags(const char *cmd, const char *vals[7], struct ctl_select *sel,
                        char bufs[4][24])
{
    const char *why;
    enum prov_id p;
    if (vals[0] && ctl_parse_id(vals[0], bufs[0]) != 0)
        return cli_usage_error("--target: \"%s\" is not a target id", vals[0]);
    if (vals[1] && ctl_parse_id(vals[1], bufs[1]) != 0)
        return cli_usage_error("--post: \"%s\" is not a post id", vals[1]);
    if (vals[3] && prov_parse(vals[3], strlen(vals[3]), &p) != 0)
        return cli_usage_error("--provider: unknown provider \"%s\"", vals[3]);
    if (vals[5] && (why = ctl_parse_time(vals[5], bufs[2])))
        return cli_usage_error("--since: %s", why);
    if (vals[6] && (why = ctl_parse_time(vals[6], bufs[3])))
        return cli_usage_error("--until: %s", why);
    *sel = (struct ctl_select){vals[0] ? bufs[0] : NULL, vals[1] ? bufs[1] : NULL, vals[2], vals[3],
                               vals[4], vals[5] ? bufs[2] : NULL, vals[6] ? bufs[3] : NULL};
    if (sel->since_ms && sel->until_ms && atoll(sel->until_ms) <= atoll(sel->since_ms))
        return cli_usage_error("--until: must be later than --since");
    if (ctl_select_empty(sel))
        return cli_usage_error("%s: name the targets: --target N, --post N, or a filter (--key, "
                               "--provider, --error, --since, --until)",
                               cmd);
    return 0;
}

int cmd_targets(enum ctl_action a, const char *conninfo, int argc, char **argv)
{
    const char *cmd = a == CTL_RETRY ? "retry" : "cancel", *vals[7] = {0};
    int dry = 0, force = 0, as_json = 0;
    const struct cli_flag flags[] = {
        {"target", 1, &vals[0], NULL},   {"post", 1, &vals[1], NULL},
        {"key", 1, &vals[2], NULL},      {"provider", 1, &vals[3], NULL},
        {"error", 1, &vals[4], NULL},    {"since", 1, &vals[5], NULL},
        {"until", 1, &vals[6], NULL},    {"dry-run", 0, NULL, &dry},
        {"json", 0, NULL, &as_json},     {"force", 0, NULL, &force},
    };
    /* cancel has no --force: it is the table's last entry. */
    size_t nflags = sizeof flags / sizeof flags[0] - (a == CTL_CANCEL);
    int rc = cli_parse(cmd, flags, nflags, argc, argv);
    if (rc)
        return rc;
    struct ctl_select sel;
    char bufs[4][24];
    if ((rc = select_flags(cmd, vals, &sel, bufs)) != 0)
        return rc;
    PGconn *c = db_connect_logged(conninfo);
    if (!c)
        return 1;
    char err[512];
    char *text = ctl_targets(c, "cli", a, &sel, dry, force, err, sizeof err);
    PQfinish(c);
    if (!text) {
        log_error("cannot change the targets", LOG_STR("reason", err));
        return 1;
    }
    json_t *doc = json_loads(text, 0, NULL); /* PostgreSQL's own JSON: it parses */
    if (as_json || !doc)
        printf("%s\n", text);
    else
        print_targets(a, doc);
    free(text);
    /* 0 only when every target matched was (or would be) done. */
    long long matched = json_integer_value(json_object_get(doc, "matched"));
    rc = matched > 0 && json_integer_value(json_object_get(doc, "done")) == matched ? 0 : 1;
    json_decref(doc);
    return rc;
}
