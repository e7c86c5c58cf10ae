/*
 * xmalloc: allocation that cannot fail. Out of memory aborts the process in
 * one place (as redis and h2o do) instead of NULL checks in every caller.
 */
#ifndef POSTPACE_XMALLOC_H
#define POSTPACE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
