#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gettext.h"
#include "linereader.h"
#include "log.h"
#include "net.h"
#include "pop3_client.h"
#include "xalloc.h"

/* The ring of commands in flight: POP3_WINDOW_BYTES bounds it, and no
 * command line is shorter than 8 bytes ("DELE 1\r\n"). */
#define RING_SIZE (POP3_WINDOW_BYTES / 8)

/* One command sent and not yet answered. */
struct inflight {
    enum pop3_cmd cmd;
    size_t bytes;               /* its length on the wire */
    struct pop3_job job;        /* for RETR, TOP and DELE */
};

struct pop3_session {
    struct transport *t;
    struct linereader lr;
    enum pop3_state state;
    enum pop3_pipelining pipelining;
    enum pop3_body_eol eol;

    char greeting[POP3_LINE_MAX + 1];
    char timestamp[POP3_TIMESTAMP_MAX + 1];
    const char *timestamp_why;
    bool has_capa;
    struct pop3_caps caps;
    bool stat_done;
    unsigned long nmsgs;
    /* pop3_listing_ahead(): the listing goes out behind USER and PASS
     * (want_ahead); once it did and the login succeeded, its replies are
     * on their way (ahead) and pop3_listing() only reads them. */
    bool want_ahead, ahead_uidl, ahead;

    /* A copy of the last status line: the spans of the last pop3_status
     * point here, and errors quote it. */
    char status[POP3_LINE_MAX + 1];

    /* Jobs not yet sent (a FIFO: head index and count). */
    struct pop3_job *queue;
    size_t qhead, qlen, qalloc;
    /* The ring of commands in flight, oldest at rhead. */
    struct inflight ring[RING_SIZE];
    size_t rhead, rcount, rbytes;

    struct buf out;             /* commands not yet written */
    bool sent_since_wait;
    struct pop3_stats stats;

    char tline[POP3_LINE_MAX + 1];  /* body trace under --debug */
    size_t tlen;
};

/* The largest CAPA listing we read; RFC 2449 defines a dozen. */
#define CAPA_LINES_MAX 256

static const char *const state_names[] = {
    [POP3_STATE_GREETING] = "GREETING",
    [POP3_STATE_AUTHORIZATION] = "AUTHORIZATION",
    [POP3_STATE_TRANSACTION] = "TRANSACTION",
    [POP3_STATE_DONE] = "DONE",
    [POP3_STATE_BROKEN] = "BROKEN",
};

const char *pop3_state_name(enum pop3_state st)
{
    if ((unsigned)st >= sizeof state_names / sizeof state_names[0])
        return "?";
    return state_names[st];
}

static void pop3_set_state(struct pop3_session *s, enum pop3_state st)
{
    if (s->state == st)
        return;
    log_debug("pop3: state %s -> %s\n", pop3_state_name(s->state),
              pop3_state_name(st));
    s->state = st;
}

struct pop3_session *pop3_session_new(struct transport *t,
                                      enum pop3_pipelining pipelining,
                                      enum pop3_body_eol eol)
{
    struct pop3_session *s = xcalloc(1, sizeof *s);

    s->t = t;
    linereader_init(&s->lr, t, POP3_LINE_MAX);
    s->state = POP3_STATE_GREETING;
    s->pipelining = pipelining;
    s->eol = eol;
    pop3_caps_init(&s->caps);
    buf_init(&s->out, POP3_WINDOW_BYTES + POP3_LINE_MAX + 2);
    return s;
}

void pop3_session_free(struct pop3_session **sp)
{
    struct pop3_session *s = *sp;

    if (!s)
        return;
    linereader_clear(&s->lr);
    buf_clear(&s->out);
    free(s->queue);
    free(s);
    *sp = NULL;
}

enum pop3_state pop3_state(const struct pop3_session *s)
{
    return s->state;
}

const char *pop3_greeting_text(const struct pop3_session *s)
{
    return s->greeting;
}

const char *pop3_apop_timestamp(const struct pop3_session *s)
{
    return s->timestamp[0] ? s->timestamp : NULL;
}

const char *pop3_apop_timestamp_why(const struct pop3_session *s)
{
    return s->timestamp_why;
}

bool pop3_has_capa(const struct pop3_session *s)
{
    return s->has_capa;
}

const struct pop3_caps *pop3_caps(const struct pop3_session *s)
{
    return &s->caps;
}

bool pop3_pipelining_active(const struct pop3_session *s)
{
    if (s->pipelining == POP3_PIPELINING_ON)
        return true;
    if (s->pipelining == POP3_PIPELINING_OFF)
        return false;
    return s->has_capa && (s->caps.flags & POP3_CAP_PIPELINING);
}

const struct pop3_stats *pop3_stats(const struct pop3_session *s)
{
    return &s->stats;
}

/* Marks the session unusable and returns -1 (e is already filled). */
static int broken(struct pop3_session *s)
{
    pop3_set_state(s, POP3_STATE_BROKEN);
    return -1;
}

static int check_usable(struct pop3_session *s, struct mp_err *e)
{
    if (s->state == POP3_STATE_BROKEN || s->state == POP3_STATE_DONE)
        return err_set(e, MP_ESOFTWARE, _("the POP3 session is no longer "
                       "usable"));
    if (s->rcount > 0 || s->qlen > 0 || s->ahead)
        return err_set(e, MP_ESOFTWARE, _("POP3 commands are still in "
                       "flight"));
    return 0;
}

static void send_line(struct pop3_session *s, const char *line, size_t len,
                      enum pop3_trace trace)
{
    if (trace == POP3_TRACE_ALL) {
        log_conv("--> ", line, len, 0);
    } else {
        size_t w = 0;
        if (trace == POP3_TRACE_WORD)
            while (w < len && line[w] != ' ')
                w++;
        /* log_conv shows the first word of a secret line; give it only
         * what may be shown, so a SASL payload is never printed. */
        log_conv("--> ", line, w, 1);
    }
    /* Cannot fail: out is flushed before it holds a window's worth. */
    if (buf_append(&s->out, line, len) != 0
        || buf_append(&s->out, "\r\n", 2) != 0)
        abort();
    s->stats.commands++;
}

static int flush(struct pop3_session *s, struct mp_err *e)
{
    int r;

    if (s->out.len == 0)
        return 0;
    r = transport_write(s->t, s->out.data, s->out.len, e);
    buf_reset(&s->out);
    s->stats.writes++;
    s->sent_since_wait = true;
    return r;
}

/* Before a read: when it must block for the server, the commands still
 * buffered go out first (the server may need them to answer), so queued
 * commands leave many to a write, and the wait is counted. */
static int note_wait(struct pop3_session *s, struct mp_err *e)
{
    if (linereader_buffered(&s->lr) > 0)
        return 0;
    if (flush(s, e) != 0)
        return -1;
    s->stats.waits++;
    if (s->sent_since_wait) {
        s->stats.rounds++;
        s->sent_since_wait = false;
    }
    return 0;
}

static int check_signal(struct mp_err *e)
{
    if (transport_interrupted)
        return err_set(e, MP_ESIGNAL, _("interrupted by a signal"));
    return 0;
}

/* The server closed the connection where a status line or a listing line
 * was due: EX_PROTOCOL, as mpop 1.4.18 ("empty reply"), not the line
 * reader's MP_EIO (which stays for a mail cut off in its body). */
static int eof_is_protocol(struct pop3_session *s, struct mp_err *e)
{
    if (s->lr.eof && e->kind == MP_EIO)
        e->kind = MP_EPROTO;
    return -1;
}

/* Reads one status line into s->status and parses it.  Errors: the line
 * reader's, and MP_EPROTO for a line that is no status line or for the
 * end of the stream. */
static int read_status(struct pop3_session *s, struct pop3_status *st,
                       struct mp_err *e)
{
    const char *line, *why;
    size_t len;

    if (check_signal(e) != 0 || note_wait(s, e) != 0)
        return -1;
    if (linereader_getline(&s->lr, &line, &len, e) != 0)
        return eof_is_protocol(s, e);
    log_conv("<-- ", line, len, 0);
    memcpy(s->status, line, len);
    s->status[len] = '\0';
    if (pop3_parse_status(s->status, len, st, &why) != 0) {
        err_set_server(e, s->status, len);
        return err_set(e, MP_EPROTO, _("the POP3 server sent an invalid "
                       "reply (%s)"), why);
    }
    return 0;
}

/* Reads one line of a multi-line listing, dot-unstuffed.  *end_r is set
 * at the terminating ".". */
static int read_listing_line(struct pop3_session *s, const char **line_r,
                             size_t *len_r, bool *end_r, struct mp_err *e)
{
    const char *line;
    size_t len;

    if (note_wait(s, e) != 0)
        return -1;
    if (linereader_getline(&s->lr, &line, &len, e) != 0)
        return eof_is_protocol(s, e);
    log_conv("<-- ", line, len, 0);
    *end_r = (len == 1 && line[0] == '.');
    if (len > 0 && line[0] == '.') {
        line++;
        len--;
    }
    *line_r = line;
    *len_r = len;
    return 0;
}

enum mp_err_kind pop3_resp_code_kind(enum pop3_resp_code c,
                                     enum mp_err_kind plain_kind)
{
    switch (c) {
    case POP3_RC_IN_USE:
    case POP3_RC_LOGIN_DELAY:
    case POP3_RC_SYS_TEMP:
        return MP_ETEMP;
    case POP3_RC_SYS_PERM:
        return MP_EUNAVAIL;
    case POP3_RC_AUTH:
        return MP_EAUTH;
    default:
        return plain_kind;
    }
}

const char *pop3_resp_code_meaning(enum pop3_resp_code c)
{
    switch (c) {
    case POP3_RC_IN_USE:
        return _("the mailbox is in use by another session; try again "
                 "later");
    case POP3_RC_LOGIN_DELAY:
        return _("the server allows no login this soon after the last "
                 "one; try again later");
    case POP3_RC_SYS_TEMP:
        return _("a temporary problem on the server; try again later");
    case POP3_RC_SYS_PERM:
        return _("a permanent problem on the server; ask its "
                 "administrator");
    case POP3_RC_AUTH:
        return _("the user name or the password is wrong");
    default:
        return NULL;
    }
}

int pop3_status_error(const struct pop3_session *s,
                      const struct pop3_status *st,
                      enum mp_err_kind plain_kind, struct mp_err *e,
                      const char *fmt, ...)
{
    va_list ap;
    const char *meaning = pop3_resp_code_meaning(st->code);

    e->kind = pop3_resp_code_kind(st->code, plain_kind);
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (meaning) {
        size_t n = strlen(e->msg);
        snprintf(e->msg + n, sizeof e->msg - n, " (%s)", meaning);
    }
    err_set_server(e, s->status, strlen(s->status));
    return -1;
}

/* Sends one command and reads its status line; nothing in flight.  A "+ "
 * continuation is a protocol error unless allow_cont (inside AUTH). */
static int command(struct pop3_session *s, const char *line,
                   enum pop3_trace trace, bool allow_cont,
                   struct pop3_status *st, struct mp_err *e)
{
    size_t len = strlen(line);

    if (check_usable(s, e) != 0)
        return -1;
    if (len > POP3_LINE_MAX) {
        /* A long SASL response (RFC 5034 §4 sets no limit on them; OAuth2
         * tokens run to several KiB): it does not fit the window buffer,
         * so it goes out on its own, after anything buffered. */
        log_conv("--> ", line, 0, 1);
        s->stats.commands++;
        if (flush(s, e) != 0 || transport_write(s->t, line, len, e) != 0
            || transport_write(s->t, "\r\n", 2, e) != 0)
            return broken(s);
        s->stats.writes += 2;
        s->sent_since_wait = true;
    } else {
        send_line(s, line, len, trace);
        if (flush(s, e) != 0)
            return broken(s);
    }
    if (read_status(s, st, e) != 0)
        return broken(s);
    if (st->kind == POP3_CONT && !allow_cont) {
        err_set_server(e, s->status, strlen(s->status));
        err_set(e, MP_EPROTO, _("the POP3 server sent a continuation "
                "where none belongs"));
        return broken(s);
    }
    return 0;
}

static int simple_cmd(struct pop3_session *s, const char *line,
                      enum pop3_trace trace, struct pop3_status *st,
                      struct mp_err *e)
{
    return command(s, line, trace, false, st, e);
}

int pop3_greeting(struct pop3_session *s, struct mp_err *e)
{
    struct pop3_greeting g;
    struct pop3_status st;
    const char *line, *why;
    size_t len;

    if (s->state != POP3_STATE_GREETING)
        return err_set(e, MP_ESOFTWARE, _("the greeting was already read"));
    if (note_wait(s, e) != 0)
        return broken(s);
    if (linereader_getline(&s->lr, &line, &len, e) != 0) {
        eof_is_protocol(s, e);
        return broken(s);
    }
    log_conv("<-- ", line, len, 0);
    memcpy(s->status, line, len);
    s->status[len] = '\0';
    if (pop3_parse_greeting(s->status, len, &g, &why) != 0) {
        if (pop3_parse_status(s->status, len, &st, &why) == 0
            && st.kind == POP3_ERR) {
            pop3_status_error(s, &st, MP_EPROTO, e,
                              _("the POP3 server refused the connection"));
            /* EX_PROTOCOL as in mpop 1.4.18, except for the temporary
             * codes: try again later (see the manual, "Switching"). */
            if (e->kind != MP_ETEMP)
                e->kind = MP_EPROTO;
        } else {
            err_set_server(e, s->status, len);
            err_set(e, MP_EPROTO, _("the POP3 server sent an invalid "
                    "greeting (%s)"), why);
        }
        return broken(s);
    }
    memcpy(s->greeting, g.text.p, g.text.len);
    s->greeting[g.text.len] = '\0';
    memcpy(s->timestamp, g.timestamp.p, g.timestamp.len);
    s->timestamp[g.timestamp.len] = '\0';
    s->timestamp_why = g.timestamp_why;
    pop3_set_state(s, POP3_STATE_AUTHORIZATION);
    return 0;
}

int pop3_capa(struct pop3_session *s, struct mp_err *e)
{
    struct pop3_status st;
    struct pop3_caps caps;
    unsigned nlines = 0;

    if (simple_cmd(s, "CAPA", POP3_TRACE_ALL, &st, e) != 0)
        return -1;
    s->has_capa = false;
    pop3_caps_init(&s->caps);
    if (st.kind == POP3_ERR)
        return 0;
    pop3_caps_init(&caps);
    for (;;) {
        const char *line, *why;
        size_t len;
        bool end;

        if (read_listing_line(s, &line, &len, &end, e) != 0)
            return broken(s);
        if (end)
            break;
        if (++nlines > CAPA_LINES_MAX) {
            err_set(e, MP_EPROTO, _("the POP3 server sent more than %d "
                    "capabilities"), CAPA_LINES_MAX);
            return broken(s);
        }
        if (pop3_parse_capa_line(line, len, &caps, &why) != 0) {
            err_set_server(e, line, len);
            err_set(e, MP_EPROTO, _("the POP3 server sent an invalid "
                    "capability (%s)"), why);
            return broken(s);
        }
    }
    s->caps = caps;
    s->has_capa = true;
    return 0;
}

int pop3_stls(struct pop3_session *s, struct mp_err *e)
{
    struct pop3_status st;

    if (simple_cmd(s, "STLS", POP3_TRACE_ALL, &st, e) != 0)
        return -1;
    if (st.kind != POP3_OK)
        return pop3_status_error(s, &st, MP_EUNAVAIL, e,
                                 _("the POP3 server refused STLS"));
    /* RFC 2595 §4: nothing may come between the reply and the handshake;
     * a byte here was injected by someone in the path. */
    if (linereader_buffered(&s->lr) != 0) {
        err_set(e, MP_EPROTO, _("the POP3 server sent data after its STLS "
                "reply (possible injection attack)"));
        return broken(s);
    }
    /* RFC 2595 §4: forget what was learned before TLS. */
    s->has_capa = false;
    pop3_caps_init(&s->caps);
    return 0;
}

int pop3_command(struct pop3_session *s, enum pop3_cmd cmd,
                 const char *line, enum pop3_trace trace,
                 struct pop3_status *st_r, struct mp_err *e)
{
    size_t len = strlen(line);
    size_t max = cmd == POP3_CMD_AUTH ? POP3_SASL_LINE_MAX : POP3_LINE_MAX;

    if (len > max || strpbrk(line, "\r\n"))
        return err_set(e, MP_ESOFTWARE, _("invalid POP3 command line"));
    return command(s, line, trace, cmd == POP3_CMD_AUTH, st_r, e);
}

void pop3_listing_ahead(struct pop3_session *s, bool want_uidl)
{
    s->want_ahead = true;
    s->ahead_uidl = want_uidl;
}

/* Behind a login pair: STAT, LIST and maybe UIDL into the same write, so
 * the listing comes back with PASS's answer instead of a round trip later.
 * A server holds its answer to PASS until it has checked the password (and
 * dovecot's, sent in a second small write, until our ACK of USER's answer
 * comes back: Nagle), so this saves a whole round trip on a slow link.
 * Before authentication a server answers these with -ERR, which
 * drain_ahead() reads away.  Returns how many commands were added. */
static int send_ahead(struct pop3_session *s)
{
    if (!s->want_ahead)
        return 0;
    s->want_ahead = false;
    send_line(s, "STAT", 4, POP3_TRACE_ALL);
    send_line(s, "LIST", 4, POP3_TRACE_ALL);
    if (s->ahead_uidl)
        send_line(s, "UIDL", 4, POP3_TRACE_ALL);
    return s->ahead_uidl ? 3 : 2;
}

/* After a refused login: the n replies to the listing sent ahead, each
 * -ERR in the AUTHORIZATION state.  A +OK would start a listing we do not
 * expect, and a read error ends the session: both leave it broken (closed
 * without QUIT, which costs nothing before a login). */
static void drain_ahead(struct pop3_session *s, int n)
{
    struct pop3_status st;
    struct mp_err e;

    err_init(&e);
    while (n-- > 0)
        if (read_status(s, &st, &e) != 0 || st.kind != POP3_ERR) {
            broken(s);
            return;
        }
}

int pop3_command_pair(struct pop3_session *s,
                      const char *line1, enum pop3_trace trace1,
                      const char *line2, enum pop3_trace trace2,
                      struct pop3_status *st_r, int *which_r,
                      struct mp_err *e)
{
    char first[POP3_LINE_MAX + 1];
    size_t len1 = strlen(line1), len2 = strlen(line2), flen;
    struct pop3_status st;
    const char *why;
    int ahead;

    if (len1 > POP3_LINE_MAX || len2 > POP3_LINE_MAX
        || strpbrk(line1, "\r\n") || strpbrk(line2, "\r\n")
        || !pop3_pipelining_active(s))
        return err_set(e, MP_ESOFTWARE, _("invalid POP3 command line"));
    if (check_usable(s, e) != 0)
        return -1;
    send_line(s, line1, len1, trace1);
    send_line(s, line2, len2, trace2);
    ahead = send_ahead(s);
    if (flush(s, e) != 0 || read_status(s, &st, e) != 0)
        return broken(s);
    *which_r = 0;
    if (st.kind == POP3_CONT)
        goto cont;
    if (st.kind != POP3_OK) {
        /* The second reply must still be read to stay in step; st_r then
         * describes the first one. */
        struct mp_err e2;

        flen = strlen(s->status);
        memcpy(first, s->status, flen + 1);
        err_init(&e2);
        if (read_status(s, &st, &e2) != 0)
            broken(s);
        else if (ahead)
            drain_ahead(s, ahead);
        memcpy(s->status, first, flen + 1);
        if (pop3_parse_status(s->status, flen, st_r, &why) != 0)
            return err_set(e, MP_ESOFTWARE, _("invalid POP3 status"));
        return 0;
    }
    if (read_status(s, st_r, e) != 0)
        return broken(s);
    *which_r = 1;
    if (st_r->kind == POP3_OK) {
        s->ahead = ahead > 0;
        return 0;
    }
    if (st_r->kind != POP3_CONT) {
        if (ahead) {
            /* keep PASS's refusal: draining overwrites s->status */
            flen = strlen(s->status);
            memcpy(first, s->status, flen + 1);
            drain_ahead(s, ahead);
            memcpy(s->status, first, flen + 1);
            if (pop3_parse_status(s->status, flen, st_r, &why) != 0)
                return err_set(e, MP_ESOFTWARE, _("invalid POP3 status"));
        }
        return 0;
    }
cont:
    err_set_server(e, s->status, strlen(s->status));
    err_set(e, MP_EPROTO, _("the POP3 server sent a continuation where none "
            "belongs"));
    return broken(s);
}

void pop3_set_authenticated(struct pop3_session *s)
{
    pop3_set_state(s, POP3_STATE_TRANSACTION);
}

static int need_transaction(struct pop3_session *s, struct mp_err *e)
{
    if (s->state != POP3_STATE_TRANSACTION)
        return err_set(e, MP_ESOFTWARE, _("not in the POP3 transaction "
                       "state"));
    return check_usable(s, e);
}

int pop3_stat(struct pop3_session *s, unsigned long *n_r,
              unsigned long long *total_r, struct mp_err *e)
{
    struct pop3_status st;
    const char *why;

    if (need_transaction(s, e) != 0
        || simple_cmd(s, "STAT", POP3_TRACE_ALL, &st, e) != 0)
        return -1;
    if (st.kind != POP3_OK)
        return pop3_status_error(s, &st, MP_EPROTO, e,
                                 _("the POP3 server refused STAT"));
    if (pop3_parse_stat(st.text.p, st.text.len, n_r, total_r, &why) != 0) {
        err_set_server(e, s->status, strlen(s->status));
        err_set(e, MP_EPROTO, _("the POP3 server sent an invalid STAT "
                "reply (%s)"), why);
        return broken(s);
    }
    s->nmsgs = *n_r;
    s->stat_done = true;
    return 0;
}

/* Common part of LIST and UIDL: sends cmd, checks +OK, and hands each
 * line to fn.  Each msn must come exactly once: seen is a map of nmsgs
 * flags. */
typedef int listing_fn(struct pop3_session *s, const char *line, size_t len,
                       unsigned long nmsgs, void *arr, unsigned long *msn_r,
                       const char **why_r);

/* sent: cmd went out already (pipelined by pop3_listing); only its
 * reply is read. */
static int read_all(struct pop3_session *s, const char *cmd, bool sent,
                    enum mp_err_kind err_kind, unsigned long nmsgs,
                    listing_fn *fn, void *arr, struct mp_err *e)
{
    struct pop3_status st;
    unsigned char *seen = NULL;
    int ret = -1;

    if (nmsgs > POP3_MSGS_MAX)
        return err_set(e, MP_ESOFTWARE, _("too many messages"));
    if (sent) {
        if (read_status(s, &st, e) != 0)
            return broken(s);
        if (st.kind == POP3_CONT) {
            err_set_server(e, s->status, strlen(s->status));
            err_set(e, MP_EPROTO, _("the POP3 server sent a continuation "
                    "where none belongs"));
            return broken(s);
        }
    } else if (need_transaction(s, e) != 0
               || simple_cmd(s, cmd, POP3_TRACE_ALL, &st, e) != 0) {
        return -1;
    }
    if (st.kind != POP3_OK)
        return pop3_status_error(s, &st, err_kind, e,
                                 _("the POP3 server refused %s"), cmd);
    seen = xcalloc(nmsgs ? nmsgs : 1, 1);
    for (;;) {
        const char *line, *why;
        size_t len;
        unsigned long msn;
        bool end;

        if (read_listing_line(s, &line, &len, &end, e) != 0)
            goto out;
        if (end)
            break;
        if (fn(s, line, len, nmsgs, arr, &msn, &why) != 0) {
            err_set_server(e, line, len);
            err_set(e, MP_EPROTO, _("the POP3 server sent an invalid %s "
                    "line (%s)"), cmd, why);
            goto out;
        }
        if (seen[msn - 1]) {
            err_set_server(e, line, len);
            err_set(e, MP_EPROTO, _("the POP3 server listed message %lu "
                    "twice in its %s reply"), msn, cmd);
            goto out;
        }
        seen[msn - 1] = 1;
    }
    for (unsigned long i = 0; i < nmsgs; i++) {
        if (!seen[i]) {
            err_set(e, MP_EPROTO, _("the POP3 server did not list message "
                    "%lu in its %s reply"), i + 1, cmd);
            goto out;
        }
    }
    ret = 0;
out:
    free(seen);
    if (ret != 0)
        broken(s);
    return ret;
}

static int list_line(struct pop3_session *s, const char *line, size_t len,
                     unsigned long nmsgs, void *arr, unsigned long *msn_r,
                     const char **why_r)
{
    unsigned long long *sizes = arr;
    unsigned long long size;

    if (pop3_parse_list_line(line, len, nmsgs, msn_r, &size, why_r) != 0)
        return -1;
    sizes[*msn_r - 1] = size;
    return 0;
}

static int list_all(struct pop3_session *s, unsigned long nmsgs, bool sent,
                    unsigned long long **sizes_r, struct mp_err *e)
{
    unsigned long long *sizes;

    *sizes_r = NULL;
    if (nmsgs == 0 && !sent)
        return 0;
    if (nmsgs > POP3_MSGS_MAX)
        return err_set(e, MP_ESOFTWARE, _("too many messages"));
    sizes = xcalloc(nmsgs ? nmsgs : 1, sizeof *sizes);
    if (read_all(s, "LIST", sent, MP_EPROTO, nmsgs, list_line, sizes, e)
        != 0) {
        free(sizes);
        return -1;
    }
    if (nmsgs == 0) {
        free(sizes);
        sizes = NULL;
    }
    *sizes_r = sizes;
    return 0;
}

int pop3_list_all(struct pop3_session *s, unsigned long nmsgs,
                  unsigned long long **sizes_r, struct mp_err *e)
{
    return list_all(s, nmsgs, false, sizes_r, e);
}

/* The UIDs of a listing live in a string pool, not one allocation each (a
 * rescan of 20,000 mails spent a fifth of its instructions in malloc and
 * free).  The array has nmsgs + 1 slots: the last one holds the pool's
 * newest chunk, for pop3_uids_free(). */
static char *uid_store(char **uids, unsigned long nmsgs, const char *p,
                       size_t len)
{
    struct strpool pool = { (struct strpool_chunk *)(void *)uids[nmsgs] };
    char *r = strpool_dup(&pool, p, len);

    uids[nmsgs] = (char *)(void *)pool.last;
    return r;
}

static int uidl_line(struct pop3_session *s, const char *line, size_t len,
                     unsigned long nmsgs, void *arr, unsigned long *msn_r,
                     const char **why_r)
{
    char **uids = arr;
    struct span uid;

    if (pop3_parse_uidl_line(line, len, nmsgs, msn_r, &uid, why_r) != 0)
        return -1;
    /* A duplicate msn is reported by the caller; keep the first. */
    if (!uids[*msn_r - 1])
        uids[*msn_r - 1] = uid_store(uids, nmsgs, uid.p, uid.len);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void pop3_uids_free(char ***uidsp, unsigned long n)
{
    char **uids = *uidsp;
    struct strpool pool;

    if (!uids)
        return;
    pool.last = (struct strpool_chunk *)(void *)uids[n];
    strpool_clear(&pool);
    free(uids);
    *uidsp = NULL;
}

static int uidl_all(struct pop3_session *s, unsigned long nmsgs, bool sent,
                    char ***uids_r, struct mp_err *e)
{
    char **uids, **sorted;

    *uids_r = NULL;
    if (nmsgs == 0 && !sent)
        return 0;
    if (nmsgs > POP3_MSGS_MAX)
        return err_set(e, MP_ESOFTWARE, _("too many messages"));
    uids = xcalloc(nmsgs + 1, sizeof *uids);
    if (read_all(s, "UIDL", sent, MP_EUNAVAIL, nmsgs, uidl_line, uids, e)
        != 0) {
        pop3_uids_free(&uids, nmsgs);
        return -1;
    }
    if (nmsgs == 0) {
        pop3_uids_free(&uids, 0);
        return 0;
    }
    /* RFC 1939 §7: a UID is unique within the maildrop.  Two mails with
     * one UID would make one of them look already retrieved.  Most
     * servers list them in ascending order: then one pass proves it. */
    {
        unsigned long i;

        for (i = 1; i < nmsgs; i++)
            if (strcmp(uids[i - 1], uids[i]) >= 0)
                break;
        if (i >= nmsgs) {
            *uids_r = uids;
            return 0;
        }
    }
    sorted = xreallocarray(NULL, nmsgs, sizeof *sorted);
    memcpy(sorted, uids, nmsgs * sizeof *sorted);
    qsort(sorted, nmsgs, sizeof *sorted, cmp_str);
    for (unsigned long i = 1; i < nmsgs; i++) {
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            err_set_server(e, sorted[i], strlen(sorted[i]));
            err_set(e, MP_EPROTO, _("the POP3 server gave the same UID to "
                    "two messages"));
            free(sorted);
            pop3_uids_free(&uids, nmsgs);
            return broken(s);
        }
    }
    free(sorted);
    *uids_r = uids;
    return 0;
}

int pop3_uidl_all(struct pop3_session *s, unsigned long nmsgs,
                  char ***uids_r, struct mp_err *e)
{
    return uidl_all(s, nmsgs, false, uids_r, e);
}

int pop3_listing(struct pop3_session *s, bool want_uidl, unsigned long *n_r,
                 unsigned long long *total_r, unsigned long long **sizes_r,
                 char ***uids_r, struct mp_err *e)
{
    struct pop3_status st;
    const char *why;
    unsigned long n;
    bool sent;

    *sizes_r = NULL;
    *uids_r = NULL;
    if (!pop3_pipelining_active(s)) {
        if (pop3_stat(s, n_r, total_r, e) != 0
            || pop3_list_all(s, *n_r, sizes_r, e) != 0)
            return -1;
        sent = false;
    } else {
        bool ahead = s->ahead;

        s->ahead = false;
        if (!ahead && need_transaction(s, e) != 0)
            return -1;
        if (ahead && (s->state != POP3_STATE_TRANSACTION
                      || want_uidl != s->ahead_uidl))
            return err_set(e, MP_ESOFTWARE, _("not in the POP3 transaction "
                           "state"));
        /* RFC 2449 §6.6: the three go out together (or went out behind
         * the login already); their replies come back in order.  A reply
         * that breaks the session leaves the others unread, which is
         * fine: a broken session is only closed. */
        if (!ahead) {
            send_line(s, "STAT", 4, POP3_TRACE_ALL);
            send_line(s, "LIST", 4, POP3_TRACE_ALL);
            if (want_uidl)
                send_line(s, "UIDL", 4, POP3_TRACE_ALL);
        }
        if (flush(s, e) != 0 || read_status(s, &st, e) != 0) {
            /* A login process that hands over to the mail process may
             * lose what it had read behind PASS (session.c knows one):
             * then nothing comes, every time; say how to avoid it. */
            if (ahead && e->kind == MP_ETEMP && !s->lr.eof)
                err_prefix(e, _("no answer to the STAT, LIST and UIDL "
                                "sent behind the login (if this server "
                                "drops commands pipelined across its "
                                "login, set pipelining off): "));
            return broken(s);
        }
        if (st.kind != POP3_OK) {
            pop3_status_error(s, &st, MP_EPROTO, e,
                              _("the POP3 server refused STAT"));
            return broken(s);
        }
        if (pop3_parse_stat(st.text.p, st.text.len, &n, total_r, &why)
            != 0) {
            err_set_server(e, s->status, strlen(s->status));
            err_set(e, MP_EPROTO, _("the POP3 server sent an invalid STAT "
                    "reply (%s)"), why);
            return broken(s);
        }
        *n_r = n;
        s->nmsgs = n;
        s->stat_done = true;
        if (list_all(s, n, true, sizes_r, e) != 0) {
            if (want_uidl)
                broken(s);
            return -1;
        }
        sent = true;
    }
    if (!want_uidl || (*n_r == 0 && !sent))
        return 0;
    if (uidl_all(s, *n_r, sent, uids_r, e) != 0) {
        if (pop3_state(s) != POP3_STATE_BROKEN && e->kind == MP_EUNAVAIL) {
            /* -ERR: no UIDL on this server. */
            err_init(e);
            return 0;
        }
        free(*sizes_r);
        *sizes_r = NULL;
        return -1;
    }
    return 0;
}

int pop3_quit(struct pop3_session *s, struct mp_err *e)
{
    struct pop3_status st;
    bool in_transaction = (s->state == POP3_STATE_TRANSACTION);

    if (simple_cmd(s, "QUIT", POP3_TRACE_ALL, &st, e) != 0)
        return -1;
    pop3_set_state(s, POP3_STATE_DONE);
    if (st.kind != POP3_OK) {
        if (in_transaction)
            return pop3_status_error(s, &st, MP_EUNAVAIL, e,
                                     _("the POP3 server failed to remove "
                                       "the deleted messages"));
        return pop3_status_error(s, &st, MP_EPROTO, e,
                                 _("the POP3 server refused QUIT"));
    }
    return 0;
}

void pop3_queue(struct pop3_session *s, const struct pop3_job *job)
{
    if (s->qhead + s->qlen == s->qalloc) {
        if (s->qhead > 0) {
            memmove(s->queue, s->queue + s->qhead,
                    s->qlen * sizeof *s->queue);
            s->qhead = 0;
        }
        if (s->qlen == s->qalloc) {
            s->qalloc = s->qalloc ? s->qalloc * 2 : 64;
            s->queue = xreallocarray(s->queue, s->qalloc,
                                     sizeof *s->queue);
        }
    }
    s->queue[s->qhead + s->qlen++] = *job;
}

static void trace_body(struct pop3_session *s, const char *p, size_t n)
{
    if (log_level < LOGLEVEL_DEBUG)
        return;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' || s->tlen == sizeof s->tline) {
            size_t len = s->tlen;
            if (len > 0 && s->tline[len - 1] == '\r')
                len--;
            log_conv("<-- ", s->tline, len, 0);
            s->tlen = 0;
            if (p[i] == '\n')
                continue;
        }
        s->tline[s->tlen++] = p[i];
    }
}

/* The state of one body being read. */
struct body_ctx {
    const struct pop3_sink *sink;   /* NULL: drop the bytes */
    struct mp_err *e;               /* the sink's error goes here */
    bool failed;
};

/* Reads one multi-line body to its terminator.  The sink (if any) gets the
 * data; when it fails, bc->failed is set and the rest is dropped.  Returns
 * -1 only for I/O and protocol errors (e filled). */
static int read_body(struct pop3_session *s, struct body_ctx *bc,
                     struct mp_err *e)
{
    struct pop3_body b;
    char out[16384];

    pop3_body_init(&b, s->eol);
    s->tlen = 0;
    while (!b.done) {
        const char *p;
        size_t n, used = 0;

        if (check_signal(e) != 0 || note_wait(s, e) != 0
            || linereader_peek(&s->lr, &p, &n, e) != 0)
            return -1;
        while (used < n && !b.done) {
            size_t u, olen;
            pop3_body_decode(&b, p + used, n - used, &u, out, sizeof out,
                             &olen);
            trace_body(s, p + used, u);
            used += u;
            if (olen > 0 && bc->sink && !bc->failed
                && bc->sink->data(bc->sink->ctx, out, olen, bc->e) != 0) {
                bc->failed = true;
                bc->sink->abort(bc->sink->ctx);
            }
        }
        linereader_consume(&s->lr, used);
    }
    return 0;
}

/* Formats the command line of a job; returns its length or 0 if the job
 * is invalid. */
static size_t job_line(const struct pop3_session *s,
                       const struct pop3_job *job, char *line, size_t size)
{
    int n;

    if (job->cmd == POP3_CMD_QUIT)
        return snprintf(line, size, "QUIT") == 4 ? 4 : 0;
    if (job->msn == 0 || (s->stat_done && job->msn > s->nmsgs))
        return 0;
    switch (job->cmd) {
    case POP3_CMD_RETR:
        if (!job->sink)
            return 0;
        n = snprintf(line, size, "RETR %lu", job->msn);
        break;
    case POP3_CMD_TOP:
        if (!job->sink)
            return 0;
        n = snprintf(line, size, "TOP %lu %lu", job->msn, job->top_lines);
        break;
    case POP3_CMD_DELE:
        n = snprintf(line, size, "DELE %lu", job->msn);
        break;
    default:
        return 0;
    }
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Handles the reply to the oldest command in flight.  stopping: a sink
 * or callback failed earlier (first holds that error); replies are then
 * read but sinks are not called.  Returns -1 only for I/O and protocol
 * errors. */
static int on_job_reply(struct pop3_session *s, pop3_reply_fn *on_reply,
                        void *ctx, bool *stopping, struct mp_err *first,
                        struct mp_err *e)
{
    struct inflight *in = &s->ring[s->rhead];
    const struct pop3_job *job = &in->job;
    struct pop3_status st;
    int r;

    if (read_status(s, &st, e) != 0)
        return -1;
    if (st.kind == POP3_CONT) {
        err_set_server(e, s->status, strlen(s->status));
        return err_set(e, MP_EPROTO, _("the POP3 server sent a "
                       "continuation where none belongs"));
    }
    if ((job->cmd == POP3_CMD_RETR || job->cmd == POP3_CMD_TOP)
        && st.kind == POP3_OK) {
        struct body_ctx bc = { .sink = NULL, .e = first, .failed = false };

        /* st stays valid during the body: it points into s->status, which
         * only read_status() writes. */
        if (!*stopping) {
            if (job->sink->begin(job->sink->ctx, job->msn, job->size,
                                 first) != 0)
                *stopping = true;
            else
                bc.sink = job->sink;
        }
        if (read_body(s, &bc, e) != 0) {
            if (bc.sink && !bc.failed)
                bc.sink->abort(bc.sink->ctx);
            return -1;
        }
        if (bc.failed) {
            *stopping = true;
        } else if (bc.sink) {
            if (bc.sink->end(bc.sink->ctx, first) != 0)
                *stopping = true;
            else if (on_reply(ctx, job, &st, first) != 0)
                *stopping = true;
        }
    } else if (job->cmd == POP3_CMD_QUIT) {
        pop3_set_state(s, POP3_STATE_DONE);
        if (st.kind != POP3_OK && !*stopping) {
            pop3_status_error(s, &st, MP_EUNAVAIL, first,
                              _("the POP3 server failed to remove the "
                                "deleted messages"));
            *stopping = true;
        }
    } else if (job->cmd == POP3_CMD_DELE) {
        struct mp_err ignored;
        err_init(&ignored);
        r = on_reply(ctx, job, &st, *stopping ? &ignored : first);
        if (r != 0 && !*stopping)
            *stopping = true;
    } else if (!*stopping) {
        /* -ERR to RETR or TOP: the sink was never used. */
        if (on_reply(ctx, job, &st, first) != 0)
            *stopping = true;
    }
    s->rbytes -= in->bytes;
    s->rhead = (s->rhead + 1) % RING_SIZE;
    s->rcount--;
    return 0;
}

int pop3_run(struct pop3_session *s, pop3_reply_fn *on_reply, void *ctx,
             struct mp_err *e)
{
    size_t max_cmds = pop3_pipelining_active(s) ? RING_SIZE : 1;
    bool stopping = false, quit_sent = false;
    struct mp_err first;

    if (s->state != POP3_STATE_TRANSACTION || s->rcount > 0) {
        s->qlen = 0;
        return err_set(e, MP_ESOFTWARE, _("not in the POP3 transaction "
                       "state"));
    }
    err_init(&first);
    for (;;) {
        /* Commands enter the window as soon as it has room, but they are
         * written only before a read that would wait (note_wait) or once
         * half a window has gathered: many commands to a write, and the
         * server never starves. */
        while (!stopping && s->qlen > 0 && s->rcount < max_cmds) {
            const struct pop3_job *job = &s->queue[s->qhead];
            char line[64];
            size_t len = quit_sent ? 0 : job_line(s, job, line, sizeof line);
            struct inflight *in;

            if (len == 0) {
                err_set(&first, MP_ESOFTWARE, _("invalid POP3 job for "
                        "message %lu"), job->msn);
                stopping = true;
                break;
            }
            /* The window: see POP3_WINDOW_BYTES. */
            if (s->rcount > 0 && s->rbytes + len + 2 > POP3_WINDOW_BYTES)
                break;
            send_line(s, line, len, POP3_TRACE_ALL);
            in = &s->ring[(s->rhead + s->rcount) % RING_SIZE];
            in->cmd = job->cmd;
            in->bytes = len + 2;
            in->job = *job;
            s->rcount++;
            s->rbytes += len + 2;
            if (s->rcount > s->stats.max_inflight)
                s->stats.max_inflight = s->rcount;
            if (job->cmd == POP3_CMD_QUIT)
                quit_sent = true;
            s->qhead++;
            s->qlen--;
        }
        if (stopping)
            s->qlen = 0;
        if (s->qlen == 0)
            s->qhead = 0;
        if (s->out.len >= POP3_WINDOW_BYTES / 2 && flush(s, e) != 0)
            goto fail;
        if (s->rcount == 0)
            break;
        if (on_job_reply(s, on_reply, ctx, &stopping, &first, e) != 0)
            goto fail;
    }
    if (stopping) {
        *e = first;
        return -1;
    }
    return 0;

fail:
    s->qlen = 0;
    s->qhead = 0;
    s->rcount = 0;
    s->rbytes = 0;
    buf_reset(&s->out);
    return broken(s);
}
