/*
 * libFuzzer target for the calendar API's readers of client input
 * (src/http/api_input.c): POST and PATCH bodies (api_post_parse), ISO 8601
 * times (api_time_parse), query strings (api_query_get) and pagination
 * cursors (api_cursor_decode). The first byte picks the reader.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    int which = data[0] % 4;
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (which) {
    case 0: {
        struct api_post_in *in = calloc(1, sizeof *in); /* api_post_in_free frees it */
        api_post_parse(s, size - 1, data[0] >> 7, in);
        api_post_in_free(in);
        break;
    }
    case 1: {
        char local[96], offset[32];
        if (api_time_parse(s, local, offset) == NULL &&
            (memchr(local, '\0', sizeof local) == NULL || strlen(offset) > 6))
            abort();
        break;
    }
    case 2: {
        static const char *const names[] = {"status", "provider", "key",   "from",
                                            "to",     "limit",    "cursor"};
        char *q = memchr(s, '?', size - 1);
        size_t at = q ? (size_t)(q - s) : size - 1;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            free(api_query_get(s, size - 1, at, names[i]));
        break;
    }
    default: {
        char *us = NULL, *id = NULL;
        if (api_cursor_decode(s, &us, &id) == 0) {
            /* What decodes encodes back to a cursor that decodes the same. */
            char *again = api_cursor_encode(us, id);
            char *us2 = NULL, *id2 = NULL;
            if (api_cursor_decode(again, &us2, &id2) != 0 || strcmp(us, us2) || strcmp(id, id2))
                abort();
            free(again), free(us2), free(id2);
        }
        free(us), free(id);
        break;
    }
    }
    free(s);
    return 0;
}
