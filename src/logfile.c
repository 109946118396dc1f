#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "gettext.h"
#include "log.h"
#include "logfile.h"

/* A line longer than this is cut (the log is for people, not archives). */
#define LINE_MAX_LEN 4096

int logfile_open(struct logfile *l, const char *spec, const char *ident,
                 struct mp_err *e)
{
    l->dest = LOGFILE_NONE;
    l->fd = -1;
    l->ident = ident;
    if (!spec || !*spec || strcmp(spec, "none") == 0)
        return 0;
    if (strcmp(spec, "syslog") == 0) {
        openlog(ident, LOG_PID, LOG_MAIL);
        l->dest = LOGFILE_SYSLOG;
        return 0;
    }
    l->fd = open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
                 0600);
    if (l->fd < 0)
        return err_set_errno(e, MP_ECANTCREAT, errno,
                             _("cannot open log file %s"), spec);
    l->dest = LOGFILE_FILE;
    return 0;
}

void logfile_close(struct logfile *l)
{
    if (l->dest == LOGFILE_SYSLOG)
        closelog();
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    l->dest = LOGFILE_NONE;
}

int logfile_active(const struct logfile *l)
{
    return l && l->dest != LOGFILE_NONE;
}

void logfile_line(struct logfile *l, enum logfile_prio prio,
                  const char *fmt, ...)
{
    static const int sysprio[] = {
        [LOGFILE_INFO] = LOG_INFO, [LOGFILE_NOTICE] = LOG_NOTICE,
        [LOGFILE_WARNING] = LOG_WARNING, [LOGFILE_ERR] = LOG_ERR
    };
    char text[LINE_MAX_LEN], stamp[64];
    struct buf out;
    struct tm tm;
    va_list ap;
    time_t t;
    size_t off;
    ssize_t w;
    int n;

    if (!logfile_active(l))
        return;
    va_start(ap, fmt);
    n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof text)
        n = (int)sizeof text - 1;
    buf_init(&out, LINE_MAX_LEN * 4 + 128);
    if (l->dest == LOGFILE_FILE) {
        t = time(NULL);
        localtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z", &tm);
        buf_printf(&out, "%s %s[%ld]: ", stamp, l->ident, (long)getpid());
    }
    log_quote_buf(&out, text, (size_t)n, LOG_QUOTE_MESSAGE);
    if (l->dest == LOGFILE_SYSLOG) {
        syslog(sysprio[prio], "%s", out.data ? out.data : "");
        buf_clear(&out);
        return;
    }
    buf_append_str(&out, "\n");
    /* One write per line: with O_APPEND, lines of parallel processes do
     * not interleave. */
    for (off = 0; off < out.len; off += (size_t)w) {
        w = write(l->fd, out.data + off, out.len - off);
        if (w < 0 && errno == EINTR) {
            w = 0;
            continue;
        }
        if (w <= 0)
            break;
    }
    buf_clear(&out);
}
