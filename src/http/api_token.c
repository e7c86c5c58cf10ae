/*
 * DESIGN: the API's token check (api_token.h). Why digests: comparing
 * fixed-length digests means the compare's length never depends on the
 * presented token, and the configured tokens never sit in memory in clear.
 * Why every token is compared: a loop that stopped at the first match would
 * tell, by its timing, which of the tokens was presented.
 */
#include "http/api_token.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

_Static_assert(API_TOKEN_DIGEST_LEN == SHA256_DIGEST_LENGTH, "a token digest is a SHA-256");

void api_tokens_init(struct api_tokens *t, const char *list)
{
    memset(t, 0, sizeof *t);
    char *copy = xstrdup(list ? list : ""), *save = NULL;
    for (char *tok = strtok_r(copy, " \t", &save); tok && t->n < API_TOKENS_MAX;
         tok = strtok_r(NULL, " \t", &save))
        SHA256((const unsigned char *)tok, strlen(tok), t->digest[t->n++]);
    OPENSSL_cleanse(copy, strlen(list ? list : ""));
    free(copy);
}

void api_tokens_finish(struct api_tokens *t)
{
    OPENSSL_cleanse(t, sizeof *t);
}

size_t api_tokens_index(const struct api_tokens *t, const char *token, size_t len)
{
    unsigned char digest[API_TOKEN_DIGEST_LEN];
    SHA256((const unsigned char *)token, len, digest);
    size_t which = 0;
    for (size_t k = 0; k < t->n; k++) {
        size_t hit = CRYPTO_memcmp(digest, t->digest[k], sizeof digest) == 0;
        which |= hit * (k + 1); /* tokens are distinct, so at most one hits */
    }
    OPENSSL_cleanse(digest, sizeof digest);
    return which;
}

int api_tokens_match(const struct api_tokens *t, const char *token, size_t len)
{
    unsigned char digest[API_TOKEN_DIGEST_LEN];
    SHA256((const unsigned char *)token, len, digest);
    int ok = 0;
    for (size_t k = 0; k < t->n; k++)
        ok |= CRYPTO_memcmp(digest, t->digest[k], sizeof digest) == 0;
    OPENSSL_cleanse(digest, sizeof digest);
    return ok;
}
