#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "buf.h"
#include "deliver_backend.h"
#include "durable.h"
#include "gettext.h"
#include "paths.h"
#include "proc.h"
#include "transport.h"
#include "xalloc.h"

/* `delivery mda CMD`: sh -c CMD with %F replaced by the sanitised envelope
 * sender, the mail on standard input with LF line ends (as mpop 1.4.18),
 * and an exit status of 0 meaning delivered.
 *
 * The MDA never sees a fragment (issue 17): many MDAs act as they read
 * (`cat >> file`, ticket importers), so the mail is spooled whole first
 * and the MDA is started only at commit, with the spool itself as its
 * standard input:
 *   - a mail that fits the converter's buffer (DELIVER_LINES_BUFSZ, 64
 *     KiB) is written at once into a new pipe, whose write end is closed
 *     before the MDA starts: the pipe holds the whole mail and no writer;
 *   - a bigger one goes to an unlinked temporary file (O_TMPFILE, or
 *     mkstemp() and unlink()) in the private state directory
 *     ($XDG_STATE_HOME/mpop, else ~/.local/state/mpop, else $TMPDIR or
 *     /tmp), rewound before the MDA starts; memory stays flat.
 * Either way the MDA's input does not depend on us any more: killed, even
 * by SIGKILL, we leave an MDA that completes its delivery (and, for a
 * mail that was not yet handed over, nothing at all: the file has no
 * name).  A SIGTERM, SIGINT or SIGHUP while the MDA runs lets it finish:
 * we wait for its exit status, at most MDA_STOP_BOUND_MS after the
 * signal, and only then stop it (SIGTERM to its process group, SIGKILL
 * MDA_GRACE_MS later) and say so. */

/* How long an MDA may keep running after a signal asked us to stop; then
 * it is stopped.  Documented in the manual (Guarantees). */
#define MDA_STOP_BOUND_MS 30000
/* Time a stopped MDA gets to clean up after SIGTERM before SIGKILL. */
#define MDA_GRACE_MS 2000

struct mda {
    char *cmd;          /* as configured */
    char *run;          /* for this mail, %F expanded; NULL when none */
    int fd;             /* the spool file, or the pipe's read end; -1 */
    bool file;          /* fd is the spool file */
    long long size;     /* bytes spooled */
    struct deliver_lines lines;
};

static int mda_create(const char *arg, void **ctx_r, struct mp_err *e)
{
    struct mda *m;

    if (!arg || !*arg)
        return err_set(e, MP_ECONFIG, _("delivery mda: no command given"));
    m = xcalloc(1, sizeof *m);
    m->cmd = xstrdup(arg);
    m->fd = -1;
    *ctx_r = m;
    return 0;
}

static bool mda_needs_from(const void *ctx)
{
    const struct mda *m = ctx;

    return strstr(m->cmd, "%F") != NULL;
}

/* An unnamed file in dir, or -1. */
static int spool_in(const char *dir)
{
    char *tmpl;
    int fd;

#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
#endif
    tmpl = xasprintf("%s/mda-spool.XXXXXX", dir);
    fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd >= 0)
        unlink(tmpl);
    free(tmpl);
    return fd;
}

static int spool_open(struct mda *m, struct mp_err *e)
{
    char *dir = paths_xdg_state("mpop");
    const char *tmp = getenv("TMPDIR");
    struct mp_err ign;
    int saved;

    err_init(&ign);
    if (durable_mkdirs(dir, 0700, &ign) == 0)
        m->fd = spool_in(dir);
    if (m->fd < 0)
        m->fd = spool_in(tmp && *tmp ? tmp : "/tmp");
    saved = errno;
    if (m->fd < 0) {
        err_set_errno(e, MP_EIO, saved,
                      _("cannot create a spool file for the mail in %s or "
                        "in %s"), dir, tmp && *tmp ? tmp : "/tmp");
        free(dir);
        return -1;
    }
    free(dir);
    m->file = true;
    return 0;
}

/* Called only when the converter's buffer is full, or at finish. */
static int mda_emit(void *arg, const char *p, size_t n, struct mp_err *e)
{
    struct mda *m = arg;

    if (m->fd < 0 && spool_open(m, e) != 0)
        return -1;
    if (deliver_write_fd(m->fd, p, n, _("the mail's spool file"), e) != 0)
        return -1;
    m->size += (long long)n;
    return 0;
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

static void mda_abort(void *ctx)
{
    struct mda *m = ctx;

    /* Nothing was started: the spool goes, and with it every trace. */
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    m->file = false;
    free(m->run);
    m->run = NULL;
}

static int mda_open(void *ctx, const struct deliver_msg_info *info,
                    struct mp_err *e)
{
    struct mda *m = ctx;
    const char *from = info && info->envelope_from ? info->envelope_from
                       : "MAILER-DAEMON";

    mda_abort(m);
    m->run = expand(m->cmd, from);
    m->size = 0;
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

/* A small mail: into a pipe that then holds all of it, with no writer
 * left once the MDA starts.  false (nothing changed) when it does not
 * fit at once. */
static bool spool_pipe(struct mda *m)
{
    int fds[2];
    ssize_t w;

    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return false;
    do
        w = write(fds[1], m->lines.buf, m->lines.n);
    while (w < 0 && errno == EINTR);
    close(fds[1]);
    if (w != (ssize_t)m->lines.n) {
        close(fds[0]);
        return false;
    }
    /* The MDA's reads must block like on any pipe. */
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) & ~O_NONBLOCK);
    m->fd = fds[0];
    m->size = (long long)m->lines.n;
    m->lines.n = 0;
    return true;
}

static int mda_finish(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct mda *m = ctx;

    (void)cflags;
    if (deliver_lines_end(&m->lines, e) != 0)
        return -1;
    if (m->fd < 0 && spool_pipe(m))
        return 0;
    if (deliver_lines_finish(&m->lines, e) != 0)
        return -1;
    if (lseek(m->fd, 0, SEEK_SET) != 0)
        return err_set_errno(e, MP_EIO, errno,
                             _("cannot rewind the mail's spool file"));
    return 0;
}

/* Whether the MDA left part of its input unread.  As with mpop 1.4.18,
 * whose write into the pipe failed then, only a mail bigger than a pipe
 * buffer can tell: a small one counts as read. */
static bool unread(const struct mda *m)
{
    off_t pos;

    if (!m->file)
        return false;
    pos = lseek(m->fd, 0, SEEK_CUR);    /* shared with the MDA's stdin */
    return pos >= 0 && pos < m->size;
}

/* MDA_STOP_BOUND_MS, or MPOP_TEST_MDA_STOP_MS for the tests. */
static int stop_bound_ms(void)
{
    const char *s = getenv("MPOP_TEST_MDA_STOP_MS");
    long v = s && *s ? strtol(s, NULL, 10) : 0;

    return v > 0 && v < MDA_STOP_BOUND_MS ? (int)v : MDA_STOP_BOUND_MS;
}

static int mda_commit(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct mda *m = ctx;
    struct proc proc;
    struct proc_status st;
    char why[128];
    int r, bound = stop_bound_ms();

    (void)cflags;
    if (proc_start_fd(&proc, m->run, PROC_NEW_PGRP, m->fd, e) != 0)
        return -1;
    r = proc_wait_bounded(&proc, &transport_interrupted, bound, &st, e);
    if (r == 1) {
        proc_kill(&proc, MDA_GRACE_MS);
        proc_clear(&proc);
        return err_set(e, MP_ESIGNAL,
                       _("delivery command %s was still running %d "
                         "seconds after the signal to stop: it was "
                         "stopped, and the mail counts as not delivered"),
                       m->cmd, (bound + 999) / 1000);
    }
    proc_clear(&proc);
    if (r != 0)
        return -1;
    if (!proc_status_ok(&st))
        return err_set(e, MP_EDELIVERY, _("delivery command %s failed: %s"),
                       m->cmd, proc_status_str(&st, why, sizeof why));
    if (unread(m))
        return err_set(e, MP_EDELIVERY,
                       _("delivery command %s failed: %s without reading "
                         "the whole mail"), m->cmd,
                       proc_status_str(&st, why, sizeof why));
    mda_abort(m);   /* done: the spool goes */
    return 0;
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
