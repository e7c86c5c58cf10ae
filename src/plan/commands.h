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
 * read from `db` (plan_view_open) at `now`. NULL for an unknown provider. The
 * caller json_decref()s it. The API's GET /v1/limits answers with it.
 */
struct plan_view;
json_t *cmd_limits_json(const struct plan_view *db, const char *provider, const char *key,
                        uint64_t now);

/* postpace plan [--from T] [--to T] [--json] */
int cmd_plan(struct config *cfg, int argc, char **argv);

/* What the plan predicts for one key's backlog (for `postpace status`). */
#define PLAN_ETA_NONE 0          /* nothing pending within the horizon */
#define PLAN_ETA_NEVER UINT64_MAX /* some of it never goes (a spent quota) */
#define PLAN_ETA_BEYOND (UINT64_MAX - 1) /* some of it leaves after the horizon */

/* What the plan predicts for one key (for `postpace status` and GET /v1/keys). */
struct plan_key_eta {
    uint64_t eta;      /* PLAN_ETA_*, or epoch ms */
    char binding[200]; /* the window holding its backlog back ("" when nothing does) */
};

/*
 * For every key of db->snap.reg (by index): when the last of its unsettled
 * targets due before now + horizon_ms will have left, as the limiter
 * predicts from `now` (epoch ms, PLAN_ETA_NONE, PLAN_ETA_BEYOND or
 * PLAN_ETA_NEVER), and the window that holds back the first of its requests
 * that cannot leave at once, in `plan`'s words ("" when every one can).
 * Returns 0, or -1 (logged) when the calendar cannot be read.
 */
int plan_key_etas(const struct plan_view *db, uint64_t now, uint64_t horizon_ms,
                  struct plan_key_eta *out);

#endif
