/*
 * DESIGN: the posteverywhere wire format (see tests/sim/README.md and
 * ../shared/providers/posteverywhere.txt). Pure encode/decode, no state.
 */
#include "provider/provider.h"

static char *encode_create(const struct prov_post *p)
{
    return prov_encode_common(p, PROV_POSTEVERYWHERE);
}

static void decode_error(const char *body, size_t len, struct prov_error *out)
{
    prov_decode_error_common(body, len, NULL, out);
}

const struct prov_ops prov_posteverywhere = {
    .id = PROV_POSTEVERYWHERE,
    .create_route = "POST /posts",
    .create_path = "/posts",
    .auth_prefix = "Authorization: Bearer ",
    .max_batch = 100,
    .encode_create = encode_create,
    .decode_created = prov_decode_created_batch,
    .decode_error = decode_error,
};
