/*
 * libFuzzer target for what a webhook sender controls: the webhook-id,
 * webhook-timestamp and webhook-signature headers and the raw body
 * (src/webhook/whsig.c), and the body's event shape as the intake reads it
 * (type, data.reference|post_id|account_id, read with jansson the same way).
 * Also the signing secrets' parser. Invariants: a body signed with the key
 * verifies; one flipped byte of it does not.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/whsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits the input at '\n' into up to n NUL-terminated fields (the last takes the rest). */
static size_t split(char *buf, size_t len, char **fields, size_t n)
{
    size_t k = 0;
    fields[k++] = buf;
    for (size_t i = 0; i < len && k < n; i++)
        if (buf[i] == '\n') {
            buf[i] = '\0';
            fields[k++] = buf + i + 1;
        }
    return k;
}

/* The intake's reading of a verified body (src/http/intake.c parse_event). */
static void read_event(const char *body, size_t len)
{
    json_error_t err;
    json_t *root = json_loadb(body, len, 0, &err);
    if (json_is_object(root)) {
        const char *type = json_string_value(json_object_get(root, "type"));
        json_t *d = json_object_get(root, "data");
        if (type && json_is_object(d)) {
            static const char *const keys[] = {"reference", "post_id", "account_id"};
            for (size_t i = 0; i < 3; i++) {
                json_t *v = json_object_get(d, keys[i]);
                if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v))
                    (void)0; /* embedded NUL: the intake copies up to it */
            }
        }
    }
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *f[5] = {0};
    size_t n = split(buf, size, f, 5);
    /* f[0] secret, f[1] id, f[2] timestamp, f[3] signature header, f[4] body */
    struct whsig_key keys[2];
    size_t nkeys = 0;
    if (whsig_key_parse(&keys[0], f[0]) == 0)
        nkeys++;
    whsig_key_parse(&keys[1], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    const char *body = n == 5 ? f[4] : "";
    size_t body_len = n == 5 ? size - (size_t)(f[4] - buf) : 0;
    enum whsig_result r = whsig_verify(&keys[1], 1, n > 1 ? f[1] : NULL, n > 2 ? f[2] : NULL,
                                       n > 3 ? f[3] : NULL, body, body_len, 1614265330, 300);
    (void)whsig_strerror(r);
    if (nkeys == 1 && n > 2) {
        /* Signed with the fuzzed key, it verifies (when the timestamp is in range)... */
        char sig[WHSIG_SIG_LEN];
        whsig_sign(&keys[0], f[1], f[2], body, body_len, sig);
        char *end;
        long long ts = strtoll(f[2], &end, 10);
        enum whsig_result ok = whsig_verify(keys, 1, f[1], f[2], sig, body, body_len, ts, 300);
        if (*f[1] && *f[2] && *end == '\0' && f[2][0] >= '0' && f[2][0] <= '9' &&
            strlen(f[2]) < 12 && ok != WHSIG_OK)
            abort();
        /* ...and a flipped signature byte does not. */
        sig[10] ^= 1;
        if (ok == WHSIG_OK &&
            whsig_verify(keys, 1, f[1], f[2], sig, body, body_len, ts, 300) == WHSIG_OK)
            abort();
    }
    read_event(body, body_len);
    free(buf);
    return 0;
}
