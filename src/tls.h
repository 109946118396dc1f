/* TLS with GnuTLS over a connected transport: trust (system, a PEM file, a
 * pinned fingerprint, or none), CRL, host name check, stapled OCSP and
 * must-staple, client certificates (PEM files or PKCS#11 URIs), priority
 * strings, the --serverinfo certificate block, and channel binding data
 * for the SCRAM -PLUS mechanisms.
 *
 * tls_start() upgrades a plain transport in place: after it returns 0,
 * t->ops is the TLS layer and every read/write goes through GnuTLS, with
 * t->timeout_ms applied to each network wait (poll, never alarm).
 * Everything the server sends (names, DNs) is untrusted. */
#ifndef MPOP_TLS_H
#define MPOP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "err.h"
#include "transport.h"

/* Asked for the PIN of a PKCS#11 token or the password of a protected key.
 * label names the token or object (untrusted if it came from a device).
 * Writes a NUL-terminated secret of at most pinsz - 1 bytes into pin and
 * returns 0, or returns -1 to give up.  It is asked once per object: the
 * TLS layer gives up by itself after a wrong PIN. */
typedef int (*tls_pin_fn)(void *data, const char *label, char *pin,
                          size_t pinsz);

/* Every setting of one TLS session.  Strings are borrowed for the duration
 * of tls_start(); NULL and "" mean unset unless noted. */
struct tls_params {
    const char *host;           /* the host name connected to (NULL:
                                 * no name check, no SNI) */
    const char *host_override;  /* replaces host for SNI and verification */
    const char *trust_file;     /* "system": GnuTLS's system trust; a PEM
                                 * file; NULL or "": no CA trust */
    const char *crl_file;       /* PEM CRL file (with trust_file) */
    const char *fingerprint;    /* hex pairs with ':', 32 (SHA256), 20
                                 * (SHA1) or 16 (MD5) bytes; when set,
                                 * replaces CA trust and the name check */
    bool certcheck;             /* false: accept any certificate (insecure;
                                 * overrides trust_file and fingerprint) */
    const char *cert_file;      /* client certificate: PEM file or pkcs11: */
    const char *key_file;       /* its key: PEM file or pkcs11: URI */
    const char *priorities;     /* GnuTLS priority string; unset: default */
    int min_dh_prime_bits;      /* <= 0: the library's default */
    tls_pin_fn pin;             /* NULL: PINs cannot be entered */
    void *pin_data;
};

/* The warning a caller should print before connecting, or NULL: set when
 * certcheck is off ("TLS certificate checks are disabled ...").  A static,
 * translated string. */
const char *tls_insecure_warning(const struct tls_params *p);

/* Nothing to do with GnuTLS >= 3.3 (it initialises itself); kept so a
 * program has one place to call.  Both always succeed. */
int tls_lib_init(struct mp_err *e);
void tls_lib_deinit(void);

/* Runs the client handshake over t's fds and verifies the server, then
 * swaps t->ops/t->ctx to the TLS layer (t->fd stays; transport_close()
 * sends close_notify, frees the TLS state and closes the fds).  Nothing is
 * sent in the clear.  SNI carries the host name unless it is an IP literal.
 * Returns 0, or -1 with e filled and t unchanged (still plain; the caller
 * closes it):
 *   MP_ECONFIG    no trust at all (trust_file "", no fingerprint, certcheck
 *                 on), bad fingerprint syntax
 *   MP_ENOINPUT   a trust, CRL, certificate or key file cannot be read
 *   MP_ESOFTWARE  the priority string is invalid (the message gives the
 *                 position and the bad part), other library failures
 *   MP_EPROTO     the handshake failed (e.g. the server does not speak TLS)
 *   MP_ETEMP      a network wait timed out (t->timeout_ms)
 *   MP_ESIGNAL    interrupted (transport_interrupted)
 *   MP_EIO        a network error during the handshake
 *   MP_ETLSCERT   the certificate is not trusted; the message says every
 *                 reason (expired, not yet valid, unknown issuer, wrong
 *                 host, revoked, insecure algorithm, OCSP status missing or
 *                 invalid, fingerprint mismatch).
 * On the TLS transport a read returns 0 at close_notify and also when the
 * server closes without it (end of stream); a fatal alert is MP_EIO naming
 * the alert; timeouts and signals as for the plain transport. */
int tls_start(struct transport *t, const struct tls_params *p,
              struct mp_err *e);

/* True if t is a TLS transport (tls_start succeeded on it). */
bool tls_active(const struct transport *t);

/* What --serverinfo shows of a session.  Strings are owned (free with
 * tls_info_clear); subject and issuer are raw, untrusted DNs. */
struct tls_info {
    char *desc;                 /* "(TLS1.3)-(ECDHE-SECP256R1)-..." */
    bool have_cert;             /* false: the server sent no X.509 cert */
    char *subject;
    char *issuer;
    time_t activation;
    time_t expiration;
    unsigned char sha256[32];
    unsigned char sha1[20];
};

/* Fills info from the session on t (a TLS transport).  Returns 0, or -1
 * with e filled (MP_ESOFTWARE: not TLS, or a certificate that cannot be
 * parsed). */
int tls_info_get(struct transport *t, struct tls_info *info,
                 struct mp_err *e);
void tls_info_clear(struct tls_info *info);

/* Prints the original mpop's block, from "TLS session parameters:" to the
 * "SHA1 (deprecated)" line, each line ending in '\n'.  Times are local, in
 * ctime() form; fingerprints upper-case hex pairs joined by ':'.  The DNs
 * and the description go through log_quote(). */
void tls_info_print(const struct tls_info *info, FILE *f);

/* Channel binding for SCRAM -PLUS (RFC 5929, RFC 9266): "tls-exporter" on
 * TLS 1.3, "tls-unique" before.  *type_r is a static string; *data_r is a
 * new buffer of *len_r bytes the caller frees with free().  Returns 0, or
 * -1 with e filled (MP_ESOFTWARE: not TLS, or the library cannot derive
 * it, e.g. tls-exporter without extended master secret). */
int tls_channel_binding(struct transport *t, const char **type_r,
                        unsigned char **data_r, size_t *len_r,
                        struct mp_err *e);

/* Parses a tls_fingerprint value ("01:ab:..") into out (size 32).  Returns
 * the number of bytes (16, 20 or 32), or -1 if malformed. */
int tls_parse_fingerprint(const char *s, unsigned char out[32]);

#endif
