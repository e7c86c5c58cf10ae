/* DESIGN: test support only. */
#include "whclient.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proc.h"
#include "webhook/whsig.h"

long wh_send(const char *url, const char *secret, const char *id, int64_t ts, const char *body,
             char *resp, size_t resp_size)
{
    return wh_send_len(url, secret, id, ts, body, strlen(body), resp, resp_size);
}

long wh_send_len(const char *url, const char *secret, const char *id, int64_t ts, const char *body,
                 size_t len, char *resp, size_t resp_size)
{
    struct whsig_key k;
    if (whsig_key_parse(&k, secret) != 0)
        return -1;
    char tsbuf[32], sig[WHSIG_SIG_LEN];
    snprintf(tsbuf, sizeof tsbuf, "%lld", (long long)(ts ? ts : (int64_t)time(NULL)));
    whsig_sign(&k, id, tsbuf, body, len, sig);
    char h_id[300], h_ts[64], h_sig[128];
    snprintf(h_id, sizeof h_id, "webhook-id: %s", id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %s", tsbuf);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
    const char *headers[] = {h_id, h_ts, h_sig, "Content-Type: application/json", NULL};
    return http_request("POST", url, headers, body, len, resp, resp_size);
}

const char *wh_event(char *buf, size_t size, const char *type, const char *reference,
                     const char *post_id, const char *account_id)
{
    char ref[256] = "", pid[256] = "", acc[256] = "";
    if (reference)
        snprintf(ref, sizeof ref, ",\"reference\":\"%s\"", reference);
    if (post_id)
        snprintf(pid, sizeof pid, ",\"post_id\":\"%s\"", post_id);
    if (account_id)
        snprintf(acc, sizeof acc, ",\"account_id\":\"%s\"", account_id);
    snprintf(buf, size, "{\"type\":\"%s\",\"data\":{\"provider\":\"x\"%s%s%s%s}}", type, ref, pid,
             acc,
             strcmp(type, "post.failed") == 0
                 ? ",\"error\":{\"code\":\"media_rejected\",\"message\":\"bad image\"}"
                 : "");
    return buf;
}

void wh_sign_header(const char *secret, const char *id, long ts, const char *body, char *out,
                    size_t size)
{
    struct whsig_key k;
    char tsbuf[32], sig[WHSIG_SIG_LEN];
    whsig_key_parse(&k, secret);
    snprintf(tsbuf, sizeof tsbuf, "%ld", ts);
    whsig_sign(&k, id, tsbuf, body, strlen(body), sig);
    snprintf(out, size, "webhook-signature: %s", sig);
}
