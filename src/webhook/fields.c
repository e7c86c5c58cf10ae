/*
 * DESIGN: the secrets' scheme (src/webhook/secrets.c): a read-mostly table
 * behind a rwlock. Loop threads extract under the read lock (microseconds:
 * a config is parsed once per load, not per event); the loading writer
 * builds a fresh table outside the lock and swaps it in under the write
 * lock. Each provider's texts are kept to tell a change from a reload.
 */
#include "webhook/fields.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct keycfg {
    int64_t key_id;
    struct whpath_config *cfg;
};

struct provcfg {
    struct whpath_config *cfg;
    struct keycfg *keys;
    size_t nkeys;
    char *texts; /* what it was built from, to detect a change (NULL: never loaded) */
};

struct whfields {
    pthread_rwlock_t lock;
    struct provcfg prov[PROV_COUNT];
};

static void provcfg_clear(struct provcfg *p)
{
    whpath_config_destroy(p->cfg);
    for (size_t i = 0; i < p->nkeys; i++)
        whpath_config_destroy(p->keys[i].cfg);
    free(p->keys);
    free(p->texts);
    memset(p, 0, sizeof *p);
}

struct whfields *whfields_create(void)
{
    struct whfields *f = xcalloc(1, sizeof *f);
    pthread_rwlock_init(&f->lock, NULL);
    char err[256];
    for (int p = 0; p < PROV_COUNT; p++)
        f->prov[p].cfg = whpath_config_create(NULL, NULL, err, sizeof err);
    return f;
}

void whfields_destroy(struct whfields *f)
{
    if (!f)
        return;
    for (int p = 0; p < PROV_COUNT; p++)
        provcfg_clear(&f->prov[p]);
    pthread_rwlock_destroy(&f->lock);
    free(f);
}

/* Appends s to *texts, separated by a byte no JSON text holds. */
static void remember(char **texts, const char *s)
{
    size_t a = *texts ? strlen(*texts) : 0, b = strlen(s);
    *texts = xrealloc(*texts, a + b + 2);
    memcpy(*texts + a, s, b);
    (*texts)[a + b] = '\x01';
    (*texts)[a + b + 1] = '\0';
}

/* Builds one config, falling back to `provider` alone when `key` is bad. */
static struct whpath_config *build(const char *name, int64_t key_id, const char *provider,
                                   const char *key)
{
    char err[256];
    struct whpath_config *c = whpath_config_create(provider, key, err, sizeof err);
    if (!c) {
        log_warn("webhook_fields cannot be read; using the level below", LOG_STR("provider", name),
                 LOG_INT("key_id", key_id), LOG_STR("reason", err));
        c = key ? whpath_config_create(provider, NULL, err, sizeof err) : NULL;
        if (!c)
            c = whpath_config_create(NULL, NULL, err, sizeof err);
    }
    return c;
}

static void add_row(struct provcfg *p, const char *name, PGresult *r, int i, const char **ptext)
{
    const char *text = PQgetvalue(r, i, 2);
    remember(&p->texts, PQgetisnull(r, i, 1) ? "p" : PQgetvalue(r, i, 1));
    remember(&p->texts, text);
    if (PQgetisnull(r, i, 1)) {
        *ptext = text;
        whpath_config_destroy(p->cfg);
        p->cfg = build(name, 0, text, NULL);
        return;
    }
    int64_t key_id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    p->keys = xrealloc(p->keys, (p->nkeys + 1) * sizeof *p->keys);
    p->keys[p->nkeys].key_id = key_id;
    p->keys[p->nkeys++].cfg = build(name, key_id, *ptext, text);
}

int whfields_load(struct whfields *f, PGconn *c, char *err, size_t errlen)
{
    PGresult *r = db_exec(c, "webhook_fields", 0, NULL, err, errlen);
    if (!r)
        return -1;
    struct provcfg fresh[PROV_COUNT];
    const char *ptext[PROV_COUNT];
    memset(fresh, 0, sizeof fresh);
    memset(ptext, 0, sizeof ptext);
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0);
        enum prov_id p;
        if (prov_parse(name, strlen(name), &p) == 0)
            add_row(&fresh[p], name, r, i, &ptext[p]);
    }
    int changed = 0;
    for (int p = 0; p < PROV_COUNT; p++) {
        if (!fresh[p].cfg)
            fresh[p].cfg = build(prov_name((enum prov_id)p), 0, NULL, NULL);
        if (!fresh[p].texts)
            remember(&fresh[p].texts, "");
    }
    pthread_rwlock_wrlock(&f->lock);
    for (int p = 0; p < PROV_COUNT; p++) {
        if (!f->prov[p].texts || strcmp(f->prov[p].texts, fresh[p].texts) != 0)
            changed |= 1 << p;
        provcfg_clear(&f->prov[p]);
        f->prov[p] = fresh[p];
    }
    pthread_rwlock_unlock(&f->lock);
    PQclear(r);
    return changed;
}

void whfields_extract(struct whfields *f, enum prov_id p, int64_t key_id, const json_t *root,
                      struct whpath_values *out)
{
    pthread_rwlock_rdlock(&f->lock);
    const struct provcfg *pc = &f->prov[p];
    const struct whpath_config *cfg = pc->cfg;
    for (size_t i = 0; key_id && i < pc->nkeys; i++)
        if (pc->keys[i].key_id == key_id)
            cfg = pc->keys[i].cfg;
    whpath_extract(cfg, root, out);
    pthread_rwlock_unlock(&f->lock);
}
