/*
 * DESIGN: runs on the calling thread with its own connection. Every
 * migration is one transaction that first takes a transaction-scoped
 * advisory lock and then re-reads the ledger, so two migrators never apply
 * the same file and never see a half-applied one. Migration files must not
 * contain BEGIN/COMMIT themselves.
 */
#include "db/migrate.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "db/embedded.h"
#include "util/log.h"

static void sha256_hex(const char *text, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

int mig_file_init(struct mig_file *m, const char *file_name, const char *text)
{
    for (int i = 0; i < 4; i++)
        if (file_name[i] < '0' || file_name[i] > '9')
            return -1;
    if (file_name[4] != '_' || file_name[5] == '\0')
        return -1;
    memcpy(m->version, file_name, 4);
    m->version[4] = '\0';
    m->name = file_name + 5;
    m->text = text;
    sha256_hex(text, m->checksum);
    return 0;
}

const struct mig_file *mig_builtin(size_t *count)
{
    static struct mig_file files[64];
    static size_t n = (size_t)-1;
    if (n == (size_t)-1) {
        size_t k = 0;
        for (unsigned i = 0; i < emb_migration_count && k < 64; i++)
            if (mig_file_init(&files[k], emb_migrations[i].name, emb_migrations[i].text) == 0)
                k++;
        n = k;
    }
    *count = n;
    return files;
}

/* Looks up `version` in the ledger; returns 1 found (checksum in sum), 0 not, -1 error. */
static int ledger_find(PGresult *applied, const char *version, const char **sum)
{
    for (int i = 0; i < PQntuples(applied); i++) {
        if (strcmp(PQgetvalue(applied, i, 0), version) == 0) {
            *sum = PQgetvalue(applied, i, 2);
            return 1;
        }
    }
    return 0;
}

static int changed_error(const struct mig_file *m, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "migration %s_%s was changed after it was applied (checksum differs); "
             "restore the file and add a new migration instead",
             m->version, m->name);
    return -1;
}

/* One migration in one transaction. Returns 1 applied, 0 already there, -1 error. */
static int apply_one(PGconn *c, const struct mig_file *m, char *err, size_t errlen)
{
    PGresult *r = NULL;
    int rc = -1;
    if (db_simple(c, "BEGIN", err, errlen) != 0)
        return -1;
    if (!(r = db_exec(c, "mig_lock", 0, NULL, err, errlen)))
        goto fail;
    PQclear(r);
    if (!(r = db_exec(c, "mig_bootstrap", 0, NULL, err, errlen)))
        goto fail;
    PQclear(r);
    if (!(r = db_exec(c, "mig_applied", 0, NULL, err, errlen)))
        goto fail;
    const char *sum;
    int found = ledger_find(r, m->version, &sum);
    if (found && strcmp(sum, m->checksum) != 0) {
        changed_error(m, err, errlen);
        goto fail;
    }
    PQclear(r);
    r = NULL;
    if (found) {
        rc = 0;
    } else {
        PGresult *x = PQexec(c, m->text);
        if (PQresultStatus(x) != PGRES_COMMAND_OK && PQresultStatus(x) != PGRES_TUPLES_OK) {
            char why[512];
            db_error(c, x, why, sizeof why);
            snprintf(err, errlen, "migration %s_%s failed: %s", m->version, m->name, why);
            PQclear(x);
            goto fail;
        }
        PQclear(x);
        const char *params[] = {m->version, m->name, m->checksum};
        if (!(r = db_exec(c, "mig_record", 3, params, err, errlen)))
            goto fail;
        PQclear(r);
        r = NULL;
        rc = 1;
    }
    if (db_simple(c, "COMMIT", err, errlen) != 0)
        return -1;
    return rc;
fail:
    PQclear(r);
    db_rollback(c);
    return -1;
}

int mig_apply(PGconn *c, const struct mig_file *files, size_t n,
              void (*applied_cb)(const struct mig_file *), char *err, size_t errlen)
{
    int applied = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = apply_one(c, &files[i], err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            applied++;
            if (applied_cb)
                applied_cb(&files[i]);
        }
    }
    return applied;
}

int mig_check(PGconn *c, const struct mig_file *files, size_t n, char *err, size_t errlen)
{
    PGresult *r = db_exec(c, "mig_table_exists", 0, NULL, err, errlen);
    if (!r)
        return -1;
    int exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!exists) {
        snprintf(err, errlen, "database has no postpace schema; run `postpace migrate`");
        return -1;
    }
    if (!(r = db_exec(c, "mig_applied", 0, NULL, err, errlen)))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *sum;
        if (!ledger_find(r, files[i].version, &sum)) {
            snprintf(err, errlen,
                     "database schema is behind: migration %s_%s is not applied; "
                     "run `postpace migrate`",
                     files[i].version, files[i].name);
            rc = -1;
        } else if (strcmp(sum, files[i].checksum) != 0) {
            rc = changed_error(&files[i], err, errlen);
        }
    }
    PQclear(r);
    return rc;
}
