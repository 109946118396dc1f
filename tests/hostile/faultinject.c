/* Test-only fault injection, loaded with LD_PRELOAD by tests/hostile/
 * faults.sh (built there with cc -shared -fPIC).  Environment:
 *   FI_CALL   write | fsync | rename | open | malloc: the call that fails
 *   FI_MATCH  a substring of the path (open: the path; write, fsync,
 *             syncfs, fdatasync: the fd's path from /proc/self/fd;
 *             rename: either path);
 *             empty matches every path (not used for malloc)
 *   FI_ERRNO  ENOSPC | EIO | EDQUOT | EINTR | SHORT (write only: write
 *             half of the bytes) | ENOMEM (malloc)
 *   FI_NTH    fail the Nth matching call (1 = the first); 0 = every one
 * malloc counts malloc, calloc and realloc called by the program itself
 * (not by its libraries).
 * Only calls made through the C library's public symbols are seen (the
 * program's own open/write/fsync/rename/malloc). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/types.h>
#include <unistd.h>

static unsigned long count;

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t m, size_t n);
extern void *__libc_realloc(void *p, size_t n);

static const char *env(const char *k)
{
    const char *v = getenv(k);

    return v ? v : "";
}

static int want(const char *call)
{
    return strcmp(env("FI_CALL"), call) == 0;
}

static int match(const char *path)
{
    const char *m = env("FI_MATCH");

    return path && (*m == '\0' || strstr(path, m) != NULL);
}

/* Whether this matching call is the one to fail (counts it). */
static int fire(void)
{
    unsigned long nth = strtoul(env("FI_NTH"), NULL, 10);

    count++;
    return nth == 0 || count == nth;
}

/* Whether the file behind fd matches (its path from /proc/self/fd). */
static int fd_match(int fd)
{
    char link[64], path[4096];
    ssize_t n;

    if (fd < 0)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    return match(path);
}

static int err_value(void)
{
    const char *e = env("FI_ERRNO");

    if (strcmp(e, "EIO") == 0)
        return EIO;
    if (strcmp(e, "EDQUOT") == 0)
        return EDQUOT;
    if (strcmp(e, "EINTR") == 0)
        return EINTR;
    return ENOSPC;
}

int open(const char *path, int flags, ...)
{
    static int (*real)(const char *, int, ...);
    mode_t mode = 0;
    int fd;

    if (!real)
        real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (want("open") && match(path) && fire()) {
        errno = err_value();
        return -1;
    }
    fd = real(path, flags, mode);
    return fd;
}

int open64(const char *path, int flags, ...)
    __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
    static int (*real)(int, const char *, int, ...);
    mode_t mode = 0;
    int fd;

    if (!real)
        real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT,
                                                           "openat");
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (want("open") && match(path) && fire()) {
        errno = err_value();
        return -1;
    }
    fd = real(dirfd, path, flags, mode);
    return fd;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);

    if (!real)
        real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
                                                             "write");
    if (want("write") && n > 0 && fd_match(fd) && fire()) {
        if (strcmp(env("FI_ERRNO"), "SHORT") == 0)
            return real(fd, buf, n > 1 ? n / 2 : 1);
        errno = err_value();
        return -1;
    }
    return real(fd, buf, n);
}

int fsync(int fd)
{
    static int (*real)(int);

    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (want("fsync") && fd_match(fd) && fire()) {
        errno = err_value();
        return -1;
    }
    return real(fd);
}

/* The batch sync point (deliver_sync) uses syncfs on the destination;
 * FI_CALL=fsync covers it too. */
int syncfs(int fd)
{
    static int (*real)(int);

    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "syncfs");
    if (want("fsync") && fd_match(fd) && fire()) {
        errno = err_value();
        return -1;
    }
    return real(fd);
}

int fdatasync(int fd)
{
    static int (*real)(int);

    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (want("fsync") && fd_match(fd) && fire()) {
        errno = err_value();
        return -1;
    }
    return real(fd);
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);

    if (!real)
        real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT,
                                                          "rename");
    if (want("rename") && (match(from) || match(to)) && fire()) {
        errno = err_value();
        return -1;
    }
    return real(from, to);
}

/* Whether the caller is the program itself, not a library: a failing
 * allocation inside GnuTLS's constructors says nothing about mpop. */
static int from_program(const void *ret)
{
    static void *base;
    Dl_info info;

    if (!base) {
        if (!dladdr((void *)getauxval(AT_PHDR), &info))
            return 0;
        base = info.dli_fbase;
    }
    return dladdr(ret, &info) && info.dli_fbase == base;
}

static int fail_alloc(const void *ret)
{
    /* getenv allocates nothing, so it is safe here. */
    return want("malloc") && from_program(ret) && fire();
}

void *malloc(size_t n)
{
    if (fail_alloc(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(n);
}

void *calloc(size_t m, size_t n)
{
    if (fail_alloc(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_calloc(m, n);
}

void *realloc(void *p, size_t n)
{
    if (fail_alloc(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(p, n);
}
