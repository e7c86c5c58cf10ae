/*
 * DESIGN: the postlark wire format (see tests/sim/README.md and
 * ../shared/providers/postlark.txt). Pure encode/decode, no state.
 */
#include "provider/provider.h"

static char *encode_create(const struct prov_post *p)
{
    return prov_encode_common(p, PROV_POSTLARK);
}

static void decode_error(const char *body, size_t len, struct prov_error *out)
{
    prov_decode_error_common(body, len, "retry_after", out);
}

const struct prov_ops prov_postlark = {
    .id = PROV_POSTLARK,
    .create_route = "POST /posts",
    .create_path = "/posts",
    .auth_prefix = "Authorization: Bearer ",
    .max_batch = 1,
    .encode_create = encode_create,
    .decode_created = prov_decode_created_single,
    .decode_error = decode_error,
};
