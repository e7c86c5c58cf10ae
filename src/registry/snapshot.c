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
    s->rows = reg_read_rows(s->rows_res, &s->nrows);
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
