/*
 * DESIGN: what the commands with flags of their own share. main.c passes
 * them their flags (cfg_load with allow_unknown), so each parses them here
 * against a table and reports an unknown one itself, in main.c's words and
 * with its exit status 2.
 */
#include "util/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int cli_usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "postpace: %s (see `postpace help`)\n", msg);
    return 2;
}

static const struct cli_flag *find_flag(const struct cli_flag *flags, size_t n, const char *name,
                                         size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
            return &flags[i];
    return NULL;
}

/* Applies argv[*i] (and maybe its value); returns 0 or 2. */
static int parse_one(const struct cli_flag *flags, size_t nflags, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct cli_flag *f = find_flag(flags, nflags, name, len);
    if (!f)
        return cli_usage_error("--%.*s: unknown flag", (int)len, name);
    if (!f->takes_value) {
        if (eq)
            return cli_usage_error("--%s: takes no value", f->name);
        *f->set = 1;
        return 0;
    }
    const char *v = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
    if (!v || !*v)
        return cli_usage_error("--%s: needs a value", f->name);
    *f->value = v;
    return 0;
}

int cli_parse(const char *cmd, const struct cli_flag *flags, size_t nflags, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0')
            return cli_usage_error("%s: unexpected argument \"%s\"", cmd, argv[i]);
        int rc = parse_one(flags, nflags, argc, argv, &i);
        if (rc)
            return rc;
    }
    return 0;
}
