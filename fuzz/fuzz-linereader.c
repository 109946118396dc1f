/* Fuzz target: the line reader (linereader_getline, linereader_peek,
 * linereader_consume) over a memory transport that hands out the peer's
 * bytes in fuzzer-chosen chunk sizes, with multi-line bodies read through
 * the reader into a pop3_body decoder, as the session engine does.
 *
 * Input layout: byte 0 is the script (bit k set: the k-th step, modulo 8,
 * reads a multi-line body; clear: one line), bytes 1-2 the longest line
 * accepted (0..2047), byte 3 seeds the chunk sizes, byte 4 says how often
 * the rest is repeated (1..64, so that small inputs still cross the 16 KiB
 * buffer); the rest is what the server sends.
 *
 * Every result is compared with a reference computed on the whole stream:
 * the line the reader returns (or its error kind), and the decoded body and
 * the bytes it used (pop3_body_feed on the rest of the stream, itself
 * checked by fuzz-pop3-body).  Reading stops at the first error, as the
 * engine does. */
#include "config.h"

#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "linereader.h"
#include "pop3_body.h"
#include "transport.h"

struct mem {
    const char *p;
    size_t len, pos;
    unsigned seed, calls;
};

static ssize_t mem_read(struct transport *t, void *buf, size_t n,
                        struct mp_err *e)
{
    struct mem *m = t->ctx;
    size_t chunk;

    FUZZ_CHECK(n > 0);
    if (m->pos == m->len)
        return 0;
    m->calls++;
    chunk = 1 + (m->seed * 2654435761u + m->calls * 40503u) % 3000;
    if (chunk > n)
        chunk = n;
    if (chunk > m->len - m->pos)
        chunk = m->len - m->pos;
    memcpy(buf, m->p + m->pos, chunk);
    m->pos += chunk;
    return (ssize_t)chunk;
}

static int mem_write(struct transport *t, const void *buf, size_t n,
                     struct mp_err *e)
{
    return 0;
}

static const struct transport_ops mem_ops = {
    .name = "fuzz-memory",
    .read = mem_read,
    .write = mem_write,
    .pending = NULL,
    .close = NULL,
};

struct sink {
    char *p;
    size_t len, cap;
};

static int sink_out(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;

    FUZZ_CHECK(s->len + n <= s->cap);
    memcpy(s->p + s->len, p, n);
    s->len += n;
    return 0;
}

/* The reference for one getline at stream position pos: returns the kind
 * (MP_EOK, MP_EPROTO or MP_EIO) and, for MP_EOK, the line and the next
 * position. */
static enum mp_err_kind ref_line(const char *s, size_t len, size_t pos,
                                 size_t max_line, size_t *llen_r,
                                 size_t *next_r)
{
    const char *lf = memchr(s + pos, '\n', len - pos);
    size_t raw;

    if (!lf)
        return len - pos >= max_line + 2 ? MP_EPROTO : MP_EIO;
    raw = (size_t)(lf - (s + pos));
    if (raw >= max_line + 2)
        return MP_EPROTO;
    if (raw > 0 && s[pos + raw - 1] == '\r')
        raw--;
    if (raw > max_line || memchr(s + pos, '\0', raw))
        return MP_EPROTO;
    *llen_r = raw;
    *next_r = (size_t)(lf - s) + 1;
    return MP_EOK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct transport t = { .ops = &mem_ops, .fd = -1, .out_fd = -1 };
    struct linereader r;
    struct mem m;
    struct mp_err e;
    char *stream, *out;
    size_t max_line, reps, len, pos = 0, i, step;
    unsigned script;

    if (size < 5)
        return 0;
    script = data[0];
    max_line = ((size_t)data[1] << 8 | data[2]) % 2048;
    reps = 1 + data[4] % 64;
    len = (size - 5) * reps;
    stream = malloc(len ? len : 1);
    FUZZ_CHECK(stream != NULL);
    for (i = 0; i < reps; i++)
        memcpy(stream + i * (size - 5), data + 5, size - 5);
    out = malloc(2 * len + 2);
    FUZZ_CHECK(out != NULL);

    m.p = stream;
    m.len = len;
    m.pos = 0;
    m.seed = data[3];
    m.calls = 0;
    t.ctx = &m;
    linereader_init(&r, &t, max_line);

    for (step = 0;; step++) {
        err_init(&e);
        if (!(script & (1u << (step % 8)))) {
            const char *line;
            size_t llen = 0, rlen = 0, next = 0;
            enum mp_err_kind want = ref_line(stream, len, pos, max_line,
                                             &rlen, &next);
            int rc = linereader_getline(&r, &line, &llen, &e);

            if (want != MP_EOK) {
                FUZZ_CHECK(rc == -1 && e.kind == want);
                break;
            }
            FUZZ_CHECK(rc == 0);
            FUZZ_CHECK(llen == rlen && memcmp(line, stream + pos, llen) == 0);
            FUZZ_CHECK(line[llen] == '\0');
            pos = next;
        } else {
            struct pop3_body b, rb;
            struct sink want = { out, 0, 2 * len + 2 };
            char got[512];
            size_t got_len = 0, start = pos;
            bool done = false;
            long used;

            /* The reference, on the rest of the stream. */
            pop3_body_init(&rb, POP3_BODY_CRLF);
            used = pop3_body_feed(&rb, stream + pos, len - pos, sink_out,
                                  &want, &done);
            FUZZ_CHECK(used >= 0);

            pop3_body_init(&b, POP3_BODY_CRLF);
            while (!b.done) {
                const char *p;
                size_t n, in_used, olen;

                if (linereader_peek(&r, &p, &n, &e) != 0) {
                    FUZZ_CHECK(!done && e.kind == MP_EIO);
                    break;
                }
                FUZZ_CHECK(n > 0);
                pop3_body_decode(&b, p, n, &in_used, got, sizeof got, &olen);
                FUZZ_CHECK(got_len + olen <= want.len);
                FUZZ_CHECK(memcmp(want.p + got_len, got, olen) == 0);
                got_len += olen;
                linereader_consume(&r, in_used);
                pos += in_used;
            }
            if (!b.done)
                break;
            FUZZ_CHECK(done && got_len == want.len);
            FUZZ_CHECK(pos - start == (size_t)used);
        }
        /* What the reader holds plus what the transport still has is the
         * rest of the stream. */
        FUZZ_CHECK(linereader_buffered(&r) + (m.len - m.pos) == len - pos);
    }
    linereader_clear(&r);
    free(out);
    free(stream);
    return 0;
}
