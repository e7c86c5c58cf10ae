/*
 * import: `postpace import FILE|- [--format csv|jsonl] [--partial] [--dry-run] [--allow-unterminated]`
 * adds posts to the calendar from a CSV or JSON Lines file (README
 * "Importing a calendar"). Streams the file through COPY into a staging
 * table, validates in SQL, inserts in one transaction.
 */
#ifndef POSTPACE_IMPORT_IMPORT_H
#define POSTPACE_IMPORT_IMPORT_H

#include "config.h"

/*
 * The command. Exit status: 0 every row imported (or already present), 1 a
 * row was refused or the import failed (nothing written unless --partial),
 * 2 bad usage.
 */
int cmd_import(struct config *cfg, int argc, char **argv);

#endif
