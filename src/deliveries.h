/*
 * deliveries: the operator's side of outgoing webhooks, for the CLI and the
 * /v1 API alike: subscriptions added, listed and removed, deliveries listed
 * by state, and dead ones (or any one) replayed. Each change is one
 * statement that also writes its operator_actions row.
 */
#ifndef POSTPACE_DELIVERIES_H
#define POSTPACE_DELIVERIES_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* The outgoing event types a subscription may name. NULL-terminated. */
extern const char *const dlv_event_types[];

/* 1 when s is a delivery state: pending, delivered or dead. */
int dlv_state_known(const char *s);

/* Deliveries, newest first: state NULL (any) or pending|delivered|dead;
 * subscription / post 0: any; at most `limit`. NULL with err on failure. */
json_t *dlv_list(PGconn *c, const char *state, int64_t subscription, int64_t post, int limit,
                 char *err, size_t errlen);

/* Replays delivery `id` (0: none), or every dead one when `dead`, of
 * `subscription` (0: any), as `actor`. The ids replayed, or NULL with err. */
json_t *dlv_replay(PGconn *c, const char *actor, int64_t id, int dead, int64_t subscription,
                   char *err, size_t errlen);

json_t *dlv_subscriptions(PGconn *c, char *err, size_t errlen);

/* Adds a subscription (events: NULL-terminated; NULL or empty: all; key an
 * id or label, NULL: any). Its id; 0 when the key matches none; -1 with err. */
int64_t dlv_subscribe(PGconn *c, const char *actor, const char *url, const char *secret_ref,
                      const char *const *events, const char *provider, const char *key, char *err,
                      size_t errlen);

/* Removes a subscription and its deliveries: 1, 0 when there is none, -1 with err. */
int dlv_unsubscribe(PGconn *c, const char *actor, int64_t id, char *err, size_t errlen);

/* postpace deliveries [replay] ..., subscriptions, subscribe ..., unsubscribe --id N */
int cmd_deliveries(const char *conninfo, int argc, char **argv);
int cmd_subscriptions(const char *conninfo, int argc, char **argv);
int cmd_subscribe(const char *conninfo, int argc, char **argv);
int cmd_unsubscribe(const char *conninfo, int argc, char **argv);

#endif
