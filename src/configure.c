#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "configure.h"
#include "gettext.h"
#include "net.h"
#include "xalloc.h"

#define SRV_MAX 32

static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Skips a (maybe compressed) name at *pos; dn_skipname checks bounds. */
static int skip_name(const unsigned char *msg, size_t len, size_t *pos)
{
    int n = dn_skipname(msg + *pos, msg + len);

    if (n < 0)
        return -1;
    *pos += (size_t)n;
    return 0;
}

int configure_parse_srv(const unsigned char *msg, size_t len,
                        struct configure_srv *out, size_t max, size_t *n_r,
                        const char **why_r)
{
    size_t pos = 12, i, n = 0;
    unsigned qd, an;

    *n_r = 0;
    if (len < 12) {
        *why_r = "answer shorter than a DNS header";
        return -1;
    }
    qd = get16(msg + 4);
    an = get16(msg + 6);
    for (i = 0; i < qd; i++) {
        if (skip_name(msg, len, &pos) < 0 || len - pos < 4) {
            *why_r = "truncated question";
            return -1;
        }
        pos += 4;
    }
    for (i = 0; i < an; i++) {
        unsigned type, class, rdlen;
        struct configure_srv *s;
        int k;

        if (skip_name(msg, len, &pos) < 0 || len - pos < 10) {
            *why_r = "truncated answer record";
            return -1;
        }
        type = get16(msg + pos);
        class = get16(msg + pos + 2);
        rdlen = get16(msg + pos + 8);
        pos += 10;
        if (len - pos < rdlen) {
            *why_r = "record data beyond the end of the answer";
            return -1;
        }
        if (type != ns_t_srv || class != ns_c_in || n >= max) {
            pos += rdlen;
            continue;
        }
        if (rdlen < 7) {
            *why_r = "SRV record too short";
            return -1;
        }
        s = &out[n];
        s->prio = get16(msg + pos);
        s->weight = get16(msg + pos + 2);
        s->port = get16(msg + pos + 4);
        k = dn_expand(msg, msg + len, msg + pos + 6, s->target,
                      (int)sizeof s->target);
        if (k < 0 || (size_t)k != rdlen - 6) {
            *why_r = "bad SRV target name";
            return -1;
        }
        if (strcmp(s->target, ".") == 0)
            s->target[0] = '\0';
        pos += rdlen;
        n++;
    }
    *n_r = n;
    return 0;
}

int configure_pick(const struct configure_srv *v, size_t n)
{
    size_t i;
    int best = -1;

    for (i = 0; i < n; i++) {
        /* RFC 2782: target "." says the service is not offered; port 0
         * cannot be connected to. */
        if (!v[i].target[0] || v[i].port == 0)
            continue;
        if (best < 0 || v[i].prio < v[best].prio
            || (v[i].prio == v[best].prio && v[i].weight > v[best].weight))
            best = (int)i;
    }
    return best;
}

/* MPOP_TEST_DNS=IPV4:PORT (tests only): one name server on loopback. */
static void test_dns(void)
{
    const char *s = getenv("MPOP_TEST_DNS");
    const char *colon;
    char ip[64];
    struct in_addr a;
    long port;

    if (!s || !*s || !(colon = strrchr(s, ':')))
        return;
    if ((size_t)(colon - s) >= sizeof ip)
        return;
    memcpy(ip, s, (size_t)(colon - s));
    ip[colon - s] = '\0';
    port = strtol(colon + 1, NULL, 10);
    if (inet_pton(AF_INET, ip, &a) != 1 || port <= 0 || port > 65535)
        return;
    _res.nscount = 1;
    memset(&_res.nsaddr_list[0], 0, sizeof _res.nsaddr_list[0]);
    _res.nsaddr_list[0].sin_family = AF_INET;
    _res.nsaddr_list[0].sin_addr = a;
    _res.nsaddr_list[0].sin_port = htons((uint16_t)port);
    _res.retry = 1;
}

/* 1: found (*r filled), 0: no usable record, -1: error. */
static int query(const char *name, struct configure_result *r,
                 struct mp_err *e)
{
    unsigned char ans[NS_MAXMSG > 65535 ? 65535 : NS_MAXMSG];
    struct configure_srv v[SRV_MAX];
    const char *why = NULL;
    size_t n;
    int len, k;

    len = res_query(name, ns_c_in, ns_t_srv, ans, (int)sizeof ans);
    if (len < 0)
        return 0;   /* NXDOMAIN, no data, or no answer at all */
    if (configure_parse_srv(ans, (size_t)len, v, SRV_MAX, &n, &why) < 0)
        return err_set(e, MP_EPROTO,
                       _("invalid DNS answer for %s: %s"), name, why);
    k = configure_pick(v, n);
    if (k < 0)
        return 0;
    snprintf(r->host, sizeof r->host, "%s", v[k].target);
    r->port = v[k].port;
    return 1;
}

int configure_lookup(const char *domain, struct configure_result *r,
                     struct mp_err *e)
{
    char *ascii, *n1 = NULL, *n2 = NULL;
    int rc = -1, found;

    memset(r, 0, sizeof *r);
    ascii = net_idn_to_ascii(domain, e);
    if (!ascii)
        return -1;
    n1 = xasprintf("_pop3s._tcp.%s", ascii);
    n2 = xasprintf("_pop3._tcp.%s", ascii);
    if (res_init() != 0) {
        err_set(e, MP_ENOHOST, _("cannot initialize the DNS resolver"));
        goto out;
    }
    test_dns();
    found = query(n1, r, e);
    if (found == 0) {
        found = query(n2, r, e);
        r->starttls = true;
    }
    if (found < 0)
        goto out;
    if (found == 0) {
        err_set(e, MP_ENOHOST,
                _("automatic configuration based on SRV records failed: "
                  "no SRV records for %s or %s"), n1, n2);
        goto out;
    }
    rc = 0;
out:
    free(n1);
    free(n2);
    free(ascii);
    return rc;
}

int configure_run(const char *address, const char *conffile, FILE *f,
                  struct mp_err *e)
{
    struct configure_result r;
    const char *at = strrchr(address, '@');
    char *user;

    if (!at || at == address || !at[1])
        return err_set(e, MP_EUSAGE,
                       _("invalid mail address %s for --configure"),
                       address);
    if (configure_lookup(at + 1, &r, e) < 0)
        return -1;
    user = xstrndup(address, (size_t)(at - address));
    /* The original's layout, with the password alternatives added as
     * comments (so that the output stays a valid file for both). */
    fprintf(f, _("# - copy this to your configuration file %s\n"),
            conffile);
#ifdef HAVE_LIBSECRET
    fprintf(f, _("# - add your password to the key ring:\n"));
    fprintf(f, "#   secret-tool store --label=mpop host %s service pop3 "
            "user %s\n", r.host, user);
#else
    fprintf(f, _("# - add a password command (see below)\n"));
#endif
    fprintf(f, _("# - adjust the delivery command\n"));
    fprintf(f, "account %s\n", address);
    fprintf(f, "host %s\n", r.host);
    fprintf(f, "port %u\n", r.port);
    fprintf(f, "tls on\n");
    fprintf(f, "tls_starttls %s\n", r.starttls ? "on" : "off");
    fprintf(f, "user %s\n", user);
    fprintf(f, _("# other ways to give the password (choose one):\n"));
    fprintf(f, "#passwordeval gpg --no-tty -q -d ~/.mpop-password.gpg\n");
    fprintf(f, "#password secret\n");
    fprintf(f, "delivery mbox ~/MAIL\n");
    free(user);
    return 0;
}
