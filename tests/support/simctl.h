/*
 * simctl: runs the provider simulator (tests/sim) from integration tests and
 * benchmarks, and reads its verdicts.
 */
#ifndef POSTPACE_TESTS_SIMCTL_H
#define POSTPACE_TESTS_SIMCTL_H

#include <jansson.h>

#include "proc.h"

struct simctl {
    struct proc proc;
    int port;
    char base[64];         /* http://127.0.0.1:PORT */
    char config_path[64];
};

/* Starts postpace-sim with `config_json` and the time scale; 0 or -1. */
int sim_ctl_start(struct simctl *s, const char *config_json, double time_scale,
                  const char *const *extra_args);

/* POST /_reset with a new config (e.g. once the webhook URL is known). */
int sim_ctl_reset(struct simctl *s, const char *config_json);

/* POST /_faults with a JSON object. */
int sim_ctl_faults(struct simctl *s, const char *faults_json);

/* GET /_stats; the caller json_decref()s it. */
json_t *sim_ctl_stats(struct simctl *s);

/* providers.<provider>.<field> of a stats object (0 when absent). */
long sim_ctl_stat(json_t *stats, const char *provider, const char *field);

/* Sum of a field over every provider. */
long sim_ctl_total(json_t *stats, const char *field);

/* Stops it (SIGTERM) and waits. */
void sim_ctl_stop(struct simctl *s);

#endif
