#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deliver.h"
#include "gettext.h"
#include "maildir.h"
#include "xalloc.h"

/* Exchange pickup directory.  mpop 1.4.18 writes one file per mail named
 *   mpop-SECONDS-M<usec>P<pid>Q<counter>-<host>.eml
 * with CRLF line ends.  We write it as NAME.eml.tmp first (the pickup
 * service only takes *.eml files) and give it its .eml name when it is
 * complete, so a partial mail is never picked up. */

#define TMP_SUFFIX ".tmp"

struct ex {
    char *dir;
    struct deliver_file f;
};

static int ex_create(const char *arg, void **ctx_r, struct mp_err *e)
{
    struct stat st;
    struct ex *x;

    if (stat(arg, &st) != 0)
        return err_set_errno(e, MP_ECANTCREAT, errno,
                             _("exchange pickup directory %s"), arg);
    if (!S_ISDIR(st.st_mode))
        return err_set(e, MP_ECANTCREAT,
                       _("exchange pickup directory %s: not a directory"),
                       arg);
    x = xcalloc(1, sizeof *x);
    x->dir = xstrdup(arg);
    deliver_file_init(&x->f);
    *ctx_r = x;
    return 0;
}

static int ex_open(void *ctx, const struct deliver_msg_info *info,
                   struct mp_err *e)
{
    struct ex *x = ctx;
    char *path;
    int fd;

    fd = maildir_create(x->dir, NULL, "mpop-", '-', ".eml" TMP_SUFFIX,
                        &path, e);
    if (fd < 0)
        return -1;
    return deliver_file_begin(&x->f, fd, path, true, info, e);
}

static int ex_write(void *ctx, const char *p, size_t n, struct mp_err *e)
{
    struct ex *x = ctx;

    return deliver_lines_write(&x->f.lines, p, n, e);
}

static int ex_commit(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct ex *x = ctx;
    const char *base;
    char *name, *final = NULL;
    int r;

    if (deliver_file_finish(&x->f, cflags, e) != 0)
        return -1;
    base = strrchr(x->f.path, '/');
    base = base ? base + 1 : x->f.path;
    name = xstrndup(base, strlen(base) - strlen(TMP_SUFFIX));
    r = maildir_publish(x->f.path, x->dir, NULL, name, "mpop-", '-', ".eml",
                        &final, e);
    free(name);
    if (r != 0)
        return -1;
    free(x->f.path);
    x->f.path = NULL;
    if (cflags & DELIVER_COMMIT_DEFER) {
        deliver_file_defer(&x->f, final);
        return 0;
    }
    free(final);
    return maildir_sync_dir(x->dir, NULL, e);
}

static void ex_abort(void *ctx)
{
    struct ex *x = ctx;

    deliver_file_discard(&x->f);
}

static int ex_sync(void *ctx, struct mp_err *e)
{
    struct ex *x = ctx;

    return deliver_file_sync(&x->f, x->dir, e);
}

static void ex_free(void *ctx)
{
    struct ex *x = ctx;

    if (!x)
        return;
    deliver_file_clear(&x->f);
    free(x->dir);
    free(x);
}

const struct deliver_ops deliver_exchange_ops = {
    .name = "exchange",
    .flags = DELIVER_CRLF,
    .create = ex_create,
    .open = ex_open,
    .write = ex_write,
    .commit = ex_commit,
    .abort = ex_abort,
    .sync = ex_sync,
    .free = ex_free,
};
