/* whclient: sends Standard-Webhooks-signed deliveries in tests. */
#ifndef POSTPACE_TESTS_WHCLIENT_H
#define POSTPACE_TESTS_WHCLIENT_H

#include <stddef.h>
#include <stdint.h>

/*
 * POSTs `body` to url, signed with `secret` for message `id` at unix time
 * `ts` (0: now). Returns the HTTP status; the response body goes to resp.
 */
long wh_send(const char *url, const char *secret, const char *id, int64_t ts, const char *body,
             char *resp, size_t resp_size);

/* wh_send for a body of `len` bytes, which may hold NUL bytes. */
long wh_send_len(const char *url, const char *secret, const char *id, int64_t ts, const char *body,
                 size_t len, char *resp, size_t resp_size);

/* Writes "webhook-signature: v1,..." for `body` into out. */
void wh_sign_header(const char *secret, const char *id, long ts, const char *body, char *out,
                    size_t size);

/* Formats a post.published / post.failed event body into buf. */
const char *wh_event(char *buf, size_t size, const char *type, const char *reference,
                     const char *post_id, const char *account_id);

#endif
