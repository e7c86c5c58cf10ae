/*
 * commands (plan module): the `postpace limits` and `postpace plan` commands.
 * Both take their own flags (main.c passes them through) and report bad
 * usage themselves with exit status 2; 1 is a failure at run time.
 */
#ifndef POSTPACE_PLAN_COMMANDS_H
#define POSTPACE_PLAN_COMMANDS_H

#include "config.h"

/* postpace limits [--provider P] [--key ID|LABEL] [--json] */
int cmd_limits(struct config *cfg, int argc, char **argv);

/* postpace plan [--from T] [--to T] [--json] */
int cmd_plan(struct config *cfg, int argc, char **argv);

#endif
