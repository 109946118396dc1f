/* The system key ring (Secret Service, through libsecret when built with
 * HAVE_LIBSECRET).  Entries are those the original mpop reads, so a
 * password stored for it, e.g. with
 *     secret-tool store --label=mpop host HOST service pop3 user USER
 * is found: first the schema "de.marlam.mpop.password" with the
 * attributes host, service ("pop3") and user, then the generic network
 * schema ("org.gnome.keyring.NetworkPassword") with user, protocol
 * ("pop3") and server, as the older libgnome-keyring stored them.  The
 * schema name itself is not matched (the original's lookup does not),
 * so the secret-tool entry above, which has another schema, is found. */
#ifndef MPOP_KEYRING_H
#define MPOP_KEYRING_H

#include "err.h"

/* Looks up the password for user at host (both borrowed for the call).
 * Returns 1 with *password_r (a new string the caller owns; wipe and free
 * it with xfree_secret()), or 0 (*password_r NULL) when there is no
 * entry, no key ring service, or no key ring support in this build.  Key
 * ring errors (no session bus, no daemon, a dismissed unlock prompt) are
 * "not found", as in the original: the next source is asked.  e is for
 * future use; this never returns -1 today. */
int keyring_lookup(const char *host, const char *user, char **password_r,
                   struct mp_err *e);

/* OAuth2 token records (oauth2.c) under our own schema
 * "org.mpop.oauth2.token", attributes token_endpoint, client_id and user.
 * lookup: 1 with *secret_r (wipe and free with xfree_secret()), 0 when
 * there is no such item, -1 when no key ring can be reached (no library,
 * no session bus, no daemon).  store: 0, or -1 when it could not be
 * stored (the caller then writes a file).  clear: removes the item if
 * any; errors are ignored. */
int keyring_token_lookup(const char *endpoint, const char *client_id,
                         const char *user, char **secret_r);
int keyring_token_store(const char *endpoint, const char *client_id,
                        const char *user, const char *label,
                        const char *secret);
void keyring_token_clear(const char *endpoint, const char *client_id,
                         const char *user);

#endif
