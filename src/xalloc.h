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

/* A string pool: many small strings (the UIDs of a listing or of the UIDLs
 * file) copied into shared chunks and freed all at once, instead of one
 * malloc and free each.  Start with an all-zero pool.  Strings stay valid
 * until strpool_clear(); none is freed alone. */
struct strpool_chunk;
struct strpool {
    struct strpool_chunk *last;
};

/* A NUL-terminated copy of the n bytes at s, in the pool. */
char *strpool_dup(struct strpool *p, const char *s, size_t n);
/* Frees every string of the pool; it is empty (and usable) again. */
void strpool_clear(struct strpool *p);

#endif
