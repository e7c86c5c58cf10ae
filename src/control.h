/*
 * control: what an operator does without SQL (pause and resume keys, retry
 * and cancel targets), for the CLI and the /v1 API alike. Every action is
 * one statement that also writes its operator_actions row (who, what, when),
 * so an action is never done unrecorded.
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

/* What an operator does to targets. */
enum ctl_action {
    CTL_RETRY,  /* failed -> scheduled, due now, when sending again cannot post twice (or forced) */
    CTL_CANCEL, /* scheduled -> cancelled; targets in flight are refused */
};

/* The most targets an answer lists (matched and done count them all). */
#define CTL_LIST_MAX 1000

/*
 * Which targets: every field given must hold; NULL: no condition. Ids and
 * times as SQL parameter text (decimal; times in epoch ms), as
 * ctl_parse_id and ctl_parse_time make them.
 */
struct ctl_select {
    const char *target_id, *post_id;
    const char *key;        /* a key id or label */
    const char *provider;   /* a provider name */
    const char *error_code; /* the code in last_error */
    const char *since_ms, *until_ms; /* updated_at in [since, until) */
};

/* True when no selector is given (an action on "everything" is refused). */
int ctl_select_empty(const struct ctl_select *s);

/* A post or target id: 1 to 18 digits, not 0, into out (24 bytes). 0, or -1. */
int ctl_parse_id(const char *s, char *out);

/* An RFC 3339 time with an offset into epoch ms text (out: 24 bytes). NULL,
 * or the reason it is refused. */
const char *ctl_parse_time(const char *s, char *out);

/*
 * Retries or cancels the targets `sel` names, as `actor`, in one statement
 * that also writes its operator_actions row (none on a dry run, which
 * changes nothing); `force` retries targets at risk of a double post too
 * (retry only). Returns the answer document as JSON text (heap; the caller
 * frees it): {"dry_run", "matched", "done", "truncated", "targets": [{"id",
 * "post_id", "status", "action", "reason"?}]}, at most CTL_LIST_MAX listed;
 * or NULL with err. The rules are sql/targets_retry.sql's and
 * sql/targets_cancel.sql's.
 */
char *ctl_targets(PGconn *c, const char *actor, enum ctl_action a, const struct ctl_select *sel,
                  int dry_run, int force, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* postpace retry|cancel SELECTORS [--dry-run] [--force (retry)] [--json] */
int cmd_targets(enum ctl_action a, const char *conninfo, int argc, char **argv);

#endif
