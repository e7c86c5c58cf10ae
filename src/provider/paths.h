/*
 * paths (a provider's dialect, read by the webhook intake and by the lookup
 * of unconfirmed targets): where in a webhook's JSON body the event type,
 * the provider's post id, our reference (idempotency key) and the account
 * are. The providers' docs are silent on payloads, so each of the four is a
 * list of JSON paths tried in order, configured per provider in the database
 * (providers.webhook_fields, overridden per key by
 * provider_keys.webhook_fields), with built-in defaults covering the names
 * posting APIs and Standard Webhooks senders commonly use. Type names map
 * to a verdict the same way: two lists, "published" and "failed".
 *
 * A path is dot-separated object keys ("data.post.id"); a segment of digits
 * also indexes an array ("data.posts.0.id"). A value is read if it is a
 * string of 1 to WHPATH_VALUE_MAX bytes or an integral number (written in
 * decimal); anything else counts as absent and the next path is tried.
 *
 * Pure: a config is parsed once (per reload) and then only read, from any
 * number of threads.
 */
#ifndef POSTPACE_PROVIDER_PATHS_H
#define POSTPACE_PROVIDER_PATHS_H

#include <jansson.h>
#include <stddef.h>

#define WHPATH_VALUE_MAX 500

/* What is looked up; the config member of each is the second field. */
#define WHPATH_FIELDS(X)                     \
    X(WHPATH_TYPE, "type")                   \
    X(WHPATH_POST_ID, "post_id")             \
    X(WHPATH_REFERENCE, "reference")         \
    X(WHPATH_ACCOUNT, "account")

enum whpath_field {
#define X(id, name) id,
    WHPATH_FIELDS(X)
#undef X
    WHPATH_FIELD_COUNT
};

/* What an event's type says about its post. */
enum whpath_verdict {
    WHPATH_UNKNOWN,   /* no type found, or a name in neither list: never settles a target */
    WHPATH_PUBLISHED, /* a name in "published" */
    WHPATH_FAILED,    /* a name in "failed" */
};

struct whpath_config;

/* The values read from one body; a field not found is "" with has[f] = 0. */
struct whpath_values {
    enum whpath_verdict verdict;
    int has[WHPATH_FIELD_COUNT];
    /* value[WHPATH_TYPE] is the raw type: the first that names a verdict,
     * else the first found. */
    char value[WHPATH_FIELD_COUNT][WHPATH_VALUE_MAX + 1];
};

/*
 * Builds a config: the built-in defaults, each member of `provider` (JSON
 * object text, or NULL) replacing the default list it names, then each
 * member of `key` (NULL: none) replacing that. Members are "type",
 * "post_id", "reference", "account", "published" and "failed", each an
 * array of strings. Returns NULL with err when either text is not such an
 * object. The caller destroys it.
 */
struct whpath_config *whpath_config_create(const char *provider, const char *key, char *err,
                                           size_t errlen);
void whpath_config_destroy(struct whpath_config *c);

/* The built-in defaults as a JSON object text (static; src/README.md "webhook/" lists them). */
const char *whpath_default_json(void);

/* Reads `root` (any JSON value) with config c into out. */
void whpath_extract(const struct whpath_config *c, const json_t *root, struct whpath_values *out);

/* The canonical type name of a verdict ("post.published", "post.failed"), or NULL. */
const char *whpath_verdict_type(enum whpath_verdict v);

#endif
