/* OAuth2 built in (issue 15): sign in once with `mpop --oauth2-login`,
 * then mpop gets, refreshes and stores its own tokens.
 *
 * An account uses OAuth2 when oauth2_provider is set (account.h for the
 * settings and the Google and Microsoft presets).  Its sign-in is
 * identified by the token endpoint, the client ID and the user name;
 * accounts that share all three share one sign-in.
 *
 * The token record (a JSON object: refresh token, access token and when
 * it expires) lives
 *   - in the key ring (keyring.h, schema "org.mpop.oauth2.token") when
 *     oauth2_token_file is not set and a key ring can be reached,
 *   - else in a file only the user can read, written atomically
 *     (durable.h): oauth2_token_file, or by default
 *     $XDG_STATE_HOME/mpop/oauth2/USER_at_HOST.json (~/.local/state when
 *     XDG_STATE_HOME is unset), HOST being the token endpoint's host.
 *     A record the key ring could not take goes to that file, which then
 *     wins over the key ring's item until the key ring takes a record.
 * Beside that file, "<file>.lock" is an fcntl lock (lock.h) held while a
 * record is read, refreshed and written: concurrent mpop processes and -j
 * workers sharing a sign-in refresh once, never twice.  A rotated refresh
 * token is stored before the new access token is used.
 *
 * Errors that need a person (no sign-in stored, the provider refuses the
 * refresh token: invalid_grant and every other 4xx) are MP_EAUTH
 * (EX_NOPERM, 77) with one line that says "sign in again with: mpop
 * --oauth2-login ACCOUNT" and the provider's error and description.  A
 * token endpoint that cannot be reached or answers 5xx or 429 is MP_ETEMP
 * (EX_TEMPFAIL, 75).  No token, code, verifier or client secret is ever
 * printed, logged or traced. */
#ifndef MPOP_OAUTH2_H
#define MPOP_OAUTH2_H

#include <stdbool.h>

#include "account.h"
#include "err.h"

struct json_object;

/* Whether account a uses OAuth2 (oauth2_provider is set). */
bool oauth2_enabled(const struct account *a);

/* A valid access token for a: the cached one while it has more than
 * OAUTH2_MARGIN seconds left, else a new one from the refresh token.
 * *token_r is new; wipe and free it with xfree_secret(). */
#define OAUTH2_MARGIN 60
int oauth2_access_token(const struct account *a, char **token_r,
                        struct mp_err *e);

/* The POP3 server refused the access token: forget the cached one, so
 * that the next run asks for a new one.  Errors are ignored. */
void oauth2_forget_access_token(const struct account *a);

/* For oauth2_login.c: stores the token endpoint's successful reply to a
 * grant (a new sign-in), replacing any earlier record. */
int oauth2_store_grant(const struct account *a, struct json_object *reply,
                       struct mp_err *e);

/* For oauth2_login.c: turns a token endpoint reply that is not a success
 * into e (see above for the kinds); what says what was asked for, hint
 * whether to add "sign in again with: ...".  The provider's words are
 * quoted, and every occurrence of the client secret and of the secrets in
 * sent (the request's token, code, verifier or device code; a
 * NULL-terminated list, or NULL) becomes "xxxx": a provider that echoes
 * what it was sent must not put it in a message or the log. */
int oauth2_reply_error(const struct account *a, long status,
                       struct json_object *reply, const char *what,
                       bool hint, const char *const *sent,
                       struct mp_err *e);

#endif
