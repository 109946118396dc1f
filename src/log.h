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

/* Printed unless quiet. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only with --debug. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed always, to stderr, prefixed with "mpop: " (the program name). */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_set_progname(const char *name);

/* --debug trace of one protocol line.  dir is "<-- " (received) or "--> "
 * (sent); the line is quoted.  A line that starts with PASS or carries a
 * secret must be passed with secret=1: it prints "PASS xxxx". */
void log_conv(const char *dir, const char *line, size_t len, int secret);

/* Writes a terminal-safe copy of p[0..len) into out (size outsz, always
 * NUL-terminated): printable ASCII and UTF-8 stay, other bytes become \xHH,
 * CR LF TAB become \r \n \t.  Returns out. */
char *log_quote(char *out, size_t outsz, const char *p, size_t len);

#endif
