/* log_quote() and log_quote_buf(): the terminal-safe quoting of every byte
 * a server, a certificate or a file name sends to a terminal or a log. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"         /* fuzz_terminal_safe() */
#include "log.h"
#include "tap.h"

static const struct {
    const char *name;
    const char *in;
    size_t len;             /* 0: strlen(in) */
    const char *want;
} cases[] = {
    { "plain ASCII", "+OK POP3 ready <1.2@host>", 0,
      "+OK POP3 ready <1.2@host>" },
    { "empty", "", 0, "" },
    { "CR LF TAB", "a\r\n\tb", 0, "a\\r\\n\\tb" },
    { "backslash stays (DOMAIN\\user)", "DOM\\u", 0, "DOM\\u" },
    { "certificate DN escapes stay", "O=Foo\\, Inc.", 0, "O=Foo\\, Inc." },
    { "double quote stays", "a\"b", 0, "a\"b" },
    { "NUL", "a\0b", 3, "a\\x00b" },
    { "ESC sequence", "\x1b[2J\x1b]0;owned\x07", 0,
      "\\x1b[2J\\x1b]0;owned\\x07" },
    { "DEL", "a\x7f", 0, "a\\x7f" },
    { "raw C1 CSI", "a\x9b" "31m", 0, "a\\x9b31m" },
    { "raw C1 OSC and ST", "\x9d" "0;x\x9c", 0, "\\x9d0;x\\x9c" },
    { "C1 CSI as UTF-8", "a\xc2\x9b" "31m", 0, "a\\xc2\\x9b31m" },
    { "U+0080 as UTF-8", "\xc2\x80", 0, "\\xc2\\x80" },
    { "U+009F as UTF-8", "\xc2\x9f", 0, "\\xc2\\x9f" },
    { "U+00A0 stays", "\xc2\xa0", 0, "\xc2\xa0" },
    { "two-byte UTF-8", "B\xc3\xbc" "cher", 0, "B\xc3\xbc" "cher" },
    { "three-byte UTF-8", "\xe2\x82\xac", 0, "\xe2\x82\xac" },
    { "four-byte UTF-8", "\xf0\x9f\x93\xa7", 0, "\xf0\x9f\x93\xa7" },
    { "U+10FFFF stays", "\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf" },
    { "lone continuation", "a\x80z", 0, "a\\x80z" },
    { "cut two-byte", "a\xc3", 0, "a\\xc3" },
    { "cut three-byte", "a\xe2\x82", 0, "a\\xe2\\x82" },
    { "cut four-byte then ASCII", "\xf0\x9f\x93z", 0,
      "\\xf0\\x9f\\x93z" },
    { "overlong slash", "\xc0\xaf", 0, "\\xc0\\xaf" },
    { "overlong C1", "\xc1\x9b", 0, "\\xc1\\x9b" },
    { "overlong three-byte", "\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf" },
    { "overlong four-byte", "\xf0\x80\x80\xaf", 0,
      "\\xf0\\x80\\x80\\xaf" },
    { "surrogate", "\xed\xa0\x80", 0, "\\xed\\xa0\\x80" },
    { "beyond U+10FFFF", "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80" },
    { "F5 and FF", "\xf5\xff", 0, "\\xf5\\xff" },
    { "Latin-1 is not UTF-8", "caf\xe9", 0, "caf\\xe9" },
    { "UTF-8 after an invalid byte", "\xff\xc3\xa9", 0,
      "\\xff\xc3\xa9" },
};

static const struct {
    const char *name;
    const char *in;
    unsigned flags;
    const char *want;
} flagged[] = {
    { "DQUOTE: quote escaped", "a\"b\\c", LOG_QUOTE_DQUOTE,
      "a\\\"b\\\\c" },
    { "MESSAGE: TAB stays, LF escaped", "one\n\ttwo \\x1b",
      LOG_QUOTE_MESSAGE, "one\\n\ttwo \\x1b" },
    { "DQUOTE: a backslash is escaped, so it reads back", "\\x41",
      LOG_QUOTE_DQUOTE, "\\\\x41" },
    { "MESSAGE and KEEP_LF: LF stays", "one\n\ttwo \\x1b",
      LOG_QUOTE_MESSAGE | LOG_QUOTE_KEEP_LF, "one\n\ttwo \\x1b" },
    { "MESSAGE: ESC and CR escaped", "a\x1b[0m\rb", LOG_QUOTE_MESSAGE,
      "a\\x1b[0m\\rb" },
    { "MESSAGE: C1 escaped", "a\xc2\x9b" "b\x9b", LOG_QUOTE_MESSAGE,
      "a\\xc2\\x9bb\\x9b" },
    { "8BIT: Latin-1 stays", "caf\xe9 \xa0", LOG_QUOTE_8BIT,
      "caf\xe9 \xa0" },
    { "8BIT: C1 escaped", "a\x9b" "b\x85", LOG_QUOTE_8BIT,
      "a\\x9bb\\x85" },
};

int main(void)
{
    char out[256];
    struct buf b;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);

        is_str(log_quote(out, sizeof out, cases[i].in, len), cases[i].want,
               "log_quote: %s", cases[i].name);
        ok(fuzz_terminal_safe(out, strlen(out), 0), "log_quote: %s: terminal-safe",
           cases[i].name);
        buf_init(&b, 1024);
        log_quote_buf(&b, cases[i].in, len, 0);
        is_str(b.data ? b.data : "", cases[i].want, "log_quote_buf: %s",
               cases[i].name);
        buf_clear(&b);
    }
    for (size_t i = 0; i < sizeof flagged / sizeof flagged[0]; i++) {
        buf_init(&b, 1024);
        log_quote_buf(&b, flagged[i].in, strlen(flagged[i].in),
                      flagged[i].flags);
        is_str(b.data ? b.data : "", flagged[i].want, "%s",
               flagged[i].name);
        buf_clear(&b);
    }

    /* Truncation: "..." at the end, never half an escape or character. */
    is_str(log_quote(out, 12, "abcdefghijklmnop", 16), "abcdefg...",
           "truncated with ...");
    is_str(log_quote(out, 12, "ab\x1b\x1b\x1b\x1b", 6), "ab\\x1b...",
           "truncated before a whole escape");
    is_str(log_quote(out, 12, "abc\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 12),
           "abc\xe2\x82\xac...", "truncated before a whole character");
    is_str(log_quote(out, 1, "abc", 3), "", "outsz 1: empty string");
    buf_init(&b, 5);
    is_int(log_quote_buf(&b, "ab\x1b", 3, 0), -1, "buf cap: -1");
    is_str(b.data, "ab", "buf cap: no half escape");
    buf_clear(&b);

    /* Every single byte and every pair: nothing dangerous survives. */
    {
        int bad = 0;
        unsigned char in[2];

        for (int x = 0; x < 256; x++) {
            for (int y = 0; y < 256; y++) {
                in[0] = (unsigned char)x;
                in[1] = (unsigned char)y;
                log_quote(out, sizeof out, (const char *)in, 2);
                if (!fuzz_terminal_safe(out, strlen(out), 0))
                    bad++;
            }
        }
        is_int(bad, 0, "all 65536 byte pairs come out terminal-safe");
    }
    done_testing();
}
