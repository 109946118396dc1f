/* SASL client mechanisms for POP3 AUTH (RFC 5034), independent of POP3:
 * pop3_auth.c frames the exchange, this file computes the responses.
 *
 * With GNU SASL (HAVE_LIBGSASL) every mechanism the installed library has
 * (gsasl_client_support_p) runs through it, except OAUTHBEARER (RFC 7628)
 * and XOAUTH2, which are always built in (GNU SASL 2.2 has neither, and the
 * original mpop builds them in too).  Without GNU SASL, PLAIN (RFC 4616),
 * LOGIN, OAUTHBEARER and XOAUTH2 are built in (base64 from GnuTLS).
 *
 * Payloads cross this interface base64-encoded, exactly as they travel in
 * POP3.  Everything the server sends is untrusted. */
#ifndef MPOP_SASL_H
#define MPOP_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum sasl_mech_flags {
    SASL_CLEARTEXT = 1 << 0,    /* an eavesdropper learns the password (or
                                 * token): only over TLS unless named */
    SASL_PASSWORD = 1 << 1,     /* needs a password (or token) */
    SASL_PLUS = 1 << 2,         /* needs TLS channel binding */
    SASL_CLIENT_FIRST = 1 << 3, /* the client speaks first: an initial
                                 * response in the AUTH line is possible */
    SASL_OBSOLETE = 1 << 4      /* chosen automatically only when nothing
                                 * better is offered */
};

/* The mechanisms mpop knows, in the order --version lists them (the
 * original's order, the -PLUS variants after their base), NULL-terminated.
 * Upper case. */
extern const char *const sasl_mech_names[];

/* The flags of a known mechanism (case-insensitive), or -1 if unknown. */
int sasl_mech_flags(const char *mech);

/* Whether this build can run mech: built in, or GNU SASL has it. */
bool sasl_mech_supported(const char *mech);

/* Whether mech runs through the built-in code in this build. */
bool sasl_mech_builtin(const char *mech);

struct sasl_params {
    const char *user;           /* authentication identity; required except
                                 * for EXTERNAL and GSSAPI */
    const char *password;       /* password or OAuth2 token; NULL when the
                                 * mechanism needs none */
    const char *host;           /* server host name: GSSAPI and DIGEST-MD5
                                 * (service "pop"), OAUTHBEARER */
    int port;                   /* OAUTHBEARER; <= 0: not sent */
    const char *ntlm_domain;    /* NTLM; NULL: none */
    const char *cb_type;        /* "tls-unique" or "tls-exporter" for the
                                 * -PLUS mechanisms, else NULL */
    const unsigned char *cb_data;
    size_t cb_len;
    bool builtin;               /* force the built-in code (tests) */
};

struct sasl_client;

/* Starts a client for mech with the strings of p copied (passwords are
 * wiped when the client is freed).  Errors (-1, e filled):
 *   MP_EUNAVAIL   this build cannot run mech
 *   MP_ECONFIG    a parameter the mechanism needs is missing or contains
 *                 characters it cannot carry (e.g. ',' in a PLAIN user is
 *                 fine, a NUL-free C string is all PLAIN needs)
 *   MP_ESOFTWARE  the SASL library failed */
int sasl_client_new(const char *mech, const struct sasl_params *p,
                    struct sasl_client **c_r, struct mp_err *e);

/* One step.  in_b64 is the server's challenge in base64 (NULL before the
 * server said anything: the initial response; "" for an empty challenge).
 * On success *out_b64_r is a new string (possibly "") the caller wipes and
 * frees with xfree_secret(), and *done_r says whether the mechanism has
 * finished on its side (no further challenge is expected, except a final
 * empty one).  Errors (-1, e filled): MP_EPROTO for a challenge that is
 * not base64 or that the mechanism rejects (including a server signature
 * that does not verify: the server is not who it claims), MP_EAUTH when
 * the server reports an OAuth2 error (the client must then send
 * sasl_client_abort_response()), MP_ESOFTWARE for library failures. */
int sasl_client_step(struct sasl_client *c, const char *in_b64,
                     char **out_b64_r, bool *done_r, struct mp_err *e);

/* The mechanism's name, upper case. */
const char *sasl_client_mech(const struct sasl_client *c);

/* Frees the client; NULL-safe; sets *cp to NULL. */
void sasl_client_free(struct sasl_client **cp);

/* Base64 helpers (GnuTLS).  Encode: a new NUL-terminated string ("" for
 * n == 0).  Decode: a new buffer with *len_r bytes plus a NUL, or -1 with
 * MP_EPROTO for invalid input.  Free results with xfree_secret(). */
char *sasl_base64_encode(const void *p, size_t n);
int sasl_base64_decode(const char *b64, unsigned char **out_r, size_t *len_r,
                       struct mp_err *e);

#endif
