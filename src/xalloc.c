#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_SYSEXITS_H
# include <sysexits.h>
#endif
#ifndef EX_OSERR
# define EX_OSERR 71
#endif

#include <gnutls/gnutls.h>

#include "gettext.h"
#include "xalloc.h"

static void oom(void)
{
    fprintf(stderr, "%s\n", _("mpop: cannot allocate memory"));
    exit(EX_OSERR);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom();
    return q;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
    if (size && nmemb > SIZE_MAX / size)
        oom();
    return xrealloc(p, nmemb * size);
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    return s;
}

void xfree_secret(char **sp)
{
    if (!sp || !*sp)
        return;
    gnutls_memset(*sp, 0, strlen(*sp));
    free(*sp);
    *sp = NULL;
}

/* 64 KiB chunks: 4,000 UIDs of 16 bytes each, and one malloc instead. */
#define STRPOOL_CHUNK 65536

struct strpool_chunk {
    struct strpool_chunk *prev;
    size_t used, cap;
    char data[];
};

char *strpool_dup(struct strpool *p, const char *s, size_t n)
{
    struct strpool_chunk *c = p->last;
    char *r;

    if (!c || c->cap - c->used < n + 1) {
        size_t cap = n + 1 > STRPOOL_CHUNK ? n + 1 : STRPOOL_CHUNK;

        c = xmalloc(sizeof *c + cap);
        c->prev = p->last;
        c->used = 0;
        c->cap = cap;
        p->last = c;
    }
    r = c->data + c->used;
    memcpy(r, s, n);
    r[n] = '\0';
    c->used += n + 1;
    return r;
}

void strpool_clear(struct strpool *p)
{
    while (p->last) {
        struct strpool_chunk *prev = p->last->prev;

        free(p->last);
        p->last = prev;
    }
}
