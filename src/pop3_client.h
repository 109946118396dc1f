/* The POP3 session engine (RFC 1939, RFC 2449, RFC 2595 STLS): states,
 * commands, a pipelining window, and multi-line bodies streamed into a sink.
 *
 * Contract for callers (retrieve.c, serverinfo.c, pop3_auth.c, sasl.c):
 *  - The engine knows no files: bodies go to a struct pop3_sink the caller
 *    supplies, listings come back as arrays the caller owns.
 *  - Every function returns 0 or -1 with e filled.  e->server holds the
 *    server's own status line when a reply caused the error (raw, untrusted:
 *    quote it with log_quote() before printing).  Kinds:
 *      MP_EIO     the connection failed or was closed mid-reply
 *      MP_ETEMP   a timeout, or -ERR [IN-USE] / [LOGIN-DELAY] / [SYS/TEMP]
 *      MP_EUNAVAIL -ERR [SYS/PERM], a refused greeting, a missing command
 *      MP_EAUTH   -ERR [AUTH], or a plain -ERR to an authentication command
 *      MP_EPROTO  anything that breaks the protocol: a bad status line, an
 *                 overlong line, a NUL byte, a bad listing, a count above
 *                 POP3_MSGS_MAX, a wrong or duplicate message number
 *      MP_ESIGNAL transport_interrupted was set
 *    After an MP_EIO, MP_ETEMP (timeout), MP_EPROTO or MP_ESIGNAL error the
 *    session is broken (pop3_state() == POP3_STATE_BROKEN): every further
 *    call fails; the caller closes the transport without QUIT, so the
 *    server deletes nothing.
 *  - Everything the server sends is untrusted.  Counts are bounded before
 *    anything is allocated for them; strings kept by the session are
 *    bounded copies.
 *  - Under --debug every line sent and received is traced with log_conv();
 *    passwords and SASL payloads are never shown.
 *  - The transport is borrowed: the session never closes it.  STLS: call
 *    pop3_stls(), then upgrade the transport in place (the ops swap), then
 *    pop3_capa() again. */
#ifndef MPOP_POP3_CLIENT_H
#define MPOP_POP3_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "pop3_body.h"
#include "pop3_parse.h"
#include "transport.h"

struct pop3_session;

/* Same values as enum acc_pipelining in account.h. */
enum pop3_pipelining {
    POP3_PIPELINING_AUTO = -1,  /* on when CAPA announces PIPELINING */
    POP3_PIPELINING_OFF = 0,
    POP3_PIPELINING_ON = 1
};

enum pop3_state {
    POP3_STATE_GREETING,        /* connected, greeting not read */
    POP3_STATE_AUTHORIZATION,
    POP3_STATE_TRANSACTION,
    POP3_STATE_DONE,            /* QUIT answered */
    POP3_STATE_BROKEN           /* unusable after an error */
};

enum pop3_cmd {
    POP3_CMD_NONE = 0,
    POP3_CMD_CAPA, POP3_CMD_STLS, POP3_CMD_USER, POP3_CMD_PASS,
    POP3_CMD_APOP, POP3_CMD_AUTH, POP3_CMD_STAT, POP3_CMD_LIST,
    POP3_CMD_UIDL, POP3_CMD_TOP, POP3_CMD_RETR, POP3_CMD_DELE,
    POP3_CMD_RSET, POP3_CMD_NOOP, POP3_CMD_QUIT
};

/* The longest line accepted from the server.  RFC 2449 §4 allows 512
 * octets for a status line; bodies are not lines and have no limit. */
#define POP3_LINE_MAX 1024

/* The engine never holds more unanswered command bytes than this; it is
 * the only limit of the pipelining window (the number of commands follows
 * from it: "DELE 1\r\n", the shortest, has 8 bytes, so at most 512).  Why
 * it cannot deadlock: commands are written with blocking writes while the
 * server may be blocked writing replies we are not reading yet.  A write
 * can only hang when the unanswered bytes do not fit into our socket's
 * send buffer plus the server's receive buffer.  Linux never makes a send
 * buffer smaller than about 4.5 KiB (SOCK_MIN_SNDBUF), its default is
 * 16 KiB, other stacks use 8 KiB or more, and the server's receive buffer
 * comes on top: 4 KiB always fits.  Yet 4 KiB of RETR or DELE commands
 * (about 400) keeps any server busy for many round trips, so a larger
 * window would buy nothing. */
#define POP3_WINDOW_BYTES 4096

/* Creates a session over t (borrowed; must outlive the session).  eol is
 * the line end bodies are delivered with.  Never fails. */
struct pop3_session *pop3_session_new(struct transport *t,
                                      enum pop3_pipelining pipelining,
                                      enum pop3_body_eol eol);
/* Frees the session (not the transport); NULL-safe; sets *sp to NULL. */
void pop3_session_free(struct pop3_session **sp);

enum pop3_state pop3_state(const struct pop3_session *s);
const char *pop3_state_name(enum pop3_state st);

/* Reads the greeting.  -ERR: MP_EUNAVAIL (or the RESP-CODE's kind) with the
 * server's words.  Afterwards pop3_greeting_text() and
 * pop3_apop_timestamp() are available. */
int pop3_greeting(struct pop3_session *s, struct mp_err *e);
/* The greeting's text after "+OK " (raw, bounded, never NULL). */
const char *pop3_greeting_text(const struct pop3_session *s);
/* The validated APOP timestamp with its brackets, or NULL. */
const char *pop3_apop_timestamp(const struct pop3_session *s);
/* Why a timestamp-like part of the greeting was refused, or NULL. */
const char *pop3_apop_timestamp_why(const struct pop3_session *s);

/* Sends CAPA and stores the capabilities.  A -ERR reply is not an error:
 * the server just has no CAPA (pop3_has_capa() stays false).  A malformed
 * capability line is MP_EPROTO.  May be called again after STLS or AUTH;
 * each call replaces what was stored. */
int pop3_capa(struct pop3_session *s, struct mp_err *e);
bool pop3_has_capa(const struct pop3_session *s);
const struct pop3_caps *pop3_caps(const struct pop3_session *s);
/* Whether commands are pipelined now (the mode resolved against CAPA). */
bool pop3_pipelining_active(const struct pop3_session *s);

/* Sends STLS and reads +OK.  -ERR: MP_EUNAVAIL.  Any byte received after
 * the +OK and before the TLS handshake is an injection: MP_EPROTO, session
 * broken.  The caller then upgrades the transport. */
int pop3_stls(struct pop3_session *s, struct mp_err *e);

/* How a command line appears in the --debug trace. */
enum pop3_trace {
    POP3_TRACE_ALL,     /* the whole line */
    POP3_TRACE_WORD,    /* the command word only: "PASS xxxx" */
    POP3_TRACE_NONE     /* nothing of it: SASL payloads */
};

/* The longest line sent inside an AUTH exchange (RFC 5034 §4 limits only
 * the AUTH command itself, to 255 octets; a client response may be an
 * OAuth2 token of several KiB, base64-encoded). */
#define POP3_SASL_LINE_MAX (256 * 1024)

/* For pop3_auth.c and sasl.c: sends one command line (without CRLF; at
 * most POP3_LINE_MAX bytes, or POP3_SASL_LINE_MAX with POP3_CMD_AUTH; no
 * CR, LF or NUL) and reads one status line into *st_r (spans valid until
 * the next call on s).  +OK and -ERR return 0, and with POP3_CMD_AUTH "+ "
 * continuations too (elsewhere they are MP_EPROTO); only I/O and protocol
 * errors return -1.
 * Nothing may be in flight (it never pipelines across authentication).
 * On +OK to PASS, APOP or AUTH, call pop3_set_authenticated(). */
int pop3_command(struct pop3_session *s, enum pop3_cmd cmd,
                 const char *line, enum pop3_trace trace,
                 struct pop3_status *st_r, struct mp_err *e);
/* For pop3_auth.c: two command lines (each as in pop3_command, at most
 * POP3_LINE_MAX bytes) in one write, then both status lines read; only
 * with pipelining active (else MP_ESOFTWARE).  *st_r is the first reply
 * that is not +OK, or else the second reply; *which_r says which (0 or
 * 1).  When the first reply is -ERR and the server then closes the
 * connection, the first reply is returned (and the session is broken).
 * Nothing may be in flight. */
int pop3_command_pair(struct pop3_session *s,
                      const char *line1, enum pop3_trace trace1,
                      const char *line2, enum pop3_trace trace2,
                      struct pop3_status *st_r, int *which_r,
                      struct mp_err *e);
void pop3_set_authenticated(struct pop3_session *s);
/* Before authentication: when it is a pipelined pair (USER and PASS),
 * STAT, LIST and (want_uidl) UIDL go out in the same write, and the next
 * call must be pop3_listing() with the same want_uidl, which then only
 * reads their replies: one round trip less.  After a refused login their
 * -ERR replies are read away.  Without pipelining, or with another
 * mechanism, nothing changes. */
void pop3_listing_ahead(struct pop3_session *s, bool want_uidl);

/* Fills e from a -ERR status: kind from the RESP-CODE (see above) or
 * plain_kind without one, e->server the raw status line, and the message
 * from fmt plus the code's meaning ("the mailbox is in use"). Returns -1. */
int pop3_status_error(const struct pop3_session *s,
                      const struct pop3_status *st,
                      enum mp_err_kind plain_kind, struct mp_err *e,
                      const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The kind a RESP-CODE maps to, or plain_kind for none/unknown. */
enum mp_err_kind pop3_resp_code_kind(enum pop3_resp_code c,
                                     enum mp_err_kind plain_kind);
/* A translated sentence explaining the code, or NULL. */
const char *pop3_resp_code_meaning(enum pop3_resp_code c);

/* Transaction state.  All of these need an empty pipeline. */

/* STAT: n <= POP3_MSGS_MAX (more is MP_EPROTO before any allocation). */
int pop3_stat(struct pop3_session *s, unsigned long *n_r,
              unsigned long long *total_r, struct mp_err *e);
/* LIST for all nmsgs messages (nmsgs from pop3_stat).  *sizes_r is a new
 * array of nmsgs sizes, sizes[msn - 1]; the caller frees it with free().
 * Every msn 1..nmsgs must appear exactly once (call before any DELE).
 * nmsgs == 0 sends nothing and returns NULL. */
int pop3_list_all(struct pop3_session *s, unsigned long nmsgs,
                  unsigned long long **sizes_r, struct mp_err *e);
/* UIDL for all nmsgs messages.  *uids_r is a new array of nmsgs strings,
 * uids[msn - 1], each 1..70 printable ASCII characters; free with
 * pop3_uids_free() (the strings are not separate allocations: never free
 * or replace one alone).  Every msn must appear exactly once and no UID twice
 * (RFC 1939 §7: unique within the maildrop), else MP_EPROTO.  -ERR (no
 * UIDL support): MP_EUNAVAIL. */
int pop3_uidl_all(struct pop3_session *s, unsigned long nmsgs,
                  char ***uids_r, struct mp_err *e);
void pop3_uids_free(char ***uidsp, unsigned long n);
/* STAT, then LIST and, when want_uidl, UIDL for all messages: with
 * pipelining active the three commands go out in one write (one round trip
 * instead of three), else one at a time (LIST and UIDL only when STAT
 * counted messages).  Results and errors as pop3_stat, pop3_list_all and
 * pop3_uidl_all, except that a -ERR to UIDL is no error here: the server
 * has no UIDL, and *uids_r stays NULL (as it does for no messages).  On
 * failure nothing is left allocated.  Any -ERR to STAT or LIST with
 * pipelining active breaks the session (the replies after it would be out
 * of step). */
int pop3_listing(struct pop3_session *s, bool want_uidl, unsigned long *n_r,
                 unsigned long long *total_r, unsigned long long **sizes_r,
                 char ***uids_r, struct mp_err *e);
/* QUIT (also valid in AUTHORIZATION).  -ERR in the UPDATE state means the
 * server did not remove the messages: MP_EUNAVAIL. */
int pop3_quit(struct pop3_session *s, struct mp_err *e);

/* A consumer of one message body (RETR or TOP).  Every callback gets ctx.
 * begin is called when +OK arrives, data with the decoded bytes (line ends
 * as the session's eol, dot-unstuffed; n > 0), end after the terminator.
 * begin, data and end return 0, or -1 with e filled (a delivery failure):
 * the engine then calls abort, reads and drops the rest of the body, and
 * stops the batch.  abort is also called when the connection fails after
 * begin and before end; it must not fail.  Only one of end and abort is
 * called, and only after begin succeeded.  size is the size the caller
 * gave in the job (from LIST; may be -1). */
struct pop3_sink {
    void *ctx;
    int (*begin)(void *ctx, unsigned long msn, long long size,
                 struct mp_err *e);
    int (*data)(void *ctx, const char *p, size_t n, struct mp_err *e);
    int (*end)(void *ctx, struct mp_err *e);
    void (*abort)(void *ctx);
};

/* One queued command of a batch.  POP3_CMD_QUIT may be the last job of a
 * batch (msn is ignored): it goes out in the same write as the DELEs
 * before it, saving a round trip; the server executes the commands in
 * order, so the DELEs are answered before QUIT removes the mails.  Queue
 * it only when every DELE of the batch may take effect.  Its reply is
 * handled by the engine (on_reply does not see it), as pop3_quit() does;
 * when the batch stopped before QUIT was sent, QUIT is never sent. */
struct pop3_job {
    enum pop3_cmd cmd;          /* POP3_CMD_RETR, _TOP, _DELE or _QUIT */
    unsigned long msn;          /* 1..nmsgs */
    unsigned long top_lines;    /* TOP: body lines after the header */
    long long size;             /* passed to sink->begin */
    const struct pop3_sink *sink;   /* RETR and TOP; borrowed until the
                                     * job's reply was handled */
    void *user;                 /* for the caller */
};

/* Called once per reply, oldest first: for RETR/TOP after sink->end
 * succeeded (st->kind == POP3_OK) or for a -ERR (the sink was not used);
 * for DELE with its status.  st is valid during the call only.  May call
 * pop3_queue() to add jobs (e.g. a DELE once a mail is safely delivered).
 * Returns 0, or -1 with e filled to stop the batch. */
typedef int pop3_reply_fn(void *ctx, const struct pop3_job *job,
                          const struct pop3_status *st, struct mp_err *e);

/* Adds a job to the session's queue (copied).  Sent by pop3_run(). */
void pop3_queue(struct pop3_session *s, const struct pop3_job *job);

/* Sends the queued jobs (pipelined within the window when pipelining is
 * active, else one at a time) and handles their replies until queue and
 * window are empty.  A msn of 0 or above the STAT count is refused before
 * sending (MP_ESOFTWARE).  If a sink or on_reply fails, nothing more is
 * sent, the replies already in flight are read (bodies dropped, sinks not
 * called; DELE replies still go to on_reply, whose result is then
 * ignored), the queue is emptied, the session stays usable (QUIT works),
 * and the first error is returned.  On I/O or protocol errors the sink in
 * progress is aborted and the session is broken. */
int pop3_run(struct pop3_session *s, pop3_reply_fn *on_reply, void *ctx,
             struct mp_err *e);

/* Counters for tests and the benchmark. */
struct pop3_stats {
    unsigned long commands;     /* command lines sent */
    unsigned long writes;       /* transport writes */
    unsigned long waits;        /* times the engine had to wait for the
                                 * server with commands unanswered */
    unsigned long rounds;       /* waits that followed a write: round
                                 * trips */
    unsigned long max_inflight; /* deepest the window got */
};
const struct pop3_stats *pop3_stats(const struct pop3_session *s);

#endif
