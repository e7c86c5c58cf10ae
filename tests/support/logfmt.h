/*
 * logfmt: a strict parser of the lines src/util/log.c writes, so tests can
 * check that every line the daemon logs is logfmt whatever its values held.
 *
 * Grammar (one line):
 *   line   = pair *(" " pair) "\n"
 *   pair   = key "=" value
 *   key    = [A-Za-z_] *[A-Za-z0-9_.]
 *   value  = bare / quoted
 *   bare   = 1*(bytes 0x21-0x7e except '=', '"', '\')
 *   quoted = '"' *(char / escape) '"'
 *   char   = valid UTF-8 except '"', '\' and bytes below 0x20 or DEL
 *   escape = '\' ('"' / '\' / 'n' / 'r' / 't' / 'u' 4HEXDIG)
 * A line must start with ts=, level=, msg= in that order; no key twice.
 */
#ifndef POSTPACE_TESTS_LOGFMT_H
#define POSTPACE_TESTS_LOGFMT_H

#include <stddef.h>

struct lf_pair {
    char key[64];
    char value[4096]; /* decoded */
};

/*
 * Parses one line (up to and including its '\n'; len bytes). Returns the
 * number of pairs stored in pairs[0..max), or -1 with the reason and byte
 * offset in err.
 */
int lf_parse_line(const char *line, size_t len, struct lf_pair *pairs, int max, char *err,
                  size_t errlen);

/* The decoded value of `key` in pairs, or NULL. */
const char *lf_get(const struct lf_pair *pairs, int n, const char *key);

/*
 * Parses every line of text (each must end with '\n'). Returns the number of
 * lines, or -1 with "line N: reason" in err.
 */
int lf_check_text(const char *text, char *err, size_t errlen);

#endif
