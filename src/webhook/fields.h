/*
 * fields: the webhook field paths (src/provider/paths.h) in force, per
 * provider and per key, as the database configures them
 * (providers.webhook_fields, provider_keys.webhook_fields). Loaded by the
 * intake writer that also reloads the signing secrets; read by the HTTP
 * loop threads for every delivery.
 */
#ifndef POSTPACE_WEBHOOK_FIELDS_H
#define POSTPACE_WEBHOOK_FIELDS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "provider/provider_id.h"
#include "provider/paths.h"

struct whfields;

/* Every provider on the built-in defaults until the first load. */
struct whfields *whfields_create(void);
void whfields_destroy(struct whfields *f);

/*
 * Reloads every provider's and key's paths (caller's connection and
 * thread). A configuration that cannot be read is logged and replaced by
 * the level below it (a key's by its provider's, a provider's by the
 * defaults). Returns a bit mask (1 << prov_id) of the providers whose
 * configuration changed since the last load (every provider on the first),
 * or -1 with err on a DB error (the previous paths stay in force).
 */
int whfields_load(struct whfields *f, PGconn *c, char *err, size_t errlen);

/* Reads root with the paths of key `key_id` of provider p (its override if
 * it has one, else the provider's). Safe from any thread. */
void whfields_extract(struct whfields *f, enum prov_id p, int64_t key_id, const json_t *root,
                      struct whpath_values *out);

#endif
