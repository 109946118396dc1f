#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "gettext.h"
#include "maildir.h"
#include "xalloc.h"

/* Maildir: write tmp/NAME, fsync, link to new/NAME, unlink tmp/NAME, fsync
 * new/.  A reader never sees a partial mail in new/, and a crash leaves at
 * most a stray file in tmp/, which maildir readers ignore and clean up. */

struct md {
    char *dir;
    struct deliver_file f;
};

static int md_create(const char *arg, void **ctx_r, struct mp_err *e)
{
    struct md *m;

    if (maildir_check(arg, e) != 0)
        return -1;
    m = xcalloc(1, sizeof *m);
    m->dir = xstrdup(arg);
    deliver_file_init(&m->f);
    *ctx_r = m;
    return 0;
}

static int md_open(void *ctx, const struct deliver_msg_info *info,
                   struct mp_err *e)
{
    struct md *m = ctx;
    char *path;
    int fd;

    fd = maildir_create(m->dir, "tmp", "", '.', "", &path, e);
    if (fd < 0)
        return -1;
    return deliver_file_begin(&m->f, fd, path, false, info, e);
}

static int md_write(void *ctx, const char *p, size_t n, struct mp_err *e)
{
    struct md *m = ctx;

    return deliver_lines_write(&m->f.lines, p, n, e);
}

static int md_commit(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct md *m = ctx;
    const char *base;
    char *final = NULL;

    if (deliver_file_finish(&m->f, cflags, e) != 0)
        return -1;
    base = strrchr(m->f.path, '/');
    base = base ? base + 1 : m->f.path;
    if (maildir_publish(m->f.path, m->dir, "new", base, "", '.', "",
                        &final, e) != 0)
        return -1;
    free(m->f.path);
    m->f.path = NULL;
    if (cflags & DELIVER_COMMIT_DEFER) {
        deliver_file_defer(&m->f, final);
        return 0;
    }
    free(final);
    return maildir_sync_dir(m->dir, "new", e);
}

static void md_abort(void *ctx)
{
    struct md *m = ctx;

    deliver_file_discard(&m->f);
}

static int md_sync(void *ctx, struct mp_err *e)
{
    struct md *m = ctx;
    char *dir = xasprintf("%s/new", m->dir);
    int r = deliver_file_sync(&m->f, dir, e);

    free(dir);
    return r;
}

static void md_free(void *ctx)
{
    struct md *m = ctx;

    if (!m)
        return;
    deliver_file_clear(&m->f);
    free(m->dir);
    free(m);
}

const struct deliver_ops deliver_maildir_ops = {
    .name = "maildir",
    .flags = 0,
    .create = md_create,
    .open = md_open,
    .write = md_write,
    .commit = md_commit,
    .abort = md_abort,
    .sync = md_sync,
    .free = md_free,
};
