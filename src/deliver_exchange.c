#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver_backend.h"
#include "durable.h"
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
    char name[DELIVER_TOKEN_SZ];    /* the final NAME.eml */
    char tok[DELIVER_TOKEN_SZ];
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

    const char *base;

    fd = maildir_create(x->dir, NULL, "mpop-", '-', ".eml" TMP_SUFFIX,
                        &path, e);
    if (fd < 0)
        return -1;
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(x->name, sizeof x->name, "%.*s",
             (int)(strlen(base) - strlen(TMP_SUFFIX)), base);
    deliver_token_make(x->tok, "ex", x->name);
    return deliver_file_begin(&x->f, fd, path, true, info, e);
}

static int ex_finish(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct ex *x = ctx;

    if (deliver_file_finish(&x->f, cflags, e) != 0)
        return -1;
    deliver_token_add(x->tok, x->f.written);
    return 0;
}

static const char *ex_token(const void *ctx)
{
    const struct ex *x = ctx;

    return x->tok[0] ? x->tok : NULL;
}

static int ex_check(void *ctx, const char *token, bool *done_r,
                    struct mp_err *e)
{
    struct ex *x = ctx;
    char buf[DELIVER_TOKEN_SZ], *fl[2], *path;
    long long size = -1;
    struct stat st;
    int nf, r = 0;

    *done_r = false;
    nf = deliver_token_split(token, "ex", buf, fl, 2);
    if (nf < 1)
        return 0;
    if (nf == 2 && (size = deliver_token_num(fl[1])) < 0)
        return 0;
    path = xasprintf("%s/%s", x->dir, fl[0]);
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (size < 0 || st.st_size == size) {
            /* Delivered, maybe not durable: it is DELE'd next. */
            r = deliver_sync_path(path, e);
            *done_r = r == 0;
        } else {
            unlink(path);   /* torn by a power loss: fetched again */
        }
    }
    free(path);
    path = xasprintf("%s/%s" TMP_SUFFIX, x->dir, fl[0]);
    unlink(path);
    free(path);
    return r;
}

static int ex_write(void *ctx, const char *p, size_t n, struct mp_err *e)
{
    struct ex *x = ctx;

    return deliver_lines_write(&x->f.lines, p, n, e);
}

static int ex_commit(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct ex *x = ctx;
    char *final;

    if (deliver_file_finish(&x->f, cflags, e) != 0)
        return -1;
    final = xasprintf("%s/%s", x->dir, x->name);
    if (deliver_file_publish(&x->f, final, e) != 0) {
        free(final);
        return -1;
    }
    if (cflags & DELIVER_COMMIT_DEFER) {
        deliver_file_defer(&x->f, final);
        return 0;
    }
    free(final);
    return durable_sync_dir(x->dir, e);
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
    .finish = ex_finish,
    .commit = ex_commit,
    .abort = ex_abort,
    .token = ex_token,
    .check = ex_check,
    .sync = ex_sync,
    .free = ex_free,
};
