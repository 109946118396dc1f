/* The TLS record I/O shared by client and server.  See tls_io.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gettext.h"
#include "monotime.h"
#include "tls_io.h"

void tls_io_init(struct tls_io *io, struct transport *t, bool server)
{
    memset(io, 0, sizeof *io);
    io->t = t;
    io->server = server;
    err_init(&io->io_err);
}

/* How long the next network wait may take: the transport's timeout,
 * shortened to what is left before the deadline.  -1 (io_err filled) when
 * the deadline has passed. */
static int wait_budget(struct tls_io *io, int *ms_r)
{
    int ms = io->t->timeout_ms;

    if (io->deadline) {
        long long left = io->deadline - monotime_ms();

        if (left <= 0)
            return err_set(&io->io_err, MP_ETEMP, _("the TLS handshake took "
                           "longer than %d seconds"), io->deadline_secs);
        if (ms <= 0 || left < ms)
            ms = (int)left;
    }
    *ms_r = ms;
    return 0;
}

/* After a failed read or write of pull or push (errno set): 1 to try
 * again, 0 when io_err now says why not. */
static int retry_or_fail(struct tls_io *io, bool writing)
{
    if (errno == EINTR) {
        if (!transport_interrupted)
            return 1;
        err_set(&io->io_err, MP_ESIGNAL, _("interrupted by a signal"));
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 1;
    if (writing)
        err_set_errno(&io->io_err, MP_EIO, errno,
                      _("cannot write to the network"));
    else
        err_set_errno(&io->io_err, MP_EIO, errno,
                      _("cannot read from the network"));
    return 0;
}

static ssize_t io_pull(gnutls_transport_ptr_t ptr, void *buf, size_t n)
{
    struct tls_io *io = ptr;

    for (;;) {
        ssize_t r;
        int ms;

        if (wait_budget(io, &ms) < 0
            || transport_wait_fd(io->t->fd, false, ms, &io->io_err) < 0)
            break;
        r = read(io->t->fd, buf, n);
        if (r >= 0)
            return r;
        if (!retry_or_fail(io, false))
            break;
    }
    io->io_failed = true;
    gnutls_transport_set_errno(io->s, EIO);
    return -1;
}

static ssize_t io_push(gnutls_transport_ptr_t ptr, const void *buf,
                       size_t n)
{
    struct tls_io *io = ptr;
    int fd = io->t->out_fd;

    for (;;) {
        ssize_t r;
        int ms;

        if (wait_budget(io, &ms) < 0
            || transport_wait_fd(fd, true, ms, &io->io_err) < 0)
            break;
        /* As in the plain layer: no SIGPIPE, and never block past the
         * timeout on a nearly full buffer; a pipe (inetd) gets write(). */
        r = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0 && errno == ENOTSOCK)
            r = write(fd, buf, n);
        if (r >= 0)
            return r;
        if (!retry_or_fail(io, true))
            break;
    }
    io->io_failed = true;
    gnutls_transport_set_errno(io->s, EIO);
    return -1;
}

/* GnuTLS asks whether data arrives within ms (0: is some there now).
 * Returns > 0 if so, 0 if not, -1 on error or signal.  Only called when a
 * GnuTLS timeout is set; the waits in io_pull govern otherwise. */
static int io_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    struct tls_io *io = ptr;
    struct pollfd pfd = { .fd = io->t->fd, .events = POLLIN };
    int wait;

    if (ms == GNUTLS_INDEFINITE_TIMEOUT) {
        if (wait_budget(io, &wait) < 0)
            return 0;
        if (wait <= 0)
            wait = -1;
    } else {
        wait = ms > 86400000u ? 86400000 : (int)ms;
    }
    for (;;) {
        int r = poll(&pfd, 1, wait);

        if (r >= 0)
            return r;
        if (errno != EINTR || transport_interrupted) {
            gnutls_transport_set_errno(io->s, EINTR);
            return -1;
        }
    }
}

void tls_io_bind(struct tls_io *io)
{
    gnutls_transport_set_ptr(io->s, io);
    gnutls_transport_set_pull_function(io->s, io_pull);
    gnutls_transport_set_push_function(io->s, io_push);
    gnutls_transport_set_pull_timeout_function(io->s, io_pull_timeout);
}

int tls_io_fail(struct tls_io *io, int r, enum mp_err_kind kind,
                const char *what, struct mp_err *e)
{
    io->broken = true;
    if (io->io_failed) {
        *e = io->io_err;
        if (!io->server && e->kind == MP_EIO)
            e->kind = kind;
        err_prefix(e, "%s: ", what);
        return -1;
    }
    if (r == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        const char *alert = gnutls_alert_get_name(gnutls_alert_get(io->s));

        if (io->server)
            return err_set(e, kind, _("%s: the client sent a fatal alert: "
                                      "%s"), what, alert);
        return err_set(e, kind, _("%s: the server sent a fatal alert: %s"),
                       what, alert);
    }
    return err_set(e, kind, "%s: %s", what, gnutls_strerror(r));
}

ssize_t tls_io_read(struct transport *t, void *buf, size_t n,
                    struct mp_err *e)
{
    struct tls_io *io = t->ctx;

    for (;;) {
        ssize_t r;

        io->io_failed = false;
        r = gnutls_record_recv(io->s, buf, n);
        if (r > 0)
            return r;
        if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION) {
            /* close_notify, or a peer that just closed: end of stream
             * either way; the protocol layer judges a cut message. */
            io->broken = true;
            return 0;
        }
        if (io->io_failed)
            return tls_io_fail(io, (int)r, MP_EIO, _("TLS read failed"), e);
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
            if (transport_interrupted)
                return err_set(e, MP_ESIGNAL, _("interrupted by a signal"));
            continue;
        }
        if (r == GNUTLS_E_REHANDSHAKE) {
            /* A TLS 1.2 renegotiation request: refuse it politely; the
             * peer's identity must not change under us, and nothing a
             * POP3 session needs changes mid-session. */
            if (gnutls_alert_send(io->s, GNUTLS_AL_WARNING,
                                  GNUTLS_A_NO_RENEGOTIATION) < 0
                && io->io_failed)
                return tls_io_fail(io, (int)r, MP_EIO,
                                   _("TLS read failed"), e);
            continue;
        }
        if (r == GNUTLS_E_WARNING_ALERT_RECEIVED)
            continue;
        return tls_io_fail(io, (int)r, MP_EIO, _("TLS read failed"), e);
    }
}

int tls_io_write(struct transport *t, const void *buf, size_t n,
                 struct mp_err *e)
{
    struct tls_io *io = t->ctx;
    const char *p = buf;

    while (n > 0) {
        ssize_t r;

        io->io_failed = false;
        r = gnutls_record_send(io->s, p, n);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (!io->io_failed
            && (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)) {
            if (transport_interrupted)
                return err_set(e, MP_ESIGNAL, _("interrupted by a signal"));
            continue;
        }
        return tls_io_fail(io, (int)r, MP_EIO, _("TLS write failed"), e);
    }
    return 0;
}

size_t tls_io_pending(struct transport *t)
{
    const struct tls_io *io = t->ctx;

    return io ? gnutls_record_check_pending(io->s) : 0;
}

void tls_io_bye(struct tls_io *io)
{
    if (!io->broken && !transport_interrupted)
        gnutls_bye(io->s, GNUTLS_SHUT_WR);
}
