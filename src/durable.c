/* Durable file replacement; see durable.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "gettext.h"
#include "xalloc.h"

static void df_clear(struct durable_file *df)
{
    df->fd = -1;
    df->path = NULL;
    df->tmppath = NULL;
}

/* The message for a failed write says plainly when the disk is full, since
 * that is what a user can act on. */
static int write_error(struct mp_err *e, int errnum, const char *name)
{
    if (errnum == ENOSPC || errnum == EDQUOT)
        return err_set_errno(e, MP_EIO, errnum,
                             _("%s: cannot write (disk full or quota "
                               "exceeded)"), name);
    return err_set_errno(e, MP_EIO, errnum, _("%s: cannot write"), name);
}

int durable_open(struct durable_file *df, const char *path, mode_t mode,
                 struct mp_err *e)
{
    char *tmp;
    int fd;

    df_clear(df);
    tmp = xasprintf("%s.tmp.XXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int errnum = errno;
        err_set_errno(e, MP_ECANTCREAT, errnum,
                      _("%s: cannot create a temporary file"), tmp);
        free(tmp);
        return -1;
    }
    /* mkostemp makes 0600; widen or narrow it to what the caller wants. */
    if (fchmod(fd, mode) != 0) {
        int errnum = errno;
        close(fd);
        unlink(tmp);
        err_set_errno(e, MP_EIO, errnum, _("%s: cannot set permissions"),
                      tmp);
        free(tmp);
        return -1;
    }
    df->fd = fd;
    df->path = xstrdup(path);
    df->tmppath = tmp;
    return 0;
}

int durable_write(struct durable_file *df, const void *p, size_t n,
                  struct mp_err *e)
{
    const char *q = p;

    while (n > 0) {
        ssize_t w = write(df->fd, q, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return write_error(e, errno, df->tmppath);
        }
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

int durable_commit(struct durable_file *df, bool keep_fd, struct mp_err *e)
{
    if (fsync(df->fd) != 0) {
        write_error(e, errno, df->tmppath);
        durable_abort(df);
        return -1;
    }
    if (!keep_fd) {
        int r = close(df->fd);
        df->fd = -1;
        if (r != 0 && errno != EINTR) {
            write_error(e, errno, df->tmppath);
            durable_abort(df);
            return -1;
        }
    }
    if (rename(df->tmppath, df->path) != 0) {
        err_set_errno(e, MP_EIO, errno, _("cannot rename %s to %s"),
                      df->tmppath, df->path);
        durable_abort(df);
        return -1;
    }
    free(df->tmppath);
    df->tmppath = NULL;
    if (durable_sync_parent(df->path, e) != 0) {
        /* The rename happened; only its durability is unknown.  Report it:
         * callers must not DELE on the strength of this write. */
        durable_abort(df);
        return -1;
    }
    if (!keep_fd) {
        free(df->path);
        df_clear(df);
    }
    return 0;
}

void durable_abort(struct durable_file *df)
{
    if (!df)
        return;
    if (df->fd >= 0)
        close(df->fd);
    if (df->tmppath)
        unlink(df->tmppath);
    free(df->tmppath);
    free(df->path);
    df_clear(df);
}

int durable_write_file(const char *path, const void *data, size_t len,
                       mode_t mode, struct mp_err *e)
{
    struct durable_file df;

    if (durable_open(&df, path, mode, e) != 0)
        return -1;
    if (durable_write(&df, data, len, e) != 0) {
        durable_abort(&df);
        return -1;
    }
    return durable_commit(&df, false, e);
}

int durable_sync_dir(const char *dir, struct mp_err *e)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r;

    if (fd < 0)
        return err_set_errno(e, MP_EIO, errno, _("%s: cannot open directory"),
                             dir);
    r = fsync(fd);
    /* Some file systems cannot fsync a directory (EINVAL); the rename is as
     * durable there as it can be made. */
    if (r != 0 && errno != EINVAL) {
        int errnum = errno;
        close(fd);
        return err_set_errno(e, MP_EIO, errnum,
                             _("%s: cannot sync directory"), dir);
    }
    close(fd);
    return 0;
}

/* The directory part of path: "." for a bare name, "/" for "/x". */
static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return xstrdup(".");
    while (slash > path && slash[-1] == '/')
        slash--;
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

int durable_sync_parent(const char *path, struct mp_err *e)
{
    char *dir = parent_of(path);
    int r = durable_sync_dir(dir, e);

    free(dir);
    return r;
}

static int mkdir_one(const char *dir, mode_t mode, struct mp_err *e)
{
    struct stat st;

    if (mkdir(dir, mode) == 0)
        return 0;
    if (errno != EEXIST)
        return err_set_errno(e, MP_ECANTCREAT, errno,
                             _("cannot create directory %s"), dir);
    if (stat(dir, &st) != 0)
        return err_set_errno(e, MP_ECANTCREAT, errno, "%s", dir);
    if (!S_ISDIR(st.st_mode))
        return err_set(e, MP_ECANTCREAT, _("%s exists but is not a directory"),
                       dir);
    return 0;
}

int durable_mkdirs(const char *dir, mode_t mode, struct mp_err *e)
{
    char *p = xstrdup(dir);
    char *s;
    struct stat st;
    int r = 0;

    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
        free(p);
        return 0;
    }
    for (s = p + 1; *s; s++) {
        if (*s != '/' || s[-1] == '/')
            continue;
        *s = '\0';
        r = mkdir_one(p, mode, e);
        *s = '/';
        if (r != 0)
            break;
    }
    if (r == 0)
        r = mkdir_one(p, mode, e);
    free(p);
    return r;
}

int durable_mkdirs_parent(const char *path, struct mp_err *e)
{
    char *dir = parent_of(path);
    int r = durable_mkdirs(dir, 0700, e);

    free(dir);
    return r;
}
