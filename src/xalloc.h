/* Allocators that never return NULL: on exhaustion they print a message and
 * exit with EX_OSERR.  Use them everywhere except where a failing allocation
 * is part of a tested contract. */
#ifndef MPOP_XALLOC_H
#define MPOP_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);   /* checks nmemb * size for overflow */
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wipes the string with gnutls_memset (or a volatile loop), frees it and
 * sets *sp to NULL.  NULL-safe.  For passwords and tokens. */
void xfree_secret(char **sp);

#endif
