/* Authentication of a POP3 session: USER/PASS and APOP (RFC 1939 §7),
 * driven through the engine's pop3_command().  The SASL mechanisms (RFC
 * 5034, issue 6) slot in beside them: sasl.c adds entries to the method
 * table in pop3_auth.c and implements the AUTH exchange with the same
 * pop3_command() calls.
 *
 * The password never comes from secret.c here: the caller passes a
 * callback, called at most once and only when the chosen method needs it. */
#ifndef MPOP_POP3_AUTH_H
#define MPOP_POP3_AUTH_H

#include <stdbool.h>

#include "err.h"
#include "pop3_client.h"

/* Fills *pw_r with a new string the caller (pop3_auth) wipes and frees
 * with xfree_secret(); returns 0, or -1 with e filled. */
typedef int pop3_get_password_fn(void *ctx, char **pw_r, struct mp_err *e);

struct pop3_auth_params {
    const char *method;     /* "user", "apop", or NULL / "" / "on" to
                             * choose; case-insensitive */
    const char *user;       /* required; no CR, LF or NUL */
    pop3_get_password_fn *get_password;
    void *password_ctx;
    bool tls;               /* the channel is encrypted (TLS or STLS) */
};

/* Authenticates; on success the session is in the TRANSACTION state.
 * Choice with method NULL/""/"on": without TLS only methods that do not
 * send the password in clear (APOP when the greeting has a valid
 * timestamp); with TLS, USER (when CAPA lists USER or there is no CAPA),
 * else APOP.  Errors (-1, e filled):
 *   MP_EUNAVAIL   no method avoids sending the password in clear (the
 *                 original's EX_UNAVAILABLE; nothing was sent)
 *   MP_EUNAVAIL   the method asked for is unknown or the server lacks it
 *                 (APOP without a valid timestamp)
 *   MP_EAUTH      -ERR to USER, PASS or APOP, whatever its RESP-CODE (as
 *                 the original exits); the message adds the code's meaning
 *   others as pop3_command() and the callback return them.
 * e->server carries the server's words for every -ERR. */
int pop3_auth(struct pop3_session *s, const struct pop3_auth_params *p,
              struct mp_err *e);

/* RFC 1939 §7: hex MD5 of timestamp followed by password, into out (33
 * bytes: 32 lower-case hex digits and a NUL).  Returns 0, or -1 with e
 * filled (MP_ESOFTWARE when GnuTLS fails). */
int pop3_apop_digest(const char *timestamp, const char *password,
                     char out[33], struct mp_err *e);

#endif
