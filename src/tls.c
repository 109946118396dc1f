#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "gettext.h"
#include "log.h"
#include "net.h"
#include "strparse.h"
#include "tls.h"
#include "tls_io.h"
#include "xalloc.h"

/* The state behind a TLS transport: the record I/O shared with the
 * server side (tls_io.h), and what only the client has. */
struct tls_conn {
    struct tls_io io;
    gnutls_certificate_credentials_t cred;
    tls_pin_fn pin;
    void *pin_data;
};
/* tls_io_read() and the other ops of tls_io.h find it at t->ctx. */
_Static_assert(offsetof(struct tls_conn, io) == 0, "io must come first");

static const struct transport_ops tls_ops;

const char *tls_insecure_warning(const struct tls_params *p)
{
    if (p->certcheck)
        return NULL;
    return _("TLS certificate checks are disabled (tls_certcheck off): "
             "the server's identity is not verified and the session is "
             "not secure");
}

int tls_lib_init(struct mp_err *e)
{
    (void)e;
    return 0;
}

void tls_lib_deinit(void)
{
}

static bool is_set(const char *s)
{
    return s && *s;
}

static bool is_ip_literal(const char *host)
{
    unsigned char a[16];

    return inet_pton(AF_INET, host, a) == 1
           || inet_pton(AF_INET6, host, a) == 1;
}

int tls_parse_fingerprint(const char *s, unsigned char out[32])
{
    int n = 0;

    for (;;) {
        int h, l;

        if (n == 32 || (h = str_hexval((unsigned char)s[0])) < 0
            || (l = str_hexval((unsigned char)s[1])) < 0)
            return -1;
        out[n++] = (unsigned char)(h << 4 | l);
        s += 2;
        if (*s == '\0')
            break;
        if (*s != ':')
            return -1;
        s++;
    }
    return (n == 16 || n == 20 || n == 32) ? n : -1;
}

static int pin_callback(void *userdata, int attempt, const char *token_url,
                        const char *token_label, unsigned int flags,
                        char *pin, size_t pin_max)
{
    struct tls_conn *c = userdata;
    const char *label = token_label ? token_label : token_url;

    (void)flags;
    /* A second attempt means the first PIN was wrong; asking the same
     * password source again would only lock the token. */
    if (!c->pin || attempt > 0 || pin_max == 0)
        return -1;
    if (c->pin(c->pin_data, label ? label : "", pin, pin_max) != 0)
        return -1;
    pin[pin_max - 1] = '\0';
    return 0;
}

static void conn_free(struct tls_conn *c)
{
    if (!c)
        return;
    if (c->io.s)
        gnutls_deinit(c->io.s);
    if (c->cred)
        gnutls_certificate_free_credentials(c->cred);
    free(c);
}

static int load_credentials(struct tls_conn *c, const struct tls_params *p,
                            struct mp_err *e)
{
    int r;
    bool ca_trust = p->certcheck && !is_set(p->fingerprint);

    r = gnutls_certificate_allocate_credentials(&c->cred);
    if (r < 0)
        return err_set(e, MP_ESOFTWARE, _("cannot allocate TLS "
                       "credentials: %s"), gnutls_strerror(r));
    gnutls_certificate_set_pin_function(c->cred, pin_callback, c);

    if (p->certcheck && is_set(p->fingerprint)) {
        unsigned char fp[32];

        if (tls_parse_fingerprint(p->fingerprint, fp) < 0)
            return err_set(e, MP_ECONFIG, _("invalid tls_fingerprint %s: "
                           "expected 16, 20 or 32 hex byte pairs "
                           "separated by ':'"), p->fingerprint);
    }
    if (ca_trust && !is_set(p->trust_file))
        return err_set(e, MP_ECONFIG, _("TLS needs tls_trust_file (highly "
                       "recommended), tls_fingerprint, or tls_certcheck "
                       "off"));
    if (ca_trust && strcmp(p->trust_file, "system") == 0) {
        r = gnutls_certificate_set_x509_system_trust(c->cred);
        if (r < 0)
            return err_set(e, MP_ENOINPUT, _("cannot load the system's "
                           "trusted TLS certificates: %s"),
                           gnutls_strerror(r));
    } else if (ca_trust) {
        r = gnutls_certificate_set_x509_trust_file(c->cred, p->trust_file,
                                                   GNUTLS_X509_FMT_PEM);
        if (r < 0)
            return err_set(e, MP_ENOINPUT, _("cannot read the TLS trust "
                           "file %s: %s"), p->trust_file,
                           gnutls_strerror(r));
        if (r == 0)
            return err_set(e, MP_ENOINPUT, _("the TLS trust file %s "
                           "contains no certificate"), p->trust_file);
    }
    if (ca_trust && is_set(p->crl_file)) {
        r = gnutls_certificate_set_x509_crl_file(c->cred, p->crl_file,
                                                 GNUTLS_X509_FMT_PEM);
        if (r < 0)
            return err_set(e, MP_ENOINPUT, _("cannot read the TLS CRL "
                           "file %s: %s"), p->crl_file, gnutls_strerror(r));
    }
    if (is_set(p->cert_file) != is_set(p->key_file))
        return err_set(e, MP_ECONFIG, _("a TLS client certificate needs "
                       "both tls_cert_file and tls_key_file"));
    if (is_set(p->cert_file)) {
        /* Both may be PKCS#11 URIs; GnuTLS asks pin_callback for a PIN. */
        r = gnutls_certificate_set_x509_key_file2(c->cred, p->cert_file,
                                                  p->key_file,
                                                  GNUTLS_X509_FMT_PEM,
                                                  NULL, 0);
        if (r < 0)
            return err_set(e, MP_ENOINPUT, _("cannot use the TLS client "
                           "certificate %s with the key %s: %s"),
                           p->cert_file, p->key_file, gnutls_strerror(r));
    }
    return 0;
}

static int set_priorities(struct tls_conn *c, const char *prio,
                          struct mp_err *e)
{
    const char *errpos = NULL;
    int r;

    if (!is_set(prio)) {
        r = gnutls_set_default_priority(c->io.s);
        if (r < 0)
            return err_set(e, MP_ESOFTWARE, _("cannot set the default TLS "
                           "priorities: %s"), gnutls_strerror(r));
        return 0;
    }
    r = gnutls_priority_set_direct(c->io.s, prio, &errpos);
    if (r >= 0)
        return 0;
    if (r == GNUTLS_E_INVALID_REQUEST && errpos && errpos >= prio
        && errpos < prio + strlen(prio)) {
        /* Show the element the error position falls in. */
        size_t at = (size_t)(errpos - prio);
        size_t len = strcspn(errpos, ":");
        char q[128];

        log_quote(q, sizeof q, errpos, len > 60 ? 60 : len);
        return err_set(e, MP_ESOFTWARE, _("invalid TLS priority string: "
                       "error at position %zu, at \"%s\""), at + 1, q);
    }
    return err_set(e, MP_ESOFTWARE, _("invalid TLS priority string: %s"),
                   gnutls_strerror(r));
}

/* Appends one reason to the list in out. */
static void add_reason(char *out, size_t outsz, const char *reason)
{
    size_t len = strlen(out);

    if (len > 0 && len + 2 < outsz) {
        memcpy(out + len, "; ", 3);
        len += 2;
    }
    if (len < outsz)
        snprintf(out + len, outsz - len, "%s", reason);
}

static bool peer_self_signed(gnutls_session_t s)
{
    const gnutls_datum_t *certs;
    unsigned int n = 0;
    gnutls_x509_crt_t crt;
    bool self = false;

    certs = gnutls_certificate_get_peers(s, &n);
    if (!certs || n != 1 || gnutls_x509_crt_init(&crt) < 0)
        return false;
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0)
        self = gnutls_x509_crt_check_issuer(crt, crt) != 0;
    gnutls_x509_crt_deinit(crt);
    return self;
}

static int verify_status(struct tls_conn *c, unsigned int status,
                         const char *host, struct mp_err *e)
{
    char why[MP_ERR_MSG_MAX / 2] = "";
    char buf[256];
    unsigned int known = 0;

#define REASON(flag, text) \
    do { \
        if (status & (flag)) { \
            add_reason(why, sizeof why, (text)); \
            known |= (flag); \
        } \
    } while (0)

    REASON(GNUTLS_CERT_EXPIRED,
           _("a certificate in the chain has expired"));
    REASON(GNUTLS_CERT_NOT_ACTIVATED,
           _("a certificate in the chain is not yet valid"));
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
        known |= GNUTLS_CERT_SIGNER_NOT_FOUND;
        add_reason(why, sizeof why, peer_self_signed(c->io.s)
                   ? _("the certificate is self-signed and not trusted")
                   : _("the certificate's issuer is unknown"));
    }
    if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
        known |= GNUTLS_CERT_UNEXPECTED_OWNER;
        snprintf(buf, sizeof buf, _("the certificate is not for the host "
                 "name %s"), host ? host : "");
        add_reason(why, sizeof why, buf);
    }
    REASON(GNUTLS_CERT_REVOKED,
           _("a certificate in the chain has been revoked"));
    REASON(GNUTLS_CERT_INSECURE_ALGORITHM,
           _("the certificate chain uses an insecure algorithm"));
    REASON(GNUTLS_CERT_SIGNER_NOT_CA,
           _("the certificate's issuer is not a CA"));
    REASON(GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE,
           _("the certificate chain violates its issuer's constraints"));
    REASON(GNUTLS_CERT_SIGNATURE_FAILURE,
           _("a signature in the certificate chain is invalid"));
    REASON(GNUTLS_CERT_PURPOSE_MISMATCH,
           _("the certificate is not meant for a TLS server"));
    REASON(GNUTLS_CERT_MISSING_OCSP_STATUS,
           _("the certificate requires a stapled OCSP status (must-staple) "
             "but the server sent none"));
    REASON(GNUTLS_CERT_INVALID_OCSP_STATUS,
           _("the server's stapled OCSP status is invalid"));
    REASON(GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED,
           _("the revocation data (CRL or OCSP) is outdated"));
    REASON(GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE,
           _("the revocation data (CRL or OCSP) is dated in the future"));
    REASON(GNUTLS_CERT_UNKNOWN_CRIT_EXTENSIONS,
           _("the certificate has an unknown critical extension"));
#undef REASON
    /* Whatever GnuTLS knows that we do not name ourselves. */
    if ((status & ~known & ~(unsigned int)GNUTLS_CERT_INVALID) || !why[0]) {
        gnutls_datum_t out = { NULL, 0 };

        if (gnutls_certificate_verification_status_print(
                status & ~known, GNUTLS_CRT_X509, &out, 0) >= 0 && out.data) {
            add_reason(why, sizeof why, (const char *)out.data);
            gnutls_free(out.data);
        }
    }
    /* What to do: the two commands that make a server trusted. */
    return err_set(e, MP_ETLSCERT, _("TLS certificate verification "
                   "failed: %s; if you trust this server, name the CA "
                   "certificate that signed its certificate with "
                   "tls_trust_file, or pin its certificate with "
                   "tls_fingerprint (--serverinfo --tls-certcheck=off "
                   "shows the fingerprint)"), why);
}

static int verify_peer(struct tls_conn *c, const struct tls_params *p,
                       const char *host, struct mp_err *e)
{
    unsigned int status = 0;
    int r;

    if (!p->certcheck)
        return 0;
    if (gnutls_certificate_type_get(c->io.s) != GNUTLS_CRT_X509)
        return err_set(e, MP_ETLSCERT, _("TLS certificate verification "
                       "failed: the server sent no X.509 certificate"));
    if (is_set(p->fingerprint)) {
        unsigned char want[32], got[32];
        size_t gotlen = sizeof got;
        const gnutls_datum_t *certs;
        unsigned int n = 0;
        int len = tls_parse_fingerprint(p->fingerprint, want);
        gnutls_digest_algorithm_t alg;

        if (len < 0)
            return err_set(e, MP_ECONFIG, _("invalid tls_fingerprint %s"),
                           p->fingerprint);
        alg = len == 32 ? GNUTLS_DIG_SHA256
              : len == 20 ? GNUTLS_DIG_SHA1 : GNUTLS_DIG_MD5;
        certs = gnutls_certificate_get_peers(c->io.s, &n);
        if (!certs || n == 0)
            return err_set(e, MP_ETLSCERT, _("TLS certificate verification "
                           "failed: the server sent no certificate"));
        r = gnutls_fingerprint(alg, &certs[0], got, &gotlen);
        if (r < 0)
            return err_set(e, MP_ETLSCERT, _("TLS certificate verification "
                           "failed: cannot compute the fingerprint: %s"),
                           gnutls_strerror(r));
        if (gotlen != (size_t)len || memcmp(got, want, gotlen) != 0)
            return err_set(e, MP_ETLSCERT, _("TLS certificate verification "
                           "failed: the certificate fingerprint does not "
                           "match tls_fingerprint; if the server's "
                           "certificate was changed on purpose, set "
                           "tls_fingerprint to the new one "
                           "(--serverinfo --tls-certcheck=off shows it)"));
        return 0;
    }
    r = gnutls_certificate_verify_peers3(c->io.s, host, &status);
    if (r == GNUTLS_E_NO_CERTIFICATE_FOUND)
        return err_set(e, MP_ETLSCERT, _("TLS certificate verification "
                       "failed: the server sent no certificate"));
    if (r < 0)
        return err_set(e, MP_ETLSCERT, _("TLS certificate verification "
                       "failed: %s"), gnutls_strerror(r));
    if (status != 0)
        return verify_status(c, status, host, e);
    return 0;
}

int tls_start(struct transport *t, const struct tls_params *p,
              struct mp_err *e)
{
    struct tls_conn *c = xcalloc(1, sizeof *c);
    const char *name = is_set(p->host_override) ? p->host_override : p->host;
    char *host = NULL;
    int r;

    tls_io_init(&c->io, t, false);
    c->pin = p->pin;
    c->pin_data = p->pin_data;
    if (load_credentials(c, p, e) < 0)
        goto fail;
    r = gnutls_init(&c->io.s, GNUTLS_CLIENT);
    if (r < 0) {
        c->io.s = NULL;
        err_set(e, MP_ESOFTWARE, _("cannot create a TLS session: %s"),
                gnutls_strerror(r));
        goto fail;
    }
    if (set_priorities(c, p->priorities, e) < 0)
        goto fail;
    if (p->min_dh_prime_bits > 0)
        gnutls_dh_set_prime_bits(c->io.s, (unsigned int)p->min_dh_prime_bits);
    r = gnutls_credentials_set(c->io.s, GNUTLS_CRD_CERTIFICATE, c->cred);
    if (r < 0) {
        err_set(e, MP_ESOFTWARE, _("cannot set TLS credentials: %s"),
                gnutls_strerror(r));
        goto fail;
    }
    if (is_set(name)) {
        struct mp_err ie;

        /* Certificates and SNI carry the ASCII (punycode) form. */
        err_init(&ie);
        host = net_idn_to_ascii(name, &ie);
        if (!host)
            host = xstrdup(name);
        /* RFC 6066 §3: no IP literals in SNI. */
        if (!is_ip_literal(host)) {
            r = gnutls_server_name_set(c->io.s, GNUTLS_NAME_DNS, host,
                                       strlen(host));
            if (r < 0) {
                err_set(e, MP_ESOFTWARE, _("cannot set the TLS server "
                        "name %s: %s"), host, gnutls_strerror(r));
                goto fail;
            }
        }
    }
    tls_io_bind(&c->io);
    /* Each network wait has t->timeout_ms (tls_io.c); no extra timer. */
    gnutls_handshake_set_timeout(c->io.s, 0);

    do {
        if (transport_interrupted) {
            err_set(e, MP_ESIGNAL, _("interrupted by a signal"));
            goto fail;
        }
        r = gnutls_handshake(c->io.s);
    } while (r < 0 && !c->io.io_failed && !gnutls_error_is_fatal(r));
    if (r < 0) {
        tls_io_fail(&c->io, r, MP_EPROTO, _("TLS handshake failed"), e);
        goto fail;
    }
    if (verify_peer(c, p, host, e) < 0)
        goto fail;
    free(host);
    t->ops = &tls_ops;
    t->ctx = c;
    return 0;

fail:
    free(host);
    conn_free(c);
    return -1;
}

bool tls_active(const struct transport *t)
{
    return t->ops == &tls_ops && t->ctx;
}

static void tls_close(struct transport *t)
{
    struct tls_conn *c = t->ctx;

    if (!c)
        return;
    tls_io_bye(&c->io);
    conn_free(c);
    t->ctx = NULL;
}

static const struct transport_ops tls_ops = {
    .name = "tls",
    .read = tls_io_read,
    .write = tls_io_write,
    .pending = tls_io_pending,
    .close = tls_close,
};

static char *dn_string(gnutls_x509_crt_t crt, bool issuer)
{
    gnutls_datum_t d = { NULL, 0 };
    char *s;
    int r;

    /* The compat order (as the certificate lists the RDNs, "O=..,CN=..")
     * is what the original prints, not RFC 4514's reversed order. */
    r = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &d,
                                                GNUTLS_X509_DN_FLAG_COMPAT)
               : gnutls_x509_crt_get_dn3(crt, &d, GNUTLS_X509_DN_FLAG_COMPAT);
    if (r < 0 || !d.data)
        return xstrdup("");
    s = xstrndup((const char *)d.data, d.size);
    gnutls_free(d.data);
    return s;
}

int tls_info_get(struct transport *t, struct tls_info *info,
                 struct mp_err *e)
{
    struct tls_conn *c;
    const gnutls_datum_t *certs;
    unsigned int n = 0;
    gnutls_x509_crt_t crt;
    char *desc;
    size_t len;

    memset(info, 0, sizeof *info);
    if (!tls_active(t))
        return err_set(e, MP_ESOFTWARE, _("not a TLS connection"));
    c = t->ctx;
    desc = gnutls_session_get_desc(c->io.s);
    info->desc = xstrdup(desc ? desc : "");
    gnutls_free(desc);
    certs = gnutls_certificate_get_peers(c->io.s, &n);
    if (gnutls_certificate_type_get(c->io.s) != GNUTLS_CRT_X509 || !certs
        || n == 0)
        return 0;
    if (gnutls_x509_crt_init(&crt) < 0)
        return err_set(e, MP_ESOFTWARE, _("cannot allocate a "
                       "certificate"));
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(crt);
        return err_set(e, MP_ESOFTWARE, _("cannot parse the server's "
                       "certificate"));
    }
    info->have_cert = true;
    info->subject = dn_string(crt, false);
    info->issuer = dn_string(crt, true);
    info->activation = gnutls_x509_crt_get_activation_time(crt);
    info->expiration = gnutls_x509_crt_get_expiration_time(crt);
    gnutls_x509_crt_deinit(crt);
    len = sizeof info->sha256;
    if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], info->sha256,
                           &len) < 0)
        memset(info->sha256, 0, sizeof info->sha256);
    len = sizeof info->sha1;
    if (gnutls_fingerprint(GNUTLS_DIG_SHA1, &certs[0], info->sha1,
                           &len) < 0)
        memset(info->sha1, 0, sizeof info->sha1);
    return 0;
}

void tls_info_clear(struct tls_info *info)
{
    free(info->desc);
    free(info->subject);
    free(info->issuer);
    memset(info, 0, sizeof *info);
}

/* ctime()'s layout in the local time zone, always in English as ctime()
 * is: "Sat Jan  1 00:00:00 2000". */
static void print_time(FILE *f, const char *label, time_t when)
{
    static const char days[7][4] = {
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
    };
    static const char months[12][4] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    struct tm tm;

    fprintf(f, "        %s: ", label);
    if (when == (time_t)-1 || !localtime_r(&when, &tm)
        || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0
        || tm.tm_mon > 11) {
        fprintf(f, "%s\n", _("unknown"));
        return;
    }
    fprintf(f, "%s %s %2d %02d:%02d:%02d %d\n", days[tm.tm_wday],
            months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            tm.tm_year + 1900);
}

static void print_hex(FILE *f, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%02X", i ? ":" : "", p[i]);
    fputc('\n', f);
}

void tls_info_print(const struct tls_info *info, FILE *f)
{
    char q[2048];
    const char *s;

    s = info->desc ? info->desc : "";
    fprintf(f, "%s\n", _("TLS session parameters:"));
    fprintf(f, "    %s\n", log_quote(q, sizeof q, s, strlen(s)));
    if (!info->have_cert)
        return;
    fprintf(f, "%s\n", _("TLS certificate information:"));
    s = info->subject ? info->subject : "";
    fprintf(f, "    %s\n", _("Subject:"));
    fprintf(f, "        %s\n", log_quote(q, sizeof q, s, strlen(s)));
    s = info->issuer ? info->issuer : "";
    fprintf(f, "    %s\n", _("Issuer:"));
    fprintf(f, "        %s\n", log_quote(q, sizeof q, s, strlen(s)));
    fprintf(f, "    %s\n", _("Validity:"));
    print_time(f, _("Activation time"), info->activation);
    print_time(f, _("Expiration time"), info->expiration);
    fprintf(f, "    %s\n", _("Fingerprints:"));
    fprintf(f, "        SHA256: ");
    print_hex(f, info->sha256, sizeof info->sha256);
    fprintf(f, "        %s: ", _("SHA1 (deprecated)"));
    print_hex(f, info->sha1, sizeof info->sha1);
}

int tls_channel_binding(struct transport *t, const char **type_r,
                        unsigned char **data_r, size_t *len_r,
                        struct mp_err *e)
{
    struct tls_conn *c;
    gnutls_channel_binding_t type;
    gnutls_datum_t cb = { NULL, 0 };
    int r;

    if (!tls_active(t))
        return err_set(e, MP_ESOFTWARE, _("channel binding needs a TLS "
                       "connection"));
    c = t->ctx;
    if (gnutls_protocol_get_version(c->io.s) == GNUTLS_TLS1_3) {
        /* RFC 9266: tls-unique is undefined for TLS 1.3. */
        type = GNUTLS_CB_TLS_EXPORTER;
        *type_r = "tls-exporter";
    } else {
        type = GNUTLS_CB_TLS_UNIQUE;
        *type_r = "tls-unique";
    }
    r = gnutls_session_channel_binding(c->io.s, type, &cb);
    if (r < 0 || !cb.data || cb.size == 0) {
        if (r >= 0)
            gnutls_free(cb.data);
        return err_set(e, MP_ESOFTWARE, _("cannot get the TLS channel "
                       "binding %s: %s"), *type_r,
                       r < 0 ? gnutls_strerror(r) : _("empty"));
    }
    *data_r = xmalloc(cb.size);
    memcpy(*data_r, cb.data, cb.size);
    *len_r = cb.size;
    gnutls_free(cb.data);
    return 0;
}
