/*
 * sim: postpace-sim, an HTTP server that behaves like the five provider APIs
 * (tests/sim/README.md has the wire contract). This header is the whole
 * public surface: start a simulator on a loopback address, ask its port,
 * stop it. The binary (sim_main.c) and the tests (test_sim.c) use only this.
 */
#ifndef POSTPACE_SIM_H
#define POSTPACE_SIM_H

#include <stddef.h>
#include <stdint.h>

struct sim;

struct sim_options {
    const char *listen;          /* "127.0.0.1:0"; only loopback addresses are accepted */
    const char *config_path;     /* JSON key file (README "Configuration"); NULL: no keys */
    const char *config_json;     /* or the same JSON as a string (tests) */
    const char *log_path;        /* logfmt line per request; NULL: none */
    double time_scale;           /* every window divided by this; >= 1e-3 */
    int count_rejected;          /* 1: requests refused with 429 still count in the windows */
    int count_invalid;           /* 1: requests refused with 400 count in request windows */
    uint64_t jestha_extend_ms;   /* Jestha lockout extension per early request, unscaled; 0 off */
    int webhook_attempts;        /* deliveries give up after this many attempts */
    uint64_t webhook_backoff_ms; /* first retry delay, doubling */
    long webhook_timeout_ms;     /* per attempt */
    uint64_t seed;               /* fault PRNG seed (POST /_faults may change it) */
    const char *dialect;         /* "default" or "alt" (README "Dialects"); a config's
                                    "dialect" member overrides it */
};

/* Fills the documented defaults. */
void sim_options_defaults(struct sim_options *o);

/* Loads the config, binds, starts the loop and the webhook thread. NULL + err on failure. */
struct sim *sim_start(const struct sim_options *o, char *err, size_t errlen);
/* The bound TCP port. */
int sim_port(const struct sim *s);
/* Stops the server and the webhook thread and frees everything. NULL is a no-op. */
void sim_stop(struct sim *s);

#endif
