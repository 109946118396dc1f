/* Authentication of a POP3 session: USER/PASS and APOP (RFC 1939 §7), and
 * AUTH (RFC 5034) with the mechanisms of sasl.c, all driven through the
 * engine's pop3_command().
 *
 * The password never comes from secret.c here: the caller passes a
 * callback, called at most once and only when the chosen method needs it. */
#ifndef MPOP_POP3_AUTH_H
#define MPOP_POP3_AUTH_H

#include <stdbool.h>

#include "err.h"
#include "pop3_client.h"
#include "transport.h"

/* Fills *pw_r with a new string the caller (pop3_auth) wipes and frees
 * with xfree_secret(); returns 0, or -1 with e filled. */
typedef int pop3_get_password_fn(void *ctx, char **pw_r, struct mp_err *e);

struct pop3_auth_params {
    const char *method;     /* "user", "apop", a SASL mechanism (see
                             * sasl.h), or NULL / "" / "on" to choose;
                             * case-insensitive */
    const char *user;       /* required; no CR, LF or NUL */
    pop3_get_password_fn *get_password;
    void *password_ctx;
    bool oauth2;            /* get_password gives an OAuth2 access token:
                             * the automatic choice is OAUTHBEARER, then
                             * XOAUTH2, and only with TLS */
    bool tls;               /* the channel is encrypted (TLS or STLS) */
    /* For SASL (all may be left zero): */
    struct transport *transport;    /* the TLS transport, for the channel
                                     * binding of the -PLUS mechanisms;
                                     * NULL: they are never chosen */
    const char *host;       /* server name for GSSAPI, DIGEST-MD5 and
                             * OAUTHBEARER */
    int port;               /* OAUTHBEARER */
    const char *ntlm_domain;
};

/* Authenticates; on success the session is in the TRANSACTION state.
 * Choice with method NULL/""/"on": with TLS, the first of SCRAM-SHA-256-
 * PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-1, PLAIN (offered in
 * CAPA's SASL line and supported by this build), APOP (the greeting has a
 * valid timestamp), USER (listed in CAPA, or no CAPA), CRAM-MD5,
 * DIGEST-MD5, LOGIN, NTLM, and at last USER anyway, as the original does.
 * Without TLS only SCRAM-SHA-256 or SCRAM-SHA-1.  When the server answers
 * -ERR to a chosen mechanism other than USER, PLAIN and LOGIN, the
 * next candidate runs in the same session (after X-PLUS first X, and no
 * other -PLUS); the password callback still runs at most once, and the
 * error is the last attempt's.  A named method runs even without TLS and
 * is never replaced.  Errors (-1, e filled):
 *   MP_EUNAVAIL   without TLS, the server offers no SCRAM mechanism (the
 *                 original's EX_UNAVAILABLE; nothing was sent); a named
 *                 method that is unknown, not in this build, or not
 *                 offered by the server (APOP without a valid timestamp)
 *   MP_EAUTH      -ERR to USER, PASS, APOP or AUTH, whatever its RESP-CODE
 *                 (as the original exits); the message names the method
 *                 and adds the code's meaning
 *   MP_EPROTO     a broken SASL exchange (invalid base64, a challenge the
 *                 mechanism rejects, a SCRAM server that does not prove
 *                 its identity); the message names the method
 *   others as pop3_command(), sasl_client_new() and the callback return
 *   them.
 * e->server carries the server's words for every -ERR. */
int pop3_auth(struct pop3_session *s, const struct pop3_auth_params *p,
              struct mp_err *e);

/* RFC 1939 §7: hex MD5 of timestamp followed by password, into out (33
 * bytes: 32 lower-case hex digits and a NUL).  Returns 0, or -1 with e
 * filled (MP_ESOFTWARE when GnuTLS fails). */
int pop3_apop_digest(const char *timestamp, const char *password,
                     char out[33], struct mp_err *e);

#endif
