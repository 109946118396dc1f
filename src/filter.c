#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deliver_backend.h"
#include "filter.h"
#include "gettext.h"
#include "proc.h"
#include "xalloc.h"

/* A filter reads headers only; it should not need long to end after
 * SIGTERM. */
#define FILTER_GRACE_MS 1000

char *filter_expand(const char *cmd, const char *from, long long size)
{
    struct buf b;
    const char *p;

    buf_init(&b, (size_t)-1 / 2);
    for (p = cmd; *p; p++) {
        if (p[0] == '%' && p[1] == 'F') {
            buf_append_str(&b, from ? from : "MAILER-DAEMON");
            p++;
        } else if (p[0] == '%' && p[1] == 'S') {
            buf_printf(&b, "%lld", size < 0 ? 0LL : size);
            p++;
        } else {
            buf_append(&b, p, 1);
        }
    }
    return buf_steal(&b);
}

struct feed {
    struct proc *proc;
    bool closed;        /* the filter stopped reading: drop the rest */
};

static int feed_emit(void *arg, const char *p, size_t n, struct mp_err *e)
{
    struct feed *f = arg;

    if (f->closed)
        return 0;
    if (proc_write(f->proc, p, n, e) != 0) {
        if (errno != EPIPE)
            return -1;
        f->closed = true;
    }
    return 0;
}

int filter_run(const char *cmd, const char *from, long long size,
               const char *hdr, size_t len, enum filter_result *res_r,
               struct mp_err *e)
{
    struct deliver_lines *lines = xmalloc(sizeof *lines);
    char *full = filter_expand(cmd, from, size);
    struct proc proc;
    struct feed feed;
    struct proc_status st;
    char why[128];
    int r = -1;

    if (proc_start(&proc, full, PROC_NEW_PGRP, e) != 0) {
        err_prefix(e, _("filter %s: "), cmd);
        goto out;
    }
    feed.proc = &proc;
    feed.closed = false;
    deliver_lines_init(lines, false, false, feed_emit, &feed);
    if (deliver_lines_write(lines, hdr, len, e) != 0
        || deliver_lines_finish(lines, e) != 0) {
        proc_kill(&proc, FILTER_GRACE_MS);
        proc_clear(&proc);
        err_prefix(e, _("filter %s: "), cmd);
        goto out;
    }
    r = proc_wait(&proc, &st, e);
    proc_clear(&proc);
    if (r != 0)
        goto out;
    if (st.how == PROC_EXITED && st.code >= 0 && st.code <= 2) {
        *res_r = (enum filter_result)st.code;
    } else {
        r = err_set(e, MP_EFILTER, _("filter command %s failed: %s"), cmd,
                    proc_status_str(&st, why, sizeof why));
    }

out:
    free(lines);
    free(full);
    return r;
}
