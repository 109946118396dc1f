/* What both ends of our TLS transports share (tls.c for mpop, tls_server.c
 * for mpopd): GnuTLS's pull and push functions over a struct transport's
 * fds with its timeout, the record read and write loops with our signal
 * and error conventions, and the close_notify on close.  Only built with
 * GnuTLS. */
#ifndef MPOP_TLS_IO_H
#define MPOP_TLS_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <gnutls/gnutls.h>

#include "err.h"
#include "transport.h"

struct tls_io {
    gnutls_session_t s;
    /* The transport the session was started on: the caller keeps it
     * alive and in place (it is the one whose ops are swapped), so pull and
     * push read its fds and its current timeout through it. */
    struct transport *t;
    bool server;            /* the peer is a client (for messages) */
    /* A CLOCK_MONOTONIC millisecond by which every wait must be done (the
     * server's handshake), 0: none; deadline_secs is said when it passes. */
    long long deadline;
    int deadline_secs;
    /* GnuTLS cannot carry an mp_err out of pull and push: they leave it
     * here and the caller of gnutls_* reports it instead of GnuTLS's
     * "Error in the pull function". */
    struct mp_err io_err;
    bool io_failed;
    /* No close_notify on close: the connection failed or the peer left. */
    bool broken;
};

/* Clears io for a session on t.  server: we are the server. */
void tls_io_init(struct tls_io *io, struct transport *t, bool server);

/* Once gnutls_init() made io->s: our pull, push and pull-timeout
 * functions, with io as their pointer. */
void tls_io_bind(struct tls_io *io);

/* Turns a failed GnuTLS call r into e and returns -1: our own I/O error
 * if pull or push left one (for a client, an MP_EIO becomes kind: a reset
 * during the handshake is the server breaking the protocol, as mpop 1.4.18
 * reports it), else GnuTLS's reason, or the alert the peer sent. */
int tls_io_fail(struct tls_io *io, int r, enum mp_err_kind kind,
                const char *what, struct mp_err *e);

/* The read, write and pending of a TLS transport_ops (client and server
 * use them as they are): t->ctx points to the connection, whose struct
 * has its struct tls_io as the first member; pending is 0 once ctx is
 * NULL (closed). */
ssize_t tls_io_read(struct transport *t, void *buf, size_t n,
                    struct mp_err *e);
int tls_io_write(struct transport *t, const void *buf, size_t n,
                 struct mp_err *e);
size_t tls_io_pending(struct transport *t);
/* Sends close_notify (without waiting for the peer's) unless the
 * connection broke or a signal asked us to stop. */
void tls_io_bye(struct tls_io *io);

#endif
