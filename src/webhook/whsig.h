/*
 * whsig: Standard Webhooks signatures. A signature is HMAC-SHA256 over
 * "<webhook-id>.<webhook-timestamp>.<raw body>" with a secret written
 * "whsec_<base64 key>"; the webhook-signature header holds one or more
 * space-separated "v1,<base64>" entries (several during key rotation).
 * Pure functions: time is an argument.
 */
#ifndef POSTPACE_WEBHOOK_WHSIG_H
#define POSTPACE_WEBHOOK_WHSIG_H

#include <stddef.h>
#include <stdint.h>

#define WHSIG_MAX_KEY 128
#define WHSIG_SIG_LEN 48 /* "v1," + 44 base64 chars + NUL */

struct whsig_key {
    unsigned char bytes[WHSIG_MAX_KEY];
    size_t len;
    uint64_t id; /* unique per parse: a thread's HMAC context keyed with it is reused */
};

/* Decodes "whsec_<base64>" (or bare base64) and gives the key a new id.
 * Returns 0, or -1 if malformed. */
int whsig_key_parse(struct whsig_key *k, const char *secret);

/* Writes "v1,<base64 signature>" into out. */
void whsig_sign(const struct whsig_key *k, const char *id, const char *timestamp,
                const char *body, size_t body_len, char out[WHSIG_SIG_LEN]);

#define WHSIG_RESULTS(X)                                                                      \
    X(WHSIG_OK, "ok")                                                                         \
    X(WHSIG_MISSING, "missing webhook-id, webhook-timestamp or webhook-signature header")     \
    X(WHSIG_BAD_TIMESTAMP, "webhook-timestamp is not a unix time in seconds")                 \
    X(WHSIG_STALE, "webhook-timestamp is too old")                                            \
    X(WHSIG_FUTURE, "webhook-timestamp is too far in the future")                             \
    X(WHSIG_MISMATCH, "no signature matches")

enum whsig_result {
#define X(name, text) name,
    WHSIG_RESULTS(X)
#undef X
};

const char *whsig_strerror(enum whsig_result r);

/*
 * Verifies a delivery against any of `nkeys` keys and any v1 entry of the
 * signature header, in constant time per comparison. The timestamp must be
 * within tolerance_s of now_s in both directions. NULL headers count as missing.
 */
enum whsig_result whsig_verify(const struct whsig_key *keys, size_t nkeys, const char *id,
                               const char *timestamp, const char *signature_header,
                               const char *body, size_t body_len, int64_t now_s,
                               int64_t tolerance_s);

/* The same; on WHSIG_OK *which is the index of the first key that verified. */
enum whsig_result whsig_verify_which(const struct whsig_key *keys, size_t nkeys, const char *id,
                                     const char *timestamp, const char *signature_header,
                                     const char *body, size_t body_len, int64_t now_s,
                                     int64_t tolerance_s, size_t *which);

#endif
