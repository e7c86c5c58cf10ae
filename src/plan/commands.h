/*
 * commands (plan module): the `postpace limits` and `postpace plan` commands.
 * Both take their own flags (main.c passes them through) and report bad
 * usage themselves with exit status 2; 1 is a failure at run time.
 */
#ifndef POSTPACE_PLAN_COMMANDS_H
#define POSTPACE_PLAN_COMMANDS_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"

/* postpace limits [--provider P] [--key ID|LABEL] [--json] */
int cmd_limits(struct config *cfg, int argc, char **argv);

/*
 * The JSON of `postpace limits --json` ({"now", "keys": [...]}) for the
 * enabled keys of `provider` and `key` (an id or label; NULL: every one),
 * read from `db` (pcli_open) at `now`. NULL for an unknown provider. The
 * caller json_decref()s it. The API's GET /v1/limits answers with it.
 */
struct pcli_db;
json_t *cmd_limits_json(const struct pcli_db *db, const char *provider, const char *key,
                        uint64_t now);

/* postpace plan [--from T] [--to T] [--json] */
int cmd_plan(struct config *cfg, int argc, char **argv);

#endif
