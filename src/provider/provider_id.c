/* DESIGN: constant tables only; safe from any thread. */
#include "provider/provider_id.h"

#include <string.h>

static const char *const names[] = {
#define X(id, name) name,
    PROVIDERS(X)
#undef X
};

const char *prov_name(enum prov_id p)
{
    return p < PROV_COUNT ? names[p] : "unknown";
}

int prov_parse(const char *s, size_t len, enum prov_id *out)
{
    for (int i = 0; i < PROV_COUNT; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
            *out = (enum prov_id)i;
            return 0;
        }
    }
    return -1;
}
