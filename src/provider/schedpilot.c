/*
 * DESIGN: the schedpilot wire format (see tests/sim/README.md and
 * ../shared/providers/schedpilot.txt). Pure encode/decode, no state.
 */
#include "provider/provider.h"

static char *encode_create(const struct prov_post *p)
{
    return prov_encode_common(p, PROV_SCHEDPILOT);
}

static void decode_error(const char *body, size_t len, struct prov_error *out)
{
    prov_decode_error_common(body, len, NULL, out);
}

const struct prov_ops prov_schedpilot = {
    .id = PROV_SCHEDPILOT,
    .create_route = "POST /post",
    .create_path = "/post",
    .auth_prefix = "X-API-KEY: ",
    .max_batch = 100,
    .encode_create = encode_create,
    .decode_created = prov_decode_created_batch,
    .decode_error = decode_error,
};
