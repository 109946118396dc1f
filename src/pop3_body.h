/* A pure, byte-level streaming decoder for POP3 multi-line replies (RFC 1939
 * §3): it finds the terminating line ".", removes dot-stuffing, and writes
 * line ends as the caller asks.  It survives any split of its input into
 * chunks, keeps a few bytes of state, and never allocates.
 *
 * The input starts right after the status line's line end.  Lines may end
 * in CRLF or, for servers that send bare LF, in LF alone; the terminator is
 * ".CRLF" or ".LF" at the start of a line, so an empty body is ".\r\n".
 * RFC 1939 §3: the line end before the terminator belongs to the message
 * and is written out.  A CR not followed by LF is data.
 *
 * Decoding stops right after the terminator: the bytes that follow belong
 * to the next reply (pipelining) and are not consumed. */
#ifndef MPOP_POP3_BODY_H
#define MPOP_POP3_BODY_H

#include <stdbool.h>
#include <stddef.h>

enum pop3_body_eol {
    POP3_BODY_LF,       /* every line end becomes "\n" */
    POP3_BODY_CRLF      /* every line end becomes "\r\n" */
};

struct pop3_body {
    enum pop3_body_eol eol;
    int state;          /* private */
    bool done;          /* the terminator was seen */
};

void pop3_body_init(struct pop3_body *b, enum pop3_body_eol eol);

/* Decodes from in[0..inlen) into out[0..outsz).  Stops at the terminator,
 * at the end of the input, or when out has fewer than 2 bytes of room (one
 * input byte yields at most 2 output bytes), so outsz must be >= 2 for
 * progress.  *in_used_r and *out_len_r say how much was read and written.
 * Returns true when the terminator was reached (also b->done). */
bool pop3_body_decode(struct pop3_body *b, const char *in, size_t inlen,
                      size_t *in_used_r, char *out, size_t outsz,
                      size_t *out_len_r);

/* Output callback for pop3_body_feed: returns 0, or -1 to stop. */
typedef int pop3_body_out_fn(void *ctx, const char *p, size_t n);

/* Decodes all of in[0..inlen) (or up to the terminator) and passes the
 * output to out() in pieces of at most 4 KiB (never with n == 0).  Returns
 * the number of input bytes consumed, or -1 when out() failed (the decoder
 * state is then undefined).  *done_r says whether the terminator was
 * reached. */
long pop3_body_feed(struct pop3_body *b, const char *in, size_t inlen,
                    pop3_body_out_fn *out, void *ctx, bool *done_r);

#endif
