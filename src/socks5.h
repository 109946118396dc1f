/* SOCKS5 client (RFC 1928), no authentication, CONNECT only.  The target
 * host name goes to the proxy as a domain name (ATYP 3) and the proxy
 * resolves it; nothing is resolved locally, so it is safe with Tor.  IP
 * address literals go as ATYP 1 or 4. */
#ifndef MPOP_SOCKS5_H
#define MPOP_SOCKS5_H

#include <stddef.h>

#include "err.h"

/* Runs the handshake on fd, a blocking socket connected to the proxy, so
 * that afterwards fd carries the stream to host:port.  host must be ASCII
 * (convert IDNs first) and 1..255 bytes.  timeout_sec (0: none) applies to
 * each read and write.  Reads exactly the proxy's reply, never a byte of
 * what the server sends next.  Returns 0, or -1 with e filled:
 *   host too long or empty: MP_ECONFIG
 *   the proxy wants authentication, or refuses the connection, or the
 *   target is unreachable (REP 1..5, 7, 8): MP_EUNAVAIL
 *   TTL expired (REP 6), a timeout: MP_ETEMP
 *   a malformed or truncated reply, not a SOCKS5 proxy: MP_EPROTO
 *   I/O errors: MP_EIO; interrupted: MP_ESIGNAL.
 * Messages name host and port. */
int socks5_connect(int fd, const char *host, int port, int timeout_sec,
                   struct mp_err *e);

/* Pure parser of the CONNECT reply (RFC 1928 §6) in p[0..len).  Returns
 *   0: a complete success reply; *need_r is its length (bytes after it
 *      belong to the server);
 *   1: incomplete; *need_r is the total length needed to decide more
 *      (always > len);
 *  -1: a failure reply or a malformed one; *why_r is a static English
 *      reason (translate with gettext) and *rep_r the REP code (1..255),
 *      or -1 when the reply is malformed.
 * rep_r and why_r may be NULL.  Reads nothing beyond p[len - 1]. */
int socks5_parse_reply(const unsigned char *p, size_t len, size_t *need_r,
                       int *rep_r, const char **why_r);

/* The English reason for a REP code (RFC 1928 §6), static, for gettext. */
const char *socks5_rep_reason(int rep);

#endif
