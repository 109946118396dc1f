#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gettext.h"
#include "linereader.h"
#include "log.h"
#include "net.h"
#include "pop3d.h"
#include "pop3d_cmd.h"
#include "pop3d_store.h"
#include "strparse.h"
#include "xalloc.h"

/* Output is collected here and written when full or when the client has
 * no further command waiting (RFC 2449 §6.6 PIPELINING). */
#define OUT_SIZE 16384
/* Lines up to this long are read whole and answered with -ERR; longer ones
 * end the session, since the reader cannot skip them. */
#define LINE_HARD_MAX (4 * POP3D_CMD_LINE_MAX)

/* One client's session on the server side (the client's own is struct
 * session, session.h). */
struct pop3d_conn {
    struct transport *t;
    struct linereader lr;
    const struct pop3d_config *cfg;
    enum pop3d_state state;
    bool user_given;                    /* the last command was USER */
    const struct pop3d_mailbox *user;   /* its mailbox, NULL if unknown */
    char user_name[64];                 /* quoted, for the log */
    const struct pop3d_mailbox *box;    /* after login */
    struct pop3d_store store;
    bool store_open;
    bool quit;
    bool secure;                        /* TLS is on */
    unsigned bad;                       /* consecutive invalid commands */
    char out[OUT_SIZE];
    size_t outlen;
    struct mp_err *e;
};

typedef int cmd_fn(struct pop3d_conn *s, const struct pop3d_cmd *cmd);

static cmd_fn cmd_user, cmd_pass, cmd_quit, cmd_stat, cmd_list, cmd_retr,
    cmd_dele, cmd_noop, cmd_rset, cmd_top, cmd_uidl, cmd_capa, cmd_stls;

/* RFC 1939 §4-6 and RFC 2449 §5: which command is valid in which state. */
static const struct {
    const char *name;
    unsigned states;
    cmd_fn *fn;
} pop3d_commands[] = {
    { "USER", POP3D_AUTHORIZATION, cmd_user },
    { "PASS", POP3D_AUTHORIZATION, cmd_pass },
    { "STLS", POP3D_AUTHORIZATION, cmd_stls },
    { "CAPA", POP3D_AUTHORIZATION | POP3D_TRANSACTION, cmd_capa },
    { "QUIT", POP3D_AUTHORIZATION | POP3D_TRANSACTION, cmd_quit },
    { "STAT", POP3D_TRANSACTION, cmd_stat },
    { "LIST", POP3D_TRANSACTION, cmd_list },
    { "RETR", POP3D_TRANSACTION, cmd_retr },
    { "DELE", POP3D_TRANSACTION, cmd_dele },
    { "NOOP", POP3D_TRANSACTION, cmd_noop },
    { "RSET", POP3D_TRANSACTION, cmd_rset },
    { "TOP", POP3D_TRANSACTION, cmd_top },
    { "UIDL", POP3D_TRANSACTION, cmd_uidl },
};

unsigned pop3d_auth_delay_policy(unsigned failures)
{
    if (failures == 0)
        return 0;
    if (failures > 7)
        return 16000;
    return 250u << (failures - 1);
}

static void slog(struct pop3d_conn *s, enum pop3d_log_prio prio,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void slog(struct pop3d_conn *s, enum pop3d_log_prio prio,
                 const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!s->cfg->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->cfg->log(s->cfg->ctx, prio, msg);
}

static int flush(struct pop3d_conn *s)
{
    if (s->outlen == 0)
        return 0;
    if (transport_write(s->t, s->out, s->outlen, s->e) != 0)
        return -1;
    s->outlen = 0;
    return 0;
}

static int out_add(struct pop3d_conn *s, const char *p, size_t n)
{
    while (n > 0) {
        size_t room = OUT_SIZE - s->outlen;
        size_t k = n < room ? n : room;

        memcpy(s->out + s->outlen, p, k);
        s->outlen += k;
        p += k;
        n -= k;
        if (s->outlen == OUT_SIZE && flush(s) != 0)
            return -1;
    }
    return 0;
}

static inline int out_byte(struct pop3d_conn *s, char ch)
{
    if (s->outlen == OUT_SIZE && flush(s) != 0)
        return -1;
    s->out[s->outlen++] = ch;
    return 0;
}

static int reply(struct pop3d_conn *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One response line; CRLF is added. */
static int reply(struct pop3d_conn *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof line - 3)
        n = (int)(sizeof line - 3);
    memcpy(line + n, "\r\n", 2);
    return out_add(s, line, (size_t)n + 2);
}

/* The mail a command names, or NULL after answering -ERR. */
static struct pop3d_mail *mail_arg(struct pop3d_conn *s, unsigned long msn,
                                   int *ret)
{
    struct pop3d_mail *m = pop3d_store_get(&s->store, msn);

    if (!m)
        *ret = reply(s, "-ERR no such message");
    else if (m->deleted)
        *ret = reply(s, "-ERR message %lu already deleted", msn);
    else
        return m;
    return NULL;
}

static bool secret_equal(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    unsigned char diff = alen != blen;

    /* Time depends on the length of the attempt only. */
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)(a[i] ^ b[i < blen ? i : 0]);
    return diff == 0 && blen > 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    /* A SIGTERM that came before the sleep would not interrupt it. */
    if (transport_interrupted)
        return;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR
           && !transport_interrupted)
        ;
}

/* RFC 2595 §4 and §2.1: before TLS, a server offering STLS lists it and
 * does not offer plaintext logins (which it refuses until TLS is on). */
static bool plaintext_refused(const struct pop3d_conn *s)
{
    return s->cfg->starttls && !s->secure;
}

static int cmd_capa(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    int ret = reply(s, "+OK capability list follows");

    if (ret == 0 && !plaintext_refused(s))
        ret = reply(s, "USER");
    if (ret == 0 && s->state == POP3D_AUTHORIZATION && plaintext_refused(s))
        ret = reply(s, "STLS");
    if (ret == 0) {
        static const char rest[] =
            "UIDL\r\n"
            "TOP\r\n"
            "PIPELINING\r\n"
            "RESP-CODES\r\n"
            "AUTH-RESP-CODE\r\n"
            "IMPLEMENTATION mpopd\r\n"
            ".\r\n";
        ret = out_add(s, rest, sizeof rest - 1);
    }
    return ret;
}

static int cmd_stls(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    if (!s->cfg->starttls)
        return reply(s, "-ERR TLS is not available");
    if (s->secure)
        return reply(s, "-ERR TLS is already active");
    /* RFC 2595 §4: the client must not pipeline after STLS.  Bytes that
     * are already here were sent before our +OK: a command smuggled in
     * the clear to run after the handshake (CVE-2011-0411 style).  Nothing
     * read before TLS may be used, so the session ends. */
    if (linereader_buffered(&s->lr) != 0) {
        reply(s, "-ERR data received after STLS");
        flush(s);
        return err_set(s->e, MP_EPROTO, _("the client sent data after STLS "
                       "before the TLS handshake"));
    }
    if (reply(s, "+OK begin TLS negotiation") != 0 || flush(s) != 0)
        return -1;
    if (s->cfg->starttls(s->cfg->ctx, s->t, s->e) != 0)
        return -1;
    s->secure = true;
    /* Forget everything said in the clear. */
    s->user_given = false;
    s->user = NULL;
    s->user_name[0] = '\0';
    s->bad = 0;
    return 0;
}

static int cmd_user(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    if (plaintext_refused(s))
        return reply(s, "-ERR [AUTH] plaintext authentication disabled: "
                     "use STLS first");
    s->user = NULL;
    for (size_t i = 0; i < s->cfg->nboxes; i++)
        if (span_eq(cmd->arg, s->cfg->boxes[i].user))
            s->user = &s->cfg->boxes[i];
    log_quote(s->user_name, sizeof s->user_name, cmd->arg.p, cmd->arg.len);
    s->user_given = true;
    /* The same answer for unknown users: PASS decides. */
    return reply(s, "+OK send PASS");
}

static int cmd_pass(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    unsigned delay;
    size_t count;
    uint64_t size;
    struct mp_err e2;

    if (plaintext_refused(s))
        return reply(s, "-ERR [AUTH] plaintext authentication disabled: "
                     "use STLS first");
    if (!s->user_given)
        return reply(s, "-ERR USER first");
    s->user_given = false;
    /* Everything before the delay goes out now; the delay is the point. */
    if (flush(s) != 0)
        return -1;
    delay = s->cfg->auth_delay_ms ? s->cfg->auth_delay_ms(s->cfg->ctx) : 0;
    if (delay)
        sleep_ms(delay);
    if (!s->user || !secret_equal(cmd->arg.p, cmd->arg.len,
                                  s->user->password)) {
        if (s->cfg->auth_failed)
            s->cfg->auth_failed(s->cfg->ctx);
        slog(s, POP3D_LOG_WARN, _("authentication failed for user %s"),
             s->user_name);
        return reply(s, "-ERR [AUTH] authentication failed");
    }
    err_init(&e2);
    if (pop3d_store_open(&s->store, s->user->maildir, &e2) != 0) {
        if (e2.kind == MP_ETEMP) {
            slog(s, POP3D_LOG_WARN, _("user %s: %s"), s->user_name, e2.msg);
            return reply(s, "-ERR [IN-USE] mailbox is locked by another "
                         "session");
        }
        slog(s, POP3D_LOG_ERR, _("user %s: %s"), s->user_name, e2.msg);
        return reply(s, "-ERR [SYS/TEMP] cannot open the mailbox");
    }
    s->store_open = true;
    s->box = s->user;
    s->state = POP3D_TRANSACTION;
    pop3d_store_stat(&s->store, &count, &size);
    slog(s, POP3D_LOG_INFO, _("user %s logged in, %zu mails"), s->user_name,
         count);
    return reply(s, "+OK %zu messages (%llu octets)", count,
                 (unsigned long long)size);
}

static int cmd_quit(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    size_t count;
    uint64_t size;
    struct mp_err e2;

    s->quit = true;
    if (s->state == POP3D_AUTHORIZATION)
        return reply(s, "+OK bye");
    s->state = POP3D_UPDATE;
    err_init(&e2);
    if (pop3d_store_commit(&s->store, &e2) != 0) {
        slog(s, POP3D_LOG_ERR, _("user %s: %s"), s->user_name, e2.msg);
        *s->e = e2;
        if (reply(s, "-ERR [SYS/TEMP] some deleted messages not removed")
            == 0)
            flush(s);
        return -1;
    }
    pop3d_store_stat(&s->store, &count, &size);
    /* The lock goes before the answer: a client that connects again as
     * soon as it has read "+OK" (mpop with the next account for the same
     * mailbox) must not find the mailbox still locked. */
    pop3d_store_close(&s->store);
    s->store_open = false;
    slog(s, POP3D_LOG_INFO, _("user %s logged out, %zu mails left"),
         s->user_name, count);
    return reply(s, "+OK bye (%zu messages left)", count);
}

static int cmd_stat(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    size_t count;
    uint64_t size;

    pop3d_store_stat(&s->store, &count, &size);
    return reply(s, "+OK %zu %llu", count, (unsigned long long)size);
}

static int cmd_list_uidl(struct pop3d_conn *s, const struct pop3d_cmd *cmd,
                         bool uidl)
{
    struct pop3d_mail *m;
    size_t count;
    uint64_t size;
    int ret = 0;

    if (cmd->has_msn) {
        if (!(m = mail_arg(s, cmd->msn, &ret)))
            return ret;
        if (uidl)
            return reply(s, "+OK %lu %s", cmd->msn, m->uid);
        return reply(s, "+OK %lu %llu", cmd->msn,
                     (unsigned long long)m->size);
    }
    pop3d_store_stat(&s->store, &count, &size);
    if (uidl)
        ret = reply(s, "+OK unique-id listing follows");
    else
        ret = reply(s, "+OK %zu messages (%llu octets)", count,
                    (unsigned long long)size);
    for (size_t i = 0; ret == 0 && i < s->store.count; i++) {
        m = &s->store.mails[i];
        if (m->deleted)
            continue;
        if (uidl)
            ret = reply(s, "%zu %s", i + 1, m->uid);
        else
            ret = reply(s, "%zu %llu", i + 1, (unsigned long long)m->size);
    }
    return ret ? ret : out_add(s, ".\r\n", 3);
}

static int cmd_list(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    return cmd_list_uidl(s, cmd, false);
}

static int cmd_uidl(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    return cmd_list_uidl(s, cmd, true);
}

/* Encodes a mail file for RETR/TOP: CRLF line ends by the rule in
 * pop3d_store.h (so that LIST's size is right), dot-stuffing (RFC 1939
 * §3), and for TOP the header, the empty line and `lines` body lines. */
struct encoder {
    bool cr;            /* a CR was read and not yet written */
    bool bol;           /* at the beginning of a line */
    size_t linelen;     /* content bytes of the current line */
    bool top;
    bool in_header;
    unsigned long left; /* TOP: body lines still to send */
    bool done;
};

static int enc_content(struct pop3d_conn *s, struct encoder *c, char ch)
{
    if (c->bol && ch == '.' && out_byte(s, '.') != 0)
        return -1;
    c->bol = false;
    c->linelen++;
    return out_byte(s, ch);
}

static int enc_eol(struct pop3d_conn *s, struct encoder *c)
{
    if (out_add(s, "\r\n", 2) != 0)
        return -1;
    if (c->top) {
        if (c->in_header) {
            if (c->linelen == 0) {
                c->in_header = false;
                c->done = c->left == 0;
            }
        } else if (--c->left == 0) {
            c->done = true;
        }
    }
    c->bol = true;
    c->linelen = 0;
    return 0;
}

/* Line content goes out in runs (one copy per run between line ends, not
 * one call per byte): serving big mails is mostly this loop. */
static int enc_chunk(struct pop3d_conn *s, struct encoder *c, const char *p,
                     size_t n)
{
    size_t i = 0;

    while (i < n && !c->done) {
        const char *q = p + i, *nl, *cr;
        size_t rest = n - i, run;

        if (c->cr) {
            c->cr = false;
            if (*q == '\n') {
                if (enc_eol(s, c) != 0)
                    return -1;
                i++;
                continue;
            }
            if (enc_content(s, c, '\r') != 0)
                return -1;
        }
        if (*q == '\r') {
            c->cr = true;
            i++;
            continue;
        }
        if (*q == '\n') {
            if (enc_eol(s, c) != 0)
                return -1;
            i++;
            continue;
        }
        /* a run of content up to the next CR or LF */
        nl = memchr(q, '\n', rest);
        cr = memchr(q, '\r', nl ? (size_t)(nl - q) : rest);
        run = (size_t)((cr ? cr : nl ? nl : q + rest) - q);
        if (c->bol && *q == '.' && out_byte(s, '.') != 0)
            return -1;
        c->bol = false;
        c->linelen += run;
        if (out_add(s, q, run) != 0)
            return -1;
        i += run;
    }
    return 0;
}

static int enc_end(struct pop3d_conn *s, struct encoder *c)
{
    if (!c->done) {
        if (c->cr && enc_content(s, c, '\r') != 0)
            return -1;
        if (!c->bol && enc_eol(s, c) != 0)
            return -1;
    }
    return out_add(s, ".\r\n", 3);
}

static int send_mail(struct pop3d_conn *s, unsigned long msn, bool top,
                     unsigned long lines)
{
    struct pop3d_mail *m;
    struct encoder c = { .bol = true, .top = top, .in_header = true,
                         .left = lines };
    char buf[16384];
    int ret = 0, fd;
    struct mp_err e2;

    if (!(m = mail_arg(s, msn, &ret)))
        return ret;
    err_init(&e2);
    fd = pop3d_store_open_mail(&s->store, msn, &e2);
    if (fd < 0) {
        slog(s, POP3D_LOG_ERR, _("user %s: %s"), s->user_name, e2.msg);
        return reply(s, "-ERR [SYS/TEMP] cannot read message %lu", msn);
    }
    if (top)
        ret = reply(s, "+OK top of message follows");
    else
        ret = reply(s, "+OK %llu octets", (unsigned long long)m->size);
    while (ret == 0 && !c.done) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            /* The +OK is out: all we can do is end the session. */
            err_set_errno(s->e, MP_EIO, errno, _("cannot read message %lu"),
                          msn);
            slog(s, POP3D_LOG_ERR, _("user %s: %s"), s->user_name,
                 s->e->msg);
            ret = -1;
            break;
        }
        if (n == 0)
            break;
        ret = enc_chunk(s, &c, buf, (size_t)n);
    }
    close(fd);
    if (ret == 0)
        ret = enc_end(s, &c);
    return ret;
}

static int cmd_retr(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    return send_mail(s, cmd->msn, false, 0);
}

static int cmd_top(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    return send_mail(s, cmd->msn, true, cmd->lines);
}

static int cmd_dele(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    struct pop3d_mail *m;
    int ret = 0;

    if (!(m = mail_arg(s, cmd->msn, &ret)))
        return ret;
    m->deleted = true;
    return reply(s, "+OK message %lu deleted", cmd->msn);
}

static int cmd_noop(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    return reply(s, "+OK");
}

static int cmd_rset(struct pop3d_conn *s, const struct pop3d_cmd *cmd)
{
    size_t count;
    uint64_t size;

    pop3d_store_rset(&s->store);
    pop3d_store_stat(&s->store, &count, &size);
    return reply(s, "+OK %zu messages (%llu octets)", count,
                 (unsigned long long)size);
}

static int handle(struct pop3d_conn *s, const char *line, size_t len)
{
    struct pop3d_cmd cmd;
    const char *why;
    const char *name;
    bool was_user = s->user_given;

    if (pop3d_cmd_parse(line, len, &cmd, NULL, &why) != 0) {
        s->user_given = false;
        if (++s->bad >= POP3D_MAX_BAD_COMMANDS) {
            reply(s, "-ERR too many invalid commands");
            return err_set(s->e, MP_EPROTO, _("too many invalid commands"));
        }
        return reply(s, "-ERR %s", why);
    }
    name = pop3d_cmd_name(cmd.verb);
    for (size_t i = 0; i < sizeof pop3d_commands / sizeof *pop3d_commands;
         i++) {
        if (strcmp(pop3d_commands[i].name, name) != 0)
            continue;
        s->user_given = false;
        if (!(pop3d_commands[i].states & s->state)) {
            if (++s->bad >= POP3D_MAX_BAD_COMMANDS) {
                reply(s, "-ERR too many invalid commands");
                return err_set(s->e, MP_EPROTO,
                               _("too many invalid commands"));
            }
            return reply(s, "-ERR %s is not valid in this state", name);
        }
        s->bad = 0;
        /* RFC 1939 §7: PASS only immediately after USER. */
        if (cmd.verb == POP3D_CMD_PASS)
            s->user_given = was_user;
        return pop3d_commands[i].fn(s, &cmd);
    }
    return reply(s, "-ERR unknown command");
}

/* True when a complete command line is already buffered. */
static bool line_waiting(const struct pop3d_conn *s)
{
    const struct linereader *r = &s->lr;

    return r->end > r->start
           && memchr(r->buf + r->start, '\n', r->end - r->start) != NULL;
}

int pop3d_session(struct transport *t, const struct pop3d_config *cfg,
                  struct mp_err *e)
{
    struct pop3d_conn *s;
    int ret = -1;

    s = xcalloc(1, sizeof *s);
    s->t = t;
    s->cfg = cfg;
    s->e = e;
    s->state = POP3D_AUTHORIZATION;
    s->secure = cfg->secure;
    s->store.dir_fd = -1;
    s->store.sub_fd[0] = s->store.sub_fd[1] = -1;
    linereader_init(&s->lr, t, LINE_HARD_MAX);
    if (reply(s, "+OK mpopd ready") != 0)
        goto out;
    for (;;) {
        const char *line;
        size_t len;

        if (!line_waiting(s) && flush(s) != 0)
            goto out;
        if (linereader_getline(&s->lr, &line, &len, e) != 0) {
            /* The reader's words are a client's; say it our way. */
            if (e->kind == MP_EPROTO) {
                reply(s, "-ERR line too long or NUL byte in line");
                flush(s);
                err_set(e, MP_EPROTO, _("the client sent a line too long "
                        "or with a NUL byte"));
            } else if (e->kind == MP_ETEMP) {
                reply(s, "-ERR [SYS/TEMP] idle for too long, closing");
                flush(s);
                err_set(e, MP_ETEMP, _("the client was idle for too "
                        "long"));
            } else if (e->kind == MP_EIO && s->lr.eof) {
                err_set(e, MP_EIO, _("the client closed the connection"));
            }
            goto out;
        }
        if (handle(s, line, len) != 0) {
            /* Tell the client why, unless writing was what failed. */
            if (e->kind == MP_EPROTO)
                flush(s);
            goto out;
        }
        if (s->quit) {
            ret = flush(s);
            goto out;
        }
    }
out:
    if (s->store_open)
        pop3d_store_close(&s->store);
    linereader_clear(&s->lr);
    free(s);
    return ret;
}
