/* `mpop --oauth2-login[=FLOW] ACCOUNT`: sign in once (issue 15); the
 * tokens then live in oauth2.c's store.
 *
 * Browser flow: RFC 6749 §4.1 authorization code grant with PKCE S256
 * (RFC 7636) and a loopback redirect (RFC 8252 §7.3): a listener on
 * 127.0.0.1 with a port the system picks, for this sign-in only; nothing
 * else listens.  The answer comes to that listener or, when the browser
 * runs on another machine, as the address the browser ended on, pasted on
 * standard input.  `state` must come back unchanged.  A browser is
 * started only when $BROWSER is set or a desktop session ($DISPLAY,
 * $WAYLAND_DISPLAY) has xdg-open.
 *
 * Device flow: RFC 8628, polling the token endpoint at the interval the
 * provider asks for, 5 s longer after each slow_down.
 *
 * What is shown on stdout: the address to open, or the verification
 * address and the user code (which the person must type).  Never the
 * authorization code, the device code, the verifier, a token or the
 * client secret. */
#ifndef MPOP_OAUTH2_LOGIN_H
#define MPOP_OAUTH2_LOGIN_H

#include <stdbool.h>

#include "account.h"
#include "err.h"

enum oauth2_flow {
    OAUTH2_FLOW_AUTO = 0,   /* browser when an authorization endpoint is
                             * known, else device */
    OAUTH2_FLOW_BROWSER,    /* authorization code, PKCE, loopback */
    OAUTH2_FLOW_DEVICE      /* device authorization grant */
};

/* Runs the sign-in for a and stores the tokens.  Returns 0, or -1 with e
 * filled: MP_EAUTH when the provider or the person refused (or the code
 * expired), MP_ETEMP when the provider could not be reached or no answer
 * came in time, MP_ECONFIG for a flow the provider has no endpoint for,
 * MP_EUNAVAIL in a build without OAuth2. */
int oauth2_login(const struct account *a, enum oauth2_flow flow,
                 struct mp_err *e);

/* The answer of the authorization endpoint (RFC 6749 §4.1.2): the query
 * of the address it redirects to.  Untrusted: anything on this machine can
 * send a request to the loopback listener, and the person pastes it. */
struct oauth2_answer {
    char *code, *state, *error, *error_description;   /* NULL: absent */
};

/* Parses the query part of s (after the first '?', up to '#', a blank or
 * a line end), percent-decoded; fills *a with new strings (earlier ones
 * are freed first).  Returns whether it holds a code or an error.  Other
 * parameters are ignored; a repeated one keeps its last value. */
bool oauth2_parse_answer(const char *s, struct oauth2_answer *a);
/* Frees (and wipes) what oauth2_parse_answer filled in; NULL-safe fields,
 * a is cleared. */
void oauth2_answer_clear(struct oauth2_answer *a);

#endif
