#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gettext.h"
#include "monotime.h"
#include "net.h"
#include "transport.h"

volatile sig_atomic_t transport_interrupted;

/* The plain layer keeps no state but whether out_fd is a socket: in inetd
 * mode fds 0 and 1 may be pipes, where send() fails with ENOTSOCK.  The
 * ctx points at one of these two markers so no allocation is needed. */
static const char plain_socket_marker;
/* A read at least this big suggests more data is waiting. */
#define PLAIN_BIG_READ 16384
static const char plain_pipe_marker;

int transport_wait_fd(int fd, bool for_write, int timeout_ms,
                      struct mp_err *e)
{
    struct pollfd pfd;
    long long deadline = timeout_ms > 0 ? monotime_ms() + timeout_ms : 0;
    int wait = timeout_ms > 0 ? timeout_ms : -1;

    pfd.fd = fd;
    pfd.events = for_write ? POLLOUT : POLLIN;
    for (;;) {
        int r;

        /* A signal that came since the last read or write would not
         * interrupt the poll: look first (the window left is a few
         * instructions, not the whole timeout). */
        if (transport_interrupted)
            return err_set(e, MP_ESIGNAL, _("interrupted by a signal"));
        pfd.revents = 0;
        r = poll(&pfd, 1, wait);
        if (r > 0)
            /* POLLERR/POLLHUP too: the next read or write reports it. */
            return 0;
        if (r == 0)
            break;
        if (errno != EINTR)
            return err_set_errno(e, MP_EIO, errno, _("cannot wait for "
                                 "the network"));
        if (deadline) {
            long long left = deadline - monotime_ms();
            if (left <= 0)
                break;
            wait = (int)left;
        }
    }
    int sec = (timeout_ms + 999) / 1000;
    if (for_write)
        return err_set(e, MP_ETEMP, ngettext("network write timed out "
                       "after %d second", "network write timed out after "
                       "%d seconds", (unsigned long)sec), sec);
    return err_set(e, MP_ETEMP, ngettext("network read timed out after %d "
                   "second", "network read timed out after %d seconds",
                   (unsigned long)sec), sec);
}

static ssize_t plain_read(struct transport *t, void *buf, size_t n,
                          struct mp_err *e)
{
    /* During a big transfer data is mostly waiting already: after a big
     * read, a socket is read without waiting first, and polled only when
     * it has nothing (one system call per read instead of two).  After a
     * small read (replies trickling in) it is polled first, as a try
     * would mostly find nothing.  The timeout still bounds every wait. */
    if (t->ctx == &plain_socket_marker && t->busy) {
        for (;;) {
            ssize_t r = recv(t->fd, buf, n, MSG_DONTWAIT);

            if (r >= 0) {
                t->busy = (size_t)r == n || r >= PLAIN_BIG_READ;
                return r;
            }
            if (errno == EINTR) {
                if (transport_interrupted)
                    return err_set(e, MP_ESIGNAL,
                                   _("interrupted by a signal"));
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTSOCK)
                break;      /* wait below (ENOTSOCK: in_fd is a pipe) */
            return err_set_errno(e, MP_EIO, errno,
                                 _("cannot read from the network"));
        }
    }
    for (;;) {
        ssize_t r;

        if (transport_wait_fd(t->fd, false, t->timeout_ms, e) < 0)
            return -1;
        r = read(t->fd, buf, n);
        if (r >= 0) {
            t->busy = (size_t)r == n || r >= PLAIN_BIG_READ;
            return r;
        }
        if (errno == EINTR) {
            if (transport_interrupted)
                return err_set(e, MP_ESIGNAL, _("interrupted by a signal"));
            continue;
        }
        /* A spurious wakeup on a non-blocking fd: wait again. */
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        return err_set_errno(e, MP_EIO, errno,
                             _("cannot read from the network"));
    }
}

static int plain_write(struct transport *t, const void *buf, size_t n,
                       struct mp_err *e)
{
    const char *p = buf;

    while (n > 0) {
        ssize_t r;

        if (transport_wait_fd(t->out_fd, true, t->timeout_ms, e) < 0)
            return -1;
        if (t->ctx == &plain_socket_marker) {
            /* MSG_NOSIGNAL: a peer that went away is EPIPE, not SIGPIPE.
             * MSG_DONTWAIT: never block past the timeout on a full
             * buffer; poll said there is some room, not room for n. */
            r = send(t->out_fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (r < 0 && errno == ENOTSOCK) {
                t->ctx = (void *)&plain_pipe_marker;
                continue;
            }
#ifdef TCP_QUICKACK
            /* Acknowledge the reply's first segment at once: a server
             * that answers pipelined commands (USER and PASS) in two small
             * writes holds the second under Nagle's rule until that ACK,
             * which a delayed ACK would postpone by up to 40 ms.  Not
             * sticky in Linux, so set after each command; harmless where
             * it does not apply (a Unix socket). */
            if (r > 0) {
                int one = 1;

                (void)setsockopt(t->out_fd, IPPROTO_TCP, TCP_QUICKACK, &one,
                                 sizeof one);
            }
#endif
        } else {
            /* A pipe: the caller ignores SIGPIPE (mpopd --inetd). */
            r = write(t->out_fd, p, n);
        }
        if (r < 0) {
            if (errno == EINTR) {
                if (transport_interrupted)
                    return err_set(e, MP_ESIGNAL,
                                   _("interrupted by a signal"));
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return err_set_errno(e, MP_EIO, errno,
                                 _("cannot write to the network"));
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void plain_close(struct transport *t)
{
    t->ctx = NULL;
}

static const struct transport_ops plain_ops = {
    .name = "plain",
    .read = plain_read,
    .write = plain_write,
    .pending = NULL,
    .close = plain_close,
};

void transport_plain_init(struct transport *t, int in_fd, int out_fd,
                          int timeout_sec)
{
    struct stat st;

    t->ops = &plain_ops;
    t->busy = false;
    t->fd = in_fd;
    t->out_fd = out_fd;
    if (timeout_sec > 0 && timeout_sec <= 86400 * 24)
        t->timeout_ms = timeout_sec * 1000;
    else if (timeout_sec > 0)
        t->timeout_ms = 86400 * 24 * 1000;  /* fits an int; ~24 days */
    else
        t->timeout_ms = 0;
    if (fstat(out_fd, &st) == 0 && !S_ISSOCK(st.st_mode))
        t->ctx = (void *)&plain_pipe_marker;
    else
        t->ctx = (void *)&plain_socket_marker;
}

ssize_t transport_read(struct transport *t, void *buf, size_t n,
                       struct mp_err *e)
{
    if (!t->ops)
        return err_set(e, MP_ESOFTWARE, _("read on a closed connection"));
    return t->ops->read(t, buf, n, e);
}

int transport_write(struct transport *t, const void *buf, size_t n,
                    struct mp_err *e)
{
    if (!t->ops)
        return err_set(e, MP_ESOFTWARE, _("write on a closed connection"));
    return t->ops->write(t, buf, n, e);
}

size_t transport_pending(struct transport *t)
{
    if (!t->ops || !t->ops->pending)
        return 0;
    return t->ops->pending(t);
}

void transport_close(struct transport *t)
{
    if (t->ops && t->ops->close)
        t->ops->close(t);
    t->ops = NULL;
    if (t->out_fd >= 0 && t->out_fd != t->fd)
        close(t->out_fd);
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    t->out_fd = -1;
}
