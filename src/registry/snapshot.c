/*
 * DESIGN: the same queries the scheduler's registry runs (registry_limits
 * for the rows, so labels computed from them match the buckets exactly),
 * then each key's replay from the attempts log. Never writes.
 */
#include "registry/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "util/xmalloc.h"

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

static int load(struct reg_snapshot *s, int skew_ms, char *err, size_t errlen)
{
    struct lim_config lc;
    lim_config_init(&lc);
    lc.skew_ms = (uint64_t)skew_ms;
    if (reg_load(&s->reg, s->conn, &lc, err, errlen) != 0)
        return -1;
    s->rows_res = db_exec(s->conn, "registry_limits", 0, NULL, err, errlen);
    if (!s->rows_res)
        return -1;
    s->rows = read_rows(s->rows_res, &s->nrows);
    for (size_t i = 0; i < s->reg.nkeys; i++)
        if (reg_replay_key(&s->reg, s->conn, &s->reg.keys[i], err, errlen) < 0)
            return -1;
    return 0;
}

int regsnap_open(struct reg_snapshot *s, const char *conninfo, int skew_ms, char *err,
                 size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->conn = db_connect(conninfo, err, errlen);
    if (!s->conn)
        return -1;
    if (load(s, skew_ms, err, errlen) != 0) {
        regsnap_close(s);
        return -1;
    }
    return 0;
}

void regsnap_close(struct reg_snapshot *s)
{
    if (s->reg.limits)
        reg_finish(&s->reg);
    free(s->rows);
    PQclear(s->rows_res);
    if (s->conn)
        PQfinish(s->conn);
    memset(s, 0, sizeof *s);
}
