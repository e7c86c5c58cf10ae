/*
 * libFuzzer target for the configurable path lookup (src/provider/paths.c):
 * both what an operator writes (providers.webhook_fields and a key's
 * override) and what a sender controls (the body). The input is three
 * '\n'-separated fields: the provider's config, the key's config (empty:
 * none), the body. Invariants: a config that is refused leaves nothing
 * behind; every value read is non-empty, NUL-free and at most
 * WHPATH_VALUE_MAX bytes; a field not read is ""; a verdict comes with the
 * type that named it; the built-in defaults read the same body too.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provider/paths.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_values(const struct whpath_values *v)
{
    for (int f = 0; f < WHPATH_FIELD_COUNT; f++) {
        size_t n = strnlen(v->value[f], WHPATH_VALUE_MAX + 1);
        if (n > WHPATH_VALUE_MAX || (v->has[f] ? n == 0 : n != 0))
            abort();
    }
    if (v->verdict != WHPATH_UNKNOWN && !v->has[WHPATH_TYPE])
        abort();
    if ((v->verdict == WHPATH_UNKNOWN) != (whpath_verdict_type(v->verdict) == NULL))
        abort();
}

static void read_with(const struct whpath_config *c, const json_t *root)
{
    struct whpath_values v;
    memset(&v, 0x55, sizeof v); /* extract must set every byte it promises */
    whpath_extract(c, root, &v);
    check_values(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *key = strchr(buf, '\n');
    char *body = key ? strchr(key + 1, '\n') : NULL;
    if (key)
        *key++ = '\0';
    if (body)
        *body++ = '\0';
    char err[256];
    struct whpath_config *c =
        whpath_config_create(buf, key && *key ? key : NULL, err, sizeof err);
    static struct whpath_config *d; /* built once: the defaults always build */
    if (!d && !(d = whpath_config_create(NULL, NULL, err, sizeof err)))
        abort();
    const char *text = body ? body : buf;
    size_t len = body ? size - (size_t)(body - buf) : size;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!root)
        root = json_loadb(text, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
    if (root) {
        if (c)
            read_with(c, root);
        read_with(d, root);
        json_decref(root);
    }
    whpath_config_destroy(c);
    free(buf);
    return 0;
}
