/*
 * provider_id: the five providers as a small enum, so per-provider state and
 * metrics are arrays. The text ids match providers.id in the database.
 */
#ifndef POSTPACE_PROVIDER_ID_H
#define POSTPACE_PROVIDER_ID_H

#include <stddef.h>

#define PROVIDERS(X)                    \
    X(PROV_POSTEVERYWHERE, "posteverywhere") \
    X(PROV_SCHEDPILOT, "schedpilot")         \
    X(PROV_FEEDHORIZON, "feedhorizon")       \
    X(PROV_POSTLARK, "postlark")             \
    X(PROV_JESTHA, "jestha")

enum prov_id {
#define X(id, name) id,
    PROVIDERS(X)
#undef X
    PROV_COUNT
};

/* "postlark" for PROV_POSTLARK. */
const char *prov_name(enum prov_id p);

/* Parses a provider id of `len` bytes; returns 0, or -1 when unknown. */
int prov_parse(const char *s, size_t len, enum prov_id *out);

#endif
