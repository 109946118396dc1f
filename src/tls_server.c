#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "gettext.h"
#include "monotime.h"
#include "tls_io.h"
#include "tls_server.h"
#include "xalloc.h"

struct tls_server {
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;     /* NULL: the library's default */
};

/* The state behind one server TLS transport (tls_io.h). */
struct tls_sconn {
    struct tls_io io;
};
/* tls_io_read() and the other ops of tls_io.h find it at t->ctx. */
_Static_assert(offsetof(struct tls_sconn, io) == 0, "io must come first");

static const struct transport_ops tls_server_ops;

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
    if (c->io.s)
        gnutls_deinit(c->io.s);
    free(c);
}

int tls_server_start(struct transport *t, const struct tls_server *srv,
                     struct mp_err *e)
{
    struct tls_sconn *c = xcalloc(1, sizeof *c);
    int r;

    tls_io_init(&c->io, t, true);
    r = gnutls_init(&c->io.s, GNUTLS_SERVER);
    if (r < 0) {
        c->io.s = NULL;
        err_set(e, MP_ESOFTWARE, _("cannot create a TLS session: %s"),
                gnutls_strerror(r));
        goto fail;
    }
    r = srv->prio ? gnutls_priority_set(c->io.s, srv->prio)
                  : gnutls_set_default_priority(c->io.s);
    if (r >= 0)
        r = gnutls_credentials_set(c->io.s, GNUTLS_CRD_CERTIFICATE, srv->cred);
    if (r < 0) {
        err_set(e, MP_ESOFTWARE, _("cannot set up the TLS session: %s"),
                gnutls_strerror(r));
        goto fail;
    }
    gnutls_certificate_server_set_request(c->io.s, GNUTLS_CERT_IGNORE);
    tls_io_bind(&c->io);
    /* Our own deadline in the pull and push functions bounds the
     * handshake. */
    gnutls_handshake_set_timeout(c->io.s, 0);
    c->io.deadline = monotime_ms() + TLS_SERVER_HANDSHAKE_MS;
    c->io.deadline_secs = TLS_SERVER_HANDSHAKE_MS / 1000;

    do {
        if (transport_interrupted) {
            err_set(e, MP_ESIGNAL, _("interrupted by a signal"));
            goto fail;
        }
        c->io.io_failed = false;
        r = gnutls_handshake(c->io.s);
    } while (r < 0 && !c->io.io_failed && !gnutls_error_is_fatal(r));
    if (r == GNUTLS_E_PREMATURE_TERMINATION && !c->io.io_failed) {
        err_set(e, MP_EIO, _("TLS handshake failed: the client closed the "
                "connection"));
        goto fail;
    }
    if (r < 0) {
        tls_io_fail(&c->io, r, MP_EPROTO, _("TLS handshake failed"), e);
        goto fail;
    }
    c->io.deadline = 0;
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
    proto = gnutls_protocol_get_name(gnutls_protocol_get_version(c->io.s));
    cipher = gnutls_cipher_get_name(gnutls_cipher_get(c->io.s));
    snprintf(buf, size, "%s %s", proto ? proto : "?",
             cipher ? cipher : "?");
    return buf;
}

static void sconn_close(struct transport *t)
{
    struct tls_sconn *c = t->ctx;

    if (!c)
        return;
    tls_io_bye(&c->io);
    sconn_free(c);
    t->ctx = NULL;
}

static const struct transport_ops tls_server_ops = {
    .name = "tls",
    .read = tls_io_read,
    .write = tls_io_write,
    .pending = tls_io_pending,
    .close = sconn_close,
};
