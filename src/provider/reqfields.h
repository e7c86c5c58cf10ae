/*
 * reqfields: the names postpace gives the members of a create body where the
 * providers' docs are silent (or only hint): the media array and the members
 * of each media item, the account list (one string for one-post-per-request
 * providers) and our reference. Configured per provider in the database
 * (providers.request_fields, overridden per key by
 * provider_keys.request_fields), each member replacing the built-in default
 * it names; the defaults are what postpace always sent (README "Request
 * fields"). The content member ("content") is documented and fixed.
 *
 * Config object members, each a string or null (null or "": leave the
 * member out of the body):
 *   "media_list" (the array, "media"), "accounts", "reference", and
 *   "media": {"url", "mime_type", "size_bytes"} (an item's members as
 *   posts.media stores them -> the names sent; members not named pass).
 *
 * Pure: parsed once per registry load into a plain struct, then only read.
 */
#ifndef POSTPACE_PROVIDER_REQFIELDS_H
#define POSTPACE_PROVIDER_REQFIELDS_H

#include <stddef.h>

#include "provider/provider_id.h"

#define PRF_NAME_MAX 64 /* bytes of a member name, with its NUL */

/* The media item members posts.media stores (src/http/api_input.c). */
#define PRF_MEDIA_MEMBERS(X)          \
    X(PRF_MEDIA_URL, "url")           \
    X(PRF_MEDIA_MIME_TYPE, "mime_type") \
    X(PRF_MEDIA_SIZE_BYTES, "size_bytes")

enum prf_media_member {
#define X(id, name) id,
    PRF_MEDIA_MEMBERS(X)
#undef X
    PRF_MEDIA_COUNT
};

/* Member names of a create body; "" leaves that member out. */
struct prov_fields {
    char media_list[PRF_NAME_MAX];
    char media[PRF_MEDIA_COUNT][PRF_NAME_MAX]; /* by enum prf_media_member */
    char accounts[PRF_NAME_MAX]; /* an array for batch providers, else one string */
    char reference[PRF_NAME_MAX];
};

/* The built-in defaults of provider p (static; never NULL for a known p). */
const struct prov_fields *prov_fields_default(enum prov_id p);

/* The stored name of media member m ("url"). */
const char *prov_fields_media_name(enum prf_media_member m);

/*
 * Applies a config object text (NULL: nothing) on top of *f. On error *f is
 * left as it was and -1 returned with a reason in err: the text is not a JSON
 * object, a member is unknown, or a value is not a string of fewer than
 * PRF_NAME_MAX bytes or null.
 */
int prov_fields_apply(struct prov_fields *f, const char *json, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
