/*
 * daemon: `postpace serve` — checks the schema, starts the HTTP server (and,
 * as they land, the scheduler), and runs until SIGTERM or SIGINT.
 */
#ifndef POSTPACE_DAEMON_H
#define POSTPACE_DAEMON_H

#include "config.h"

/*
 * Runs the daemon in the foreground. Returns the process exit status: 0 after
 * a clean shutdown, 1 when it could not start (the reason is logged).
 */
int daemon_serve(const struct config *cfg);

#endif
