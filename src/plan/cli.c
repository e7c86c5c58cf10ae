/*
 * DESIGN: what `postpace plan` and `postpace limits` share. main.c passes
 * these commands their own flags (cfg_load with allow_unknown), so each
 * parses them here against a table and reports an unknown one itself, in
 * main.c's words and with its exit status 2. The database part reads the
 * same queries as the registry (registry_limits for the rows, so the labels
 * match the buckets exactly) and never writes.
 */
#include "plan/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "util/log.h"
#include "util/xmalloc.h"

int pcli_usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "postpace: %s (see `postpace help`)\n", msg);
    return 2;
}

static const struct pcli_flag *find_flag(const struct pcli_flag *flags, size_t n, const char *name,
                                         size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
            return &flags[i];
    return NULL;
}

/* Applies argv[*i] (and maybe its value); returns 0 or 2. */
static int parse_one(const struct pcli_flag *flags, size_t nflags, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct pcli_flag *f = find_flag(flags, nflags, name, len);
    if (!f)
        return pcli_usage_error("--%.*s: unknown flag", (int)len, name);
    if (!f->takes_value) {
        if (eq)
            return pcli_usage_error("--%s: takes no value", f->name);
        *f->set = 1;
        return 0;
    }
    const char *v = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
    if (!v || !*v)
        return pcli_usage_error("--%s: needs a value", f->name);
    *f->value = v;
    return 0;
}

int pcli_parse(const char *cmd, const struct pcli_flag *flags, size_t nflags, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0')
            return pcli_usage_error("%s: unexpected argument \"%s\"", cmd, argv[i]);
        int rc = parse_one(flags, nflags, argc, argv, &i);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- database ---- */

static void fail(const char *what, const char *err)
{
    log_error(what, LOG_STR("reason", err));
}

/* The rate_limits rows as the pure core reads them; strings point into res. */
static struct lim_row *read_rows(PGresult *res, size_t *n)
{
    *n = (size_t)PQntuples(res);
    struct lim_row *rows = xcalloc(*n ? *n : 1, sizeof *rows);
    for (int i = 0; i < (int)*n; i++) {
        rows[i].provider = PQgetvalue(res, i, 0);
        rows[i].plan = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
        rows[i].key_id = atoll(PQgetvalue(res, i, 2));
        rows[i].scope = (enum lim_scope)lim_scope_parse(PQgetvalue(res, i, 3));
        rows[i].route = PQgetvalue(res, i, 4);
        rows[i].kind = (enum lim_kind)lim_kind_parse(PQgetvalue(res, i, 5));
        rows[i].window_ms = (uint64_t)atoll(PQgetvalue(res, i, 6));
        rows[i].max_units = (uint64_t)atoll(PQgetvalue(res, i, 7));
        rows[i].cost = (enum lim_cost)lim_cost_parse(PQgetvalue(res, i, 8));
    }
    return rows;
}

static void label_keys(struct pcli_db *db)
{
    size_t nb = lim_set_nbuckets(db->reg.limits);
    db->labels = xcalloc(nb ? nb : 1, sizeof *db->labels);
    for (size_t i = 0; i < db->reg.nkeys; i++) {
        const struct reg_key *k = &db->reg.keys[i];
        if (k->provider < PROV_COUNT)
            plan_label_buckets(db->reg.limits, db->rows, db->nrows, prov_name(k->provider), k->plan,
                               k->id, k->buckets, k->nbuckets, db->labels);
    }
}

/* The limiter is configured as the scheduler configures it (skew_ms), so
 * plan and limits predict what serve will do. */
static int load(struct pcli_db *db, const struct config *cfg, char *err, size_t errlen)
{
    struct lim_config lc;
    lim_config_init(&lc);
    lc.skew_ms = (uint64_t)cfg->skew_ms;
    if (reg_load(&db->reg, db->conn, &lc, err, errlen) != 0)
        return -1;
    PGresult *res = db_exec(db->conn, "registry_limits", 0, NULL, err, errlen);
    if (!res)
        return -1;
    db->rows_res = res;
    db->rows = read_rows(res, &db->nrows);
    label_keys(db);
    for (size_t i = 0; i < db->reg.nkeys; i++)
        if (reg_replay_key(&db->reg, db->conn, &db->reg.keys[i], err, errlen) < 0)
            return -1;
    return 0;
}

int pcli_open(struct pcli_db *db, const struct config *cfg)
{
    char err[512];
    memset(db, 0, sizeof *db);
    db->conn = db_connect(cfg->database_url, err, sizeof err);
    if (!db->conn) {
        fail("cannot connect to the database", err);
        return -1;
    }
    if (load(db, cfg, err, sizeof err) != 0) {
        fail("cannot load the limits", err);
        pcli_close(db);
        return -1;
    }
    return 0;
}

void pcli_close(struct pcli_db *db)
{
    if (db->reg.limits)
        reg_finish(&db->reg);
    free(db->labels);
    free(db->rows);
    PQclear(db->rows_res);
    if (db->conn)
        PQfinish(db->conn);
    memset(db, 0, sizeof *db);
}
