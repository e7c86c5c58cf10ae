/*
 * The two secret comparisons, pinned: the API's bearer token
 * (http/api_token.h) and the webhook signature (webhook/whsig.h). Each must
 * refuse a wrong value of the same length whether it differs in its first or
 * its last byte, a prefix, a longer value and an empty one; and each must
 * compare by CRYPTO_memcmp, over the whole 32 bytes, once per candidate, the
 * same number of times whatever the input. This binary is linked with
 * -Wl,--wrap=CRYPTO_memcmp (tests/CMakeLists.txt), so every call the code
 * under test makes comes through __wrap_CRYPTO_memcmp below and is counted:
 * a plain memcmp, a strcmp or a loop that stops at the first difference
 * leaves the counts at zero, or varying, and the test red.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "http/api_token.h"
#include "webhook/whsig.h"

/* ---- the counting wrapper ---- */

int __real_CRYPTO_memcmp(const void *a, const void *b, size_t len);
int __wrap_CRYPTO_memcmp(const void *a, const void *b, size_t len);

static int calls;
static size_t min_len, max_len;

int __wrap_CRYPTO_memcmp(const void *a, const void *b, size_t len)
{
    calls++;
    min_len = calls == 1 || len < min_len ? len : min_len;
    max_len = len > max_len ? len : max_len;
    return __real_CRYPTO_memcmp(a, b, len);
}

static void count_reset(void)
{
    calls = 0;
    min_len = max_len = 0;
}

/* Every call since count_reset compared exactly `len` bytes, and there were `n`. */
static void assert_calls(int n, size_t len)
{
    assert_int_equal(calls, n);
    if (n > 0) {
        assert_int_equal(min_len, len);
        assert_int_equal(max_len, len);
    }
}

/* ---- the API token ---- */

#define TOKEN "tok-0123456789abcdef-right"

static int token_match(const struct api_tokens *t, const char *tok)
{
    count_reset();
    return api_tokens_match(t, tok, strlen(tok));
}

static void test_token_is_refused_unless_exactly_a_configured_one(void **state)
{
    (void)state;
    struct api_tokens t;
    api_tokens_init(&t, "tok-other-000000000001 " TOKEN " tok-other-000000000002");
    assert_int_equal(t.n, 3);
    char first[] = TOKEN, last[] = TOKEN;
    first[0] ^= 1;
    last[strlen(last) - 1] ^= 1;
    assert_int_equal(token_match(&t, TOKEN), 1);
    assert_int_equal(token_match(&t, first), 0);
    assert_int_equal(token_match(&t, last), 0);
    assert_int_equal(token_match(&t, "tok-0123456789abcdef-righ"), 0); /* a prefix */
    assert_int_equal(token_match(&t, TOKEN "x"), 0);                   /* longer */
    assert_int_equal(token_match(&t, ""), 0);                          /* empty */
    assert_int_equal(token_match(&t, "tok-other-00000000000"), 0);     /* another's prefix */
    api_tokens_finish(&t);
}

static void test_token_compare_is_crypto_memcmp_over_every_digest(void **state)
{
    (void)state;
    struct api_tokens t;
    api_tokens_init(&t, "tok-other-000000000001 " TOKEN " tok-other-000000000002");
    char first[] = TOKEN, last[] = TOKEN;
    first[0] ^= 1;
    last[strlen(last) - 1] ^= 1;
    /* Whatever is presented, right or wrong, short or long, which token it
     * matches or where it differs: one full-digest CRYPTO_memcmp per
     * configured token, no early exit. */
    const char *const presented[] = {
        TOKEN, first, last, "tok-0123456789abcdef-righ", TOKEN "x", "", "tok-other-000000000001"};
    for (size_t i = 0; i < sizeof presented / sizeof presented[0]; i++) {
        token_match(&t, presented[i]);
        assert_calls(3, API_TOKEN_DIGEST_LEN);
    }
    api_tokens_finish(&t);
}

static void test_no_configured_token_refuses_everything(void **state)
{
    (void)state;
    struct api_tokens t;
    api_tokens_init(&t, "");
    assert_int_equal(t.n, 0);
    assert_int_equal(token_match(&t, TOKEN), 0);
    assert_int_equal(token_match(&t, ""), 0);
    api_tokens_init(&t, NULL);
    assert_int_equal(token_match(&t, ""), 0);
}

/* ---- the webhook signature ---- */

static const char secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static const char other_secret[] = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const char msg_id[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
static const char ts[] = "1614265330";
static const char body[] = "{\"test\": 2432232314}";
static const char right[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

/* `right` with byte `at` of its 32 decoded bytes flipped, re-encoded: same length. */
static void flipped(int at, char out[WHSIG_SIG_LEN])
{
    unsigned char raw[48];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)right + 3, (int)strlen(right) - 3);
    assert_true(n >= 32);
    raw[at] ^= 1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, raw, 32);
    assert_int_equal(strlen(out), strlen(right));
}

static enum whsig_result verify(const struct whsig_key *keys, size_t nkeys, const char *header)
{
    count_reset();
    return whsig_verify(keys, nkeys, msg_id, ts, header, body, strlen(body), 1614265330, 300);
}

static void test_signature_is_refused_unless_exactly_right(void **state)
{
    (void)state;
    struct whsig_key k;
    assert_int_equal(whsig_key_parse(&k, secret), 0);
    char first[WHSIG_SIG_LEN], last[WHSIG_SIG_LEN];
    flipped(0, first);
    flipped(31, last);
    assert_int_equal(verify(&k, 1, right), WHSIG_OK);
    assert_int_equal(verify(&k, 1, first), WHSIG_MISMATCH);
    assert_int_equal(verify(&k, 1, last), WHSIG_MISMATCH);
    char prefix[WHSIG_SIG_LEN], longer[WHSIG_SIG_LEN + 8];
    snprintf(prefix, sizeof prefix, "%.*s", (int)strlen(right) - 4, right); /* 29 bytes decoded */
    snprintf(longer, sizeof longer, "%.*sAAAA=", (int)strlen(right) - 1, right);
    assert_int_equal(verify(&k, 1, prefix), WHSIG_MISMATCH);
    assert_int_equal(verify(&k, 1, longer), WHSIG_MISMATCH);
    assert_int_equal(verify(&k, 1, ""), WHSIG_MISMATCH);
    assert_int_equal(verify(&k, 1, "v1,"), WHSIG_MISMATCH);
    assert_int_equal(verify(&k, 1, "v1"), WHSIG_MISMATCH);
}

static void test_signature_compare_is_crypto_memcmp_over_the_whole_mac(void **state)
{
    (void)state;
    struct whsig_key keys[2];
    assert_int_equal(whsig_key_parse(&keys[0], other_secret), 0);
    assert_int_equal(whsig_key_parse(&keys[1], secret), 0);
    char first[WHSIG_SIG_LEN], last[WHSIG_SIG_LEN];
    flipped(0, first);
    flipped(31, last);
    /* A wrong signature of the right length, wherever it differs: one
     * 32-byte CRYPTO_memcmp per key, every key tried. */
    assert_int_equal(verify(keys, 2, first), WHSIG_MISMATCH);
    assert_calls(2, 32);
    assert_int_equal(verify(keys, 2, last), WHSIG_MISMATCH);
    assert_calls(2, 32);
    /* The right one, on the second key: the first key's compare, then its own. */
    assert_int_equal(verify(keys, 2, right), WHSIG_OK);
    assert_calls(2, 32);
    /* Several entries: every entry against the key, none skipped after a miss. */
    char header[3 * WHSIG_SIG_LEN + 4];
    snprintf(header, sizeof header, "%s %s %s", right, first, last);
    assert_int_equal(verify(&keys[1], 1, header), WHSIG_OK);
    assert_calls(3, 32);
    /* Entries that cannot be a 32-byte MAC are never compared (their length is no secret). */
    char prefix[WHSIG_SIG_LEN];
    snprintf(prefix, sizeof prefix, "%.*s", (int)strlen(right) - 4, right);
    assert_int_equal(verify(keys, 2, prefix), WHSIG_MISMATCH);
    assert_calls(0, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_is_refused_unless_exactly_a_configured_one),
        cmocka_unit_test(test_token_compare_is_crypto_memcmp_over_every_digest),
        cmocka_unit_test(test_no_configured_token_refuses_everything),
        cmocka_unit_test(test_signature_is_refused_unless_exactly_right),
        cmocka_unit_test(test_signature_compare_is_crypto_memcmp_over_the_whole_mac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
