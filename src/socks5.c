#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "gettext.h"
#include "socks5.h"
#include "transport.h"

#define SOCKS5_VERSION 5
#define SOCKS5_NO_AUTH 0x00
#define SOCKS5_NO_ACCEPTABLE 0xff
#define SOCKS5_CMD_CONNECT 1
#define SOCKS5_ATYP_IPV4 1
#define SOCKS5_ATYP_DOMAIN 3
#define SOCKS5_ATYP_IPV6 4

const char *socks5_rep_reason(int rep)
{
    switch (rep) {
    case 0:
        return N_("succeeded");
    case 1:
        return N_("general SOCKS server failure");
    case 2:
        return N_("connection not allowed by ruleset");
    case 3:
        return N_("network unreachable");
    case 4:
        return N_("host unreachable");
    case 5:
        return N_("connection refused");
    case 6:
        return N_("TTL expired");
    case 7:
        return N_("command not supported");
    case 8:
        return N_("address type not supported");
    default:
        return N_("unknown SOCKS5 error");
    }
}

int socks5_parse_reply(const unsigned char *p, size_t len, size_t *need_r,
                       int *rep_r, const char **why_r)
{
    size_t addrlen;
    int rep_dummy;
    const char *why_dummy;

    if (!rep_r)
        rep_r = &rep_dummy;
    if (!why_r)
        why_r = &why_dummy;
    *rep_r = -1;
    *why_r = NULL;
    /* VER REP RSV ATYP: the first two bytes decide failures early, so a
     * proxy that sends a short failure reply and closes is understood. */
    if (len < 1) {
        *need_r = 2;
        return 1;
    }
    if (p[0] != SOCKS5_VERSION) {
        *why_r = N_("the proxy does not speak SOCKS5");
        return -1;
    }
    if (len < 2) {
        *need_r = 2;
        return 1;
    }
    if (p[1] != 0) {
        *rep_r = p[1];
        *why_r = socks5_rep_reason(p[1]);
        return -1;
    }
    if (len < 4) {
        *need_r = 5;    /* enough for a domain's length byte, too */
        return 1;
    }
    /* p[2] is reserved; its value carries no meaning, so it is ignored. */
    switch (p[3]) {
    case SOCKS5_ATYP_IPV4:
        addrlen = 4;
        break;
    case SOCKS5_ATYP_IPV6:
        addrlen = 16;
        break;
    case SOCKS5_ATYP_DOMAIN:
        if (len < 5) {
            *need_r = 5;
            return 1;
        }
        addrlen = 1 + (size_t)p[4];
        break;
    default:
        *why_r = N_("the proxy sent an invalid address type");
        return -1;
    }
    *need_r = 4 + addrlen + 2;
    return len >= *need_r ? 0 : 1;
}

static int proxy_error(struct mp_err *e, enum mp_err_kind kind,
                       const char *host, int port, const char *why)
{
    return err_set(e, kind, _("SOCKS5 proxy cannot connect to %s port %d: "
                   "%s"), host, port, why);
}

/* Reads exactly n bytes; end of stream is MP_EPROTO (a cut reply). */
static int read_exact(struct transport *t, unsigned char *p, size_t n,
                      const char *host, int port, struct mp_err *e)
{
    while (n > 0) {
        ssize_t r = transport_read(t, p, n, e);
        if (r < 0) {
            err_prefix(e, _("SOCKS5 proxy, connecting to %s port %d: "),
                       host, port);
            return -1;
        }
        if (r == 0)
            return proxy_error(e, MP_EPROTO, host, port,
                               _("the proxy closed the connection"));
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int socks5_connect(int fd, const char *host, int port, int timeout_sec,
                   struct mp_err *e)
{
    struct transport t;
    unsigned char req[4 + 1 + 255 + 2];
    unsigned char rep[4 + 1 + 255 + 2];
    size_t hostlen = strlen(host);
    size_t n, have, need;
    int ret, code;
    const char *why;

    if (hostlen == 0 || hostlen > 255)
        return err_set(e, MP_ECONFIG, _("cannot use host name %s with a "
                       "SOCKS5 proxy: its length must be 1 to 255 bytes"),
                       host);
    if (port < 1 || port > 65535)
        return err_set(e, MP_ECONFIG, _("invalid port %d"), port);
    /* The plain layer holds no state and its close does not close fd;
     * transport_close() is deliberately not called. */
    transport_plain_init(&t, fd, fd, timeout_sec);

    /* RFC 1928 §3: one method offered, "no authentication required". */
    req[0] = SOCKS5_VERSION;
    req[1] = 1;
    req[2] = SOCKS5_NO_AUTH;
    if (transport_write(&t, req, 3, e) < 0) {
        err_prefix(e, _("SOCKS5 proxy, connecting to %s port %d: "), host,
                   port);
        return -1;
    }
    if (read_exact(&t, rep, 2, host, port, e) < 0)
        return -1;
    if (rep[0] != SOCKS5_VERSION)
        return proxy_error(e, MP_EPROTO, host, port,
                           _("the proxy does not speak SOCKS5"));
    if (rep[1] == SOCKS5_NO_ACCEPTABLE)
        return proxy_error(e, MP_EUNAVAIL, host, port,
                           _("the proxy requires authentication"));
    if (rep[1] != SOCKS5_NO_AUTH)
        return proxy_error(e, MP_EPROTO, host, port,
                           _("the proxy chose a method that was not "
                             "offered"));

    /* RFC 1928 §4: CONNECT.  A name goes as a domain name for the proxy
     * to resolve; only address literals are sent as addresses. */
    req[0] = SOCKS5_VERSION;
    req[1] = SOCKS5_CMD_CONNECT;
    req[2] = 0;
    n = 4;
    if (inet_pton(AF_INET, host, req + 4) == 1) {
        req[3] = SOCKS5_ATYP_IPV4;
        n += 4;
    } else if (inet_pton(AF_INET6, host, req + 4) == 1) {
        req[3] = SOCKS5_ATYP_IPV6;
        n += 16;
    } else {
        req[3] = SOCKS5_ATYP_DOMAIN;
        req[4] = (unsigned char)hostlen;
        memcpy(req + 5, host, hostlen);
        n += 1 + hostlen;
    }
    req[n++] = (unsigned char)(port >> 8);
    req[n++] = (unsigned char)(port & 0xff);
    if (transport_write(&t, req, n, e) < 0) {
        err_prefix(e, _("SOCKS5 proxy, connecting to %s port %d: "), host,
                   port);
        return -1;
    }

    /* Read only as much as the parser asks for: the server's greeting
     * may follow the reply in the same segment. */
    have = 0;
    for (;;) {
        ret = socks5_parse_reply(rep, have, &need, &code, &why);
        if (ret == 0)
            break;
        if (ret < 0) {
            enum mp_err_kind kind = MP_EPROTO;
            if (code == 6)
                kind = MP_ETEMP;
            else if (code > 0)
                kind = MP_EUNAVAIL;
            return proxy_error(e, kind, host, port, _(why));
        }
        if (need > sizeof rep)      /* cannot happen: at most 4+256+2 */
            return proxy_error(e, MP_EPROTO, host, port,
                               _("invalid reply"));
        if (read_exact(&t, rep + have, need - have, host, port, e) < 0)
            return -1;
        have = need;
    }
    return 0;
}
