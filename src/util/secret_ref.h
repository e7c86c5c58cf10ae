/*
 * secret_ref: what a secret reference means, for every secret postpace
 * reads: an API key's provider_keys.secret_ref (the scheduler) and each
 * reference of a webhook_secret_ref (the intake's signing secrets). A
 * reference names where the secret lives, never the secret itself, so
 * secrets stay out of the database:
 *
 *   env:NAME     the environment variable NAME (read at each resolution)
 *   file:/path   the whole file (read at each resolution: a rotation needs
 *                no restart)
 *
 * Pure but for reading the environment and the file; any thread.
 */
#ifndef POSTPACE_UTIL_SECRET_REF_H
#define POSTPACE_UTIL_SECRET_REF_H

#include <stddef.h>

/*
 * Resolves one reference into buf (NUL-terminated). Returns 0, or -1 when
 * it is unavailable: an unknown scheme, an unset variable, a value longer
 * than size - 1, or a file that cannot be opened. A file's content is
 * kept as read (at most size - 1 bytes, newline included): the caller
 * trims or splits it as its secret's format says.
 */
int sref_resolve(const char *ref, char *buf, size_t size) __attribute__((warn_unused_result));

#endif
