#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

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

void log_info(const char *fmt, ...)
{
    va_list ap;

    if (log_level < LOGLEVEL_NORMAL)
        return;
    va_start(ap, fmt);
    vfprintf(out(), fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    if (log_level < LOGLEVEL_DEBUG)
        return;
    va_start(ap, fmt);
    vfprintf(out(), fmt, ap);
    va_end(ap);
}

static void vlog_err(const char *kind, const char *fmt, va_list ap)
{
    fflush(out());
    fprintf(stderr, "%s: %s", progname, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void log_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog_err("", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog_err("warning: ", fmt, ap);
    va_end(ap);
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

char *log_quote(char *o, size_t outsz, const char *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t j = 0;

    if (outsz == 0)
        return o;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        char tmp[5];
        size_t n;

        if (ch == '\r') {
            memcpy(tmp, "\\r", 2); n = 2;
        } else if (ch == '\n') {
            memcpy(tmp, "\\n", 2); n = 2;
        } else if (ch == '\t') {
            memcpy(tmp, "\\t", 2); n = 2;
        } else if (ch == '\\') {
            memcpy(tmp, "\\\\", 2); n = 2;
        } else if (ch >= 0x20 && ch != 0x7f) {
            tmp[0] = (char)ch; n = 1;
        } else {
            tmp[0] = '\\'; tmp[1] = 'x';
            tmp[2] = hex[ch >> 4]; tmp[3] = hex[ch & 15]; n = 4;
        }
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
    }
    o[j] = '\0';
    return o;
}
