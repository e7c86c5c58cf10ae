/*
 * link: one thread's database connection that comes back by itself. Every
 * thread of `serve` that talks to PostgreSQL (webhook writers, API workers,
 * the scheduler, the recorder) holds one: it connects when due, prepares the
 * thread's statements on every new connection, and after a failure waits
 * 100 ms, then twice as long each time, up to 5 s, before trying again, so
 * a database that is down costs a connect every few seconds, not a spin.
 *
 * Ownership: the link belongs to one thread, which alone reads l->conn and
 * calls these functions. The link owns the connection (db_link_close frees
 * it); conninfo and prepared are borrowed and must outlive it. What a
 * thread does when it gains or loses its connection (counters, log lines,
 * answering 503) stays with the thread: the link reports, it does not log.
 */
#ifndef POSTPACE_DB_LINK_H
#define POSTPACE_DB_LINK_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

struct db_link {
    PGconn *conn;                /* NULL while down; read it, never free it */
    const char *conninfo;        /* borrowed */
    const char *const *prepared; /* sql/ names prepared on each connection (NULL: none) */
    uint64_t next_connect_ms;    /* while down: no attempt before this (monotonic ms) */
    uint64_t backoff_ms;         /* the last wait after a failure; 0 after a success */
};

/* What db_link_ensure found or did. */
enum db_link_state {
    DB_LINK_DOWN,       /* no connection: not due yet, or the attempt failed (err says why) */
    DB_LINK_UNPREPARED, /* connected, but preparing failed (err says why): closed, backing off */
    DB_LINK_UP,         /* connected already */
    DB_LINK_NEW,        /* connected, and its statements prepared, by this call */
};

/* A link that is down and due at once. `prepared` is NULL-terminated, or NULL. */
void db_link_init(struct db_link *l, const char *conninfo, const char *const *prepared);

/*
 * Connects when down and `now` (clk_mono_ms) has reached the deadline the
 * last failure set, then prepares the statements (db_prepare_all, so
 * nothing with prepared statements off). A failure sets the next deadline
 * (db_link_backoff); a success resets the backoff. err gets the reason of a
 * failed attempt, "" otherwise. Does not notice a connection that broke:
 * ask db_link_broken and call db_link_close first.
 */
enum db_link_state db_link_ensure(struct db_link *l, uint64_t now, char *err, size_t errlen);

/* 1 when the link holds a connection that libpq reports broken. */
int db_link_broken(const struct db_link *l);

/*
 * Closes the connection: it broke, a statement found it gone, or the owner
 * is stopping. The link stays valid, down, and the next db_link_ensure
 * connects at once: a lost connection is retried without a wait, and only
 * a failed attempt backs off.
 */
void db_link_close(struct db_link *l);

/* The wait after a failure that followed a wait of `last_ms` (0: none): 100 ms doubling to 5 s. */
uint64_t db_link_backoff(uint64_t last_ms);

#endif
