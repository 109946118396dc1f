#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver_backend.h"
#include "durable.h"
#include "envelope.h"
#include "gettext.h"
#include "xalloc.h"

static const struct deliver_ops *const backends[] = {
    &deliver_mda_ops,
    &deliver_maildir_ops,
    &deliver_mbox_ops,
    &deliver_exchange_ops,
};

struct deliver {
    const struct deliver_ops *ops;
    void *ctx;
    bool open;
    bool finished;      /* deliver_finish() done for the open mail */
};

const struct deliver_ops *deliver_lookup(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

int deliver_new(const struct deliver_ops *ops, const char *arg,
                struct deliver **d_r, struct mp_err *e)
{
    void *ctx = NULL;
    struct deliver *d;

    *d_r = NULL;
    if (ops->create(arg, &ctx, e) != 0)
        return -1;
    d = xcalloc(1, sizeof *d);
    d->ops = ops;
    d->ctx = ctx;
    *d_r = d;
    return 0;
}

bool deliver_needs_from(const struct deliver *d)
{
    if (d->ops->needs_from)
        return d->ops->needs_from(d->ctx);
    return (d->ops->flags & DELIVER_WANTS_FROM) != 0;
}

unsigned deliver_flags(const struct deliver *d)
{
    return d->ops->flags;
}

int deliver_open(struct deliver *d, const struct deliver_msg_info *info,
                 struct mp_err *e)
{
    if (d->open)
        return err_set(e, MP_ESOFTWARE, _("delivery: a mail is already "
                                          "open"));
    if (d->ops->open(d->ctx, info, e) != 0) {
        d->ops->abort(d->ctx);  /* whatever open() had started */
        return -1;
    }
    d->open = true;
    d->finished = false;
    return 0;
}

int deliver_write(struct deliver *d, const char *p, size_t n,
                  struct mp_err *e)
{
    if (!d->open)
        return err_set(e, MP_ESOFTWARE, _("delivery: no mail is open"));
    return n == 0 ? 0 : d->ops->write(d->ctx, p, n, e);
}

int deliver_finish(struct deliver *d, unsigned cflags, struct mp_err *e)
{
    if (!d->open)
        return err_set(e, MP_ESOFTWARE, _("delivery: no mail is open"));
    if (d->finished || !d->ops->finish)
        return 0;
    if (d->ops->finish(d->ctx, cflags, e) != 0)
        return -1;
    d->finished = true;
    return 0;
}

int deliver_commit(struct deliver *d, unsigned cflags, struct mp_err *e)
{
    if (deliver_finish(d, cflags, e) != 0)
        return -1;
    if (d->ops->commit(d->ctx, cflags, e) != 0)
        return -1;
    d->open = false;
    return 0;
}

void deliver_abort(struct deliver *d)
{
    if (d && d->open) {
        d->ops->abort(d->ctx);
        d->open = false;
    }
}

const char *deliver_token(const struct deliver *d)
{
    return d->ops->token ? d->ops->token(d->ctx) : NULL;
}

int deliver_check(struct deliver *d, const char *token, bool *done_r,
                  struct mp_err *e)
{
    *done_r = false;
    if (d->open)
        return err_set(e, MP_ESOFTWARE, _("delivery: a mail is open"));
    return d->ops->check ? d->ops->check(d->ctx, token, done_r, e) : 0;
}

int deliver_sync(struct deliver *d, struct mp_err *e)
{
    return d->ops->sync ? d->ops->sync(d->ctx, e) : 0;
}

void deliver_free(struct deliver **dp)
{
    struct deliver *d = *dp;

    if (!d)
        return;
    deliver_abort(d);
    d->ops->free(d->ctx);
    free(d);
    *dp = NULL;
}

int deliver_write_fd(int fd, const char *p, size_t n, const char *what,
                     struct mp_err *e)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return err_set_errno(e, MP_EIO, errno, _("cannot write to %s"),
                                 what);
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- the delivery stream ---- */

void deliver_stream_init(struct deliver_stream *s, struct deliver *d,
                         const struct deliver_stream_hooks *h)
{
    memset(s, 0, sizeof *s);
    s->d = d;
    s->h = h;
    buf_init(&s->hdr, DELIVER_HEADER_MAX);
}

void deliver_stream_clear(struct deliver_stream *s)
{
    if (!s)
        return;
    deliver_stream_abort(s);
    buf_clear(&s->hdr);
}

/* The header block is at hand: ask the caller, find the sender, open the
 * destination and write what was held. */
static int stream_open(struct deliver_stream *s, long long size,
                       struct mp_err *e)
{
    const struct deliver_stream_hooks *h = s->h;
    struct deliver_msg_info info;
    const char *hdr = s->hdr.data ? s->hdr.data : "";
    int r;

    s->hold = false;
    memset(&info, 0, sizeof info);
    info.size = size;
    if (h && h->ready) {
        r = h->ready(h->arg, hdr, s->hdr.len, &info, e);
        if (r < 0)
            return -1;
        if (r > 0) {
            s->dropped = true;
            return 0;
        }
    }
    if (!info.envelope_from && deliver_needs_from(s->d)) {
        size_t hl = envelope_header_len(hdr, s->hdr.len);

        envelope_from(hdr, hl ? hl : s->hdr.len, s->from, sizeof s->from);
        info.envelope_from = s->from;
    }
    if (deliver_open(s->d, &info, e) < 0)
        return -1;
    s->opened = true;
    if (h && h->opened && h->opened(h->arg, e) < 0)
        return -1;
    if (s->hdr.len > 0) {
        if (deliver_write(s->d, s->hdr.data, s->hdr.len, e) < 0)
            return -1;
        if (h && h->wrote)
            h->wrote(h->arg);
    }
    return 0;
}

int deliver_stream_begin(struct deliver_stream *s, bool want_hdr,
                         long long size, struct mp_err *e)
{
    buf_reset(&s->hdr);
    s->opened = false;
    s->dropped = false;
    s->bytes = 0;
    s->hold = want_hdr || deliver_needs_from(s->d);
    /* ready() may use info.size: keep it for stream_open(). */
    s->size = size;
    if (!s->hold && stream_open(s, size, e) < 0) {
        deliver_stream_abort(s);
        return -1;
    }
    return 0;
}

int deliver_stream_data(struct deliver_stream *s, const char *p, size_t n,
                        struct mp_err *e)
{
    s->bytes += (long long)n;
    if (s->dropped)
        return 0;
    if (s->hold) {
        size_t room = DELIVER_HEADER_MAX - s->hdr.len;
        size_t k = n < room ? n : room;

        buf_append(&s->hdr, p, k);
        p += k;
        n -= k;
        if (s->hdr.len < DELIVER_HEADER_MAX
            && envelope_header_len(s->hdr.data, s->hdr.len) == 0)
            return 0;
        if (stream_open(s, s->size, e) < 0)
            return -1;
        if (s->dropped)
            return 0;
    }
    if (n > 0) {
        if (deliver_write(s->d, p, n, e) < 0)
            return -1;
        if (s->h && s->h->wrote)
            s->h->wrote(s->h->arg);
    }
    return 0;
}

int deliver_stream_end(struct deliver_stream *s, unsigned cflags,
                       bool *dropped_r, struct mp_err *e)
{
    *dropped_r = false;
    if (s->hold && stream_open(s, s->size, e) < 0)
        goto fail;
    if (s->dropped) {
        *dropped_r = true;
        return 0;
    }
    if (deliver_finish(s->d, cflags, e) < 0
        || (s->h && s->h->finished && s->h->finished(s->h->arg, e) < 0)
        || deliver_commit(s->d, cflags, e) < 0)
        goto fail;
    s->opened = false;
    return 0;

fail:
    deliver_stream_abort(s);
    return -1;
}

void deliver_stream_abort(struct deliver_stream *s)
{
    if (s->opened)
        deliver_abort(s->d);
    s->opened = false;
    s->hold = false;
}

/* ---- line ends and MBOXRD quoting ---- */

void deliver_lines_init(struct deliver_lines *l, bool crlf, bool mboxrd,
                        deliver_emit_fn *emit, void *arg)
{
    l->emit = emit;
    l->arg = arg;
    l->crlf = crlf;
    l->mboxrd = mboxrd;
    l->bol = true;
    l->cr = false;
    l->gt = 0;
    l->from = 0;
    l->holding = false;
    l->n = 0;
}

static int flush(struct deliver_lines *l, struct mp_err *e)
{
    size_t n = l->n;

    l->n = 0;
    return n == 0 ? 0 : l->emit(l->arg, l->buf, n, e);
}

static int put(struct deliver_lines *l, char c, struct mp_err *e)
{
    if (l->n == sizeof l->buf && flush(l, e) != 0)
        return -1;
    l->buf[l->n++] = c;
    return 0;
}

static int put_n(struct deliver_lines *l, const char *p, size_t n,
                 struct mp_err *e)
{
    while (n > 0) {
        size_t room = sizeof l->buf - l->n, k = n < room ? n : room;
        if (k == 0) {
            if (flush(l, e) != 0)
                return -1;
            continue;
        }
        memcpy(l->buf + l->n, p, k);
        l->n += k;
        p += k;
        n -= k;
    }
    return 0;
}

static int put_eol(struct deliver_lines *l, struct mp_err *e)
{
    if (l->crlf && put(l, '\r', e) != 0)
        return -1;
    return put(l, '\n', e);
}

/* Writes the held '>'s and the part of "From " matched, unquoted. */
static int release(struct deliver_lines *l, struct mp_err *e)
{
    for (; l->gt > 0; l->gt--)
        if (put(l, '>', e) != 0)
            return -1;
    if (put_n(l, "From ", l->from, e) != 0)
        return -1;
    l->from = 0;
    l->holding = false;
    return 0;
}

int deliver_lines_write(struct deliver_lines *l, const char *p, size_t n,
                        struct mp_err *e)
{
    size_t i, ncr = 0;
    bool ncr_known = false;

    for (i = 0; i < n; i++) {
        char c;

        /* The fast path: inside a line, or at the start of one when no
         * quoting is asked for, the bytes up to the next CR (and, for
         * CRLF output or MBOXRD, up to the next LF) go out in one block;
         * with LF output the LF goes with them.  The byte machine below
         * only sees CRs, the LFs of CRLF output, and line starts under
         * MBOXRD.  The next CR is looked for once, not once per line. */
        if (!l->cr && !l->holding && (!l->bol || !l->mboxrd)) {
            size_t seg;

            if (!ncr_known || ncr < i) {
                const char *cr = memchr(p + i, '\r', n - i);
                ncr = cr ? (size_t)(cr - p) : n;
                ncr_known = true;
            }
            seg = ncr - i;
            if (l->crlf || l->mboxrd) {
                const char *lf = memchr(p + i, '\n', seg);

                if (lf)
                    seg = (size_t)(lf - (p + i)) + !l->crlf;
            }
            if (seg > 0) {
                if (put_n(l, p + i, seg, e) != 0)
                    return -1;
                i += seg;
                l->bol = (p[i - 1] == '\n');
                if (i == n)
                    break;
            }
        }
        c = p[i];

        if (l->cr) {
            l->cr = false;
            if (c == '\n') {
                if (put_eol(l, e) != 0)
                    return -1;
                l->bol = true;
                continue;
            }
            /* A lone CR is content. */
            if (put(l, '\r', e) != 0)
                return -1;
            l->bol = false;
        }
        if (l->mboxrd && l->bol && !l->holding) {
            l->holding = true;
            l->gt = 0;
            l->from = 0;
        }
        if (l->holding) {
            if (l->from == 0 && c == '>') {
                l->gt++;
                continue;
            }
            if (c == "From "[l->from]) {
                if (++l->from == 5) {
                    /* MBOXRD: ^>*From  gets one more '>'. */
                    l->gt++;
                    l->from = 5;
                    if (release(l, e) != 0)
                        return -1;
                    l->bol = false;
                }
                continue;
            }
            if (release(l, e) != 0)
                return -1;
            l->bol = false;
        }
        if (c == '\r') {
            l->cr = true;
            continue;
        }
        if (c == '\n') {
            if (put_eol(l, e) != 0)
                return -1;
            l->bol = true;
            continue;
        }
        if (put(l, c, e) != 0)
            return -1;
        l->bol = false;
    }
    return 0;
}

int deliver_lines_raw(struct deliver_lines *l, const char *p, size_t n,
                      struct mp_err *e)
{
    return put_n(l, p, n, e);
}

int deliver_lines_end(struct deliver_lines *l, struct mp_err *e)
{
    if (l->cr) {
        l->cr = false;
        if (put(l, '\r', e) != 0)
            return -1;
        l->bol = false;
    }
    if (l->holding) {
        if (l->gt > 0 || l->from > 0)
            l->bol = false;
        if (release(l, e) != 0)
            return -1;
    }
    if (!l->bol) {
        if (put_eol(l, e) != 0)
            return -1;
        l->bol = true;
    }
    return 0;
}

int deliver_lines_finish(struct deliver_lines *l, struct mp_err *e)
{
    if (deliver_lines_end(l, e) != 0)
        return -1;
    return flush(l, e);
}

/* ---- file backends ---- */

static int file_emit(void *arg, const char *p, size_t n, struct mp_err *e)
{
    struct deliver_file *f = arg;

    if (f->fd < 0 && f->create) {
        if (f->create(f->create_arg, &f->fd, &f->path, e) != 0)
            return -1;
        f->create = NULL;
    }

    if (deliver_write_fd(f->fd, p, n, f->path, e) != 0)
        return -1;
    f->written += (long long)n;
    return 0;
}

void deliver_file_init(struct deliver_file *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

static int file_begin(struct deliver_file *f, int fd, char *path, bool crlf,
                      const struct deliver_msg_info *info, struct mp_err *e)
{
    f->fd = fd;
    f->path = path;
    f->written = 0;
    f->finished = false;
    deliver_lines_init(&f->lines, crlf, false, file_emit, f);
    if (info && info->received
        && deliver_lines_write(&f->lines, info->received,
                               strlen(info->received), e) != 0)
        return -1;
    return 0;
}

int deliver_file_begin(struct deliver_file *f, int fd, char *path, bool crlf,
                       const struct deliver_msg_info *info, struct mp_err *e)
{
    f->create = NULL;
    f->create_arg = NULL;
    f->final_size = -1;
    return file_begin(f, fd, path, crlf, info, e);
}

int deliver_file_begin_lazy(struct deliver_file *f, bool crlf,
                            const struct deliver_msg_info *info,
                            int (*create)(void *arg, int *fd_r,
                                          char **path_r, struct mp_err *e),
                            void *create_arg, struct mp_err *e)
{
    f->create = create;
    f->create_arg = create_arg;
    f->final_size = -1;
    return file_begin(f, -1, NULL, crlf, info, e);
}

int deliver_file_finish(struct deliver_file *f, unsigned cflags,
                        struct mp_err *e)
{
    int fd;

    if (f->finished)
        return 0;
    if (deliver_lines_end(&f->lines, e) != 0)
        return -1;
    /* Nothing written yet: the file is made now, knowing its size. */
    if (f->fd < 0 && f->create) {
        f->final_size = (long long)f->lines.n;
        if (f->create(f->create_arg, &f->fd, &f->path, e) != 0)
            return -1;
        f->create = NULL;
    }
    if (deliver_lines_finish(&f->lines, e) != 0)
        return -1;
    fd = f->fd;
    if (!(cflags & DELIVER_COMMIT_DEFER) && fsync(fd) != 0)
        return err_set_errno(e, MP_EIO, errno, _("cannot sync %s"),
                             f->path);
    f->fd = -1;
    /* close() reports delayed write errors on NFS. */
    if (close(fd) != 0)
        return err_set_errno(e, MP_EIO, errno, _("cannot close %s"),
                             f->path);
    f->finished = true;
    return 0;
}

int deliver_file_publish(struct deliver_file *f, const char *final,
                         struct mp_err *e)
{
    struct stat st;
    int saved;

    if (link(f->path, final) == 0) {
        /* A stray second name in tmp/ is clutter, never a duplicate. */
        unlink(f->path);
    } else {
        saved = errno;
        if (saved != EPERM && saved != ENOSYS && saved != EOPNOTSUPP
            && saved != EMLINK)
            return err_set_errno(e, MP_EIO, saved,
                                 _("cannot move %s to %s"), f->path,
                                 final);
        /* No hard links here (some FUSE and SMB mounts). */
        if (lstat(final, &st) == 0)
            return err_set_errno(e, MP_EIO, EEXIST,
                                 _("cannot move %s to %s"), f->path,
                                 final);
        if (rename(f->path, final) != 0)
            return err_set_errno(e, MP_EIO, errno,
                                 _("cannot move %s to %s"), f->path,
                                 final);
    }
    free(f->path);
    f->path = NULL;
    return 0;
}

void deliver_file_defer(struct deliver_file *f, char *final)
{
    if (f->npending == f->apending) {
        f->apending = f->apending ? 2 * f->apending : 16;
        f->pending = xreallocarray(f->pending, f->apending,
                                   sizeof *f->pending);
    }
    f->pending[f->npending++] = final;
}

void deliver_file_discard(struct deliver_file *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->path) {
        unlink(f->path);
        free(f->path);
        f->path = NULL;
    }
}

static void drop_pending(struct deliver_file *f)
{
    size_t i;

    for (i = 0; i < f->npending; i++)
        free(f->pending[i]);
    f->npending = 0;
}

int deliver_file_sync(struct deliver_file *f, const char *dir,
                      struct mp_err *e)
{
    int fd, r = 0;
    size_t i;

    if (f->npending == 0)
        return 0;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_set_errno(e, MP_EIO, errno, _("cannot open %s"), dir);
#ifdef __linux__
    /* One call flushes every deferred file, its data and the directory
     * entries: the file system's journal commits them together. */
    if (syncfs(fd) == 0) {
        close(fd);
        drop_pending(f);
        return 0;
    }
#endif
    for (i = 0; i < f->npending && r == 0; i++) {
        int ffd = open(f->pending[i], O_RDONLY | O_CLOEXEC);
        if (ffd < 0 || fsync(ffd) != 0)
            r = err_set_errno(e, MP_EIO, errno, _("cannot sync %s"),
                              f->pending[i]);
        if (ffd >= 0)
            close(ffd);
    }
    close(fd);
    if (r == 0)
        r = durable_sync_dir(dir, e);
    if (r == 0)
        drop_pending(f);
    return r;
}

int deliver_sync_path(const char *path, struct mp_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int r = 0;

    if (fd < 0 || fsync(fd) != 0)
        r = err_set_errno(e, MP_EIO, errno, _("cannot sync %s"), path);
    if (fd >= 0)
        close(fd);
    return r == 0 ? durable_sync_parent(path, e) : r;
}

void deliver_file_clear(struct deliver_file *f)
{
    deliver_file_discard(f);
    drop_pending(f);
    free(f->pending);
    f->pending = NULL;
    f->apending = 0;
}

/* ---- tokens ---- */

/* Runs once or twice per mail: no printf. */
void deliver_token_make(char tok[DELIVER_TOKEN_SZ], const char *pfx,
                        const char *name)
{
    size_t pl = strlen(pfx), nl = strlen(name), i;

    if (pl + 1 + nl >= DELIVER_TOKEN_SZ) {
        tok[0] = '\0';
        return;
    }
    memcpy(tok, pfx, pl);
    tok[pl] = '/';
    memcpy(tok + pl + 1, name, nl + 1);
    /* The journal takes printable ASCII only (a host name in UTF-8 would
     * make the maildir name unfit): then there is no token. */
    for (i = 0; i < pl + 1 + nl; i++)
        if ((unsigned char)tok[i] < 0x21 || (unsigned char)tok[i] > 0x7e) {
            tok[0] = '\0';
            return;
        }
}

void deliver_token_add(char tok[DELIVER_TOKEN_SZ], long long v)
{
    size_t len = strlen(tok), k = 0;
    char digits[24];
    unsigned long long u;
    bool neg = v < 0;

    if (len == 0)
        return;
    u = neg ? 0 - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (len + 1 + neg + k >= DELIVER_TOKEN_SZ) {
        tok[0] = '\0';
        return;
    }
    tok[len++] = '/';
    if (neg)
        tok[len++] = '-';
    while (k > 0)
        tok[len++] = digits[--k];
    tok[len] = '\0';
}

int deliver_token_split(const char *token, const char *pfx, char *buf,
                        char **fields, int max)
{
    size_t pl = strlen(pfx);
    int nf = 0;
    char *s;

    if (strncmp(token, pfx, pl) != 0 || token[pl] != '/'
        || strlen(token) >= DELIVER_TOKEN_SZ)
        return -1;
    strcpy(buf, token + pl + 1);
    for (s = buf; s; ) {
        char *slash = strchr(s, '/');

        if (slash)
            *slash = '\0';
        if (nf == max || !*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
            return -1;
        fields[nf++] = s;
        s = slash ? slash + 1 : NULL;
    }
    return nf;
}

long long deliver_token_num(const char *field)
{
    char *end;
    long long v;

    if (!field || strspn(field, "0123456789") != strlen(field)
        || strlen(field) > 18 || !*field)
        return -1;
    v = strtoll(field, &end, 10);
    return v;
}
