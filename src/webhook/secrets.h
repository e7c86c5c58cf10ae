/*
 * secrets: the webhook signing keys of every provider, resolved from the
 * references in provider_keys.webhook_secret_ref ("env:NAME" or
 * "file:/path", space-separated, each read by util/secret_ref.h; each
 * resolved value may hold several whitespace-separated secrets while a key
 * is rotated). The secrets
 * themselves never touch the database or the logs.
 */
#ifndef POSTPACE_WEBHOOK_SECRETS_H
#define POSTPACE_WEBHOOK_SECRETS_H

#include <libpq-fe.h>
#include <stdint.h>

#include "provider/provider_id.h"
#include "webhook/whsig.h"

struct whsec_store;

struct whsec_store *whsec_store_create(void);
void whsec_store_destroy(struct whsec_store *s);

/*
 * Reloads every provider's keys from the database (caller's connection and
 * thread). A reference that cannot be resolved is logged by its name and
 * skipped. Returns the number of keys loaded, or -1 with err on a DB error
 * (the previous keys stay in force).
 */
int whsec_store_load(struct whsec_store *s, PGconn *c, char *err, size_t errlen);

/* Adds one secret for a provider (tests, and the config-less demo). */
int whsec_store_add(struct whsec_store *s, enum prov_id p, const char *secret);

/*
 * Verifies a delivery against the provider's keys; safe from any thread. On
 * WHSIG_OK *key_id is the provider_keys row whose secret verified it (the
 * first by id when keys share a secret; 0 for a secret added by hand).
 */
enum whsig_result whsec_store_verify(struct whsec_store *s, enum prov_id p, const char *id,
                                     const char *timestamp, const char *signature,
                                     const char *body, size_t body_len, int64_t now_s,
                                     int64_t tolerance_s, int64_t *key_id);

#endif
