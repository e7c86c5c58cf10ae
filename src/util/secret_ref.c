/*
 * DESIGN: one reading of a secret reference, shared by the scheduler (API
 * keys) and the webhook intake (signing secrets), so both accept the same
 * schemes. Nothing is cached: each call reads the environment or the file
 * again, which is what lets a file: secret rotate without a restart.
 */
#include "util/secret_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sref_resolve(const char *ref, char *buf, size_t size)
{
    if (strncmp(ref, "env:", 4) == 0) {
        const char *v = getenv(ref + 4);
        if (!v || (size_t)snprintf(buf, size, "%s", v) >= size)
            return -1;
        return 0;
    }
    if (strncmp(ref, "file:", 5) == 0) {
        FILE *f = fopen(ref + 5, "r");
        if (!f)
            return -1;
        size_t n = fread(buf, 1, size - 1, f);
        fclose(f);
        buf[n] = '\0';
        return 0;
    }
    return -1;
}
