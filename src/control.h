/*
 * control: what an operator does without SQL, for the CLI and the /v1 API
 * alike. Every action is one statement that also writes its operator_actions
 * row (who, what, when), so an action is never done unrecorded.
 */
#ifndef POSTPACE_CONTROL_H
#define POSTPACE_CONTROL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/*
 * Pauses (pause = 1) or resumes the enabled keys named by `key` (an id or
 * label; NULL: any) of `provider` (NULL: any), as `actor` ("cli", or an API
 * token's name). A paused key claims nothing from the scheduler's next turn
 * on, and keeps its lease and windows. Returns the keys named, as a JSON
 * array of {"id", "provider", "label", "paused"} (empty: none matched), or
 * NULL with err. A rare action: the statement is sent unprepared.
 */
json_t *ctl_pause(PGconn *c, const char *actor, int pause, const char *key, const char *provider,
                  char *err, size_t errlen);

/* postpace pause|resume --key K | --provider P | --all */
int cmd_pause(int pause, const char *conninfo, int argc, char **argv);

#endif
