/*
 * DESIGN: a one-shot command on the main thread: one query for the backlog,
 * and the plan module's forecast (the same limiter, in virtual time over the
 * calendar and the attempts log) for each key's ETA.
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
#include "util/log.h"
#include "util/xmalloc.h"

#define ETA_HORIZON_MS (30ull * 86400000ull)

/* "now", "in 4m57s", "beyond 30 days", "never", or "-" (nothing pending). */
static const char *eta_text(uint64_t eta, uint64_t now, char *buf, size_t size)
{
    char d[64];
    if (eta == PLAN_ETA_NONE)
        return "-";
    if (eta == PLAN_ETA_NEVER)
        return "never";
    if (eta == PLAN_ETA_BEYOND)
        return "beyond 30 days";
    if (eta <= now)
        return "now";
    plan_format_duration(eta - now, d, sizeof d);
    snprintf(buf, size, "in %s", d);
    return buf;
}

static void print_row(PGresult *r, int i, const char *eta)
{
    printf("%-6s %-15s %-16s %-22s %9s %7s %10s %9s %11s %9s %7s %6ss  %s\n", PQgetvalue(r, i, 0),
           PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
           PQgetvalue(r, i, 5), PQgetvalue(r, i, 6), PQgetvalue(r, i, 7), PQgetvalue(r, i, 8),
           PQgetvalue(r, i, 9), PQgetvalue(r, i, 10), PQgetvalue(r, i, 11), eta);
}

/* Each enabled key's ETA by key id, or NULL when the forecast is unavailable. */
static uint64_t *forecast(struct config *cfg, struct plan_view *db, uint64_t now)
{
    if (plan_view_open(db, cfg->database_url, cfg->skew_ms) != 0)
        return NULL;
    uint64_t *eta = xcalloc(db->snap.reg.nkeys ? db->snap.reg.nkeys : 1, sizeof *eta);
    if (plan_key_etas(db, now, ETA_HORIZON_MS, eta) != 0) {
        free(eta);
        return NULL;
    }
    return eta;
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
    if (argc > 0) {
        fprintf(stderr, "postpace: status: unexpected argument \"%s\" (see `postpace help`)\n",
                argv[0]);
        return 2;
    }
    PGconn *c = db_connect_logged(cfg->database_url);
    if (!c)
        return 1;
    char err[512];
    PGresult *r = db_exec(c, "status_keys", 0, NULL, err, sizeof err);
    if (!r) {
        log_error("status failed", LOG_STR("reason", err));
        PQfinish(c);
        return 1;
    }
    uint64_t now = clk_now_ms(clk_real);
    struct plan_view db;
    uint64_t *eta = forecast(cfg, &db, now);
    printf("%-6s %-15s %-16s %-22s %9s %7s %10s %9s %11s %9s %7s %7s  %s\n", "KEY", "PROVIDER",
           "LABEL", "LEASE", "SCHEDULED", "DUE", "PUBLISHING", "SUBMITTED", "UNCONFIRMED",
           "PUBLISHED", "FAILED", "LAG", "ETA");
    for (int i = 0; i < PQntuples(r); i++) {
        char buf[80];
        const struct reg_key *k = eta ? reg_key_by_id(&db.snap.reg, atoll(PQgetvalue(r, i, 0))) : NULL;
        /* A paused key sends nothing: the forecast (which assumes it does) is not shown. */
        print_row(r, i, strcmp(PQgetvalue(r, i, 12), "t") == 0 ? "paused"
                        : k ? eta_text(eta[k - db.snap.reg.keys], now, buf, sizeof buf)
                            : "?");
    }
    if (eta) {
        free(eta);
        plan_view_close(&db);
    }
    PQclear(r);
    int rc = print_unmatched(c) == 0 ? 0 : 1;
    PQfinish(c);
    return rc;
}
