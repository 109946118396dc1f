/* A byte stream behind one read/write/close table, so that TLS slots in
 * under the protocol code without it knowing.  All I/O is blocking with the
 * transport's timeout (poll before each read and write); a timeout is
 * MP_ETEMP, a reset or other failure MP_EIO. */
#ifndef MPOP_TRANSPORT_H
#define MPOP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <sys/types.h>

#include "err.h"

struct transport;

struct transport_ops {
    const char *name;   /* "plain", "tls" */
    /* Reads up to n (> 0) bytes.  Returns the count (> 0), 0 at end of
     * stream, or -1 with e filled. */
    ssize_t (*read)(struct transport *t, void *buf, size_t n, struct mp_err *e);
    /* Writes all n bytes or fails: 0 or -1 with e filled. */
    int (*write)(struct transport *t, const void *buf, size_t n, struct mp_err *e);
    /* Bytes the layer holds already decoded (TLS records), so a caller can
     * tell whether a read would block.  May be NULL (nothing held). */
    size_t (*pending)(struct transport *t);
    /* Releases the layer's state; does not close fd. */
    void (*close)(struct transport *t);
};

struct transport {
    const struct transport_ops *ops;
    void *ctx;          /* the layer's state */
    int fd;             /* the socket (or -1); closed by transport_close */
    int out_fd;         /* fd to write to; == fd except for inetd (0 and 1) */
    int timeout_ms;     /* <= 0: none */
    bool busy;          /* the last plain read was big: more is likely
                         * waiting, so the next one tries before polling */
};

/* A plain transport over an fd (in_fd for reading, out_fd for writing; pass
 * the same socket twice normally).  timeout_sec 0 means none. */
void transport_plain_init(struct transport *t, int in_fd, int out_fd,
                          int timeout_sec);

ssize_t transport_read(struct transport *t, void *buf, size_t n, struct mp_err *e);
int transport_write(struct transport *t, const void *buf, size_t n, struct mp_err *e);
size_t transport_pending(struct transport *t);
/* Closes the layer and the fds; safe to call twice. */
void transport_close(struct transport *t);

/* Set by the program's SIGTERM/SIGINT/SIGHUP handler.  While it is non-zero,
 * a read, write or wait that poll() or read() interrupts with EINTR fails
 * with MP_ESIGNAL; while it is zero, EINTR is retried.  Defined in
 * transport.c. */
extern volatile sig_atomic_t transport_interrupted;

/* Waits until fd is readable (for_write false) or writable, at most
 * timeout_ms (<= 0: forever), retrying EINTR with the remaining time.
 * Returns 0 when ready (also on POLLERR/POLLHUP: the next read or write
 * reports the error), or -1 with e filled: MP_ETEMP on timeout, MP_ESIGNAL
 * when interrupted (see transport_interrupted), MP_EIO otherwise.
 * Defined in transport.c. */
int transport_wait_fd(int fd, bool for_write, int timeout_ms,
                      struct mp_err *e);

#endif
