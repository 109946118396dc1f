/* A bounded, buffered reader over a transport: whole lines for status
 * replies and listings, raw buffered bytes for streaming multi-line bodies
 * through a pop3_body decoder.  Memory is bounded by the buffer size given
 * at init, whatever the peer sends. */
#ifndef MPOP_LINEREADER_H
#define MPOP_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "transport.h"

struct linereader {
    struct transport *t;
    char *buf;
    size_t size;        /* allocated size of buf */
    size_t start, end;  /* unconsumed bytes are buf[start..end) */
    size_t max_line;    /* longest line accepted, without its line end */
    bool eof;           /* the peer closed the stream (the error then says
                         * "the server closed the connection") */
};

/* max_line: the longest line accepted (e.g. 1024 for a client's status
 * lines; RFC 2449 §4 allows 512 octets for a response).  The buffer holds
 * at least max_line + 2 bytes and at least 64 KiB (one read(2) per 64 KiB
 * of a big mail). */
void linereader_init(struct linereader *r, struct transport *t, size_t max_line);
void linereader_clear(struct linereader *r);

/* A line must be complete within this many of the transport's timeouts;
 * each wait for more of it is bounded by one timeout. */
#define LINEREADER_LINE_TIMEOUTS 3

/* Reads one line ending in CRLF or a bare LF.  On success *line_r points to
 * the line without its line end (valid until the next call on r), *len_r is
 * its length, and 0 is returned.  Errors (-1, e filled):
 *   end of stream (even mid-line): MP_EIO "the server closed the connection"
 *   no more bytes within the timeout, or the line incomplete after
 *   LINEREADER_LINE_TIMEOUTS timeouts: MP_ETEMP
 *   a line longer than max_line: MP_EPROTO
 *   a NUL byte in the line: MP_EPROTO
 *   transport errors as the transport reports them (MP_EIO, MP_ETEMP). */
int linereader_getline(struct linereader *r, const char **line_r,
                       size_t *len_r, struct mp_err *e);

/* Makes buffered bytes available, reading from the transport only when the
 * buffer is empty.  On success *p_r and *n_r (n > 0) describe the buffered bytes;
 * they stay until linereader_consume().  End of stream is an error
 * (MP_EIO), since a body must end with its terminator. */
int linereader_peek(struct linereader *r, const char **p_r, size_t *n_r,
                    struct mp_err *e);
void linereader_consume(struct linereader *r, size_t n);

/* Bytes received and not yet consumed (plus those the transport holds).
 * Must be 0 when STLS is answered: anything else is an injection. */
size_t linereader_buffered(const struct linereader *r);

#endif
