#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gettext.h"
#include "linereader.h"
#include "monotime.h"
#include "xalloc.h"

#define LINEREADER_MIN_BUF 65536

void linereader_init(struct linereader *r, struct transport *t,
                     size_t max_line)
{
    size_t size = LINEREADER_MIN_BUF;

    assert(max_line < (size_t)-1 / 2);
    /* max_line bytes, CR, LF, and a NUL written over the line end. */
    if (max_line + 3 > size)
        size = max_line + 3;
    r->t = t;
    r->buf = xmalloc(size);
    r->size = size;
    r->start = 0;
    r->end = 0;
    r->max_line = max_line;
    r->eof = false;
}

void linereader_clear(struct linereader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->size = 0;
    r->start = 0;
    r->end = 0;
}

/* Reads more bytes behind r->end, moving the unconsumed ones to the front
 * first when the tail has no room.  Returns the count read, 0 at end of
 * stream, -1 on error. */
static ssize_t fill(struct linereader *r, struct mp_err *e)
{
    if (r->start == r->end) {
        r->start = 0;
        r->end = 0;
    } else if (r->end == r->size && r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    assert(r->end < r->size);
    ssize_t n = transport_read(r->t, r->buf + r->end, r->size - r->end, e);
    if (n > 0)
        r->end += (size_t)n;
    else if (n == 0)
        r->eof = true;
    return n;
}

int linereader_getline(struct linereader *r, const char **line_r,
                       size_t *len_r, struct mp_err *e)
{
    size_t scanned = r->start;
    /* The transport's timeout bounds each wait for the next bytes, so a
     * slow server whose bytes keep coming is served, as by mpop 1.4.18.
     * A line as a whole must arrive within LINEREADER_LINE_TIMEOUTS
     * timeouts, else a server that trickles a byte a second would hold
     * the client forever (every single read is in time). */
    int timeout_ms = r->t->timeout_ms;
    long long deadline = 0;     /* set before the first read: a line that
                                 * is buffered already costs no clock */

    for (;;) {
        char *lf = memchr(r->buf + scanned, '\n', r->end - scanned);

        if (lf) {
            char *line = r->buf + r->start;
            size_t len = (size_t)(lf - line);

            if (len > 0 && line[len - 1] == '\r')
                len--;
            if (len > r->max_line)
                return err_set(e, MP_EPROTO, _("the server sent a line "
                               "longer than %zu bytes"), r->max_line);
            if (memchr(line, '\0', len))
                return err_set(e, MP_EPROTO, _("the server sent a NUL "
                               "byte"));
            /* The line end is consumed: overwrite it so the caller may
             * also treat the line as a string. */
            line[len] = '\0';
            r->start = (size_t)(lf - r->buf) + 1;
            *line_r = line;
            *len_r = len;
            return 0;
        }
        /* max_line + 2 bytes without LF: even with a CR before the LF
         * to come, the line is too long. */
        if (r->end - r->start >= r->max_line + 2)
            return err_set(e, MP_EPROTO, _("the server sent a line longer "
                           "than %zu bytes"), r->max_line);
        size_t old_start = r->start;
        size_t old_end = r->end;
        if (timeout_ms > 0 && !deadline)
            deadline = monotime_ms()
                       + (long long)timeout_ms * LINEREADER_LINE_TIMEOUTS;
        if (deadline) {
            long long left = deadline - monotime_ms();
            if (left <= 0) {
                long long sec = ((long long)timeout_ms
                                 * LINEREADER_LINE_TIMEOUTS + 999) / 1000;
                return err_set(e, MP_ETEMP, ngettext("the server sends a "
                               "line too slowly: incomplete after %lld "
                               "second", "the server sends a line too "
                               "slowly: incomplete after %lld seconds",
                               (unsigned long)sec), sec);
            }
            if (left < timeout_ms)
                r->t->timeout_ms = (int)left;
        }
        ssize_t n = fill(r, e);
        r->t->timeout_ms = timeout_ms;
        if (n < 0)
            return -1;
        if (n == 0)
            return err_set(e, MP_EIO, _("the server closed the "
                           "connection"));
        /* fill() may have moved the bytes; skip those already scanned. */
        scanned = r->start + (old_end - old_start);
    }
}

int linereader_peek(struct linereader *r, const char **p_r, size_t *n_r,
                    struct mp_err *e)
{
    if (r->start == r->end) {
        ssize_t n = fill(r, e);
        if (n < 0)
            return -1;
        if (n == 0)
            return err_set(e, MP_EIO, _("the server closed the "
                           "connection"));
    }
    *p_r = r->buf + r->start;
    *n_r = r->end - r->start;
    return 0;
}

void linereader_consume(struct linereader *r, size_t n)
{
    assert(n <= r->end - r->start);
    r->start += n;
    if (r->start == r->end) {
        r->start = 0;
        r->end = 0;
    }
}

size_t linereader_buffered(const struct linereader *r)
{
    return r->end - r->start + transport_pending(r->t);
}
