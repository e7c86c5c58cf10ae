/*
 * libFuzzer target for the providers' answers (src/provider/: one file per provider): every
 * provider's decode_created (a 2xx body, for a request of 1-4 accounts) and
 * decode_error (any status). The first byte picks the provider and the
 * account count; the rest is the body. Invariants: every account gets one
 * of the three outcomes, and results stay NUL-terminated within their fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provider/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_terminated(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    enum prov_id id = (enum prov_id)(data[0] % PROV_COUNT);
    size_t naccounts = 1 + (data[0] >> 4) % 4;
    const struct prov_ops *ops = prov_ops(id);
    if (!ops)
        return 0;
    static const char *const accounts[] = {"acct-1", "twitter", "blog1", "main"};
    if (naccounts > ops->max_batch)
        naccounts = ops->max_batch ? ops->max_batch : 1;
    struct prov_post post = {"hello", "[]", accounts, naccounts, "pp-1-abc", NULL};
    /* Bodies are not NUL-terminated on the wire: copy without a terminator. */
    char *body = malloc(size - 1 ? size - 1 : 1);
    memcpy(body, data + 1, size - 1);
    struct prov_result out[4];
    memset(out, 0xff, sizeof out);
    size_t unknown = ops->decode_created(body, size - 1, &post, out), counted = 0;
    for (size_t i = 0; i < naccounts; i++) {
        if (out[i].outcome != PROV_CREATED && out[i].outcome != PROV_CREATED_NO_ID &&
            out[i].outcome != PROV_FAILED)
            abort();
        counted += out[i].outcome == PROV_CREATED_NO_ID;
        check_terminated(out[i].post_id, sizeof out[i].post_id);
        check_terminated(out[i].error_code, sizeof out[i].error_code);
        check_terminated(out[i].error_message, sizeof out[i].error_message);
    }
    if (counted != unknown)
        abort();
    struct prov_error err;
    memset(&err, 0, sizeof err);
    ops->decode_error(body, size - 1, &err);
    check_terminated(err.code, sizeof err.code);
    check_terminated(err.message, sizeof err.message);
    free(body);
    return 0;
}
