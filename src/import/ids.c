/*
 * DESIGN: an open-addressing table of 32-bit entry numbers (load at most
 * one half, linear probing) over an array of entries (16 bytes: where the
 * id's bytes are in one arena, its first line) and the arena itself: about
 * 24 bytes an id plus its length, a quarter of what a general-purpose map
 * (jansson's object, a GLib hash table) spends on a key. Ids are compared
 * by length, then bytes; the hash is FNV-1a, recomputed from the arena when
 * the table grows, so entries need not keep it.
 */
#include "import/ids.h"

#include <stdlib.h>
#include <string.h>

void imp_ids_init(struct imp_ids *s, size_t budget)
{
    memset(s, 0, sizeof *s);
    s->budget = budget < UINT32_MAX ? budget : UINT32_MAX;
    s->full = budget == 0;
}

void imp_ids_free(struct imp_ids *s)
{
    free(s->slots);
    free(s->ids);
    free(s->arena);
    s->slots = NULL;
    s->ids = NULL;
    s->arena = NULL;
    s->nslots = s->n = s->cap = s->used = s->room = 0;
}

size_t imp_ids_bytes(const struct imp_ids *s)
{
    return s->nslots * sizeof *s->slots + s->cap * sizeof *s->ids + s->room;
}

static uint64_t hash(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* Gives up: frees everything; the database finds repeats from now on. */
static long give_up(struct imp_ids *s)
{
    imp_ids_free(s);
    s->full = 1;
    return 0;
}

/* The slot holding `id`, or the empty one where it would go. */
static size_t find(const struct imp_ids *s, const char *id, size_t len, uint64_t h)
{
    size_t mask = s->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t e = s->slots[i];
        if (!e)
            return i;
        const struct imp_id *x = &s->ids[e - 1];
        if (x->len == len && memcmp(s->arena + x->at, id, len) == 0)
            return i;
    }
}

/* Room for one more id of `len` bytes within the budget; 0, or -1 when there is none. */
static int make_room(struct imp_ids *s, size_t len)
{
    size_t slots = s->nslots ? s->nslots : 1024, cap = s->cap ? s->cap : 512,
           room = s->room ? s->room : 8192;
    while (2 * (s->n + 1) > slots)
        slots *= 2;
    while (s->n + 1 > cap)
        cap *= 2;
    while (s->used + len > room)
        room *= 2;
    if (slots * sizeof *s->slots + cap * sizeof *s->ids + room > s->budget)
        return -1;
    if (cap != s->cap) {
        struct imp_id *ids = realloc(s->ids, cap * sizeof *ids);
        if (!ids)
            return -1;
        s->ids = ids;
        s->cap = cap;
    }
    if (room != s->room) {
        char *arena = realloc(s->arena, room);
        if (!arena)
            return -1;
        s->arena = arena;
        s->room = room;
    }
    if (slots != s->nslots) {
        uint32_t *fresh = calloc(slots, sizeof *fresh);
        if (!fresh)
            return -1;
        free(s->slots);
        s->slots = fresh;
        s->nslots = slots;
        for (size_t e = 0; e < s->n; e++) {
            const struct imp_id *x = &s->ids[e];
            const char *p = s->arena + x->at;
            s->slots[find(s, p, x->len, hash(p, x->len))] = (uint32_t)e + 1;
        }
    }
    return 0;
}

long imp_ids_first_line(struct imp_ids *s, const char *id, size_t len, long line)
{
    if (s->full)
        return 0;
    uint64_t h = hash(id, len);
    if (s->nslots) {
        size_t i = find(s, id, len, h);
        if (s->slots[i])
            return s->ids[s->slots[i] - 1].line;
    }
    if (make_room(s, len) != 0)
        return give_up(s);
    memcpy(s->arena + s->used, id, len);
    s->ids[s->n] = (struct imp_id){(uint32_t)s->used, (uint32_t)len, line};
    s->used += len;
    s->slots[find(s, id, len, h)] = (uint32_t)++s->n;
    return 0;
}
