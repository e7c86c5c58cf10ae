/*
 * sim_sign: Standard Webhooks signatures (https://www.standardwebhooks.com).
 * The signed content is `id "." timestamp "." body`, HMAC-SHA256 with the
 * key decoded from the base64 after "whsec_"; the header value is
 * "v1,<base64 signature>", several space-separated during key rotation.
 * Pure functions, safe from any thread.
 */
#ifndef POSTPACE_SIM_SIGN_H
#define POSTPACE_SIM_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define WHSIG_KEY_MAX 128
/* "v1," + base64 of 32 bytes + NUL */
#define WHSIG_SIG_LEN 48

/* Decodes "whsec_<base64>" (the prefix is optional) into key; returns its length or -1. */
int whsig_decode_secret(const char *secret, unsigned char key[WHSIG_KEY_MAX]);

/* Writes "v1,<base64>" for (id, timestamp, body) into out. */
void whsig_sign(const unsigned char *key, size_t keylen, const char *id, const char *timestamp,
                const char *body, size_t bodylen, char out[WHSIG_SIG_LEN]);

/*
 * Verifies a webhook-signature header (any of its space-separated v1
 * entries) in constant time, and that `timestamp` is within `tolerance_s`
 * of `now_s` (tolerance 0 skips that check). Returns 1 when valid.
 */
int whsig_verify(const char *secret, const char *id, const char *timestamp, const char *body,
                 size_t bodylen, const char *header, int64_t now_s, int64_t tolerance_s);

#endif
