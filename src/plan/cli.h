/*
 * cli (plan module, private to the `plan` and `limits` commands): their flag
 * parsing. Runs on the main thread of a one-shot command. What they read
 * from the database is a plan_view (plan/view.h).
 */
#ifndef POSTPACE_PLAN_CLI_H
#define POSTPACE_PLAN_CLI_H

#include <stddef.h>
#include <stdint.h>

/* One flag a command takes: "--name value", "--name=value", or a switch. */
struct pcli_flag {
    const char *name; /* without the dashes */
    int takes_value;
    const char **value; /* takes_value: where the value goes */
    int *set;           /* switches: set to 1 */
};

/*
 * Parses argv against the table. On bad usage prints the one-line error
 * ("postpace: --bogus: unknown flag (see `postpace help`)") and returns 2;
 * else 0.
 */
int pcli_parse(const char *cmd, const struct pcli_flag *flags, size_t nflags, int argc,
               char **argv);

/* Prints "postpace: MSG (see `postpace help`)" and returns 2. */
int pcli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
