/* The server side of TLS for mpopd, with GnuTLS: a certificate and key
 * loaded once at start-up (before any fork), then one handshake per
 * connection over a plain transport, which it upgrades in place exactly as
 * tls_start() does for the client (see tls.h): afterwards t->ops is the
 * TLS layer and every network wait goes through transport_wait_fd() with
 * t->timeout_ms, never an alarm.
 *
 * Everything the client sends (its hello, records, alerts) is untrusted.
 * No client certificate is asked for.  Renegotiation is refused. */
#ifndef MPOP_TLS_SERVER_H
#define MPOP_TLS_SERVER_H

#include <stdbool.h>

#include "err.h"
#include "transport.h"

/* A whole handshake must finish within this many milliseconds (or the
 * transport's own timeout, when shorter), however slowly the client
 * trickles its bytes: a bound on what one connection can hold. */
#define TLS_SERVER_HANDSHAKE_MS 30000

struct tls_server;

/* Loads the PEM certificate chain in cert_file (the server's certificate
 * first) and the PEM private key in key_file, and checks that they belong
 * together.  priorities is a GnuTLS priority string, or NULL for the
 * library's default.  Returns 0 with a new *srv_r (free with
 * tls_server_free), or -1 with e filled, naming the file:
 *   MP_ENOINPUT   a file cannot be read, or holds no certificate or key
 *   MP_ECONFIG    the key does not match the certificate, or the
 *                 certificate or key cannot be parsed; a bad priority
 *                 string (the message gives the bad part)
 *   MP_ESOFTWARE  other library failures. */
int tls_server_new(const char *cert_file, const char *key_file,
                   const char *priorities, struct tls_server **srv_r,
                   struct mp_err *e);

/* NULL-safe; sets *srv to NULL.  Sessions started from it must be closed
 * first. */
void tls_server_free(struct tls_server **srv);

/* Runs the server handshake on t (a plain transport) and swaps t->ops and
 * t->ctx to the TLS layer; t must stay in place for the session's life.
 * transport_close() then sends close_notify (unless the connection broke
 * or transport_interrupted is set), frees the TLS state and closes the
 * fds.  srv must outlive the session.  Returns 0, or -1 with e filled and
 * t unchanged (still plain; the caller closes it):
 *   MP_EPROTO     the handshake failed (not TLS, no common cipher, an
 *                 alert from the client; the message says which)
 *   MP_ETEMP      a network wait timed out, or the handshake took longer
 *                 than TLS_SERVER_HANDSHAKE_MS
 *   MP_ESIGNAL    interrupted (transport_interrupted)
 *   MP_EIO        the client went away during the handshake
 *   MP_ESOFTWARE  library failures.
 * On the TLS transport a read returns 0 at close_notify and when the
 * client closes without it; a fatal alert or a broken record is MP_EIO;
 * timeouts and signals as on the plain transport. */
int tls_server_start(struct transport *t, const struct tls_server *srv,
                     struct mp_err *e);

/* True if t is a transport tls_server_start() upgraded. */
bool tls_server_active(const struct transport *t);

/* Writes a description of the session on t, such as "TLS1.3
 * AES-256-GCM", into buf (size bytes, NUL-terminated) for the log, and
 * returns buf; "" when t is not a server TLS transport. */
const char *tls_server_describe(const struct transport *t, char *buf,
                                 size_t size);

#endif
