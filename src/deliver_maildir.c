#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
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

/* Maildir: write tmp/NAME, fsync, link to new/NAME, unlink tmp/NAME, fsync
 * new/.  A reader never sees a partial mail in new/, and a crash leaves at
 * most a stray file in tmp/, which maildir readers ignore and clean up.
 * NAME is the token's name (deliver.h): the mail is published under
 * exactly that name, so that deliver_check() finds it after a crash. */

struct md {
    char *dir;
    struct deliver_file f;
    char *name;                     /* NAME of the open mail, owned */
    char tok[DELIVER_TOKEN_SZ];
    int (*announce)(void *arg, const char *token, struct mp_err *e);
    void *announce_arg;
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

/* DIR/SUB/NAME, without printf: once per mail. */
static char *sub_path(const char *dir, const char *sub, const char *name)
{
    size_t dl = strlen(dir), sl = strlen(sub), nl = strlen(name);
    char *p = xmalloc(dl + sl + nl + 3);

    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, sub, sl);
    p[dl + 1 + sl] = '/';
    memcpy(p + dl + sl + 2, name, nl + 1);
    return p;
}

/* maildir_create_cb(): the name is taken and announced with its token
 * (and the size, when the whole mail is known) before the file exists. */
static int md_chosen(void *arg, const char *name, struct mp_err *e)
{
    struct md *m = arg;
    char tok[DELIVER_TOKEN_SZ];

    free(m->name);
    m->name = xstrdup(name);
    deliver_token_make(m->tok, "md", m->name);
    memcpy(tok, m->tok, sizeof tok);
    if (m->f.final_size >= 0)
        deliver_token_add(tok, m->f.final_size);
    if (m->announce && tok[0])
        return m->announce(m->announce_arg, tok, e);
    return 0;
}

/* deliver_file's create(): the tmp file, made only when the first bytes
 * are to be written (at the latest when the mail is finished, its size
 * then known), and announced with its token first (deliver.h).  A mail
 * that fits the converter's buffer thus costs one journal record. */
static int md_create_file(void *arg, int *fd_r, char **path_r,
                          struct mp_err *e)
{
    struct md *m = arg;
    int fd = maildir_create_cb(m->dir, "tmp", "", '.', "", md_chosen, m,
                               path_r, e);

    if (fd < 0)
        return -1;
    *fd_r = fd;
    return 0;
}

static int md_open(void *ctx, const struct deliver_msg_info *info,
                   struct mp_err *e)
{
    struct md *m = ctx;

    free(m->name);
    m->name = NULL;
    m->tok[0] = '\0';      /* no token until the name is chosen */
    m->announce = info ? info->announce : NULL;
    m->announce_arg = info ? info->announce_arg : NULL;
    return deliver_file_begin_lazy(&m->f, false, info, md_create_file, m,
                                   e);
}

static int md_finish(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct md *m = ctx;

    if (deliver_file_finish(&m->f, cflags, e) != 0)
        return -1;
    deliver_token_add(m->tok, m->f.written);
    return 0;
}

static const char *md_token(const void *ctx)
{
    const struct md *m = ctx;

    return m->tok[0] ? m->tok : NULL;
}

/* The path of cur/NAME or cur/NAME:INFO (a mail reader moved it there),
 * or NULL. */
static char *in_cur(const char *dir, const char *name)
{
    char *cur = xasprintf("%s/cur", dir), *found = NULL;
    DIR *d = opendir(cur);
    size_t nl = strlen(name);
    struct dirent *de;

    if (d) {
        while (!found && (de = readdir(d)) != NULL)
            if (strncmp(de->d_name, name, nl) == 0
                && (de->d_name[nl] == '\0' || de->d_name[nl] == ':'))
                found = xasprintf("%s/%s", cur, de->d_name);
        closedir(d);
    }
    free(cur);
    return found;
}

static int md_check(void *ctx, const char *token, bool *done_r,
                    struct mp_err *e)
{
    struct md *m = ctx;
    char buf[DELIVER_TOKEN_SZ], *fl[2], *path, *cur;
    long long size = -1;
    struct stat st;
    int nf, r = 0;

    *done_r = false;
    nf = deliver_token_split(token, "md", buf, fl, 2);
    if (nf < 1)
        return 0;
    if (nf == 2 && (size = deliver_token_num(fl[1])) < 0)
        return 0;
    path = xasprintf("%s/new/%s", m->dir, fl[0]);
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (size < 0 || st.st_size == size) {
            /* Delivered, maybe not durable: it is DELE'd next. */
            r = deliver_sync_path(path, e);
            *done_r = r == 0;
        } else {
            /* Only after a power loss: our file, published but torn
             * (its data did not reach the disk).  It is fetched again. */
            unlink(path);
        }
    } else if ((cur = in_cur(m->dir, fl[0])) != NULL) {
        r = deliver_sync_path(cur, e);
        *done_r = r == 0;
        free(cur);
    }
    free(path);
    /* The temporary file: a fragment, or a second name of the mail. */
    path = xasprintf("%s/tmp/%s", m->dir, fl[0]);
    unlink(path);
    free(path);
    return r;
}

static int md_write(void *ctx, const char *p, size_t n, struct mp_err *e)
{
    struct md *m = ctx;

    return deliver_lines_write(&m->f.lines, p, n, e);
}

static int md_commit(void *ctx, unsigned cflags, struct mp_err *e)
{
    struct md *m = ctx;
    char *final;

    if (deliver_file_finish(&m->f, cflags, e) != 0)
        return -1;
    final = sub_path(m->dir, "new", m->name);
    if (deliver_file_publish(&m->f, final, e) != 0) {
        free(final);
        return -1;
    }
    if (cflags & DELIVER_COMMIT_DEFER) {
        deliver_file_defer(&m->f, final);
        return 0;
    }
    free(final);
    {
        char *nd = xasprintf("%s/new", m->dir);
        int r = durable_sync_dir(nd, e);

        free(nd);
        return r;
    }
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
    free(m->name);
    free(m->dir);
    free(m);
}

const struct deliver_ops deliver_maildir_ops = {
    .name = "maildir",
    .flags = DELIVER_ANNOUNCES,
    .create = md_create,
    .open = md_open,
    .write = md_write,
    .finish = md_finish,
    .commit = md_commit,
    .abort = md_abort,
    .token = md_token,
    .check = md_check,
    .sync = md_sync,
    .free = md_free,
};
