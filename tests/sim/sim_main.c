/*
 * postpace-sim: the provider simulator as a program. Parses flags (one
 * table, README "Running"), starts the simulator, prints "port=N" as the
 * first line on stdout, and runs until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "util/log.h"

enum opt_kind { OPT_STR, OPT_DOUBLE, OPT_U64, OPT_INT, OPT_LONG, OPT_FLAG_ON, OPT_FLAG_OFF };

struct opt_def {
    const char *name;
    enum opt_kind kind;
    size_t off;
    const char *help;
};

#define O(field) offsetof(struct sim_options, field)
static const struct opt_def opts[] = {
    {"--listen", OPT_STR, O(listen), "ADDR  loopback host:port, port 0 picks one (127.0.0.1:0)"},
    {"--config", OPT_STR, O(config_path), "FILE  JSON keys file"},
    {"--log-requests", OPT_STR, O(log_path), "FILE  append one logfmt line per request"},
    {"--time-scale", OPT_DOUBLE, O(time_scale), "S  divide every window by S (1)"},
    {"--count-rejected", OPT_FLAG_ON, O(count_rejected), "  requests refused with 429 count"},
    {"--no-count-rejected", OPT_FLAG_OFF, O(count_rejected), "  they do not (default)"},
    {"--count-invalid", OPT_FLAG_ON, O(count_invalid), "  400s count in request windows (default)"},
    {"--no-count-invalid", OPT_FLAG_OFF, O(count_invalid), "  400s are free"},
    {"--jestha-lockout-extend-ms", OPT_U64, O(jestha_extend_ms),
     "MS  Jestha: each request during a lockout extends it by MS/S (5000; 0 off)"},
    {"--webhook-attempts", OPT_INT, O(webhook_attempts), "N  attempts per delivery (5)"},
    {"--webhook-backoff-ms", OPT_U64, O(webhook_backoff_ms),
     "MS  first retry delay, doubling (200)"},
    {"--webhook-timeout-ms", OPT_LONG, O(webhook_timeout_ms), "MS  per attempt (5000)"},
    {"--seed", OPT_U64, O(seed), "N  fault PRNG seed (1)"},
    {"--dialect", OPT_STR, O(dialect), "default|alt  shapes where the docs are silent (default)"},
};
#undef O

static void usage(FILE *f)
{
    fprintf(f, "usage: postpace-sim [options]\n");
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        fprintf(f, "  %s %s\n", opts[i].name, opts[i].help);
}

static int set_opt(struct sim_options *o, const struct opt_def *d, const char *val)
{
    char *p = (char *)o + d->off, *end = NULL;
    errno = 0;
    switch (d->kind) {
    case OPT_STR: *(const char **)p = val; return 0;
    case OPT_DOUBLE: *(double *)p = strtod(val, &end); break;
    case OPT_U64: *(uint64_t *)p = strtoull(val, &end, 10); break;
    case OPT_INT: *(int *)p = (int)strtol(val, &end, 10); break;
    case OPT_LONG: *(long *)p = strtol(val, &end, 10); break;
    case OPT_FLAG_ON: *(int *)p = 1; return 0;
    case OPT_FLAG_OFF: *(int *)p = 0; return 0;
    }
    return (errno || !end || *end || end == val) ? -1 : 0;
}

static int parse_args(int argc, char **argv, struct sim_options *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        const struct opt_def *d = NULL;
        for (size_t j = 0; j < sizeof opts / sizeof opts[0]; j++)
            if (strcmp(argv[i], opts[j].name) == 0)
                d = &opts[j];
        int takes_value = d && d->kind != OPT_FLAG_ON && d->kind != OPT_FLAG_OFF;
        if (!d || (takes_value && i + 1 >= argc) ||
            set_opt(o, d, takes_value ? argv[++i] : NULL) != 0) {
            fprintf(stderr, "postpace-sim: bad option %s\n", argv[i]);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sim_options o;
    sim_options_defaults(&o);
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    /* Block the stop signals in every thread; main waits for them below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    char err[512];
    struct sim *s = sim_start(&o, err, sizeof err);
    if (!s) {
        fprintf(stderr, "postpace-sim: %s\n", err);
        return 1;
    }
    printf("port=%d\n", sim_port(s));
    fflush(stdout);
    log_info("simulator ready", LOG_INT("port", sim_port(s)), LOG_DBL("time_scale", o.time_scale));
    int sig = 0;
    sigwait(&stop, &sig);
    sim_stop(s);
    return 0;
}
