#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deliver_backend.h"
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
 * was written.
 *
 * Crash recovery (deliver.h, "tokens").  The token written to the journal
 * after the lock is taken and before the first byte is
 *     mb/DEV/INO/OLD/LEN/HASH
 * (the file's identity, its length before the mail, the length and FNV-1a
 * hash of our From_ line), and once the blank separator line is written
 *     mb/DEV/INO/OLD/LEN/HASH/END
 * mbox_check() takes the same lock, and decides:
 *   - another file now (identity differs) or none: not delivered, nothing
 *     touched (a mail reader replaced the file; we cannot tell more);
 *   - END known, the file at least END long, our From_ line at OLD and a
 *     blank line before END: delivered;
 *   - otherwise, when the bytes at OLD are our From_ line (or, for a
 *     fragment shorter than it, a prefix of "From "): they are ours and
 *     incomplete.  Our own quoting (MBOXRD) guarantees no line of our mail
 *     starts with "From ", so a later line that does is another program's
 *     mail appended after we died: then nothing is touched and the check
 *     fails (MP_EDATA, naming the file and offset) for the user to repair;
 *     else the file is truncated back to OLD and synced: not delivered.
 * A mail complete on disk whose END record was not written (a kill between
 * the last byte and the record) is therefore removed and fetched again:
 * exactly once, at the price of a second transfer. */

/* Seconds to wait for another program's lock (mpop 1.4.18 gives up after
 * about the same time). */
#define MBOX_LOCK_TIMEOUT 10

struct mbox {
    char *path;
    int fd;                 /* -1 when no mail is open */
    off_t old_len;
    struct stat st;
    bool finished;
    char tok[DELIVER_TOKEN_SZ];
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

static unsigned long fnv1a(const char *p, size_t n)
{
    unsigned long h = 2166136261UL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h = (h * 16777619UL) & 0xffffffffUL;
    }
    return h;
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
    m->finished = false;
    deliver_lines_init(&m->lines, false, true, mbox_emit, m);
    line = xasprintf("From %s %s\n", from,
                     envelope_from_date(now, date, sizeof date));
    snprintf(m->tok, sizeof m->tok, "mb/%llu/%llu/%lld/%zu/%lu",
             (unsigned long long)m->st.st_dev,
             (unsigned long long)m->st.st_ino, (long long)m->old_len,
             strlen(line), fnv1a(line, strlen(line)));
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

static int mbox_finish(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct mbox *m = ctx;
    int fd = m->fd;
    off_t end;

    if (m->finished)
        return 0;
    if (deliver_lines_finish(&m->lines, e) != 0
        || deliver_write_fd(fd, "\n", 1, m->path, e) != 0)
        return -1;
    if (!(cflags & DELIVER_COMMIT_DEFER) && fsync(fd) != 0)
        return err_set_errno(e, MP_EIO, errno, _("cannot sync %s"),
                             m->path);
    end = lseek(fd, 0, SEEK_CUR);
    if (end < 0)
        return err_set_errno(e, MP_EIO, errno, _("cannot seek in %s"),
                             m->path);
    deliver_token_add(m->tok, (long long)end);
    m->finished = true;
    return 0;
}

static const char *mbox_token(const void *ctx)
{
    const struct mbox *m = ctx;

    return m->tok[0] ? m->tok : NULL;
}

static int pread_all(int fd, char *buf, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, buf, n, off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        buf += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

/* Whether a line starting with "From " begins in (from, to): another
 * mail.  *at_r gets its offset.  -1 on a read error. */
static int foreign_from(int fd, off_t from, off_t to, off_t *at_r)
{
    char buf[65536 + 6];
    size_t keep = 0;
    off_t pos = from;

    while (pos < to) {
        size_t want = (size_t)(to - pos) < 65536 ? (size_t)(to - pos)
                      : 65536;
        size_t i, n;

        if (pread_all(fd, buf + keep, want, pos) != 0)
            return -1;
        n = keep + want;
        for (i = 0; i + 6 <= n; i++)
            if (buf[i] == '\n' && memcmp(buf + i + 1, "From ", 5) == 0) {
                *at_r = pos - (off_t)keep + (off_t)i + 1;
                return 1;
            }
        keep = n < 5 ? n : 5;
        memmove(buf, buf + n - keep, keep);
        pos += (off_t)want;
    }
    return 0;
}

static int mbox_check(void *ctx, const char *token, bool *done_r,
                      struct mp_err *e)
{
    struct mbox *m = ctx;
    char buf[DELIVER_TOKEN_SZ], *fl[6], head[4096], two[2];
    long long v[6];
    off_t old, end = -1, size, at;
    size_t len;
    struct stat st;
    int nf, i, fd, ret = 0;
    bool ours;

    *done_r = false;
    nf = deliver_token_split(token, "mb", buf, fl, 6);
    if (nf != 5 && nf != 6)
        return 0;
    for (i = 0; i < nf; i++)
        if ((v[i] = deliver_token_num(fl[i])) < 0)
            return 0;
    old = (off_t)v[2];
    len = (size_t)v[3];
    if (nf == 6)
        end = (off_t)v[5];
    if (len < 6 || len > sizeof head)
        return 0;
    fd = open(m->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (lock_wait(fd, m->path, e) != 0) {
        close(fd);
        return -1;
    }
    if (fstat(fd, &st) != 0 || (unsigned long long)st.st_dev
                               != (unsigned long long)v[0]
        || (unsigned long long)st.st_ino != (unsigned long long)v[1])
        goto out;
    size = st.st_size;
    if (size <= old)
        goto out;
    /* Are the bytes at OLD our From_ line? */
    if ((size_t)(size - old) >= len) {
        if (pread_all(fd, head, len, old) != 0)
            goto ioerr;
        ours = fnv1a(head, len) == (unsigned long)v[4];
    } else {
        size_t k = (size_t)(size - old);
        if (pread_all(fd, head, k, old) != 0)
            goto ioerr;
        ours = memcmp(head, "From ", k < 5 ? k : 5) == 0
               && !memchr(head, '\n', k);
    }
    if (!ours)
        goto out;
    if (end > old && size >= end) {
        if (pread_all(fd, two, 2, end - 2) != 0)
            goto ioerr;
        if (two[0] == '\n' && two[1] == '\n') {
            /* Delivered, maybe not durable: it is DELE'd next. */
            if (fsync(fd) != 0) {
                ret = err_set_errno(e, MP_EIO, errno, _("cannot sync %s"),
                                    m->path);
                goto out;
            }
            *done_r = true;
            goto out;
        }
    }
    switch (foreign_from(fd, old, size, &at)) {
    case -1:
        goto ioerr;
    case 1:
        ret = err_set(e, MP_EDATA, _("%s: an unfinished mail of an "
                                     "interrupted run starts at byte %lld "
                                     "and another mail follows it at byte "
                                     "%lld; remove the unfinished one by "
                                     "hand, then run again"),
                      m->path, (long long)old, (long long)at);
        goto out;
    default:
        break;
    }
    if (ftruncate(fd, old) != 0 || fsync(fd) != 0)
        goto ioerr;
    goto out;
ioerr:
    ret = err_set_errno(e, MP_EIO, errno, _("cannot repair %s"), m->path);
out:
    unlock(fd);
    close(fd);
    return ret;
}

static int mbox_commit(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct mbox *m = ctx;
    int fd = m->fd;

    if (mbox_finish(m, cflags, e) != 0)
        return -1;
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
    .finish = mbox_finish,
    .commit = mbox_commit,
    .abort = mbox_abort,
    .token = mbox_token,
    .check = mbox_check,
    .sync = mbox_sync,
    .free = mbox_free,
};
