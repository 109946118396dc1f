#include "config.h"

#include <limits.h>
#include <string.h>

#include "pop3_body.h"

enum {
    ST_BOL = 0,     /* at the start of a line */
    ST_MID,         /* inside a line */
    ST_CR,          /* a CR inside a line, not yet known to end it */
    ST_DOT,         /* "." at the start of a line */
    ST_DOT_CR,      /* ".\r" at the start of a line */
    ST_DONE
};

void pop3_body_init(struct pop3_body *b, enum pop3_body_eol eol)
{
    b->eol = eol;
    b->state = ST_BOL;
    b->done = false;
}

bool pop3_body_decode(struct pop3_body *b, const char *in, size_t inlen,
                      size_t *in_used_r, char *out, size_t outsz,
                      size_t *out_len_r)
{
    size_t i = 0, o = 0;
    int st = b->state;

/* Line end in the chosen form. */
#define EOL() do { \
        if (b->eol == POP3_BODY_CRLF) \
            out[o++] = '\r'; \
        out[o++] = '\n'; \
    } while (0)

    while (st != ST_DONE && i < inlen && outsz - o >= 2) {
        char ch;

        /* The fast path: inside a line (or at the start of one that does
         * not start with a dot), whole lines ending in CRLF or LF are
         * copied in blocks, one memchr() per line.  A CR inside a line is
         * data either way (the byte machine copies a lone CR too), so
         * only a CR as the last byte within reach is left to the byte
         * machine, which sees the dots at line starts and the ends of the
         * input or of out. */
        while (i < inlen && outsz - o >= 2
               && (st == ST_MID || (st == ST_BOL && in[i] != '.'))) {
            size_t avail = inlen - i, room = outsz - o - 2, seg;
            const char *lf;

            if (avail > room)
                avail = room;
            lf = memchr(in + i, '\n', avail);
            if (!lf) {
                /* No line end within reach: copy what is there, except
                 * a CR that may start the line end. */
                seg = avail;
                if (seg > 0 && in[i + seg - 1] == '\r')
                    seg--;
                memcpy(out + o, in + i, seg);
                o += seg;
                i += seg;
                if (seg > 0)
                    st = ST_MID;
                break;
            }
            seg = (size_t)(lf - (in + i));
            if (seg > 0 && lf[-1] == '\r')
                seg--;
            memcpy(out + o, in + i, seg);
            o += seg;
            EOL();
            i = (size_t)(lf - in) + 1;
            st = ST_BOL;
        }
        if (st == ST_DONE || i >= inlen || outsz - o < 2)
            break;
        ch = in[i++];

        switch (st) {
        case ST_BOL:
            if (ch == '.') {
                st = ST_DOT;
                break;
            }
            /* FALLTHROUGH */
        case ST_MID:
            if (ch == '\r') {
                st = ST_CR;
            } else if (ch == '\n') {
                EOL();
                st = ST_BOL;
            } else {
                out[o++] = ch;
                st = ST_MID;
            }
            break;
        case ST_CR:
            if (ch == '\n') {
                EOL();
                st = ST_BOL;
            } else if (ch == '\r') {
                out[o++] = '\r';        /* the earlier CR was data */
            } else {
                out[o++] = '\r';
                out[o++] = ch;
                st = ST_MID;
            }
            break;
        case ST_DOT:
            /* RFC 1939 §3: ".CRLF" ends the reply; otherwise the leading
             * dot is removed, whatever follows it. */
            if (ch == '\r') {
                st = ST_DOT_CR;
            } else if (ch == '\n') {
                st = ST_DONE;           /* bare-LF server */
            } else {
                out[o++] = ch;
                st = ST_MID;
            }
            break;
        case ST_DOT_CR:
            if (ch == '\n') {
                st = ST_DONE;
            } else if (ch == '\r') {
                out[o++] = '\r';        /* ".\r\r": a CR line, dot removed */
                st = ST_CR;
            } else {
                out[o++] = '\r';
                out[o++] = ch;
                st = ST_MID;
            }
            break;
        }
    }
#undef EOL
    b->state = st;
    b->done = (st == ST_DONE);
    *in_used_r = i;
    *out_len_r = o;
    return b->done;
}

long pop3_body_feed(struct pop3_body *b, const char *in, size_t inlen,
                    pop3_body_out_fn *out, void *ctx, bool *done_r)
{
    char tmp[4096];
    size_t total = 0;

    if (inlen > LONG_MAX)
        inlen = LONG_MAX;
    while (total < inlen && !b->done) {
        size_t used, olen;
        pop3_body_decode(b, in + total, inlen - total, &used, tmp,
                         sizeof tmp, &olen);
        total += used;
        if (olen > 0 && out(ctx, tmp, olen) != 0)
            return -1;
    }
    *done_r = b->done;
    return (long)total;
}
