/* The --serverinfo report: what a POP3 server told us in its greeting, its
 * TLS session and certificate, and its CAPA listing, in the original
 * mpop's layout (observed from mpop 1.4.18, byte for byte).
 *
 * Everything printed that came from the server (greeting, IMPLEMENTATION,
 * the reverse DNS name, certificate DNs) is made terminal-safe: control
 * characters become '?' as in the original, and text with non-ASCII bytes
 * goes through log_quote(). */
#ifndef MPOP_SERVERINFO_H
#define MPOP_SERVERINFO_H

#include <stdio.h>

#include "err.h"
#include "session.h"

/* Prints the report of s (opened with SESSION_CAPA or later) to f.  The
 * session is only read, never written to.  Returns 0, or -1 with e filled:
 * MP_ESOFTWARE when the TLS session cannot be described (nothing is
 * printed then), MP_EIO when writing to f failed. */
int serverinfo_print(struct session *s, FILE *f, struct mp_err *e);

/* The LOGIN-DELAY explanation without its indentation and line end, into
 * out (always NUL-terminated): "minimum time between logins is 300 seconds
 * = 5.00 minutes".  Exposed for the unit test.  Returns out. */
char *serverinfo_login_delay(long long seconds, char *out, size_t outsz);

#endif
