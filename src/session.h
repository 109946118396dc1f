/* One POP3 session for an account, set up as far as a mode needs: connected
 * (directly, through SOCKS5 or a unix socket), TLS from the first byte or
 * after STLS, greeted, capabilities known, and optionally authenticated.
 * Retrieval, -s, -A and --serverinfo all start here.
 *
 * Security rules kept here (issue 5): with `tls on` and STARTTLS, a server
 * that does not offer STLS or refuses it ends the session before any
 * credential is sent; the line reader must be empty when the handshake
 * starts; capabilities are fetched again after TLS and the old ones
 * forgotten; nothing is pipelined across STLS or authentication, except
 * STAT, LIST and UIDL behind a USER/PASS pair (SESSION_LISTING), where no
 * security layer can start and a refused login gets -ERR to each. */
#ifndef MPOP_SESSION_H
#define MPOP_SESSION_H

#include <stdbool.h>

#include "account.h"
#include "err.h"
#include "pop3_client.h"
#include "tls.h"
#include "transport.h"

enum session_until {
    SESSION_CAPA,       /* greeting, TLS, capabilities: --serverinfo */
    SESSION_AUTH,       /* ... and authenticated: everything else */
    SESSION_LISTING     /* ... with pop3_listing(, true, ) next, whose
                           commands may go out with the login's */
};

struct session {
    const struct account *acc;  /* borrowed */
    struct transport t;
    struct pop3_session *pop3;  /* NULL until connected */
    bool tls;                   /* TLS active (implicit or STLS) */
    char server_name[256];      /* reverse DNS name of the peer, or "" */
    char server_ip[64];         /* numeric address, "" for a unix socket */
    char peer[300];             /* "host [ip], port N" style, for messages */
};

/* Opens a session for a.  The password (only when authentication needs it)
 * comes from secret_get_password().  On failure everything opened is
 * closed again and e says what failed, naming the account's host.  Errors:
 * those of net_connect, tls_start, pop3_greeting/capa/stls and pop3_auth;
 * with `tls on` and STARTTLS, MP_EUNAVAIL when the server does not offer
 * STLS and MP_EPROTO when it answers -ERR (the original's exit codes 69 and
 * 76), in both cases before any credential was sent. */
int session_open(struct session *s, const struct account *a,
                 enum session_until until, struct mp_err *e);

/* Work that needs no server, done while the server prepares its greeting
 * (a server takes 10 ms or more for it, a slow link a round trip): called
 * once the connection is up (after the handshake with implicit TLS), before
 * anything is read.  A non-zero return ends the session unopened with the
 * callback's error in e. */
typedef int (*session_meanwhile_fn)(void *ctx, struct mp_err *e);

/* session_open(), calling meanwhile(ctx, e) as described above when it is
 * not NULL. */
int session_open_meanwhile(struct session *s, const struct account *a,
                           enum session_until until,
                           session_meanwhile_fn meanwhile, void *ctx,
                           struct mp_err *e);

/* Ends the session: sends QUIT when quit is true (the server then applies
 * DELEs: only call it with quit=true when every delivered mail is durable),
 * otherwise just closes the connection, so the server deletes nothing.
 * Returns 0, or -1 with e filled when QUIT failed (the session is closed
 * either way).  NULL-safe on an unopened session (s->pop3 == NULL). */
int session_close(struct session *s, bool quit, struct mp_err *e);

/* Fills p from the account's tls_* settings (strings borrowed from a; the
 * PIN callback is left NULL for the caller to set).  Here, not in tls.c:
 * the TLS layer knows no accounts. */
void session_tls_params(const struct account *a, struct tls_params *p);

#endif
