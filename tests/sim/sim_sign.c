/*
 * DESIGN: thin wrappers over OpenSSL's HMAC and EVP base64 helpers. The
 * signature is computed over the raw body bytes, never over re-serialised
 * JSON, which is the whole point of the scheme.
 */
#include "sim_sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

int whsig_decode_secret(const char *secret, unsigned char key[WHSIG_KEY_MAX])
{
    if (strncmp(secret, "whsec_", 6) == 0)
        secret += 6;
    size_t len = strlen(secret);
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > WHSIG_KEY_MAX)
        return -1;
    int n = EVP_DecodeBlock(key, (const unsigned char *)secret, (int)len);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts the '=' padding as decoded bytes. */
    if (secret[len - 1] == '=')
        n--;
    if (secret[len - 2] == '=')
        n--;
    return n;
}

void whsig_sign(const unsigned char *key, size_t keylen, const char *id, const char *timestamp,
                const char *body, size_t bodylen, char out[WHSIG_SIG_LEN])
{
    size_t idlen = strlen(id), tslen = strlen(timestamp);
    size_t total = idlen + 1 + tslen + 1 + bodylen;
    char *msg = xmalloc(total);
    memcpy(msg, id, idlen);
    msg[idlen] = '.';
    memcpy(msg + idlen + 1, timestamp, tslen);
    msg[idlen + 1 + tslen] = '.';
    memcpy(msg + idlen + 2 + tslen, body, bodylen);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, total, mac, &maclen);
    free(msg);
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
}

int whsig_verify(const char *secret, const char *id, const char *timestamp, const char *body,
                 size_t bodylen, const char *header, int64_t now_s, int64_t tolerance_s)
{
    unsigned char key[WHSIG_KEY_MAX];
    int keylen = whsig_decode_secret(secret, key);
    if (keylen < 0)
        return 0;
    if (tolerance_s > 0) {
        char *end;
        long long ts = strtoll(timestamp, &end, 10);
        if (*end != '\0' || ts < now_s - tolerance_s || ts > now_s + tolerance_s)
            return 0;
    }
    char want[WHSIG_SIG_LEN];
    whsig_sign(key, (size_t)keylen, id, timestamp, body, bodylen, want);
    size_t wantlen = strlen(want);
    int ok = 0;
    for (const char *p = header; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == wantlen && CRYPTO_memcmp(p, want, n) == 0)
            ok = 1; /* keep scanning: the time taken does not depend on which entry matched */
        p += n;
    }
    return ok;
}
