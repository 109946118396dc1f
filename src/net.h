/* Opening the connection to a POP3 server: host name resolution (with
 * libidn2 for internationalized names), every address in turn, an optional
 * source address, a SOCKS5 proxy, or a unix domain socket, all within a
 * connect timeout.  The result is a connected, blocking socket for
 * transport_plain_init().
 *
 * This header also declares two helpers defined in transport.c that the
 * TLS layer shares (they belong in transport.h). */
#ifndef MPOP_NET_H
#define MPOP_NET_H

#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Where to connect.  Strings are borrowed, not copied; NULL means unset. */
struct net_target {
    const char *host;        /* server name, IP address or IDN (UTF-8) */
    int port;                /* 1..65535 */
    const char *source_ip;   /* bind to this local address first */
    const char *proxy_host;  /* SOCKS5 proxy; the proxy resolves host */
    int proxy_port;          /* 0: 1080 */
    const char *socket_name; /* unix domain socket path; overrides the
                              * rest (host is then only a name for
                              * messages and TLS) */
    int timeout;             /* seconds for connect and the SOCKS5
                              * handshake; 0: none */
};

/* Connects to t.  On success *fd_r is a connected blocking socket (the
 * caller owns it; transport_close() closes it) and 0 is returned.  Each
 * address getaddrinfo returns is tried in order (IPv6 and IPv4), the next
 * one after a failure; the error reported is the last one.  Errors (-1, e
 * filled, the message naming host and port, or the socket path):
 *   the name does not resolve: MP_ENOHOST
 *   refused, unreachable, proxy refused: MP_EUNAVAIL
 *   timeout, or a temporary resolver failure: MP_ETEMP
 *   interrupted (transport_interrupted): MP_ESIGNAL
 *   a bad source_ip, socket() failure: MP_EOS / MP_ECONFIG
 *   SOCKS5 failures as socks5_connect() reports them.
 * When trace is not NULL, the address actually connected to is written to
 * it (see net_describe_peer), else it is left empty. */
int net_connect(const struct net_target *t, int *fd_r, char *trace,
                size_t tracesz, struct mp_err *e);

/* The loop of net_connect, for a list already resolved (also used by the
 * tests): tries each AF_INET/AF_INET6 entry in order, binding to source_ip
 * (NULL: none) first, each connect within timeout_sec.  name is only for
 * messages.  Returns 0 with *fd_r set, or -1 with e describing the last
 * failure (kinds as for net_connect). */
int net_connect_addrs(const struct addrinfo *list, const char *name,
                      int port, const char *source_ip, int timeout_sec,
                      int *fd_r, struct mp_err *e);

/* Writes a printable description of fd's peer into out (always
 * NUL-terminated): "192.0.2.1 port 110", "[2001:db8::1] port 995",
 * "unix socket /path", or "unknown peer".  Returns out. */
char *net_describe_peer(int fd, char *out, size_t outsz);

/* Converts an internationalized host name (UTF-8) to its ASCII form
 * (punycode labels).  Returns a new string the caller frees, or NULL with
 * e filled (MP_ENOHOST: the name is invalid).  Without libidn2, or when
 * the name is ASCII already, returns a copy. */
char *net_idn_to_ascii(const char *host, struct mp_err *e);

#endif
