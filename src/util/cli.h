/*
 * cli: the flag parsing of the one-shot commands that take flags of their own
 * (`plan`, `limits`, `pause`, `resume`; main.c passes them through). Runs on
 * the main thread of a one-shot command; reports bad usage in main.c's words,
 * with its exit status 2.
 */
#ifndef POSTPACE_UTIL_CLI_H
#define POSTPACE_UTIL_CLI_H

#include <stddef.h>
#include <stdint.h>

/* One flag a command takes: "--name value", "--name=value", or a switch. */
struct cli_flag {
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
int cli_parse(const char *cmd, const struct cli_flag *flags, size_t nflags, int argc,
               char **argv);

/* Prints "postpace: MSG (see `postpace help`)" and returns 2. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
