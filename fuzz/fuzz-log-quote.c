/* Fuzz target: log_quote() and log_quote_buf(), the terminal-safe quoting
 * of server, certificate and file name bytes.  Asserts that no control
 * byte and no invalid UTF-8 survives, that the output fits, and that the
 * LOG_QUOTE_DQUOTE output (which escapes backslashes) reads back to the
 * input.  The first byte chooses the output size and the flags. */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "log.h"

/* Reads a LOG_QUOTE_DQUOTE quoting back; returns the length, or -1 when
 * it holds something log_quote_buf() never writes. */
static long unquote(const char *q, size_t n, char *out)
{
    size_t i = 0, j = 0;

    while (i < n) {
        if (q[i] != '\\') {
            out[j++] = q[i++];
            continue;
        }
        if (i + 1 >= n)
            return -1;
        switch (q[i + 1]) {
        case 'r': out[j++] = '\r'; i += 2; break;
        case 'n': out[j++] = '\n'; i += 2; break;
        case 't': out[j++] = '\t'; i += 2; break;
        case '\\': out[j++] = '\\'; i += 2; break;
        case '"': out[j++] = '"'; i += 2; break;
        case 'x': {
            static const char hex[] = "0123456789abcdef";
            const char *h, *l;

            if (i + 3 >= n || !(h = strchr(hex, q[i + 2])) || !q[i + 2]
                || !(l = strchr(hex, q[i + 3])) || !q[i + 3])
                return -1;
            out[j++] = (char)((h - hex) << 4 | (l - hex));
            i += 4;
            break;
        }
        default:
            return -1;
        }
    }
    return (long)j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[4 * 4096 + 8], back[4096 + 8];
    const char *p = (const char *)data + 1;
    size_t len, outsz, qlen;
    unsigned flags;
    struct buf b;

    if (size < 1 || size > 4096)
        return 0;
    len = size - 1;
    /* Full size, or a small one that truncates. */
    outsz = data[0] & 0x80 ? (size_t)(data[0] & 0x3f) : sizeof out;
    flags = data[0] & 0xfu;

    log_quote(out, outsz, p, len);
    if (outsz > 0) {
        qlen = strlen(out);
        FUZZ_CHECK(qlen < outsz);
        FUZZ_CHECK(fuzz_terminal_safe(out, qlen, 0));
    }

    /* DQUOTE reads back to the input. */
    buf_init(&b, 4 * len + 1);
    FUZZ_CHECK(log_quote_buf(&b, p, len, LOG_QUOTE_DQUOTE) == 0);
    FUZZ_CHECK(fuzz_terminal_safe(b.data ? b.data : "", b.len, 0));
    {
        long n = unquote(b.data ? b.data : "", b.len, back);

        FUZZ_CHECK(n == (long)len && memcmp(back, p, len) == 0);
    }
    buf_clear(&b);

    buf_init(&b, data[0] & 0x40 ? len : 4 * len + 1);
    log_quote_buf(&b, p, len, flags);
    if (b.len) {
        if (flags & LOG_QUOTE_8BIT) {
            for (size_t i = 0; i < b.len; i++) {
                unsigned char c = (unsigned char)b.data[i];

                FUZZ_CHECK(c >= 0x20
                           || ((flags & LOG_QUOTE_MESSAGE) && c == '\t')
                           || ((flags & LOG_QUOTE_KEEP_LF) && c == '\n'));
                FUZZ_CHECK(c != 0x7f && (c < 0x80 || c >= 0xa0));
            }
        } else {
            FUZZ_CHECK(fuzz_terminal_safe(b.data, b.len, !!(flags
                       & (LOG_QUOTE_MESSAGE | LOG_QUOTE_KEEP_LF))));
        }
        if (flags == 0)
            FUZZ_CHECK(b.len <= sizeof out && memcmp(b.data, out,
                       outsz == sizeof out ? b.len : 0) == 0);
    }
    buf_clear(&b);
    return 0;
}
