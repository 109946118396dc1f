#include "config.h"

#include <string.h>

#include "pop3_body.h"
#include "tap.h"

struct collect {
    char buf[1024];
    size_t len;
    int calls;
    int fail_at;        /* fail the Nth call (1-based); 0 never */
};

static int collect_out(void *ctx, const char *p, size_t n)
{
    struct collect *c = ctx;

    c->calls++;
    if (c->fail_at && c->calls == c->fail_at)
        return -1;
    if (n == 0 || c->len + n > sizeof c->buf)
        return -1;
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    return 0;
}

static const struct {
    const char *name;
    const char *in;
    const char *lf;         /* output with POP3_BODY_LF */
    const char *crlf;       /* output with POP3_BODY_CRLF */
    int done;
    size_t used;            /* input consumed; (size_t)-1 = all */
} cases[] = {
    { "empty body", ".\r\n", "", "", 1, 3 },
    { "empty body, bare LF", ".\n", "", "", 1, 2 },
    { "one empty line", "\r\n.\r\n", "\n", "\r\n", 1, 5 },
    { "simple", "a\r\nb\r\n.\r\n", "a\nb\n", "a\r\nb\r\n", 1, 9 },
    { "bare LF server", "a\nb\n.\n", "a\nb\n", "a\r\nb\r\n", 1, 6 },
    { "mixed ends", "a\r\nb\n.\r\n", "a\nb\n", "a\r\nb\r\n", 1, 8 },
    { "dot-stuffed", "..a\r\n..\r\n.\r\n", ".a\n.\n", ".a\r\n.\r\n", 1, 12 },
    { "unstuffed dot line", ".a\r\n.\r\n", "a\n", "a\r\n", 1, 7 },
    { "dot inside line", "a.\r\n a .\r\n.\r\n", "a.\n a .\n",
      "a.\r\n a .\r\n", 1, 13 },
    { "lone CR is data", "a\rb\r\n.\r\n", "a\rb\n", "a\rb\r\n", 1, 8 },
    { "CR CR LF", "a\r\r\n.\r\n", "a\r\n", "a\r\r\n", 1, 7 },
    { "dot CR x", ".\rx\r\n.\r\n", "\rx\n", "\rx\r\n", 1, 8 },
    { "dot CR CR LF", ".\r\r\n.\r\n", "\r\n", "\r\r\n", 1, 7 },
    { "stops after terminator", "a\r\n.\r\n+OK next\r\n", "a\n", "a\r\n",
      1, 6 },
    { "terminator not at line start", "a.\r\n", "a.\n", "a.\r\n", 0,
      (size_t)-1 },
    { "missing terminator", "a\r\nb\r\n", "a\nb\n", "a\r\nb\r\n", 0,
      (size_t)-1 },
    { "cut after dot", "a\r\n.", "a\n", "a\r\n", 0, (size_t)-1 },
    { "cut after dot CR", "a\r\n.\r", "a\n", "a\r\n", 0, (size_t)-1 },
    { "last line without end", "a\r\nxyz", "a\nxyz", "a\r\nxyz", 0,
      (size_t)-1 },
    { "header and body", "From: x\r\n\r\nbody\r\n.\r\n",
      "From: x\n\nbody\n", "From: x\r\n\r\nbody\r\n", 1, 20 },
    { "binary bytes", "\x01\xff\x00z\r\n.\r\n", "\x01\xff", "\x01\xff", 1,
      9 },
};

/* Feeds in[0..n) in pieces given by split (0: all at once; k: a first
 * chunk of k bytes then the rest; -1: one byte at a time). */
static void run(size_t ci, enum pop3_body_eol eol, long split,
                size_t outsz, const char *label)
{
    const char *in = cases[ci].in;
    size_t n = strlen(in);
    const char *want = eol == POP3_BODY_LF ? cases[ci].lf : cases[ci].crlf;
    size_t wantlen = strlen(want);
    size_t wantused = cases[ci].used == (size_t)-1 ? n : cases[ci].used;
    struct pop3_body b;
    char out[1024];
    size_t olen = 0, pos = 0;

    /* The binary case has a NUL in its input. */
    if (strcmp(cases[ci].name, "binary bytes") == 0) {
        n = 9;
        wantused = 9;
        if (eol == POP3_BODY_LF)
            want = "\x01\xff\0z\n";
        else
            want = "\x01\xff\0z\r\n";
        wantlen = strlen(want + 3) + 3;
    }
    pop3_body_init(&b, eol);
    while (pos < n && !b.done) {
        size_t chunk = n - pos;
        if (split < 0)
            chunk = 1;
        else if (split > 0 && pos == 0 && (size_t)split < n)
            chunk = (size_t)split;
        size_t off = 0;
        while (off < chunk && !b.done) {
            size_t used, got;
            size_t room = outsz < sizeof out - olen ? outsz
                                                    : sizeof out - olen;
            pop3_body_decode(&b, in + pos + off, chunk - off, &used,
                             out + olen, room, &got);
            off += used;
            olen += got;
            if (used == 0 && !b.done)
                break;
        }
        pos += off;
        if (off < chunk && !b.done)
            break;
    }
    ok((int)b.done == cases[ci].done && pos == wantused
       && olen == wantlen && memcmp(out, want, olen) == 0,
       "%s: %s, %s, split %ld, out %zu", cases[ci].name, label,
       eol == POP3_BODY_LF ? "LF" : "CRLF", split, outsz);
}

int main(void)
{
    size_t ncases = sizeof cases / sizeof cases[0];

    for (size_t ci = 0; ci < ncases; ci++) {
        size_t n = strlen(cases[ci].in);
        if (strcmp(cases[ci].name, "binary bytes") == 0)
            n = 9;
        for (int e = 0; e < 2; e++) {
            enum pop3_body_eol eol = e ? POP3_BODY_CRLF : POP3_BODY_LF;
            run(ci, eol, 0, 1024, "whole");
            run(ci, eol, -1, 1024, "bytewise");
            run(ci, eol, 0, 2, "whole");
            for (size_t k = 1; k < n; k++)
                run(ci, eol, (long)k, 1024, "split");
        }
    }

    /* pop3_body_feed: a 10000-line body with stuffed dots comes out in
     * 4 KiB pieces and equal to the original. */
    {
        static char in[200000], want[200000];
        size_t n = 0, w = 0;
        for (int i = 0; i < 10000; i++) {
            const char *line = (i % 7 == 0) ? "..dot line" : "plain";
            size_t l = strlen(line);
            memcpy(in + n, line, l);
            n += l;
            memcpy(in + n, "\r\n", 2);
            n += 2;
            memcpy(want + w, line + (i % 7 == 0), l - (i % 7 == 0));
            w += l - (i % 7 == 0);
            want[w++] = '\n';
        }
        memcpy(in + n, ".\r\nNEXT", 7);
        n += 7;
        struct pop3_body b;
        static struct {
            size_t len;
            char buf[200000];
            int calls;
        } got;
        bool done = false;
        long used = 0;
        pop3_body_init(&b, POP3_BODY_LF);
        /* Feed in odd chunks of 1000 bytes. */
        while (used < (long)n && !done) {
            size_t chunk = n - (size_t)used < 1000 ? n - (size_t)used : 1000;
            struct collect c = { .len = 0 };
            long r = pop3_body_feed(&b, in + used, chunk, collect_out, &c,
                                    &done);
            if (r < 0)
                break;
            memcpy(got.buf + got.len, c.buf, c.len);
            got.len += c.len;
            used += r;
        }
        ok(done, "feed: terminator found");
        is_int(used, (long)n - 4, "feed: stops before the next reply");
        is_mem(got.buf, got.len, want, w, "feed: body intact");
    }
    {
        struct pop3_body b;
        struct collect c = { .len = 0, .fail_at = 1 };
        bool done;
        pop3_body_init(&b, POP3_BODY_LF);
        is_int(pop3_body_feed(&b, "abc\r\n.\r\n", 8, collect_out, &c, &done),
               -1, "feed: a failing callback stops it");
    }
    {
        struct pop3_body b;
        size_t used, olen;
        char out[4];
        pop3_body_init(&b, POP3_BODY_LF);
        pop3_body_decode(&b, "abc", 3, &used, out, 1, &olen);
        ok(used == 0 && olen == 0, "decode: no room, no progress");
        pop3_body_decode(&b, ".\r\n", 3, &used, out, sizeof out, &olen);
        ok(b.done && used == 3 && olen == 0, "decode: empty body");
        pop3_body_decode(&b, "x", 1, &used, out, sizeof out, &olen);
        ok(used == 0 && olen == 0, "decode: nothing after done");
    }
    return done_testing();
}
