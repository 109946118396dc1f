/* Fuzz target: multi-line body decoding (pop3_body_feed, pop3_body_decode):
 * terminator, dot-unstuffing, CRLF / bare LF line ends.
 *
 * Input layout: byte 0 picks the line end (bit 0: CRLF), bytes 1-2 pick a
 * split point, byte 3 the output buffer size for the chunked run (2..65);
 * the rest is what the server sent after the status line.  The body is
 * decoded three ways and the results must agree byte for byte:
 *   1. a line-by-line reference decoder written here from RFC 1939 §3 and
 *      the rules in pop3_body.h (a differential oracle);
 *   2. pop3_body_feed over the whole input at once;
 *   3. pop3_body_decode over the input split in two at the chosen point,
 *      with the small output buffer, as a socket would deliver it. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "pop3_body.h"

struct outbuf {
    char *p;
    size_t len, cap;
};

static void put(struct outbuf *o, const char *p, size_t n)
{
    FUZZ_CHECK(o->len + n <= o->cap);
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static int feed_out(void *ctx, const char *p, size_t n)
{
    FUZZ_CHECK(n > 0 && n <= 4096);
    put(ctx, p, n);
    return 0;
}

/* The reference: returns the bytes consumed; *done_r as the decoder. */
static size_t reference(const char *in, size_t len, bool crlf,
                        struct outbuf *o, bool *done_r)
{
    size_t i = 0;

    *done_r = false;
    while (i < len) {
        const char *nl = memchr(in + i, '\n', len - i);
        size_t start = i, stop;

        if (in[i] == '.') {
            if (nl == in + i + 1
                || (nl == in + i + 2 && in[i + 1] == '\r')) {
                *done_r = true;
                return (size_t)(nl - in) + 1;
            }
            start++;
        }
        if (!nl) {
            /* An unfinished line: a final CR may still start a line end
             * and is held back. */
            stop = len;
            if (stop > start && in[stop - 1] == '\r')
                stop--;
            put(o, in + start, stop - start);
            return len;
        }
        stop = (size_t)(nl - in);
        if (stop > start && in[stop - 1] == '\r')
            stop--;
        put(o, in + start, stop - start);
        put(o, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
        i = (size_t)(nl - in) + 1;
    }
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct outbuf ref, fed, chunked;
    struct pop3_body b;
    const char *in;
    size_t len, split, outsz, ref_used, used, total, i;
    char small[65];
    bool crlf, ref_done, done;
    long r;

    if (size < 4)
        return 0;
    crlf = data[0] & 1;
    in = (const char *)data + 4;
    len = size - 4;
    split = ((size_t)data[1] << 8 | data[2]) % (len + 1);
    outsz = 2 + data[3] % 64;

    ref.cap = fed.cap = chunked.cap = 2 * len + 2;
    ref.p = malloc(ref.cap);
    fed.p = malloc(fed.cap);
    chunked.p = malloc(chunked.cap);
    FUZZ_CHECK(ref.p && fed.p && chunked.p);
    ref.len = fed.len = chunked.len = 0;

    ref_used = reference(in, len, crlf, &ref, &ref_done);

    pop3_body_init(&b, crlf ? POP3_BODY_CRLF : POP3_BODY_LF);
    r = pop3_body_feed(&b, in, len, feed_out, &fed, &done);
    FUZZ_CHECK(r >= 0 && (size_t)r <= len);
    FUZZ_CHECK(done == b.done);

    pop3_body_init(&b, crlf ? POP3_BODY_CRLF : POP3_BODY_LF);
    total = 0;
    for (i = 0; i < 2 && !b.done; i++) {
        size_t lo = i == 0 ? 0 : split, hi = i == 0 ? split : len;
        size_t pos = lo;

        /* Resume where the first part stopped if it ended early. */
        if (i == 1)
            pos = total;
        while (pos < hi && !b.done) {
            size_t olen;
            bool d = pop3_body_decode(&b, in + pos, hi - pos, &used, small,
                                      outsz, &olen);
            FUZZ_CHECK(d == b.done);
            FUZZ_CHECK(used <= hi - pos && olen <= outsz);
            FUZZ_CHECK(used > 0 || d);
            put(&chunked, small, olen);
            pos += used;
        }
        total = pos;
    }

    FUZZ_CHECK(done == ref_done && b.done == ref_done);
    FUZZ_CHECK((size_t)r == ref_used && total == ref_used);
    FUZZ_CHECK(fed.len == ref.len && chunked.len == ref.len);
    FUZZ_CHECK(memcmp(fed.p, ref.p, ref.len) == 0);
    FUZZ_CHECK(memcmp(chunked.p, ref.p, ref.len) == 0);

    free(ref.p);
    free(fed.p);
    free(chunked.p);
    return 0;
}
