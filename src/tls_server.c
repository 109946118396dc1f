#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "gettext.h"
#include "tls_server.h"
#include "xalloc.h"

struct tls_server {
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;     /* NULL: the library's default */
};

/* The state behind one server TLS transport.  t is the transport the
 * session was started on (the caller keeps it in place), so pull and push
 * use its fds and its current timeout. */
struct tls_sconn {
    gnutls_session_t s;
    struct transport *t;
    /* Set during the handshake only: the CLOCK_MONOTONIC millisecond by
     * which it must be done. */
    long long deadline;
    /* GnuTLS cannot carry an mp_err out of pull/push: they leave it here
     * and the caller reports it instead of "Error in the pull function". */
    struct mp_err io_err;
    bool io_failed;
    /* No close_notify on close: the connection failed or the peer left. */
    bool broken;
};

static const struct transport_ops tls_server_ops;

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long the next network wait may take: the transport's timeout,
 * shortened to what is left of the handshake's deadline.  0 when the
 * deadline has passed (e filled). */
static int wait_budget(struct tls_sconn *c, int *ms_r)
{
    int ms = c->t->timeout_ms;

    if (c->deadline) {
        long long left = c->deadline - now_ms();

        if (left <= 0)
            return err_set(&c->io_err, MP_ETEMP, _("the TLS handshake took "
                           "longer than %d seconds"),
                           TLS_SERVER_HANDSHAKE_MS / 1000);
        if (ms <= 0 || left < ms)
            ms = (int)left;
    }
    *ms_r = ms;
    return 0;
}

static ssize_t sconn_pull(gnutls_transport_ptr_t ptr, void *buf, size_t n)
{
    struct tls_sconn *c = ptr;

    for (;;) {
        ssize_t r;
        int ms;

        if (wait_budget(c, &ms) < 0
            || transport_wait_fd(c->t->fd, false, ms, &c->io_err) < 0)
            break;
        r = read(c->t->fd, buf, n);
        if (r >= 0)
            return r;
        if (errno == EINTR) {
            if (transport_interrupted) {
                err_set(&c->io_err, MP_ESIGNAL,
                        _("interrupted by a signal"));
                break;
            }
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        err_set_errno(&c->io_err, MP_EIO, errno,
                      _("cannot read from the network"));
        break;
    }
    c->io_failed = true;
    gnutls_transport_set_errno(c->s, EIO);
    return -1;
}

static ssize_t sconn_push(gnutls_transport_ptr_t ptr, const void *buf,
                          size_t n)
{
    struct tls_sconn *c = ptr;
    int fd = c->t->out_fd;

    for (;;) {
        ssize_t r;
        int ms;

        if (wait_budget(c, &ms) < 0
            || transport_wait_fd(fd, true, ms, &c->io_err) < 0)
            break;
        /* No SIGPIPE, and never block past the timeout on a nearly full
         * buffer; in --inetd mode fd 1 may be a pipe: write() then. */
        r = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0 && errno == ENOTSOCK)
            r = write(fd, buf, n);
        if (r >= 0)
            return r;
        if (errno == EINTR) {
            if (transport_interrupted) {
                err_set(&c->io_err, MP_ESIGNAL,
                        _("interrupted by a signal"));
                break;
            }
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        err_set_errno(&c->io_err, MP_EIO, errno,
                      _("cannot write to the network"));
        break;
    }
    c->io_failed = true;
    gnutls_transport_set_errno(c->s, EIO);
    return -1;
}

/* GnuTLS calls this to ask whether data arrives within ms (0: is some
 * there now).  Returns > 0 if so, 0 if not, -1 on error or signal. */
static int sconn_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    struct tls_sconn *c = ptr;
    struct pollfd pfd = { .fd = c->t->fd, .events = POLLIN };
    int wait;

    if (ms == GNUTLS_INDEFINITE_TIMEOUT) {
        if (wait_budget(c, &wait) < 0)
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
            gnutls_transport_set_errno(c->s, EINTR);
            return -1;
        }
    }
}

/* Opens path only to say clearly why it cannot be read, before GnuTLS's
 * vaguer "Error while reading file". */
static int check_readable(const char *path, const char *what,
                          struct mp_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return err_set_errno(e, MP_ENOINPUT, errno, _("cannot read the %s "
                             "%s"), what, path);
    close(fd);
    return 0;
}

int tls_server_new(const char *cert_file, const char *key_file,
                   const char *priorities, struct tls_server **srv_r,
                   struct mp_err *e)
{
    struct tls_server *srv = xcalloc(1, sizeof *srv);
    int r;

    *srv_r = NULL;
    if (check_readable(cert_file, _("TLS certificate file"), e) < 0
        || check_readable(key_file, _("TLS key file"), e) < 0)
        goto fail;
    r = gnutls_certificate_allocate_credentials(&srv->cred);
    if (r < 0) {
        srv->cred = NULL;
        err_set(e, MP_ESOFTWARE, _("cannot allocate TLS credentials: %s"),
                gnutls_strerror(r));
        goto fail;
    }
    r = gnutls_certificate_set_x509_key_file2(srv->cred, cert_file,
                                              key_file, GNUTLS_X509_FMT_PEM,
                                              NULL, 0);
    if (r < 0) {
        if (r == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
            err_set(e, MP_ECONFIG, _("the TLS key in %s does not belong to "
                    "the certificate in %s"), key_file, cert_file);
        else if (r == GNUTLS_E_FILE_ERROR)
            err_set(e, MP_ENOINPUT, _("cannot read the TLS certificate %s "
                    "or its key %s"), cert_file, key_file);
        else
            err_set(e, MP_ECONFIG, _("cannot use the TLS certificate %s "
                    "with the key %s: %s"), cert_file, key_file,
                    gnutls_strerror(r));
        goto fail;
    }
    if (priorities && *priorities) {
        const char *where = NULL;

        r = gnutls_priority_init(&srv->prio, priorities, &where);
        if (r < 0) {
            srv->prio = NULL;
            if (r == GNUTLS_E_INVALID_REQUEST && where)
                err_set(e, MP_ECONFIG, _("invalid TLS priority string at "
                        "position %d: %s"), (int)(where - priorities) + 1,
                        where);
            else
                err_set(e, MP_ECONFIG, _("invalid TLS priority string %s: "
                        "%s"), priorities, gnutls_strerror(r));
            goto fail;
        }
    }
    *srv_r = srv;
    return 0;

fail:
    tls_server_free(&srv);
    return -1;
}

void tls_server_free(struct tls_server **srvp)
{
    struct tls_server *srv = *srvp;

    if (!srv)
        return;
    if (srv->prio)
        gnutls_priority_deinit(srv->prio);
    if (srv->cred)
        gnutls_certificate_free_credentials(srv->cred);
    free(srv);
    *srvp = NULL;
}

static void sconn_free(struct tls_sconn *c)
{
    if (!c)
        return;
    if (c->s)
        gnutls_deinit(c->s);
    free(c);
}

/* Turns a failed GnuTLS call into e: our own I/O error if pull or push
 * left one, else GnuTLS's reason. */
static int sconn_fail(struct tls_sconn *c, int r, enum mp_err_kind kind,
                      const char *what, struct mp_err *e)
{
    c->broken = true;
    if (c->io_failed) {
        *e = c->io_err;
        err_prefix(e, "%s: ", what);
        return -1;
    }
    if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
        return err_set(e, kind, _("%s: the client sent a fatal alert: %s"),
                       what, gnutls_alert_get_name(gnutls_alert_get(c->s)));
    return err_set(e, kind, "%s: %s", what, gnutls_strerror(r));
}

int tls_server_start(struct transport *t, const struct tls_server *srv,
                     struct mp_err *e)
{
    struct tls_sconn *c = xcalloc(1, sizeof *c);
    int r;

    c->t = t;
    err_init(&c->io_err);
    r = gnutls_init(&c->s, GNUTLS_SERVER);
    if (r < 0) {
        c->s = NULL;
        err_set(e, MP_ESOFTWARE, _("cannot create a TLS session: %s"),
                gnutls_strerror(r));
        goto fail;
    }
    r = srv->prio ? gnutls_priority_set(c->s, srv->prio)
                  : gnutls_set_default_priority(c->s);
    if (r >= 0)
        r = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, srv->cred);
    if (r < 0) {
        err_set(e, MP_ESOFTWARE, _("cannot set up the TLS session: %s"),
                gnutls_strerror(r));
        goto fail;
    }
    gnutls_certificate_server_set_request(c->s, GNUTLS_CERT_IGNORE);
    gnutls_transport_set_ptr(c->s, c);
    gnutls_transport_set_pull_function(c->s, sconn_pull);
    gnutls_transport_set_push_function(c->s, sconn_push);
    gnutls_transport_set_pull_timeout_function(c->s, sconn_pull_timeout);
    /* Our own deadline in sconn_pull/sconn_push bounds the handshake. */
    gnutls_handshake_set_timeout(c->s, 0);
    c->deadline = now_ms() + TLS_SERVER_HANDSHAKE_MS;

    do {
        if (transport_interrupted) {
            err_set(e, MP_ESIGNAL, _("interrupted by a signal"));
            goto fail;
        }
        c->io_failed = false;
        r = gnutls_handshake(c->s);
    } while (r < 0 && !c->io_failed && !gnutls_error_is_fatal(r));
    if (r == GNUTLS_E_PREMATURE_TERMINATION && !c->io_failed) {
        err_set(e, MP_EIO, _("TLS handshake failed: the client closed the "
                "connection"));
        goto fail;
    }
    if (r < 0) {
        sconn_fail(c, r, MP_EPROTO, _("TLS handshake failed"), e);
        goto fail;
    }
    c->deadline = 0;
    t->ops = &tls_server_ops;
    t->ctx = c;
    return 0;

fail:
    sconn_free(c);
    return -1;
}

bool tls_server_active(const struct transport *t)
{
    return t->ops == &tls_server_ops && t->ctx;
}

const char *tls_server_describe(const struct transport *t, char *buf,
                                size_t size)
{
    const struct tls_sconn *c;
    const char *proto, *cipher;

    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (!tls_server_active(t))
        return buf;
    c = t->ctx;
    proto = gnutls_protocol_get_name(gnutls_protocol_get_version(c->s));
    cipher = gnutls_cipher_get_name(gnutls_cipher_get(c->s));
    snprintf(buf, size, "%s %s", proto ? proto : "?",
             cipher ? cipher : "?");
    return buf;
}

static ssize_t sconn_read(struct transport *t, void *buf, size_t n,
                          struct mp_err *e)
{
    struct tls_sconn *c = t->ctx;

    for (;;) {
        ssize_t r;

        c->io_failed = false;
        r = gnutls_record_recv(c->s, buf, n);
        if (r > 0)
            return r;
        if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION) {
            /* close_notify, or a client that just closed: end of stream
             * either way; the session judges a cut command. */
            c->broken = true;
            return 0;
        }
        if (c->io_failed)
            return sconn_fail(c, (int)r, MP_EIO, _("TLS read failed"), e);
        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
            if (transport_interrupted)
                return err_set(e, MP_ESIGNAL, _("interrupted by a signal"));
            continue;
        }
        if (r == GNUTLS_E_REHANDSHAKE) {
            /* A TLS 1.2 client asks to renegotiate: refuse; nothing a POP3
             * session needs changes mid-session. */
            if (gnutls_alert_send(c->s, GNUTLS_AL_WARNING,
                                  GNUTLS_A_NO_RENEGOTIATION) < 0
                && c->io_failed)
                return sconn_fail(c, (int)r, MP_EIO, _("TLS read failed"),
                                  e);
            continue;
        }
        if (r == GNUTLS_E_WARNING_ALERT_RECEIVED)
            continue;
        return sconn_fail(c, (int)r, MP_EIO, _("TLS read failed"), e);
    }
}

static int sconn_write(struct transport *t, const void *buf, size_t n,
                       struct mp_err *e)
{
    struct tls_sconn *c = t->ctx;
    const char *p = buf;

    while (n > 0) {
        ssize_t r;

        c->io_failed = false;
        r = gnutls_record_send(c->s, p, n);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (!c->io_failed
            && (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)) {
            if (transport_interrupted)
                return err_set(e, MP_ESIGNAL, _("interrupted by a signal"));
            continue;
        }
        return sconn_fail(c, (int)r, MP_EIO, _("TLS write failed"), e);
    }
    return 0;
}

static size_t sconn_pending(struct transport *t)
{
    struct tls_sconn *c = t->ctx;

    return c ? gnutls_record_check_pending(c->s) : 0;
}

static void sconn_close(struct transport *t)
{
    struct tls_sconn *c = t->ctx;

    if (!c)
        return;
    if (!c->broken && !transport_interrupted)
        /* SHUT_WR: send close_notify, do not wait for the client's. */
        gnutls_bye(c->s, GNUTLS_SHUT_WR);
    sconn_free(c);
    t->ctx = NULL;
}

static const struct transport_ops tls_server_ops = {
    .name = "tls",
    .read = sconn_read,
    .write = sconn_write,
    .pending = sconn_pending,
    .close = sconn_close,
};
