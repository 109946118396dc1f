/* Growable byte buffer with a hard cap fixed at init.  The data is always
 * followed by a NUL byte (not counted in len) so it can be used as a string
 * when it holds no NUL of its own. */
#ifndef MPOP_BUF_H
#define MPOP_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;     /* NULL until the first append */
    size_t len;
    size_t alloc;
    size_t cap;     /* hard limit on len */
};

void buf_init(struct buf *b, size_t cap);
/* Returns 0, or -1 (nothing appended) when len would exceed cap. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);              /* len = 0, keeps memory */
/* Hands the data (NUL-terminated, never NULL) to the caller and reinits. */
char *buf_steal(struct buf *b);
void buf_clear(struct buf *b);              /* frees memory */

#endif
