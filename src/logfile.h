/* A log destination shared by mpop (--log) and mpopd (--log): nothing,
 * syslog (facility mail), or a file opened for appending, where each line
 * starts with an ISO 8601 time and "IDENT[PID]: " and goes out in one
 * write(2), so that lines of parallel processes never mix. */
#ifndef MPOP_LOGFILE_H
#define MPOP_LOGFILE_H

#include "err.h"

enum logfile_dest { LOGFILE_NONE = 0, LOGFILE_SYSLOG, LOGFILE_FILE };

/* The syslog priorities we use (<syslog.h> stays out of headers). */
enum logfile_prio {
    LOGFILE_INFO, LOGFILE_NOTICE, LOGFILE_WARNING, LOGFILE_ERR
};

struct logfile {
    enum logfile_dest dest;
    int fd;                 /* LOGFILE_FILE: opened O_APPEND; else -1 */
    const char *ident;      /* borrowed: "mpop", "mpopd" */
};

/* spec: NULL, "" or "none" (nothing), "syslog", or a file name (~ expanded
 * by the caller).  ident must outlive l.  Errors: MP_ECANTCREAT when the
 * file cannot be opened for appending (naming it). */
int logfile_open(struct logfile *l, const char *spec, const char *ident,
                 struct mp_err *e);
void logfile_close(struct logfile *l);
/* Whether lines go anywhere (l may be NULL). */
int logfile_active(const struct logfile *l);

/* One line (l may be NULL).  Control characters and invalid UTF-8 in it
 * are escaped (log_quote_buf()), so a peer's bytes cannot break lines or
 * reach a terminal that shows the log.  A line that cannot be written is
 * dropped: a log is never a reason to fail. */
void logfile_line(struct logfile *l, enum logfile_prio prio,
                  const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
