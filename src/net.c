#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef HAVE_LIBIDN
# include <idn2.h>
#endif

#include "gettext.h"
#include "net.h"
#include "socks5.h"
#include "transport.h"
#include "xalloc.h"

#define SOCKS5_DEFAULT_PORT 1080

char *net_idn_to_ascii(const char *host, struct mp_err *e)
{
    const unsigned char *p;

    for (p = (const unsigned char *)host; *p; p++)
        if (*p >= 0x80)
            break;
    /* ASCII names pass unchanged: IDNA2008 would reject names that work
     * today, such as labels with '_'. */
    if (!*p)
        return xstrdup(host);
#ifdef HAVE_LIBIDN
    {
        char *out = NULL;
        char *copy;
        int rc = idn2_lookup_u8((const uint8_t *)host, (uint8_t **)&out,
                                IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK) {
            err_set(e, MP_ENOHOST, _("cannot convert host name %s to "
                    "ASCII: %s"), host, idn2_strerror(rc));
            return NULL;
        }
        copy = xstrdup(out);
        idn2_free(out);
        return copy;
    }
#else
    return xstrdup(host);
#endif
}

char *net_describe_peer(int fd, char *out, size_t outsz)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char addr[INET6_ADDRSTRLEN];

    if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0) {
        snprintf(out, outsz, "%s", _("unknown peer"));
        return out;
    }
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof addr);
        snprintf(out, outsz, _("%s port %u"), addr,
                 (unsigned)ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof addr);
        snprintf(out, outsz, _("[%s] port %u"), addr,
                 (unsigned)ntohs(sin6->sin6_port));
    } else if (ss.ss_family == AF_UNIX) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
        size_t plen = sl > offsetof(struct sockaddr_un, sun_path)
                      ? sl - offsetof(struct sockaddr_un, sun_path) : 0;
        if (plen > sizeof sun->sun_path)
            plen = sizeof sun->sun_path;
        snprintf(out, outsz, _("unix socket %.*s"),
                 (int)strnlen(sun->sun_path, plen), sun->sun_path);
    } else {
        snprintf(out, outsz, "%s", _("unknown peer"));
    }
    return out;
}

static enum mp_err_kind connect_errno_kind(int err)
{
    switch (err) {
    case ETIMEDOUT:
        return MP_ETEMP;
    case EINTR:
        return MP_ESIGNAL;
    default:
        /* ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, ENOENT (a unix socket
         * path), EACCES, ...: the original mpop exits with EX_TEMPFAIL for
         * every failed connect (checked against 1.4.18, 2026-11-24), and
         * cron scripts retry on it, so these are temporary failures. */
        return MP_ETEMP;
    }
}

/* Connects fd to sa within timeout_sec (0: none).  Returns 0, or -1 with
 * errno-style *err_r set (ETIMEDOUT for our own timeout, EINTR when
 * interrupted). */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t sl,
                           int timeout_sec, int *err_r)
{
    int flags = fcntl(fd, F_GETFL);
    int soerr = 0;
    socklen_t len = sizeof soerr;
    struct mp_err we;

    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        *err_r = errno;
        return -1;
    }
    if (connect(fd, sa, sl) < 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            *err_r = errno;
            return -1;
        }
        /* EINTR: the connection goes on in the background (POSIX);
         * poll tells when it is done. */
        if (transport_wait_fd(fd, true, timeout_sec * 1000, &we) < 0) {
            *err_r = we.kind == MP_ETEMP ? ETIMEDOUT
                     : we.kind == MP_ESIGNAL ? EINTR : EIO;
            return -1;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
            *err_r = errno;
            return -1;
        }
        if (soerr != 0) {
            *err_r = soerr;
            return -1;
        }
    }
    if (fcntl(fd, F_SETFL, flags) < 0) {
        *err_r = errno;
        return -1;
    }
    return 0;
}

/* Binds fd to source_ip, in the family of the address being tried. */
static int bind_source(int fd, int family, const char *source_ip,
                       struct mp_err *e)
{
    struct addrinfo hints, *res = NULL;
    int rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    rc = getaddrinfo(source_ip, NULL, &hints, &res);
    if (rc != 0)
        return err_set(e, MP_ECONFIG, _("source address %s is not an %s "
                       "address"), source_ip,
                       family == AF_INET6 ? "IPv6" : "IPv4");
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
        int err = errno;
        freeaddrinfo(res);
        return err_set_errno(e, MP_EOS, err, _("cannot bind to source "
                             "address %s"), source_ip);
    }
    freeaddrinfo(res);
    return 0;
}

int net_connect_addrs(const struct addrinfo *list, const char *name,
                      int port, const char *source_ip, int timeout_sec,
                      int *fd_r, struct mp_err *e)
{
    const struct addrinfo *ai;

    err_set(e, MP_EUNAVAIL, _("cannot connect to %s port %d: no usable "
            "address"), name, port);
    for (ai = list; ai; ai = ai->ai_next) {
        int fd, err = 0;

        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            /* E.g. no IPv6 support in the kernel: try the next one. */
            err_set_errno(e, MP_EOS, errno, _("cannot create a socket "
                          "for %s port %d"), name, port);
            continue;
        }
        /* Every write is a whole batch of commands (or a whole TLS
         * flight), never a byte trickle: Nagle's rule could only hold a
         * batch back for a round trip, e.g. GnuTLS's Finished behind its
         * ChangeCipherSpec, written separately, until the server's ACK. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
                         sizeof(int));
        if (source_ip && *source_ip
            && bind_source(fd, ai->ai_family, source_ip, e) < 0) {
            close(fd);
            continue;
        }
        if (connect_timeout(fd, ai->ai_addr, ai->ai_addrlen, timeout_sec,
                            &err) == 0) {
            *fd_r = fd;
            err_init(e);
            return 0;
        }
        close(fd);
        if (err == ETIMEDOUT && timeout_sec > 0)
            err_set(e, MP_ETEMP, ngettext("cannot connect to %s port %d: "
                    "timed out after %d second", "cannot connect to %s port "
                    "%d: timed out after %d seconds",
                    (unsigned long)timeout_sec), name, port, timeout_sec);
        else if (err == EINTR)
            err_set(e, MP_ESIGNAL, _("cannot connect to %s port %d: "
                    "interrupted by a signal"), name, port);
        else
            err_set_errno(e, connect_errno_kind(err), err,
                          _("cannot connect to %s port %d"), name, port);
        if (e->kind == MP_ESIGNAL)
            break;
    }
    return -1;
}

/* Resolves name (UTF-8, converted to ASCII first) and connects. */
static int connect_host(const char *name, int port, const char *source_ip,
                        int timeout_sec, int *fd_r, struct mp_err *e)
{
    struct addrinfo hints, *res = NULL;
    char portstr[16];
    char *ascii;
    int rc, ret;

    if (port < 1 || port > 65535)
        return err_set(e, MP_ECONFIG, _("invalid port %d for %s"), port,
                       name);
    ascii = net_idn_to_ascii(name, e);
    if (!ascii)
        return -1;
    snprintf(portstr, sizeof portstr, "%d", port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(ascii, portstr, &hints, &res);
    free(ascii);
    if (rc != 0) {
        enum mp_err_kind kind = MP_ENOHOST;
        if (rc == EAI_AGAIN)
            kind = MP_ETEMP;
        else if (rc == EAI_MEMORY || rc == EAI_SYSTEM)
            kind = MP_EOS;
        if (rc == EAI_SYSTEM)
            return err_set_errno(e, kind, errno, _("cannot locate host "
                                 "%s"), name);
        return err_set(e, kind, _("cannot locate host %s: %s"), name,
                       gai_strerror(rc));
    }
    ret = net_connect_addrs(res, name, port, source_ip, timeout_sec, fd_r,
                            e);
    freeaddrinfo(res);
    return ret;
}

static int connect_unix(const char *path, int timeout_sec, int *fd_r,
                        struct mp_err *e)
{
    struct sockaddr_un sun;
    int fd, err = 0;

    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun.sun_path)
        return err_set(e, MP_ECONFIG, _("socket path %s is too long"),
                       path);
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set_errno(e, MP_EOS, errno, _("cannot create a unix "
                             "domain socket"));
    if (connect_timeout(fd, (struct sockaddr *)&sun, sizeof sun,
                        timeout_sec, &err) < 0) {
        close(fd);
        if (err == ETIMEDOUT && timeout_sec > 0)
            return err_set(e, MP_ETEMP, ngettext("cannot connect to socket "
                           "%s: timed out after %d second", "cannot connect "
                           "to socket %s: timed out after %d seconds",
                           (unsigned long)timeout_sec), path, timeout_sec);
        return err_set_errno(e, connect_errno_kind(err), err,
                             _("cannot connect to socket %s"), path);
    }
    *fd_r = fd;
    return 0;
}

int net_connect(const struct net_target *t, int *fd_r, char *trace,
                size_t tracesz, struct mp_err *e)
{
    int fd = -1;

    if (trace && tracesz)
        trace[0] = '\0';
    if (t->socket_name && *t->socket_name) {
        if (connect_unix(t->socket_name, t->timeout, &fd, e) < 0)
            return -1;
    } else if (!t->host || !*t->host) {
        return err_set(e, MP_ECONFIG, _("no host given"));
    } else if (t->proxy_host && *t->proxy_host) {
        int pport = t->proxy_port > 0 ? t->proxy_port : SOCKS5_DEFAULT_PORT;
        char *ascii;
        int ret;

        if (connect_host(t->proxy_host, pport, t->source_ip, t->timeout,
                         &fd, e) < 0) {
            err_prefix(e, _("proxy: "));
            return -1;
        }
        /* The proxy gets the ASCII form; it resolves the name. */
        ascii = net_idn_to_ascii(t->host, e);
        if (!ascii) {
            close(fd);
            return -1;
        }
        ret = socks5_connect(fd, ascii, t->port, t->timeout, e);
        free(ascii);
        if (ret < 0) {
            close(fd);
            return -1;
        }
    } else {
        if (connect_host(t->host, t->port, t->source_ip, t->timeout, &fd,
                         e) < 0)
            return -1;
    }
    if (trace && tracesz)
        net_describe_peer(fd, trace, tracesz);
    *fd_r = fd;
    return 0;
}
