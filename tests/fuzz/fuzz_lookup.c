/*
 * libFuzzer target for the lookup of unconfirmed targets
 * (src/provider/lookup.c): what an operator writes (providers.lookup) and
 * what a provider's list of posts holds. The input is two '\n'-separated
 * fields: the config, the body. Invariants: a refused config leaves nothing
 * behind; every target gets a verdict with a reason; a post id is at most
 * WHPATH_VALUE_MAX bytes and only comes with LOOK_FOUND; with the built-in
 * config the same body reads too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provider/lookup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_with(const struct lookup_config *c, const char *body, size_t len)
{
    const struct lookup_want want[3] = {
        {"ref-1", "key-1", "acct-a", "hello", 1764000000000ULL},
        {NULL, "pp-1-abc", NULL, "", 0},
        {"x", "y", "z", NULL, 1},
    };
    struct lookup_result out[3];
    memset(out, 0x55, sizeof out);
    lookup_read(c, body, len, 1000, want, 3, out);
    for (int i = 0; i < 3; i++) {
        if (out[i].verdict != LOOK_FOUND && out[i].verdict != LOOK_ABSENT &&
            out[i].verdict != LOOK_UNDECIDABLE)
            abort();
        if (!out[i].why || strnlen(out[i].post_id, sizeof out[i].post_id) >= sizeof out[i].post_id)
            abort();
        if (out[i].verdict != LOOK_FOUND && out[i].post_id[0])
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *body = memchr(buf, '\n', size);
    size_t body_len = 0;
    if (body) {
        *body++ = '\0';
        body_len = size - (size_t)(body - buf);
    } else {
        body = buf + size;
    }
    char err[256];
    struct lookup_config *c = lookup_config_create(buf, err, sizeof err);
    if (c) {
        read_with(c, body, body_len);
        lookup_config_destroy(c);
    }
    struct lookup_config *d = lookup_config_create(NULL, err, sizeof err);
    read_with(d, body, body_len);
    lookup_config_destroy(d);
    free(buf);
    return 0;
}
