#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deliver.h"
#include "gettext.h"
#include "proc.h"
#include "xalloc.h"

/* `delivery mda CMD`: sh -c CMD with %F replaced by the sanitised envelope
 * sender, the mail on standard input with LF line ends (as mpop 1.4.18),
 * and an exit status of 0 meaning delivered.  Aborting stops the command
 * before its input is closed, and a guardian process does the same when
 * we die, even by SIGKILL: see proc.h (PROC_GUARDIAN). */

/* Time an MDA gets to clean up after SIGTERM before SIGKILL. */
#define MDA_GRACE_MS 2000

struct mda {
    char *cmd;          /* as configured */
    struct proc proc;
    bool running;
    struct deliver_lines lines;
};

static int mda_create(const char *arg, void **ctx_r, struct mp_err *e)
{
    struct mda *m;

    if (!arg || !*arg)
        return err_set(e, MP_ECONFIG, _("delivery mda: no command given"));
    m = xcalloc(1, sizeof *m);
    m->cmd = xstrdup(arg);
    m->proc.pid = -1;
    m->proc.in_fd = -1;
    m->proc.out_fd = -1;
    m->proc.ctl_fd = -1;
    m->proc.back_fd = -1;
    *ctx_r = m;
    return 0;
}

static bool mda_needs_from(const void *ctx)
{
    const struct mda *m = ctx;

    return strstr(m->cmd, "%F") != NULL;
}

static int mda_emit(void *arg, const char *p, size_t n, struct mp_err *e)
{
    struct mda *m = arg;

    return proc_write(&m->proc, p, n, e);
}

/* cmd with every %F replaced by from (already sanitised: shell-safe). */
static char *expand(const char *cmd, const char *from)
{
    struct buf b;
    const char *p;

    buf_init(&b, (size_t)-1 / 2);
    for (p = cmd; *p; p++) {
        if (p[0] == '%' && p[1] == 'F') {
            buf_append_str(&b, from);
            p++;
        } else {
            buf_append(&b, p, 1);
        }
    }
    return buf_steal(&b);
}

static int mda_open(void *ctx, const struct deliver_msg_info *info,
                    struct mp_err *e)
{
    struct mda *m = ctx;
    const char *from = info && info->envelope_from ? info->envelope_from
                       : "MAILER-DAEMON";
    char *cmd = expand(m->cmd, from);
    int r;

    r = proc_start(&m->proc, cmd, PROC_NEW_PGRP | PROC_GUARDIAN, e);
    free(cmd);
    if (r != 0)
        return -1;
    m->running = true;
    deliver_lines_init(&m->lines, false, false, mda_emit, m);
    if (info && info->received
        && deliver_lines_write(&m->lines, info->received,
                               strlen(info->received), e) != 0)
        return -1;
    return 0;
}

static int mda_write(void *ctx, const char *p, size_t n, struct mp_err *e)
{
    struct mda *m = ctx;

    return deliver_lines_write(&m->lines, p, n, e);
}

static int mda_finish(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct mda *m = ctx;

    return deliver_lines_finish(&m->lines, e);
}

static int mda_commit(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct mda *m = ctx;
    struct proc_status st;
    char why[128];
    int r;

    if (deliver_lines_finish(&m->lines, e) != 0)
        return -1;      /* the caller aborts, which stops the command */
    r = proc_wait(&m->proc, &st, e);
    m->running = false;
    proc_clear(&m->proc);
    if (r != 0)
        return -1;
    if (!proc_status_ok(&st))
        return err_set(e, MP_EDELIVERY, _("delivery command %s failed: %s"),
                       m->cmd, proc_status_str(&st, why, sizeof why));
    return 0;
}

static void mda_abort(void *ctx)
{
    struct mda *m = ctx;

    if (m->running) {
        proc_kill(&m->proc, MDA_GRACE_MS);
        proc_clear(&m->proc);
        m->running = false;
    }
}

static void mda_free(void *ctx)
{
    struct mda *m = ctx;

    if (!m)
        return;
    mda_abort(m);
    free(m->cmd);
    free(m);
}

const struct deliver_ops deliver_mda_ops = {
    .name = "mda",
    .flags = 0,
    .create = mda_create,
    .needs_from = mda_needs_from,
    .open = mda_open,
    .write = mda_write,
    .finish = mda_finish,
    .commit = mda_commit,
    .abort = mda_abort,
    .sync = NULL,       /* durability is the command's business */
    .free = mda_free,
};
