/* Unit tests for whsig: the published Standard Webhooks vector and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "webhook/whsig.h"

static const char secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static const char msg_id[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
static const char ts[] = "1614265330";
static const char body[] = "{\"test\": 2432232314}";
static const char expected[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

static void test_signs_the_published_vector(void **state)
{
    struct whsig_key k;
    assert_int_equal(whsig_key_parse(&k, secret), 0);
    assert_int_equal(k.len, 24);
    char sig[WHSIG_SIG_LEN];
    whsig_sign(&k, msg_id, ts, body, strlen(body), sig);
    assert_string_equal(sig, expected);
}

static void test_verifies_the_published_vector(void **state)
{
    struct whsig_key k;
    whsig_key_parse(&k, secret);
    assert_int_equal(whsig_verify(&k, 1, msg_id, ts, expected, body, strlen(body), 1614265330, 300),
                     WHSIG_OK);
}

static void test_tampered_body_is_refused(void **state)
{
    struct whsig_key k;
    whsig_key_parse(&k, secret);
    const char tampered[] = "{\"test\": 2432232315}";
    assert_int_equal(whsig_verify(&k, 1, msg_id, ts, expected, tampered, strlen(tampered),
                                  1614265330, 300),
                     WHSIG_MISMATCH);
}

static void test_rotation_any_key_and_any_signature_entry(void **state)
{
    struct whsig_key keys[2];
    whsig_key_parse(&keys[0], "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    whsig_key_parse(&keys[1], secret);
    char header[200];
    strcpy(header, "v1,bm90IHRoZSByaWdodCBzaWduYXR1cmUgYXQgYWxsIQ== v2,xyz ");
    strcat(header, expected);
    assert_int_equal(whsig_verify(keys, 2, msg_id, ts, header, body, strlen(body), 1614265330, 300),
                     WHSIG_OK);
    assert_int_equal(whsig_verify(keys, 1, msg_id, ts, header, body, strlen(body), 1614265330, 300),
                     WHSIG_MISMATCH);
}

/* A thread's HMAC context is re-keyed only for a key it does not hold: one
 * key after another, and a struct parsed again with another secret, each
 * verify against their own bytes. */
static void test_each_key_verifies_with_its_own_bytes(void **state)
{
    (void)state;
    struct whsig_key good, other;
    whsig_key_parse(&good, secret);
    whsig_key_parse(&other, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    const struct whsig_key *order[] = {&good, &good, &other, &good, &other, &other, &good};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        assert_int_equal(whsig_verify(order[i], 1, msg_id, ts, expected, body, strlen(body),
                                      1614265330, 300),
                         order[i] == &good ? WHSIG_OK : WHSIG_MISMATCH);
    whsig_key_parse(&good, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(whsig_verify(&good, 1, msg_id, ts, expected, body, strlen(body), 1614265330,
                                  300),
                     WHSIG_MISMATCH);
}

static void test_timestamp_tolerance_both_directions(void **state)
{
    struct whsig_key k;
    whsig_key_parse(&k, secret);
    const size_t n = strlen(body);
    assert_int_equal(whsig_verify(&k, 1, msg_id, ts, expected, body, n, 1614265330 + 300, 300),
                     WHSIG_OK);
    assert_int_equal(whsig_verify(&k, 1, msg_id, ts, expected, body, n, 1614265330 + 301, 300),
                     WHSIG_STALE);
    assert_int_equal(whsig_verify(&k, 1, msg_id, ts, expected, body, n, 1614265330 - 300, 300),
                     WHSIG_OK); /* the future edge is inclusive too */
    assert_int_equal(whsig_verify(&k, 1, msg_id, ts, expected, body, n, 1614265330 - 301, 300),
                     WHSIG_FUTURE);
    assert_int_equal(whsig_verify(&k, 1, msg_id, "16142x", expected, body, n, 1614265330, 300),
                     WHSIG_BAD_TIMESTAMP);
    assert_int_equal(whsig_verify(&k, 1, msg_id, NULL, expected, body, n, 1614265330, 300),
                     WHSIG_MISSING);
}

static void test_malformed_secret_and_signature(void **state)
{
    struct whsig_key k;
    assert_int_equal(whsig_key_parse(&k, "whsec_not base64!"), -1);
    whsig_key_parse(&k, secret);
    assert_int_equal(
        whsig_verify(&k, 1, msg_id, ts, "v1,", body, strlen(body), 1614265330, 300),
        WHSIG_MISMATCH);
    assert_int_equal(whsig_verify(&k, 1, msg_id, ts, "", body, strlen(body), 1614265330, 300),
                     WHSIG_MISMATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signs_the_published_vector),
        cmocka_unit_test(test_verifies_the_published_vector),
        cmocka_unit_test(test_tampered_body_is_refused),
        cmocka_unit_test(test_rotation_any_key_and_any_signature_entry),
        cmocka_unit_test(test_each_key_verifies_with_its_own_bytes),
        cmocka_unit_test(test_timestamp_tolerance_both_directions),
        cmocka_unit_test(test_malformed_secret_and_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
