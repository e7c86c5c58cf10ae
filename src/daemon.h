/*
 * daemon: `postpace serve` — checks the schema, starts the HTTP server (and,
 * as they land, the scheduler), and runs until SIGTERM or SIGINT.
 */
#ifndef POSTPACE_DAEMON_H
#define POSTPACE_DAEMON_H

#include <stddef.h>

#include "config.h"
#include "http/server.h"

/*
 * Runs the daemon in the foreground. Returns the process exit status: 0 after
 * a clean shutdown, 1 when it could not start (the reason is logged).
 */
int daemon_serve(const struct config *cfg);

/* The HTTP route table `serve` uses (the OpenAPI test checks /v1 against it). */
const struct http_route *daemon_routes(size_t *n);

#endif
