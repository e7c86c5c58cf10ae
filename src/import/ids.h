/*
 * ids: the external ids an import has read, each with the line it was
 * first on, so that the reader itself names a repeated id ("also on line
 * N") instead of the database grouping every row by id. Memory is bounded:
 * once the set would outgrow its budget it gives up (full), and the check
 * falls back to finding repeats in SQL.
 */
#ifndef POSTPACE_IMPORT_IDS_H
#define POSTPACE_IMPORT_IDS_H

#include <stddef.h>
#include <stdint.h>

struct imp_id {
    uint32_t at, len; /* the id's bytes in the arena */
    long line;        /* the line it was first on */
};

struct imp_ids {
    size_t budget;   /* bytes the set may take */
    int full;        /* gave up: the database must find repeats */
    uint32_t *slots; /* open addressing: 0 empty, else entry index + 1 */
    size_t nslots;   /* a power of two, at least twice the entries */
    struct imp_id *ids;
    size_t n, cap;
    char *arena;
    size_t used, room;
};

/* An empty set that may take up to `budget` bytes (0: always full). */
void imp_ids_init(struct imp_ids *s, size_t budget);
void imp_ids_free(struct imp_ids *s);

/*
 * The line `id` was first seen on, or 0 when this is its first time (it is
 * remembered with `line`). 0 too once the set is full: then nothing is
 * remembered any more.
 */
long imp_ids_first_line(struct imp_ids *s, const char *id, size_t len, long line);

/* Bytes the set holds now. */
size_t imp_ids_bytes(const struct imp_ids *s);

#endif
