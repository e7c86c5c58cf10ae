/*
 * DESIGN: a read-mostly table behind a rwlock. HTTP loop threads verify under
 * the read lock (microseconds); the intake writer thread swaps in a freshly
 * loaded table under the write lock. Secret bytes are wiped when replaced.
 */
#include "webhook/secrets.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "util/log.h"
#include "util/secret_ref.h"
#include "util/xmalloc.h"

struct keyset {
    struct whsig_key *keys;
    int64_t *key_ids; /* the provider_keys row each key came from (0: added by hand) */
    size_t n, cap;
};

struct whsec_store {
    pthread_rwlock_t lock;
    struct keyset sets[PROV_COUNT];
};

struct whsec_store *whsec_store_create(void)
{
    struct whsec_store *s = xcalloc(1, sizeof *s);
    pthread_rwlock_init(&s->lock, NULL);
    return s;
}

static void keyset_clear(struct keyset *k)
{
    if (k->keys)
        OPENSSL_cleanse(k->keys, k->cap * sizeof *k->keys);
    free(k->keys);
    free(k->key_ids);
    memset(k, 0, sizeof *k);
}

void whsec_store_destroy(struct whsec_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < PROV_COUNT; i++)
        keyset_clear(&s->sets[i]);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

static int keyset_add(struct keyset *k, const char *secret, int64_t key_id)
{
    struct whsig_key key;
    if (whsig_key_parse(&key, secret) != 0)
        return -1;
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 4;
        k->keys = xrealloc(k->keys, k->cap * sizeof *k->keys);
        k->key_ids = xrealloc(k->key_ids, k->cap * sizeof *k->key_ids);
    }
    k->key_ids[k->n] = key_id;
    k->keys[k->n++] = key;
    OPENSSL_cleanse(&key, sizeof key);
    return 0;
}

/* Adds every whitespace-separated secret of the references in `refs`. */
static void add_refs(struct keyset *k, const char *provider, int64_t key_id, char *refs)
{
    char *save = NULL;
    for (char *ref = strtok_r(refs, " ", &save); ref; ref = strtok_r(NULL, " ", &save)) {
        char value[4096], *vsave = NULL;
        if (sref_resolve(ref, value, sizeof value) != 0) {
            log_warn("webhook secret unavailable", LOG_STR("provider", provider), LOG_STR("ref", ref));
            continue;
        }
        for (char *sec = strtok_r(value, " \t\r\n", &vsave); sec;
             sec = strtok_r(NULL, " \t\r\n", &vsave)) {
            log_secret_add(sec); /* masked in every log line from now on */
            log_secret_add(strncmp(sec, "whsec_", 6) == 0 ? sec + 6 : NULL);
            if (keyset_add(k, sec, key_id) != 0)
                log_warn("webhook secret malformed", LOG_STR("provider", provider),
                         LOG_STR("ref", ref));
        }
        OPENSSL_cleanse(value, sizeof value);
    }
}

int whsec_store_load(struct whsec_store *s, PGconn *c, char *err, size_t errlen)
{
    PGresult *r = db_exec(c, "webhook_secret_refs", 0, NULL, err, errlen);
    if (!r)
        return -1;
    struct keyset fresh[PROV_COUNT];
    memset(fresh, 0, sizeof fresh);
    for (int i = 0; i < PQntuples(r); i++) {
        const char *prov = PQgetvalue(r, i, 0);
        enum prov_id p;
        if (prov_parse(prov, strlen(prov), &p) != 0)
            continue;
        char *refs = xstrdup(PQgetvalue(r, i, 1));
        add_refs(&fresh[p], prov, strtoll(PQgetvalue(r, i, 2), NULL, 10), refs);
        free(refs);
    }
    PQclear(r);
    int total = 0;
    pthread_rwlock_wrlock(&s->lock);
    for (int i = 0; i < PROV_COUNT; i++) {
        keyset_clear(&s->sets[i]);
        s->sets[i] = fresh[i];
        total += (int)fresh[i].n;
    }
    pthread_rwlock_unlock(&s->lock);
    return total;
}

int whsec_store_add(struct whsec_store *s, enum prov_id p, const char *secret)
{
    pthread_rwlock_wrlock(&s->lock);
    int rc = keyset_add(&s->sets[p], secret, 0);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

enum whsig_result whsec_store_verify(struct whsec_store *s, enum prov_id p, const char *id,
                                     const char *timestamp, const char *signature,
                                     const char *body, size_t body_len, int64_t now_s,
                                     int64_t tolerance_s, int64_t *key_id)
{
    size_t which = 0;
    pthread_rwlock_rdlock(&s->lock);
    enum whsig_result r = whsig_verify_which(s->sets[p].keys, s->sets[p].n, id, timestamp,
                                             signature, body, body_len, now_s, tolerance_s, &which);
    *key_id = r == WHSIG_OK ? s->sets[p].key_ids[which] : 0;
    pthread_rwlock_unlock(&s->lock);
    return r;
}
