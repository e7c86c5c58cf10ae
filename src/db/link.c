/*
 * DESIGN: the reconnect-with-backoff every connection-owning thread needs,
 * written once. It holds no lock and reads no clock: the owner passes `now`
 * from its own loop, and owns the link as it owns its PGconn, so nothing
 * here is shared between threads.
 */
#include "db/link.h"

#include "db/db.h"

void db_link_init(struct db_link *l, const char *conninfo, const char *const *prepared)
{
    *l = (struct db_link){.conninfo = conninfo, .prepared = prepared};
}

uint64_t db_link_backoff(uint64_t last_ms)
{
    return last_ms ? (last_ms * 2 > 5000 ? 5000 : last_ms * 2) : 100;
}

static void failed(struct db_link *l, uint64_t now)
{
    l->backoff_ms = db_link_backoff(l->backoff_ms);
    l->next_connect_ms = now + l->backoff_ms;
}

enum db_link_state db_link_ensure(struct db_link *l, uint64_t now, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (l->conn)
        return DB_LINK_UP;
    if (now < l->next_connect_ms)
        return DB_LINK_DOWN;
    l->conn = db_connect(l->conninfo, err, errlen);
    if (!l->conn) {
        failed(l, now);
        return DB_LINK_DOWN;
    }
    if (db_prepare_all(l->conn, l->prepared, err, errlen) != 0) {
        db_link_close(l);
        failed(l, now);
        return DB_LINK_UNPREPARED;
    }
    l->backoff_ms = 0;
    return DB_LINK_NEW;
}

int db_link_broken(const struct db_link *l)
{
    return l->conn && PQstatus(l->conn) != CONNECTION_OK;
}

void db_link_close(struct db_link *l)
{
    PQfinish(l->conn);
    l->conn = NULL;
}
