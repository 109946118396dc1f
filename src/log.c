#include "config.h"

#include <langinfo.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "xalloc.h"

enum log_level log_level = LOGLEVEL_NORMAL;
FILE *log_out;
static const char *progname = "mpop";

void log_set_progname(const char *name)
{
    progname = name;
}

static FILE *out(void)
{
    return log_out ? log_out : stdout;
}

/* Prints fmt with its arguments to f, with every control character and
 * (in a UTF-8 locale) every invalid byte escaped: whatever an argument
 * holds, nothing reaches the terminal raw. */
static void vprint_safe(FILE *f, const char *fmt, va_list ap)
{
    static int utf8 = -1;
    char small[1024];
    char *text = small;
    struct buf b;
    va_list aq;
    int n;

    if (utf8 < 0) {
        const char *cs = nl_langinfo(CODESET);

        /* "ANSI_X3.4-1968" (the C locale) is ASCII: check it as UTF-8. */
        utf8 = !cs || strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0
            || strstr(cs, "ANSI") || strcmp(cs, "ASCII") == 0;
    }
    va_copy(aq, ap);
    n = vsnprintf(small, sizeof small, fmt, aq);
    va_end(aq);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof small) {
        text = xmalloc((size_t)n + 1);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
    }
    buf_init(&b, (size_t)n * 4 + 1);
    log_quote_buf(&b, text, (size_t)n,
                  LOG_QUOTE_MESSAGE | LOG_QUOTE_KEEP_LF
                  | (utf8 ? 0 : LOG_QUOTE_8BIT));
    if (b.len)
        fwrite(b.data, 1, b.len, f);
    buf_clear(&b);
    if (text != small)
        free(text);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    if (log_level < LOGLEVEL_DEBUG)
        return;
    va_start(ap, fmt);
    vprint_safe(out(), fmt, ap);
    va_end(ap);
}

void log_error(const char *fmt, ...)
{
    va_list ap;

    fflush(out());
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vprint_safe(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void log_conv(const char *dir, const char *line, size_t len, int secret)
{
    char q[2048];

    if (log_level < LOGLEVEL_DEBUG)
        return;
    if (secret) {
        /* Show the command word only: never a password. */
        size_t w = 0;
        while (w < len && line[w] != ' ')
            w++;
        log_quote(q, sizeof q, line, w);
        fprintf(out(), "%s%s xxxx\n", dir, q);
        return;
    }
    log_quote(q, sizeof q, line, len);
    fprintf(out(), "%s%s\n", dir, q);
}

/* The length (2 to 4) of the valid UTF-8 sequence at p that is not a
 * C1 control character, or 0 (RFC 3629 §4: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t len)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n, i;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        if (p[0] == 0xc2)
            lo = 0xa0;          /* C2 80 - C2 9F are U+0080-U+009F: C1 */
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        if (p[0] == 0xe0)
            lo = 0xa0;          /* overlong */
        else if (p[0] == 0xed)
            hi = 0x9f;          /* surrogates */
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        if (p[0] == 0xf0)
            lo = 0x90;          /* overlong */
        else if (p[0] == 0xf4)
            hi = 0x8f;          /* above U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* Quotes the character at p[0..len) (len >= 1) into tmp (at least
 * 5 bytes, not NUL-terminated): sets *n_r to the bytes written and
 * returns the bytes used from p. */
static size_t quote_one(const unsigned char *p, size_t len, unsigned flags,
                        char *tmp, size_t *n_r)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char ch = p[0];
    size_t u;

    if ((ch == '\t' && (flags & LOG_QUOTE_MESSAGE))
        || (ch == '\n' && (flags & LOG_QUOTE_KEEP_LF))) {
        tmp[0] = (char)ch;
        *n_r = 1;
        return 1;
    }
    if (ch == '\r' || ch == '\n' || ch == '\t'
        || ((ch == '"' || ch == '\\') && (flags & LOG_QUOTE_DQUOTE))) {
        tmp[0] = '\\';
        tmp[1] = ch == '\r' ? 'r' : ch == '\n' ? 'n' : ch == '\t' ? 't'
            : (char)ch;
        *n_r = 2;
        return 1;
    }
    if ((ch >= 0x20 && ch < 0x7f) || (ch >= 0xa0 && (flags & LOG_QUOTE_8BIT))) {
        tmp[0] = (char)ch;
        *n_r = 1;
        return 1;
    }
    if (ch >= 0x80 && !(flags & LOG_QUOTE_8BIT)
        && (u = utf8_len(p, len)) > 0) {
        memcpy(tmp, p, u);
        *n_r = u;
        return u;
    }
    tmp[0] = '\\';
    tmp[1] = 'x';
    tmp[2] = hex[ch >> 4];
    tmp[3] = hex[ch & 15];
    *n_r = 4;
    return 1;
}

char *log_quote(char *o, size_t outsz, const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0, j = 0;

    if (outsz == 0)
        return o;
    while (i < len) {
        char tmp[8];
        size_t n, used = quote_one(u + i, len - i, 0, tmp, &n);

        if (j + n + 4 >= outsz) {
            /* Mark truncation. */
            if (j + 3 < outsz) {
                memcpy(o + j, "...", 3);
                j += 3;
            }
            break;
        }
        memcpy(o + j, tmp, n);
        j += n;
        i += used;
    }
    o[j] = '\0';
    return o;
}

int log_quote_buf(struct buf *b, const char *p, size_t len, unsigned flags)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;

    while (i < len) {
        char tmp[8];
        size_t n, used = quote_one(u + i, len - i, flags, tmp, &n);

        if (buf_append(b, tmp, n) < 0)
            return -1;
        i += used;
    }
    return 0;
}
