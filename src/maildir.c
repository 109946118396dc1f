#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "gettext.h"
#include "maildir.h"
#include "xalloc.h"

/* Attempts before giving up on finding a free name: each try takes a new
 * counter value, so only a hostile directory could need more than one. */
#define NAME_TRIES 100

static unsigned long name_counter;
/* The pid and the host part, looked up once per process (not once per
 * mail: two system calls and a malloc each); a forked child looks its
 * own pid up again, so its names never take its parent's pid. */
static pid_t name_pid;
static char *name_host;
static pthread_once_t name_once = PTHREAD_ONCE_INIT;

static void name_forked(void)
{
    name_pid = 0;
}

static void name_init(void)
{
    pthread_atfork(NULL, NULL, name_forked);
}

/* The host part: '/' and ':' would break a path or the ":2,flags" info
 * suffix, so the maildir convention writes them in octal. */
static char *host_part(void)
{
    char h[256], *out, *o;
    size_t i;

    if (gethostname(h, sizeof h) != 0 || h[0] == '\0')
        strcpy(h, "localhost");
    h[sizeof h - 1] = '\0';
    out = o = xmalloc(strlen(h) * 4 + 1);
    for (i = 0; h[i]; i++) {
        if (h[i] == '/') {
            memcpy(o, "\\057", 4);
            o += 4;
        } else if (h[i] == ':') {
            memcpy(o, "\\072", 4);
            o += 4;
        } else {
            *o++ = h[i];
        }
    }
    *o = '\0';
    return out;
}

/* No cap worth the name for the buffers below: they hold a path made of
 * our own parts, far shorter than this. */
#define NAME_BUF_CAP ((size_t)1 << 24)

/* Appends the decimal digits of v, at least `width` of them. */
static void put_num(struct buf *b, unsigned long long v, int width)
{
    char d[24];
    int n = (int)sizeof d;

    do {
        d[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 || (int)sizeof d - n < width);
    buf_append(b, d + n, sizeof d - (size_t)n);
}

/* The unique name into b (cleared first), without printf: this runs once
 * per mail. */
static void unique_name(struct buf *b, const char *prefix, char sep,
                        const char *suffix)
{
    struct timeval tv;

    pthread_once(&name_once, name_init);
    if (name_pid == 0)
        name_pid = getpid();
    if (!name_host)
        name_host = host_part();
    gettimeofday(&tv, NULL);
    buf_append_str(b, prefix);
    put_num(b, (unsigned long long)tv.tv_sec, 1);
    buf_append(b, &sep, 1);
    buf_append(b, "M", 1);
    put_num(b, (unsigned long long)tv.tv_usec, 6);
    buf_append(b, "P", 1);
    put_num(b, (unsigned long long)name_pid, 1);
    buf_append(b, "Q", 1);
    put_num(b, ++name_counter, 1);
    buf_append(b, &sep, 1);
    buf_append_str(b, name_host);
    buf_append_str(b, suffix);
}

static int is_dir(const char *dir, const char *sub, struct mp_err *e)
{
    char *p = xasprintf("%s/%s", dir, sub);
    struct stat st;
    int r = 0;

    if (stat(p, &st) != 0)
        r = err_set_errno(e, MP_ECANTCREAT, errno, _("maildir %s"), p);
    else if (!S_ISDIR(st.st_mode))
        r = err_set(e, MP_ECANTCREAT, _("maildir %s: not a directory"), p);
    free(p);
    return r;
}

int maildir_check(const char *dir, struct mp_err *e)
{
    if (is_dir(dir, "tmp", e) != 0 || is_dir(dir, "new", e) != 0)
        return -1;
    return 0;
}

int maildir_create(const char *dir, const char *subdir, const char *prefix,
                   char sep, const char *suffix, char **path_r,
                   struct mp_err *e)
{
    return maildir_create_cb(dir, subdir, prefix, sep, suffix, NULL, NULL,
                             path_r, e);
}

int maildir_create_cb(const char *dir, const char *subdir,
                      const char *prefix, char sep, const char *suffix,
                      int (*chosen)(void *arg, const char *name,
                                    struct mp_err *e),
                      void *arg, char **path_r, struct mp_err *e)
{
    int tries, fd, saved = 0;

    for (tries = 0; tries < NAME_TRIES; tries++) {
        struct buf b;
        char *path;
        size_t base;

        buf_init(&b, NAME_BUF_CAP);
        buf_append_str(&b, dir);
        buf_append(&b, "/", 1);
        if (subdir) {
            buf_append_str(&b, subdir);
            buf_append(&b, "/", 1);
        }
        base = b.len;
        unique_name(&b, prefix, sep, suffix);
        path = buf_steal(&b);
        if (chosen && chosen(arg, path + base, e) != 0) {
            free(path);
            return -1;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            *path_r = path;
            return fd;
        }
        saved = errno;
        if (saved != EEXIST) {
            err_set_errno(e, MP_ECANTCREAT, saved, _("cannot create %s"),
                          path);
            free(path);
            return -1;
        }
        free(path);
    }
    return err_set_errno(e, MP_ECANTCREAT, saved,
                         _("cannot create a file in %s"), dir);
}
