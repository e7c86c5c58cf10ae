/*
 * DESIGN: pure and thread-safe (the only state is one HMAC context per
 * thread). The raw body is verified before anything parses it. OpenSSL
 * provides HMAC, base64 and the constant-time comparison.
 */
#include "webhook/whsig.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

const char *whsig_strerror(enum whsig_result r)
{
    static const char *const text[] = {
#define X(name, t) t,
        WHSIG_RESULTS(X)
#undef X
    };
    return text[r];
}

/* Base64 decode; EVP_DecodeBlock counts '=' padding as bytes, so drop it. */
static int b64_decode(const char *in, size_t in_len, unsigned char *out, size_t out_size,
                      size_t *out_len)
{
    if (in_len == 0 || in_len % 4 != 0 || in_len / 4 * 3 > out_size)
        return -1;
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)in_len);
    if (n < 0)
        return -1;
    size_t pad = (in[in_len - 1] == '=') + (in[in_len - 2] == '=');
    *out_len = (size_t)n - pad;
    return 0;
}

int whsig_key_parse(struct whsig_key *k, const char *secret)
{
    static atomic_uint_fast64_t last_id;
    if (strncmp(secret, "whsec_", 6) == 0)
        secret += 6;
    k->id = atomic_fetch_add(&last_id, 1) + 1;
    return b64_decode(secret, strlen(secret), k->bytes, sizeof k->bytes, &k->len);
}

static EVP_MAC *hmac;
static pthread_key_t ctx_key;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void ctx_free(void *h)
{
    EVP_MAC_CTX_free(h);
}

static void hmac_setup(void)
{
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!hmac || pthread_key_create(&ctx_key, ctx_free) != 0)
        abort();
}

/*
 * This thread's HMAC-SHA256 context, made on first use. Naming the digest
 * fetches it from OpenSSL's provider store, which cost more than the MAC
 * itself when every MAC made a context of its own.
 */
static EVP_MAC_CTX *thread_ctx(void)
{
    pthread_once(&hmac_once, hmac_setup);
    EVP_MAC_CTX *h = pthread_getspecific(ctx_key);
    if (!h) {
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                               OSSL_PARAM_construct_end()};
        h = EVP_MAC_CTX_new(hmac);
        if (!h || !EVP_MAC_CTX_set_params(h, params) || pthread_setspecific(ctx_key, h) != 0)
            abort();
    }
    return h;
}

static void mac(const struct whsig_key *k, const char *id, const char *ts, const char *body,
                size_t body_len, unsigned char md[32])
{
    /* Keying hashes the padded key (two SHA-256 blocks and OpenSSL's set-up,
     * about 1 us of 3.5); a context still keyed with this key (same id) is
     * only reset, its padded state kept. */
    static _Thread_local uint64_t keyed_with;
    EVP_MAC_CTX *h = thread_ctx();
    size_t len = 0;
    int rekey = k->id == 0 || k->id != keyed_with;
    if (!EVP_MAC_init(h, rekey ? k->bytes : NULL, rekey ? k->len : 0, NULL))
        abort();
    keyed_with = k->id;
    EVP_MAC_update(h, (const unsigned char *)id, strlen(id));
    EVP_MAC_update(h, (const unsigned char *)".", 1);
    EVP_MAC_update(h, (const unsigned char *)ts, strlen(ts));
    EVP_MAC_update(h, (const unsigned char *)".", 1);
    EVP_MAC_update(h, (const unsigned char *)body, body_len);
    EVP_MAC_final(h, md, &len, 32);
}

void whsig_sign(const struct whsig_key *k, const char *id, const char *timestamp,
                const char *body, size_t body_len, char out[WHSIG_SIG_LEN])
{
    unsigned char md[32];
    mac(k, id, timestamp, body, body_len, md);
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, md, 32);
}

static int parse_timestamp(const char *ts, int64_t *out)
{
    char *end;
    if (!*ts || strlen(ts) > 12)
        return -1;
    long long v = strtoll(ts, &end, 10);
    if (*end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* True if the 32-byte MAC matches one "v1,<b64>" entry of the header. */
static int header_has(const char *header, const unsigned char md[32])
{
    int found = 0;
    for (const char *p = header; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        unsigned char sig[48];
        size_t sig_len;
        if (n > 3 && memcmp(p, "v1,", 3) == 0 &&
            b64_decode(p + 3, n - 3, sig, sizeof sig, &sig_len) == 0 && sig_len == 32)
            found |= CRYPTO_memcmp(sig, md, 32) == 0;
        p += n;
    }
    return found;
}

enum whsig_result whsig_verify(const struct whsig_key *keys, size_t nkeys, const char *id,
                               const char *timestamp, const char *signature_header,
                               const char *body, size_t body_len, int64_t now_s,
                               int64_t tolerance_s)
{
    size_t which;
    return whsig_verify_which(keys, nkeys, id, timestamp, signature_header, body, body_len, now_s,
                              tolerance_s, &which);
}

enum whsig_result whsig_verify_which(const struct whsig_key *keys, size_t nkeys, const char *id,
                                     const char *timestamp, const char *signature_header,
                                     const char *body, size_t body_len, int64_t now_s,
                                     int64_t tolerance_s, size_t *which)
{
    if (!id || !*id || !timestamp || !signature_header)
        return WHSIG_MISSING;
    int64_t ts;
    if (parse_timestamp(timestamp, &ts) != 0)
        return WHSIG_BAD_TIMESTAMP;
    if (ts < now_s - tolerance_s)
        return WHSIG_STALE;
    if (ts > now_s + tolerance_s)
        return WHSIG_FUTURE;
    for (size_t i = 0; i < nkeys; i++) {
        unsigned char md[32];
        mac(&keys[i], id, timestamp, body, body_len, md);
        if (header_has(signature_header, md)) {
            *which = i;
            return WHSIG_OK;
        }
    }
    return WHSIG_MISMATCH;
}
