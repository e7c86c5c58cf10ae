/*
 * DESIGN: one document, two readers. status_keys_json builds it from one
 * query for the backlog (sql/status_keys.sql) and the plan module's
 * forecast (the same limiter, in virtual time over the calendar and the
 * attempts log) for each key's ETA and binding window; `status --json` and
 * GET /v1/keys print it as it is, and `status` as text, so the three cannot
 * drift apart.
 */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db/db.h"
#include "plan/view.h"
#include "plan/commands.h"
#include "plan/plan.h"
#include "util/cli.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define ETA_HORIZON_MS (30ull * 86400000ull)

/* ---- the document ---- */

/* The lease groups of the snapshot's keys, as status_keys' two array parameters. */
static void group_arrays(const struct plan_view *db, char **keys, char **groups)
{
    struct db_column k = {0}, g = {0};
    for (size_t i = 0; db && i < db->snap.reg.nkeys; i++) {
        db_col_push_i64(&k, db->snap.reg.keys[i].id);
        db_col_push_i64(&g, db->snap.reg.keys[i].group_id);
    }
    *keys = db_col_take(&k);
    *groups = db_col_take(&g);
}

/* Adds eta, eta_state and binding to one key's object (e NULL: no forecast). */
static void add_forecast(json_t *key, const struct plan_key_eta *e)
{
    const char *state = !e                          ? "unknown"
                        : e->eta == PLAN_ETA_NONE   ? "none"
                        : e->eta == PLAN_ETA_NEVER  ? "never"
                        : e->eta == PLAN_ETA_BEYOND ? "beyond"
                                                    : "at";
    /* A paused key sends nothing: the forecast (which assumes it does) is not given. */
    if (json_is_true(json_object_get(key, "paused")))
        state = "paused";
    int at = strcmp(state, "at") == 0, paused = strcmp(state, "paused") == 0;
    char when[40];
    if (at)
        plan_format_time(e->eta, when, sizeof when);
    json_object_set_new(key, "eta", at ? json_string(when) : json_null());
    json_object_set_new(key, "eta_state", json_string(state));
    json_object_set_new(key, "binding",
                        e && *e->binding && !paused ? json_string(e->binding) : json_null());
}

/* Each key's forecast by snapshot index, or NULL when there is none. */
static struct plan_key_eta *forecast(const struct plan_view *db, uint64_t now)
{
    if (!db)
        return NULL;
    struct plan_key_eta *eta = xcalloc(db->snap.reg.nkeys ? db->snap.reg.nkeys : 1, sizeof *eta);
    if (plan_key_etas(db, now, ETA_HORIZON_MS, eta) == 0)
        return eta;
    free(eta);
    return NULL;
}

json_t *status_keys_json(PGconn *c, const struct plan_view *db, uint64_t now, char *err,
                         size_t errlen)
{
    char *key_ids, *group_ids;
    group_arrays(db, &key_ids, &group_ids);
    const char *params[] = {key_ids, group_ids};
    PGresult *r = db_exec(c, "status_keys", 2, params, err, errlen);
    free(key_ids), free(group_ids);
    if (!r)
        return NULL;
    struct plan_key_eta *eta = forecast(db, now);
    json_t *keys = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *k = json_loads(PQgetvalue(r, i, 1), 0, NULL);
        const struct reg_key *rk =
            eta ? reg_key_by_id(&db->snap.reg, atoll(PQgetvalue(r, i, 0))) : NULL;
        add_forecast(k, rk ? &eta[rk - db->snap.reg.keys] : NULL);
        json_array_append_new(keys, k);
    }
    PQclear(r);
    free(eta);
    char when[40];
    plan_format_time(now, when, sizeof when);
    return json_pack("{s:s, s:o}", "now", when, "keys", keys);
}

/* ---- the text ---- */

/* "now", "in 4m57s", "beyond 30 days", "never", "paused", "?" or "-" (nothing pending). */
static const char *eta_text(const json_t *k, uint64_t now, char *buf, size_t size)
{
    const char *state = json_string_value(json_object_get(k, "eta_state"));
    uint64_t eta;
    char d[64];
    if (strcmp(state, "none") == 0)
        return "-";
    if (strcmp(state, "beyond") == 0)
        return "beyond 30 days";
    if (strcmp(state, "unknown") == 0)
        return "?";
    if (strcmp(state, "at") != 0)
        return state; /* never, paused */
    if (plan_parse_time(json_string_value(json_object_get(k, "eta")), &eta) != 0 || eta <= now)
        return "now";
    plan_format_duration(eta - now, d, sizeof d);
    snprintf(buf, size, "in %s", d);
    return buf;
}

static long long num(const json_t *o, const char *name)
{
    return (long long)json_integer_value(json_object_get(o, name));
}

static void print_key(const json_t *k, uint64_t now)
{
    const json_t *lease = json_object_get(k, "lease"), *b = json_object_get(k, "backlog");
    const char *binding = json_string_value(json_object_get(k, "binding"));
    char eta[80];
    printf("%-6lld %-15s %-16s %-22s %9lld %7lld %10lld %9lld %11lld %9lld %7lld %6llds  %-14s "
           "%s\n",
           num(k, "id"), json_string_value(json_object_get(k, "provider")),
           json_string_value(json_object_get(k, "label")),
           json_is_object(lease) ? json_string_value(json_object_get(lease, "owner")) : "-",
           num(b, "scheduled"), num(k, "due"), num(b, "publishing"), num(b, "submitted"),
           num(b, "unconfirmed"), num(b, "published"), num(b, "failed") + num(b, "expired"),
           num(k, "lag_s"), eta_text(k, now, eta, sizeof eta), binding ? binding : "-");
}

static void print_keys(const json_t *doc, uint64_t now)
{
    printf("%-6s %-15s %-16s %-22s %9s %7s %10s %9s %11s %9s %7s %7s  %-14s %s\n", "KEY",
           "PROVIDER", "LABEL", "LEASE", "SCHEDULED", "DUE", "PUBLISHING", "SUBMITTED",
           "UNCONFIRMED", "PUBLISHED", "FAILED", "LAG", "ETA", "BINDING");
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(doc, "keys"), i, k) print_key(k, now);
}

/* Lists the newest stored webhook events that match no target, and how many
 * there are: a delivery postpace cannot read is stored, not refused, and
 * this is where an operator sees it (then adapts providers.webhook_fields). */
static int print_unmatched(PGconn *c)
{
    char err[512];
    PGresult *r = db_exec(c, "status_unmatched_events", 0, NULL, err, sizeof err);
    if (!r) {
        log_error("status failed", LOG_STR("reason", err));
        return -1;
    }
    int n = PQntuples(r);
    printf("\nUNMATCHED WEBHOOK EVENTS: %s (%s unreadable)%s\n", n ? PQgetvalue(r, 0, 5) : "0",
           n ? PQgetvalue(r, 0, 6) : "0",
           n ? "; the newest (GET /v1/events?state=unmatched lists them with their payloads):" : "");
    if (n)
        printf("%-15s %-36s %-20s %-10s %s\n", "PROVIDER", "EVENT", "TYPE", "REASON", "RECEIVED");
    for (int i = 0; i < n; i++)
        printf("%-15s %-36s %-20s %-10s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
               PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
    PQclear(r);
    return 0;
}

int cmd_status(struct config *cfg, int argc, char **argv)
{
    int as_json = 0;
    const struct cli_flag flags[] = {{"json", 0, NULL, &as_json}};
    int rc = cli_parse("status", flags, 1, argc, argv);
    if (rc)
        return rc;
    PGconn *c = db_connect_logged(cfg->database_url);
    if (!c)
        return 1;
    uint64_t now = clk_now_ms(clk_real);
    struct plan_view db;
    int have_view = plan_view_open(&db, cfg->database_url, cfg->skew_ms) == 0;
    char err[512];
    json_t *doc = status_keys_json(c, have_view ? &db : NULL, now, err, sizeof err);
    if (have_view)
        plan_view_close(&db);
    if (!doc) {
        log_error("status failed", LOG_STR("reason", err));
        PQfinish(c);
        return 1;
    }
    if (as_json) {
        char *text = json_dumps(doc, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
    } else {
        print_keys(doc, now);
        rc = print_unmatched(c) == 0 ? 0 : 1;
    }
    json_decref(doc);
    PQfinish(c);
    return rc;
}
