/*
 * DESIGN: the SQL does the work and the audit in one statement
 * (sql/keys_pause.sql); this file only turns its rows into JSON and the
 * command line into its parameters. The scheduler reads paused_at at every
 * claim, so nothing needs to be told.
 */
#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "util/cli.h"
#include "provider/provider_id.h"
#include "util/log.h"

json_t *ctl_pause(PGconn *c, const char *actor, int pause, const char *key, const char *provider,
                  char *err, size_t errlen)
{
    const char *params[] = {actor, pause ? "t" : "f", key, provider};
    PGresult *r = db_exec(c, "keys_pause", 4, params, err, errlen);
    if (!r)
        return NULL;
    json_t *keys = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(keys, json_pack("{s:I,s:s,s:s,s:b}", "id",
                                              (json_int_t)atoll(PQgetvalue(r, i, 0)), "provider",
                                              PQgetvalue(r, i, 1), "label", PQgetvalue(r, i, 2),
                                              "paused", strcmp(PQgetvalue(r, i, 3), "t") == 0));
    PQclear(r);
    return keys;
}

int cmd_pause(int pause, const char *conninfo, int argc, char **argv)
{
    const char *cmd = pause ? "pause" : "resume", *key = NULL, *provider = NULL;
    int all = 0;
    const struct cli_flag flags[] = {
        {"key", 1, &key, NULL},
        {"provider", 1, &provider, NULL},
        {"all", 0, NULL, &all},
    };
    int rc = cli_parse(cmd, flags, sizeof flags / sizeof flags[0], argc, argv);
    if (rc)
        return rc;
    enum prov_id p;
    if (provider && prov_parse(provider, strlen(provider), &p) != 0)
        return cli_usage_error("--provider: unknown provider \"%s\"", provider);
    if (!key && !provider && !all)
        return cli_usage_error("%s: name the keys: --key ID|LABEL, --provider P, or --all", cmd);
    if (all && (key || provider))
        return cli_usage_error("%s: --all takes no --key or --provider", cmd);
    PGconn *c = db_connect_logged(conninfo);
    if (!c)
        return 1;
    char err[512];
    json_t *keys = ctl_pause(c, "cli", pause, key, provider, err, sizeof err);
    PQfinish(c);
    if (!keys) {
        log_error("cannot change the keys", LOG_STR("reason", err));
        return 1;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
        printf("%s %s (%s, key %lld)\n", pause ? "paused" : "resumed",
               json_string_value(json_object_get(k, "label")),
               json_string_value(json_object_get(k, "provider")),
               (long long)json_integer_value(json_object_get(k, "id")));
    size_t n = json_array_size(keys);
    json_decref(keys);
    if (n == 0) {
        fprintf(stderr, "postpace: %s: no enabled key matches\n", cmd);
        return 1;
    }
    return 0;
}
