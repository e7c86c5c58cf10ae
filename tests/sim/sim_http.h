/*
 * sim_http: the simulator's own one-thread h2o server (also used by the
 * tests' webhook receiver). Like src/http/server but single-threaded, and
 * its stop always consumes its wake-up message before unregistering the
 * receiver (see the report: src/http/server.c can assert there).
 */
#ifndef POSTPACE_SIM_HTTP_H
#define POSTPACE_SIM_HTTP_H

#include <h2o.h>
#include <stddef.h>

struct simhttp;

/* Handles every request on the loop thread; answers now or later, returns 0. */
typedef int (*simhttp_fn)(void *app, h2o_req_t *req);

/* Runs on the loop thread as it ends: the app disposes of the timeouts it made on `loop`. */
typedef void (*simhttp_end_fn)(void *app, h2o_loop_t *loop);

/* Binds `listen` (loopback only) and starts the loop thread; NULL + err on failure.
 * `end` (may be NULL) runs as the loop ends, before it is freed. */
struct simhttp *simhttp_start(const char *listen, size_t body_limit, simhttp_fn fn,
                              simhttp_end_fn end, void *app, char *err, size_t errlen);
int simhttp_port(const struct simhttp *h);
/* Stops accepting, closes idle connections, joins the thread, frees. NULL is a no-op. */
void simhttp_stop(struct simhttp *h);

/* Sends a JSON body with `status`. */
void simhttp_send_json(h2o_req_t *req, int status, const char *body, size_t len);

#endif
