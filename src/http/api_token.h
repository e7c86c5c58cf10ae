/*
 * api_token: the bearer tokens of the /v1 API, and the one comparison that
 * decides whether a presented token is one of them. Tokens are kept only as
 * SHA-256 digests; a presented token is hashed and its digest compared with
 * every configured one by CRYPTO_memcmp, whole digest each time, with no
 * early exit: neither where a token differs, nor its length, nor which
 * configured token it is shows in the timing. Pure (no I/O, no logging);
 * callable from any thread once filled.
 */
#ifndef POSTPACE_HTTP_API_TOKEN_H
#define POSTPACE_HTTP_API_TOKEN_H

#include <stddef.h>

#define API_TOKENS_MAX 64
#define API_TOKEN_DIGEST_LEN 32 /* SHA-256 */

struct api_tokens {
    unsigned char digest[API_TOKENS_MAX][API_TOKEN_DIGEST_LEN];
    size_t n;
};

/* Fills `t` from a list of tokens separated by blanks (NULL or empty: none). */
void api_tokens_init(struct api_tokens *t, const char *list);

/* Wipes the digests. */
void api_tokens_finish(struct api_tokens *t);

/* 1 when `token` (len bytes, not NUL-terminated) is a configured token; 0 otherwise or with none.
 */
int api_tokens_match(const struct api_tokens *t, const char *token, size_t len);

/* Which configured token `token` is (1 for the first listed), 0 for none: the
 * same compares as api_tokens_match, with no early exit. Names the actor of an
 * operator action ("api:token-2") without keeping the token. */
size_t api_tokens_index(const struct api_tokens *t, const char *token, size_t len);

#endif
