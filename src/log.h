/* Output levels and the --debug conversation trace.  Server text shown to a
 * user always goes through log_quote() first. */
#ifndef MPOP_LOG_H
#define MPOP_LOG_H

#include <stddef.h>
#include <stdio.h>

enum log_level {
    LOGLEVEL_QUIET = 0,      /* -q: errors only */
    LOGLEVEL_NORMAL = 1,     /* default */
    LOGLEVEL_DEBUG = 2       /* -d: the whole conversation */
};

extern enum log_level log_level;
/* Where normal and debug output goes (stdout unless changed). */
extern FILE *log_out;

/* Printed only with --debug.  log_debug() and log_error() pass the whole
 * text through the quoting below (LOG_QUOTE_MESSAGE), so an argument with
 * a server's bytes in it cannot reach the terminal raw. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed always, to stderr, prefixed with "mpop: " (the program name). */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_set_progname(const char *name);

/* --debug trace of one protocol line.  dir is "<-- " (received) or "--> "
 * (sent); the line is quoted.  A line that starts with PASS or carries a
 * secret must be passed with secret=1: it prints "PASS xxxx". */
void log_conv(const char *dir, const char *line, size_t len, int secret);

/* Terminal-safe quoting: the one function for every byte that comes from a
 * server, a certificate or a file name and reaches a terminal or a log.
 *
 * Valid UTF-8 that is not a control character stays as it is.  C0 control
 * characters, DEL, C1 control characters (a raw byte 0x80-0x9f as much as
 * U+0080-U+009F written as C2 80 - C2 9F) and every byte of an invalid,
 * overlong, surrogate, out-of-range or cut-off UTF-8 sequence become \xHH;
 * CR, LF and TAB become \r, \n and \t.  No escape sequence reaches a
 * terminal, and text without such bytes comes out unchanged (a backslash
 * too: a user name DOMAIN\user or a certificate's "O=Foo\, Inc." look as
 * mpop 1.4.18 shows them).
 *
 * Writes the quoted copy of p[0..len) into out (size outsz, always
 * NUL-terminated unless outsz is 0); when it does not fit, it ends in "..."
 * and never in half an escape or half a character.  Returns out. */
char *log_quote(char *out, size_t outsz, const char *p, size_t len);

enum log_quote_flag {
    /* '"' becomes \" and a backslash \\ too, so that the output reads
     * back unambiguously (runlog.c's quoted key=value values). */
    LOG_QUOTE_DQUOTE = 1u << 0,
    /* Our own message text (a translated format with its arguments filled
     * in): TAB stays as it is, so only what is dangerous changes
     * (logfile.c's lines). */
    LOG_QUOTE_MESSAGE = 1u << 1,
    /* LF stays too (log_error() and log_debug(), with LOG_QUOTE_MESSAGE). */
    LOG_QUOTE_KEEP_LF = 1u << 3,
    /* The terminal is not UTF-8 (an 8-bit locale such as ISO-8859-1):
     * bytes 0xa0-0xff stay as they are, 0x80-0x9f are still escaped. */
    LOG_QUOTE_8BIT = 1u << 2
};

/* The same quoting with flags, appended to b (as much as its cap allows,
 * never half an escape or half a character).  Returns 0, or -1 when the
 * cap cut it short. */
struct buf;
int log_quote_buf(struct buf *b, const char *p, size_t len, unsigned flags);

#endif
