#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "gettext.h"
#include "pop3d_store.h"
#include "xalloc.h"

static const char *const subdirs[2] = { "new", "cur" };

/* What the scan keeps per mail until sorting. */
struct entry {
    struct pop3d_mail mail;
    struct timespec mtime;
};

int pop3d_store_uid(const char *name, char *uid_r)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = strcspn(name, ":");
    bool ok = len >= 1 && len <= POP3D_UID_MAX;
    unsigned char md[20];

    for (size_t i = 0; ok && i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        ok = ch >= 0x21 && ch <= 0x7e;
    }
    if (ok) {
        memcpy(uid_r, name, len);
        uid_r[len] = '\0';
        return 0;
    }
    if (gnutls_hash_fast(GNUTLS_DIG_SHA1, name, len, md) != 0)
        return -1;
    for (size_t i = 0; i < sizeof md; i++) {
        uid_r[2 * i] = hex[md[i] >> 4];
        uid_r[2 * i + 1] = hex[md[i] & 15];
    }
    uid_r[2 * sizeof md] = '\0';
    return 0;
}

uint64_t pop3d_store_size_chunk(uint64_t size, const char *p, size_t n,
                                bool *cr_r, int *last_r)
{
    bool cr = *cr_r;

    for (size_t i = 0; i < n; i++) {
        /* A bare LF becomes CRLF: one octet more. */
        if (p[i] == '\n' && !cr)
            size++;
        cr = p[i] == '\r';
    }
    if (n > 0)
        *last_r = (unsigned char)p[n - 1];
    *cr_r = cr;
    return size + n;
}

uint64_t pop3d_store_size_end(uint64_t size, int last)
{
    /* RFC 1939 §3: the message ends with CRLF before the terminator. */
    return (last >= 0 && last != '\n') ? size + 2 : size;
}

/* Opens name in sub_fd as a regular file without following a symlink and
 * fills *st.  Returns the fd or -1 with errno set. */
static int open_regular(int sub_fd, const char *name, struct stat *st)
{
    /* O_NONBLOCK: a FIFO swapped in after lstat must not block open(). */
    int fd = openat(sub_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC
                    | O_NONBLOCK | O_NOCTTY);

    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* st_size: what fstat said; a short read that reaches it is the end (no
 * second read for the end of file: the scan reads every mail). */
static int measure(int fd, off_t st_size, uint64_t *size_r)
{
    char buf[16384];
    uint64_t size = 0, got = 0;
    bool cr = false;
    int last = -1;

    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        size = pop3d_store_size_chunk(size, buf, (size_t)n, &cr, &last);
        got += (uint64_t)n;
        if ((size_t)n < sizeof buf && st_size >= 0
            && got >= (uint64_t)st_size)
            break;
    }
    *size_r = pop3d_store_size_end(size, last);
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->mail.name, y->mail.name);
}

static int cmp_uid(const void *a, const void *b)
{
    const struct entry *const *x = a, *const *y = b;
    int c = strcmp((*x)->mail.uid, (*y)->mail.uid);

    if (c != 0)
        return c;
    /* The first in delivery order wins. */
    return *x < *y ? -1 : (*x > *y);
}

static int scan_sub(struct pop3d_store *s, int sub, struct entry **v,
                    size_t *n, size_t *alloc, struct mp_err *e)
{
    int fd = dup(s->sub_fd[sub]);
    DIR *d;
    struct dirent *de;

    if (fd < 0 || !(d = fdopendir(fd))) {
        if (fd >= 0)
            close(fd);
        return err_set_errno(e, MP_EIO, errno, _("cannot read %s/"),
                             subdirs[sub]);
    }
    rewinddir(d);
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        struct stat st, fst;
        struct entry *en;
        int mfd;

        if (de->d_name[0] == '.')
            continue;
        /* The directory entry's type spares the lstat where the file
         * system gives it; the open below checks again either way. */
        if (de->d_type != DT_UNKNOWN && de->d_type != DT_REG)
            continue;
        if (de->d_type == DT_UNKNOWN
            && (fstatat(s->sub_fd[sub], de->d_name, &st,
                        AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)))
            continue;
        if (*n >= POP3D_STORE_MAX_MAILS)
            break;
        /* Measuring needs the content; a file that vanished or changed
         * into something else since lstat is skipped. */
        mfd = open_regular(s->sub_fd[sub], de->d_name, &fst);
        if (mfd < 0)
            continue;
        if (de->d_type == DT_UNKNOWN
            && (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)) {
            close(mfd);
            continue;
        }
        if (*n == *alloc) {
            *alloc = *alloc ? *alloc * 2 : 64;
            *v = xreallocarray(*v, *alloc, sizeof **v);
        }
        en = &(*v)[*n];
        memset(en, 0, sizeof *en);
        if (measure(mfd, fst.st_size, &en->mail.size) != 0
            || pop3d_store_uid(de->d_name, en->mail.uid) != 0) {
            close(mfd);
            continue;
        }
        close(mfd);
        en->mail.name = xstrdup(de->d_name);
        en->mail.sub = sub;
        en->mtime = fst.st_mtim;
        (*n)++;
        errno = 0;
    }
    if (errno != 0) {
        int saved = errno;
        closedir(d);
        return err_set_errno(e, MP_EIO, saved, _("cannot read %s/"),
                             subdirs[sub]);
    }
    closedir(d);
    return 0;
}

/* Keeps the first of several entries with the same UID. */
static size_t drop_duplicates(struct entry *v, size_t n)
{
    struct entry **byuid;
    size_t out = 0;

    if (n < 2)
        return n;
    byuid = xreallocarray(NULL, n, sizeof *byuid);
    for (size_t i = 0; i < n; i++)
        byuid[i] = &v[i];
    qsort(byuid, n, sizeof *byuid, cmp_uid);
    for (size_t i = 1; i < n; i++)
        if (strcmp(byuid[i]->mail.uid, byuid[i - 1]->mail.uid) == 0) {
            free(byuid[i]->mail.name);
            byuid[i]->mail.name = NULL;
        }
    free(byuid);
    for (size_t i = 0; i < n; i++)
        if (v[i].mail.name)
            v[out++] = v[i];
    return out;
}

int pop3d_store_open(struct pop3d_store *s, const char *dir,
                     struct mp_err *e)
{
    struct entry *v = NULL;
    size_t n = 0, alloc = 0;

    s->dir_fd = -1;
    s->sub_fd[0] = s->sub_fd[1] = -1;
    s->mails = NULL;
    s->count = 0;

    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0)
        return err_set_errno(e, MP_ENOINPUT, errno, _("cannot open "
                             "maildir %s"), dir);
    if (flock(s->dir_fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        pop3d_store_close(s);
        if (saved == EWOULDBLOCK)
            return err_set(e, MP_ETEMP, _("maildir %s is in use by another "
                           "session"), dir);
        return err_set_errno(e, MP_EIO, saved, _("cannot lock maildir %s"),
                             dir);
    }
    for (int sub = 0; sub < 2; sub++) {
        s->sub_fd[sub] = openat(s->dir_fd, subdirs[sub], O_RDONLY
                                | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s->sub_fd[sub] < 0) {
            int saved = errno;
            pop3d_store_close(s);
            return err_set_errno(e, MP_ENOINPUT, saved, _("cannot open "
                                 "%s/%s"), dir, subdirs[sub]);
        }
    }
    for (int sub = 0; sub < 2; sub++)
        if (scan_sub(s, sub, &v, &n, &alloc, e) != 0) {
            for (size_t i = 0; i < n; i++)
                free(v[i].mail.name);
            free(v);
            pop3d_store_close(s);
            err_prefix(e, "%s: ", dir);
            return -1;
        }
    if (n > 0)
        qsort(v, n, sizeof *v, cmp_entry);
    n = drop_duplicates(v, n);
    if (n > 0) {
        s->mails = xreallocarray(NULL, n, sizeof *s->mails);
        for (size_t i = 0; i < n; i++)
            s->mails[i] = v[i].mail;
    }
    s->count = n;
    free(v);
    return 0;
}

struct pop3d_mail *pop3d_store_get(struct pop3d_store *s, unsigned long msn)
{
    if (msn == 0 || msn > s->count)
        return NULL;
    return &s->mails[msn - 1];
}

void pop3d_store_stat(const struct pop3d_store *s, size_t *count_r,
                      uint64_t *size_r)
{
    size_t count = 0;
    uint64_t size = 0;

    for (size_t i = 0; i < s->count; i++)
        if (!s->mails[i].deleted) {
            count++;
            size += s->mails[i].size;
        }
    *count_r = count;
    *size_r = size;
}

void pop3d_store_rset(struct pop3d_store *s)
{
    for (size_t i = 0; i < s->count; i++)
        s->mails[i].deleted = false;
}

int pop3d_store_open_mail(struct pop3d_store *s, unsigned long msn,
                          struct mp_err *e)
{
    struct pop3d_mail *m = pop3d_store_get(s, msn);
    struct stat st;
    int fd;

    if (!m)
        return err_set(e, MP_ESOFTWARE, _("no message %lu"), msn);
    fd = open_regular(s->sub_fd[m->sub], m->name, &st);
    if (fd < 0)
        return err_set_errno(e, MP_EIO, errno, _("cannot open %s/%s"),
                             subdirs[m->sub], m->name);
    return fd;
}

int pop3d_store_commit(struct pop3d_store *s, struct mp_err *e)
{
    size_t failed = 0;
    int first_errno = 0;

    for (size_t i = 0; i < s->count; i++) {
        struct pop3d_mail *m = &s->mails[i];
        if (!m->deleted)
            continue;
        if (unlinkat(s->sub_fd[m->sub], m->name, 0) != 0 && errno != ENOENT) {
            if (!failed)
                first_errno = errno;
            failed++;
        }
    }
    if (failed) {
        /* Make the unlinks that worked durable anyway. */
        fsync(s->sub_fd[0]);
        fsync(s->sub_fd[1]);
        return err_set_errno(e, MP_EIO, first_errno, ngettext(
                             "cannot remove %zu deleted mail",
                             "cannot remove %zu deleted mails", failed),
                             failed);
    }
    fsync(s->sub_fd[0]);
    fsync(s->sub_fd[1]);
    return 0;
}

void pop3d_store_close(struct pop3d_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        free(s->mails[i].name);
    free(s->mails);
    s->mails = NULL;
    s->count = 0;
    for (int sub = 0; sub < 2; sub++)
        if (s->sub_fd[sub] >= 0) {
            close(s->sub_fd[sub]);
            s->sub_fd[sub] = -1;
        }
    /* Closing the last fd of the open file description drops the flock. */
    if (s->dir_fd >= 0) {
        close(s->dir_fd);
        s->dir_fd = -1;
    }
}
