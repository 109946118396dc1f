#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "envelope.h"
#include "gettext.h"
#include "xalloc.h"

/* mbox (MBOXRD), in mpop 1.4.18's layout:
 *   From SENDER Sat Dec  5 03:04:05 2026      (asctime, UTC)
 *   Received: ...
 *   the mail, LF line ends, ^>*From  lines with one more '>'
 *   an empty line
 * The file is locked with fcntl for each mail.  Its length before the mail
 * is remembered, and abort or a failed write truncates back to it, so no
 * partial mail stays.  The empty separator line is written before the
 * fsync of commit, so every committed mail has it.
 *
 * The file is opened again for each mail: a mail reader may have replaced
 * it (rename) since the last one.  Mails committed with DEFER keep their fd
 * open until deliver_sync().
 *
 * The lock is a static helper here: src/lock.h did not exist yet when this
 * was written. */

/* Seconds to wait for another program's lock (mpop 1.4.18 gives up after
 * about the same time). */
#define MBOX_LOCK_TIMEOUT 10

struct mbox {
    char *path;
    int fd;                 /* -1 when no mail is open */
    off_t old_len;
    struct stat st;
    struct deliver_lines lines;
    int *pending;           /* fds of deferred commits */
    size_t npending, apending;
};

static int mbox_create(const char *arg, void **ctx_r, struct mp_err *e)
{
    struct mbox *m;

    if (!arg || !*arg)
        return err_set(e, MP_ECONFIG, _("delivery mbox: no file given"));
    m = xcalloc(1, sizeof *m);
    m->path = xstrdup(arg);
    m->fd = -1;
    *ctx_r = m;
    return 0;
}

static int lock_wait(int fd, const char *path, struct mp_err *e)
{
    struct flock fl;
    int tries;

    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    for (tries = 0; tries <= MBOX_LOCK_TIMEOUT * 10; tries++) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        if (fcntl(fd, F_SETLK, &fl) == 0)
            return 0;
        if (errno != EACCES && errno != EAGAIN && errno != EINTR)
            return err_set_errno(e, MP_EIO, errno, _("cannot lock %s"),
                                 path);
        nanosleep(&ts, NULL);
    }
    return err_set(e, MP_ETEMP, _("cannot lock %s: another program holds "
                                  "the lock (waited %d seconds)"), path,
                   MBOX_LOCK_TIMEOUT);
}

static void unlock(int fd)
{
    struct flock fl;

    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fcntl(fd, F_SETLK, &fl);
}

static int mbox_emit(void *arg, const char *p, size_t n, struct mp_err *e)
{
    struct mbox *m = arg;

    return deliver_write_fd(m->fd, p, n, m->path, e);
}

static int mbox_open(void *ctx, const struct deliver_msg_info *info,
                     struct mp_err *e)
{
    struct mbox *m = ctx;
    const char *from = info && info->envelope_from ? info->envelope_from
                       : "MAILER-DAEMON";
    time_t now = info && info->now ? info->now : time(NULL);
    char date[32];
    char *line;
    int r;

    m->fd = open(m->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m->fd < 0)
        return err_set_errno(e, MP_ECANTCREAT, errno, _("cannot open %s"),
                             m->path);
    if (lock_wait(m->fd, m->path, e) != 0)
        goto fail;
    if (fstat(m->fd, &m->st) != 0) {
        err_set_errno(e, MP_EIO, errno, _("cannot stat %s"), m->path);
        goto fail;
    }
    if (!S_ISREG(m->st.st_mode)) {
        err_set(e, MP_ECANTCREAT, _("%s is not a regular file"), m->path);
        goto fail;
    }
    m->old_len = m->st.st_size;
    if (lseek(m->fd, m->old_len, SEEK_SET) < 0) {
        err_set_errno(e, MP_EIO, errno, _("cannot seek in %s"), m->path);
        goto fail;
    }
    deliver_lines_init(&m->lines, false, true, mbox_emit, m);
    line = xasprintf("From %s %s\n", from,
                     envelope_from_date(now, date, sizeof date));
    r = deliver_lines_raw(&m->lines, line, strlen(line), e);
    free(line);
    if (r != 0)
        return -1;      /* the wrapper aborts: truncate and unlock */
    if (info && info->received
        && deliver_lines_write(&m->lines, info->received,
                               strlen(info->received), e) != 0)
        return -1;
    return 0;

fail:
    close(m->fd);
    m->fd = -1;
    return -1;
}

static int mbox_write(void *ctx, const char *p, size_t n, struct mp_err *e)
{
    struct mbox *m = ctx;

    return deliver_lines_write(&m->lines, p, n, e);
}

static void keep_pending(struct mbox *m, int fd)
{
    if (m->npending > 0) {
        struct stat st;
        if (fstat(m->pending[m->npending - 1], &st) == 0
            && st.st_dev == m->st.st_dev && st.st_ino == m->st.st_ino) {
            /* The same file: one fsync later covers both. */
            close(fd);
            return;
        }
    }
    if (m->npending == m->apending) {
        m->apending = m->apending ? 2 * m->apending : 4;
        m->pending = xreallocarray(m->pending, m->apending,
                                   sizeof *m->pending);
    }
    m->pending[m->npending++] = fd;
}

static int mbox_commit(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct mbox *m = ctx;
    int fd = m->fd;

    if (deliver_lines_finish(&m->lines, e) != 0
        || deliver_write_fd(fd, "\n", 1, m->path, e) != 0)
        return -1;
    if (!(cflags & DELIVER_COMMIT_DEFER) && fsync(fd) != 0)
        return err_set_errno(e, MP_EIO, errno, _("cannot sync %s"),
                             m->path);
    unlock(fd);
    m->fd = -1;
    if (cflags & DELIVER_COMMIT_DEFER) {
        keep_pending(m, fd);
        return 0;
    }
    if (close(fd) != 0)
        return err_set_errno(e, MP_EIO, errno, _("cannot close %s"),
                             m->path);
    return 0;
}

static void mbox_abort(void *ctx)
{
    struct mbox *m = ctx;

    if (m->fd < 0)
        return;
    /* Still under our lock: nobody appended after old_len. */
    if (ftruncate(m->fd, m->old_len) == 0)
        fsync(m->fd);
    unlock(m->fd);
    close(m->fd);
    m->fd = -1;
}

static int mbox_sync(void *ctx, struct mp_err *e)
{
    struct mbox *m = ctx;
    size_t i;
    int r = 0;

    for (i = 0; i < m->npending; i++) {
        if (r == 0 && fsync(m->pending[i]) != 0)
            r = err_set_errno(e, MP_EIO, errno, _("cannot sync %s"),
                              m->path);
        close(m->pending[i]);
    }
    m->npending = 0;
    return r;
}

static void mbox_free(void *ctx)
{
    struct mbox *m = ctx;
    size_t i;

    if (!m)
        return;
    mbox_abort(m);
    for (i = 0; i < m->npending; i++)
        close(m->pending[i]);
    free(m->pending);
    free(m->path);
    free(m);
}

const struct deliver_ops deliver_mbox_ops = {
    .name = "mbox",
    .flags = DELIVER_WANTS_FROM | DELIVER_MBOXRD,
    .create = mbox_create,
    .open = mbox_open,
    .write = mbox_write,
    .commit = mbox_commit,
    .abort = mbox_abort,
    .sync = mbox_sync,
    .free = mbox_free,
};
