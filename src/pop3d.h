/* One mpopd session (RFC 1939, with RFC 2449 CAPA, PIPELINING and
 * RESP-CODES, RFC 3206 [AUTH] and [SYS/TEMP], RFC 2595 STLS) over a struct
 * transport, so that a TLS layer can slot in under it without the session
 * knowing.
 *
 * TLS: with implicit TLS the caller runs the handshake before the session
 * and sets `secure`.  With STLS (a `starttls` callback) CAPA lists STLS in
 * the AUTHORIZATION state until TLS is on, USER and PASS are refused until
 * then, and an STLS line followed by anything already received (a
 * pipelined command, or plaintext injected before the handshake) ends the
 * session: after STLS nothing read in the clear may be used.
 *
 * States: AUTHORIZATION (USER, PASS, QUIT, CAPA, STLS only), TRANSACTION
 * after a successful PASS that could lock and scan the mailbox, UPDATE
 * after QUIT: only then are the mails marked by DELE removed.  A session
 * that ends any other way (EOF, error, timeout, signal) deletes nothing.
 *
 * Pipelining: every command already received is answered in order; the
 * output is collected and written when no further complete command line is
 * buffered, and whenever the output buffer fills (a RETR streams the mail
 * in chunks and never holds it whole).
 *
 * Limits: command lines longer than POP3D_CMD_LINE_MAX get -ERR; lines
 * longer than four times that, or with a NUL byte, end the session; so do
 * POP3D_MAX_BAD_COMMANDS consecutive invalid commands.  The idle timeout is
 * the transport's timeout.  Replies are protocol text in English and are
 * not translated; log messages are. */
#ifndef MPOP_POP3D_H
#define MPOP_POP3D_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "transport.h"

#define POP3D_MAX_BAD_COMMANDS 20

enum pop3d_state {
    POP3D_AUTHORIZATION = 1 << 0,
    POP3D_TRANSACTION = 1 << 1,
    POP3D_UPDATE = 1 << 2
};

/* One mailbox: a user name, its password and its maildir.  Borrowed. */
struct pop3d_mailbox {
    const char *user;
    const char *password;
    const char *maildir;
};

enum pop3d_log_prio {
    POP3D_LOG_INFO,     /* logins, logouts */
    POP3D_LOG_WARN,     /* authentication failures, [IN-USE] */
    POP3D_LOG_ERR       /* mailbox errors, I/O errors */
};

struct pop3d_config {
    const struct pop3d_mailbox *boxes;
    size_t nboxes;
    /* The delay (milliseconds) to wait before answering a PASS, and the
     * report of a failed one; mpopd.c shares both across sessions.  Either
     * may be NULL (no delay, nothing recorded). */
    unsigned (*auth_delay_ms)(void *ctx);
    void (*auth_failed)(void *ctx);
    /* A translated, single-line log message (may be NULL: no logging).
     * Untrusted text in it (user names) is already quoted. */
    void (*log)(void *ctx, enum pop3d_log_prio prio, const char *msg);
    /* Offers STLS when not NULL: runs the server TLS handshake on t after
     * the +OK went out, upgrading it in place; returns 0, or -1 with e
     * filled (the session then ends). */
    int (*starttls)(void *ctx, struct transport *t, struct mp_err *e);
    /* The transport is TLS from the start (implicit TLS). */
    bool secure;
    void *ctx;
};

/* Runs one session on t: the greeting, then commands until QUIT, the end
 * of the stream, an error or the idle timeout.  Does not close t.
 * Returns 0 after QUIT (in either state, with the deletions of the UPDATE
 * state applied), or -1 with e filled:
 *   the client closed the connection or the transport failed: MP_EIO
 *   idle timeout: MP_ETEMP; a signal (transport_interrupted): MP_ESIGNAL
 *   a line too long, a NUL byte, too many bad commands: MP_EPROTO
 *   some marked mails could not be removed in UPDATE: MP_EIO
 *   a mail could not be read in the middle of RETR/TOP: MP_EIO. */
int pop3d_session(struct transport *t, const struct pop3d_config *cfg,
                  struct mp_err *e);

/* The delay policy mpopd.c applies: the delay before answering a PASS
 * after `failures` recent authentication failures (0 for none; 250 ms
 * doubling per failure, at most 16 s). */
unsigned pop3d_auth_delay_policy(unsigned failures);

#endif
