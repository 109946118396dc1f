/* The session engine against a scripted peer on a socketpair: a thread
 * reads the client's commands in rounds and answers each round with one
 * write, so round trips are deterministic. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "linereader.h"
#include "log.h"
#include "pop3_auth.h"
#include "pop3_client.h"
#include "tap.h"
#include "xalloc.h"

#define NMAIL 20

/* One step of the peer: read n command lines, then write reply (NULL:
 * answer each command from the mailbox).  n == -1 ends the script by
 * closing the socket; n == 0 writes without reading. */
struct step {
    int n;
    const char *reply;
};

/* A reply with a NUL byte in it: written with this length. */
static const char nul_reply[] = "+OK a\0b\r\n";

struct peer {
    int fd;
    const struct step *script;
    bool capa_pipelining;
    char log[65536];        /* every command received, one per line */
    size_t loglen;
};

static void body_of(unsigned long msn, char *out, size_t size)
{
    /* Line 2 starts with a dot to exercise the stuffing. */
    snprintf(out, size, "Subject: mail %lu\r\n.dotted line %lu\r\n\r\n"
             "body %lu\r\n", msn, msn, msn);
}

static void dyn_reply(struct peer *p, const char *cmd, struct buf *out)
{
    unsigned long n;
    char body[256];

    if (strcmp(cmd, "CAPA") == 0) {
        buf_printf(out, "+OK\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\n%s"
                   "IMPLEMENTATION scripted\r\n.\r\n",
                   p->capa_pipelining ? "PIPELINING\r\n" : "");
    } else if (strncmp(cmd, "USER ", 5) == 0 || strncmp(cmd, "PASS ", 5) == 0
               || strncmp(cmd, "DELE ", 5) == 0 || strcmp(cmd, "NOOP") == 0
               || strcmp(cmd, "RSET") == 0) {
        buf_append_str(out, "+OK\r\n");
    } else if (strcmp(cmd, "STAT") == 0) {
        buf_printf(out, "+OK %d 1000\r\n", NMAIL);
    } else if (strcmp(cmd, "LIST") == 0) {
        buf_append_str(out, "+OK\r\n");
        for (int i = 1; i <= NMAIL; i++)
            buf_printf(out, "%d %d\r\n", i, 50 + i);
        buf_append_str(out, ".\r\n");
    } else if (strcmp(cmd, "UIDL") == 0) {
        buf_append_str(out, "+OK\r\n");
        for (int i = 1; i <= NMAIL; i++)
            buf_printf(out, "%d uid-%d\r\n", i, i);
        buf_append_str(out, ".\r\n");
    } else if (sscanf(cmd, "RETR %lu", &n) == 1) {
        body_of(n, body, sizeof body);
        /* Dot-stuff the one line that needs it. */
        char *d = strstr(body, "\r\n.");
        buf_append_str(out, "+OK message follows\r\n");
        buf_append(out, body, (size_t)(d - body) + 2);
        buf_append_str(out, ".");
        buf_append_str(out, d + 2);
        buf_append_str(out, ".\r\n");
    } else if (strcmp(cmd, "QUIT") == 0) {
        buf_append_str(out, "+OK bye\r\n");
    } else {
        buf_append_str(out, "-ERR unknown\r\n");
    }
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    FILE *in = fdopen(dup(p->fd), "r");
    char line[2048];

    for (const struct step *st = p->script; st->n >= 0; st++) {
        struct buf out;
        buf_init(&out, 1 << 20);
        for (int i = 0; i < st->n; i++) {
            if (!fgets(line, sizeof line, in))
                goto out;
            size_t len = strlen(line);
            if (p->loglen + len < sizeof p->log) {
                memcpy(p->log + p->loglen, line, len);
                p->loglen += len;
                p->log[p->loglen] = '\0';
            }
            line[strcspn(line, "\r\n")] = '\0';
            if (!st->reply)
                dyn_reply(p, line, &out);
        }
        if (st->reply)
            buf_append(&out, st->reply, st->reply == nul_reply
                       ? sizeof nul_reply - 1 : strlen(st->reply));
        ssize_t w = out.len ? write(p->fd, out.data, out.len) : 0;
        buf_clear(&out);
        if (w < 0)
            break;
    }
out:
    fclose(in);
    shutdown(p->fd, SHUT_RDWR);
    return NULL;
}

struct fixture {
    struct peer peer;
    pthread_t th;
    struct transport t;
    struct pop3_session *s;
};

static void start(struct fixture *f, const struct step *script,
                  enum pop3_pipelining mode, bool capa_pipelining)
{
    int sv[2];

    memset(f, 0, sizeof *f);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    f->peer.fd = sv[1];
    f->peer.script = script;
    f->peer.capa_pipelining = capa_pipelining;
    pthread_create(&f->th, NULL, peer_main, &f->peer);
    transport_plain_init(&f->t, sv[0], sv[0], 5);
    f->s = pop3_session_new(&f->t, mode, POP3_BODY_LF);
}

static void finish(struct fixture *f)
{
    pop3_session_free(&f->s);
    transport_close(&f->t);
    pthread_join(f->th, NULL);
    close(f->peer.fd);
}

static int pw_cb(void *ctx, char **pw_r, struct mp_err *e)
{
    *pw_r = xstrdup(ctx);
    return 0;
}

/* A sink collecting every mail into one buffer, with a failure switch. */
struct mails {
    char all[65536];
    size_t len;
    int begins, ends, aborts, replies, fail_data_at_msn;
    unsigned long cur;
    struct pop3_session *s;
    bool queue_dele;
};

static int m_begin(void *ctx, unsigned long msn, long long size,
                   struct mp_err *e)
{
    struct mails *m = ctx;
    m->begins++;
    m->cur = msn;
    m->len += (size_t)snprintf(m->all + m->len, sizeof m->all - m->len,
                               "[%lu %lld]", msn, size);
    return 0;
}

static int m_data(void *ctx, const char *p, size_t n, struct mp_err *e)
{
    struct mails *m = ctx;
    if ((unsigned long)m->fail_data_at_msn == m->cur)
        return err_set(e, MP_EDELIVERY, "disk full");
    if (m->len + n < sizeof m->all) {
        memcpy(m->all + m->len, p, n);
        m->len += n;
    }
    return 0;
}

static int m_end(void *ctx, struct mp_err *e)
{
    ((struct mails *)ctx)->ends++;
    return 0;
}

static void m_abort(void *ctx)
{
    ((struct mails *)ctx)->aborts++;
}

static int m_reply(void *ctx, const struct pop3_job *job,
                   const struct pop3_status *st, struct mp_err *e)
{
    struct mails *m = ctx;
    m->replies++;
    if (job->cmd == POP3_CMD_RETR && st->kind == POP3_OK && m->queue_dele) {
        struct pop3_job d = { .cmd = POP3_CMD_DELE, .msn = job->msn };
        pop3_queue(m->s, &d);
    }
    return 0;
}

static const char GREETING[] = "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n";

/* Greeting, CAPA, USER, PASS, STAT, LIST, UIDL; one command a round. */
#define SETUP { 0, GREETING }, { 1, NULL }, { 1, NULL }, { 1, NULL }, \
              { 1, NULL }, { 1, NULL }, { 1, NULL }

static int login(struct fixture *f, unsigned long *n, struct mp_err *e)
{
    struct pop3_auth_params ap = {
        .method = "user", .user = "joe", .get_password = pw_cb,
        .password_ctx = "secret", .tls = false,
    };
    unsigned long long total, *sizes = NULL;
    char **uids = NULL;
    int r = -1;

    if (pop3_greeting(f->s, e) || pop3_capa(f->s, e) || pop3_auth(f->s, &ap, e)
        || pop3_stat(f->s, n, &total, e)
        || pop3_list_all(f->s, *n, &sizes, e)
        || pop3_uidl_all(f->s, *n, &uids, e))
        goto out;
    r = (sizes[2] == 53 && strcmp(uids[NMAIL - 1], "uid-20") == 0) ? 0 : -1;
out:
    free(sizes);
    pop3_uids_free(&uids, *n);
    return r;
}

static void expected_mails(char *out, size_t size, bool crlf)
{
    size_t len = 0;
    for (unsigned long i = 1; i <= NMAIL; i++)
        len += (size_t)snprintf(out + len, size - len,
                                "[%lu %lu]Subject: mail %lu\n.dotted line "
                                "%lu\n\nbody %lu\n", i, 50 + i, i, i, i);
}

static void test_batch(bool pipelined)
{
    struct step script[8 + 2 * NMAIL + 2];
    struct fixture f;
    struct mp_err e;
    struct mails m;
    struct pop3_sink sink = { &m, m_begin, m_data, m_end, m_abort };
    unsigned long n = 0;
    size_t k = 0;
    const char *mode = pipelined ? "pipelined" : "one at a time";

    const struct step setup[] = { SETUP };
    memcpy(script, setup, sizeof setup);
    k = sizeof setup / sizeof setup[0];
    if (pipelined) {
        script[k++] = (struct step){ NMAIL, NULL };     /* all RETRs */
        script[k++] = (struct step){ NMAIL, NULL };     /* all DELEs */
    } else {
        for (int i = 0; i < 2 * NMAIL; i++)
            script[k++] = (struct step){ 1, NULL };
    }
    script[k++] = (struct step){ 1, NULL };             /* QUIT */
    script[k++] = (struct step){ -1, NULL };

    memset(&m, 0, sizeof m);
    err_init(&e);
    start(&f, script, POP3_PIPELINING_AUTO, pipelined);
    m.s = f.s;
    m.queue_dele = true;
    ok(login(&f, &n, &e) == 0 && n == NMAIL, "%s: login and listings (%s)",
       mode, e.msg);
    is_int(pop3_pipelining_active(f.s), pipelined,
           "%s: auto mode follows CAPA", mode);
    struct pop3_stats before = *pop3_stats(f.s);
    for (unsigned long i = 1; i <= NMAIL; i++) {
        struct pop3_job j = { .cmd = POP3_CMD_RETR, .msn = i,
                              .size = (long long)(50 + i), .sink = &sink };
        pop3_queue(f.s, &j);
    }
    is_int(pop3_run(f.s, m_reply, &m, &e), 0, "%s: run (%s)", mode, e.msg);
    const struct pop3_stats *after = pop3_stats(f.s);
    char want[8192];
    expected_mails(want, sizeof want, false);
    is_mem(m.all, m.len, want, strlen(want), "%s: mails in order, intact",
           mode);
    ok(m.begins == NMAIL && m.ends == NMAIL && m.aborts == 0
       && m.replies == 2 * NMAIL, "%s: sink and reply calls", mode);
    is_int((long long)(after->commands - before.commands), 2 * NMAIL,
           "%s: %d commands", mode, 2 * NMAIL);
    if (pipelined) {
        is_int((long long)(after->rounds - before.rounds), 2,
               "pipelined: %d RETR + %d DELE in 2 round trips", NMAIL,
               NMAIL);
        ok(after->max_inflight >= NMAIL, "pipelined: window held %lu",
           after->max_inflight);
    } else {
        is_int((long long)(after->rounds - before.rounds), 2 * NMAIL,
               "one at a time: one round trip per command");
        is_int((long long)after->max_inflight, 1,
               "one at a time: never more than one in flight");
    }
    is_int(pop3_quit(f.s, &e), 0, "%s: quit", mode);
    is_int(pop3_state(f.s), POP3_STATE_DONE, "%s: state DONE", mode);
    finish(&f);
    /* The peer saw the commands in order. */
    ok(strstr(f.peer.log, "RETR 1\r\nRETR 2\r\n") != NULL || !pipelined,
       "%s: RETRs sent back to back", mode);
    ok(strstr(f.peer.log, "PASS secret\r\n") != NULL, "%s: PASS sent", mode);
}

/* With PIPELINING: USER+PASS, STAT+LIST+UIDL, all RETRs, and the DELEs
 * with QUIT each go out in one write: four round trips after CAPA,
 * whatever the number of mails.  Without it, one command a round. */
static void test_pipelined_session(void)
{
    for (int pipelined = 1; pipelined >= 0; pipelined--) {
        struct step script[8 + 5 * NMAIL];
        struct fixture f;
        struct mp_err e;
        struct mails m;
        struct pop3_sink sink = { &m, m_begin, m_data, m_end, m_abort };
        struct pop3_auth_params ap = {
            .method = "user", .user = "joe", .get_password = pw_cb,
            .password_ctx = "secret", .tls = false,
        };
        unsigned long n = 0, r0;
        unsigned long long total, *sizes = NULL;
        char **uids = NULL;
        size_t k = 0;
        const char *mode = pipelined ? "pipelined" : "one at a time";

        script[k++] = (struct step){ 0, GREETING };
        script[k++] = (struct step){ 1, NULL };             /* CAPA */
        if (pipelined) {
            script[k++] = (struct step){ 2, NULL };         /* USER PASS */
            script[k++] = (struct step){ 3, NULL };         /* STAT ... */
            script[k++] = (struct step){ NMAIL, NULL };     /* RETRs */
            script[k++] = (struct step){ NMAIL + 1, NULL }; /* DELEs QUIT */
        } else {
            for (int i = 0; i < 5 + 2 * NMAIL + 1; i++)
                script[k++] = (struct step){ 1, NULL };
        }
        script[k++] = (struct step){ -1, NULL };
        memset(&m, 0, sizeof m);
        err_init(&e);
        start(&f, script, POP3_PIPELINING_AUTO, pipelined);
        m.s = f.s;
        ok(pop3_greeting(f.s, &e) == 0 && pop3_capa(f.s, &e) == 0,
           "%s session: greeting and CAPA", mode);
        r0 = pop3_stats(f.s)->rounds;
        is_int(pop3_auth(f.s, &ap, &e), 0, "%s session: login (%s)", mode,
               e.msg);
        is_int((long long)(pop3_stats(f.s)->rounds - r0), pipelined ? 1 : 2,
               "%s session: USER and PASS in %d round trip(s)", mode,
               pipelined ? 1 : 2);
        r0 = pop3_stats(f.s)->rounds;
        is_int(pop3_listing(f.s, true, &n, &total, &sizes, &uids, &e), 0,
               "%s session: listing (%s)", mode, e.msg);
        ok(n == NMAIL && total == 1000 && sizes && sizes[2] == 53 && uids
           && strcmp(uids[NMAIL - 1], "uid-20") == 0,
           "%s session: STAT, LIST and UIDL results", mode);
        is_int((long long)(pop3_stats(f.s)->rounds - r0), pipelined ? 1 : 3,
               "%s session: listing in %d round trip(s)", mode,
               pipelined ? 1 : 3);
        for (unsigned long i = 1; i <= NMAIL; i++) {
            struct pop3_job j = { .cmd = POP3_CMD_RETR, .msn = i,
                                  .size = (long long)(50 + i),
                                  .sink = &sink };
            pop3_queue(f.s, &j);
        }
        r0 = pop3_stats(f.s)->rounds;
        is_int(pop3_run(f.s, m_reply, &m, &e), 0, "%s session: RETRs (%s)",
               mode, e.msg);
        for (unsigned long i = 1; i <= NMAIL; i++) {
            struct pop3_job j = { .cmd = POP3_CMD_DELE, .msn = i };
            pop3_queue(f.s, &j);
        }
        struct pop3_job q = { .cmd = POP3_CMD_QUIT };
        pop3_queue(f.s, &q);
        is_int(pop3_run(f.s, m_reply, &m, &e), 0,
               "%s session: DELEs and QUIT (%s)", mode, e.msg);
        is_int(pop3_state(f.s), POP3_STATE_DONE,
               "%s session: QUIT answered, state DONE", mode);
        is_int((long long)(pop3_stats(f.s)->rounds - r0),
               pipelined ? 2 : 2 * NMAIL + 1,
               "%s session: RETRs, then DELEs with QUIT: %d round trips",
               mode, pipelined ? 2 : 2 * NMAIL + 1);
        is_int(m.replies, 2 * NMAIL, "%s session: QUIT's reply is the "
               "engine's, not on_reply's", mode);
        free(sizes);
        pop3_uids_free(&uids, n);
        finish(&f);
        ok(strstr(f.peer.log, "USER joe\r\nPASS secret\r\nSTAT\r\nLIST\r\n"
                  "UIDL\r\nRETR 1\r\n") != NULL,
           "%s session: the commands in order", mode);
        ok(strstr(f.peer.log, "DELE 20\r\nQUIT\r\n") != NULL,
           "%s session: QUIT after the last DELE", mode);
    }
}

/* USER refused while PASS went along: USER's refusal is reported, and the
 * session stays in step (QUIT still works). */
static void test_user_pass_refused(void)
{
    const struct step script[] = {
        { 0, GREETING }, { 1, NULL },
        { 2, "-ERR [AUTH] no such user\r\n-ERR send USER first\r\n" },
        { 1, NULL }, { -1, NULL }
    };
    struct pop3_auth_params ap = {
        .method = "user", .user = "joe", .get_password = pw_cb,
        .password_ctx = "secret", .tls = false,
    };
    struct fixture f;
    struct mp_err e;

    err_init(&e);
    start(&f, script, POP3_PIPELINING_AUTO, true);
    ok(pop3_greeting(f.s, &e) == 0 && pop3_capa(f.s, &e) == 0,
       "USER refused: greeting and CAPA");
    is_int(pop3_auth(f.s, &ap, &e), -1, "USER refused: login fails");
    is_int(e.kind, MP_EAUTH, "USER refused: MP_EAUTH");
    is_str(e.server, "-ERR [AUTH] no such user",
           "USER refused: USER's reply is the one reported");
    is_int(pop3_state(f.s), POP3_STATE_AUTHORIZATION,
           "USER refused: still in step");
    err_init(&e);
    is_int(pop3_quit(f.s, &e), 0, "USER refused: QUIT answered");
    finish(&f);
}

static void test_pipelining_forced(void)
{
    /* pipelining on without PIPELINING in CAPA; off with it. */
    for (int on = 0; on < 2; on++) {
        const struct step script[] = { SETUP, { -1, NULL } };
        struct fixture f;
        struct mp_err e;
        unsigned long n;
        start(&f, script, on ? POP3_PIPELINING_ON : POP3_PIPELINING_OFF,
              !on);
        login(&f, &n, &e);
        is_int(pop3_pipelining_active(f.s), on, "pipelining %s overrides "
               "CAPA", on ? "on" : "off");
        finish(&f);
    }
}

static void test_cut_mid_retr(void)
{
    const struct step script[] = {
        SETUP, { 1, "+OK\r\nSubject: x\r\n\r\nhalf a li" }, { -1, NULL }
    };
    struct fixture f;
    struct mp_err e;
    struct mails m;
    struct pop3_sink sink = { &m, m_begin, m_data, m_end, m_abort };
    unsigned long n;

    memset(&m, 0, sizeof m);
    err_init(&e);
    start(&f, script, POP3_PIPELINING_OFF, false);
    login(&f, &n, &e);
    struct pop3_job j = { .cmd = POP3_CMD_RETR, .msn = 1, .size = 51,
                          .sink = &sink };
    pop3_queue(f.s, &j);
    is_int(pop3_run(f.s, m_reply, &m, &e), -1, "cut mid-RETR: fails");
    is_int(e.kind, MP_EIO, "cut mid-RETR: MP_EIO (%s)", e.msg);
    ok(m.begins == 1 && m.aborts == 1 && m.ends == 0 && m.replies == 0,
       "cut mid-RETR: sink aborted, not ended");
    is_int(pop3_state(f.s), POP3_STATE_BROKEN, "cut mid-RETR: broken");
    is_int(pop3_quit(f.s, &e), -1, "cut mid-RETR: no QUIT afterwards");
    finish(&f);
}

static void test_sink_failure(void)
{
    /* RETR 1..3 pipelined; the sink fails on mail 2: mail 3's body is
     * read and dropped, the session stays usable and QUIT works. */
    const struct step script[] = {
        SETUP, { 3, NULL }, { 1, NULL }, { -1, NULL }
    };
    struct fixture f;
    struct mp_err e;
    struct mails m;
    struct pop3_sink sink = { &m, m_begin, m_data, m_end, m_abort };
    unsigned long n;

    memset(&m, 0, sizeof m);
    m.fail_data_at_msn = 2;
    err_init(&e);
    start(&f, script, POP3_PIPELINING_ON, false);
    login(&f, &n, &e);
    for (unsigned long i = 1; i <= 3; i++) {
        struct pop3_job j = { .cmd = POP3_CMD_RETR, .msn = i, .size = -1,
                              .sink = &sink };
        pop3_queue(f.s, &j);
    }
    is_int(pop3_run(f.s, m_reply, &m, &e), -1, "sink failure: run fails");
    ok(e.kind == MP_EDELIVERY && strcmp(e.msg, "disk full") == 0,
       "sink failure: the sink's error comes back (%s)", e.msg);
    ok(m.begins == 2 && m.ends == 1 && m.aborts == 1 && m.replies == 1,
       "sink failure: mail 1 ended, 2 aborted, 3 untouched");
    is_int(pop3_state(f.s), POP3_STATE_TRANSACTION,
           "sink failure: session still usable");
    is_int(pop3_quit(f.s, &e), 0, "sink failure: QUIT after draining");
    finish(&f);
}

struct bad_case {
    const char *name;
    const char *greeting;
    const char *reply;      /* reply to the first command (CAPA) */
    enum mp_err_kind kind;
    const char *server;     /* expected e.server prefix, or NULL */
};

static void test_bad_replies(void)
{
    static char longline[3000];
    memset(longline, 0, sizeof longline);
    memcpy(longline, "+OK ", 4);
    memset(longline + 4, 'x', 2000);
    memcpy(longline + 2004, "\r\n", 2);

    const struct bad_case cases[] = {
        { "overlong greeting", longline, NULL, MP_EPROTO, NULL },
        { "greeting -ERR", "-ERR go away\r\n", NULL, MP_EPROTO,
          "-ERR go away" },
        { "greeting -ERR [SYS/TEMP]", "-ERR [SYS/TEMP] busy\r\n", NULL,
          MP_ETEMP, "-ERR [SYS/TEMP] busy" },
        { "greeting garbage", "* OK IMAP4rev1\r\n", NULL, MP_EPROTO, NULL },
        { "closed before greeting", "", NULL, MP_EPROTO, NULL },
        { "overlong CAPA reply", GREETING, longline, MP_EPROTO, NULL },
        { "bad CAPA line", GREETING, "+OK\r\nLOGIN-DELAY soon\r\n.\r\n",
          MP_EPROTO, "LOGIN-DELAY soon" },
        { "CAPA cut", GREETING, "+OK\r\nTOP\r\n", MP_EPROTO, NULL },
        { "garbage status", GREETING, "OK fine\r\n", MP_EPROTO, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_case *c = &cases[i];
        const struct step script[] = {
            { 0, c->greeting }, { c->reply ? 1 : -1, c->reply },
            { -1, NULL }
        };
        struct fixture f;
        struct mp_err e;
        int r;

        err_init(&e);
        start(&f, script, POP3_PIPELINING_AUTO, false);
        r = pop3_greeting(f.s, &e);
        if (r == 0)
            r = pop3_capa(f.s, &e);
        ok(r == -1 && e.kind == c->kind, "%s: kind %d (%s)", c->name,
           e.kind, e.msg);
        if (c->server)
            ok(strncmp(e.server, c->server, strlen(c->server)) == 0,
               "%s: server words '%s'", c->name, e.server);
        is_int(pop3_state(f.s), POP3_STATE_BROKEN, "%s: broken", c->name);
        finish(&f);
    }
    /* A NUL byte in a line. */
    {
        const struct step script[] = {
            { 0, nul_reply }, { -1, NULL }
        };
        struct fixture f;
        struct mp_err e;
        err_init(&e);
        start(&f, script, POP3_PIPELINING_AUTO, false);
        is_int(pop3_greeting(f.s, &e), -1, "NUL byte: greeting fails");
        is_int(e.kind, MP_EPROTO, "NUL byte: MP_EPROTO (%s)", e.msg);
        finish(&f);
    }
}

struct auth_case {
    const char *name;
    const char *method;
    bool tls;
    const char *pass_reply;
    int ret;
    enum mp_err_kind kind;
    int commands;           /* USER/PASS/APOP lines the peer must read */
};

static void test_auth(void)
{
    const struct auth_case cases[] = {
        { "PASS plain -ERR", "user", false, "-ERR nope\r\n", -1, MP_EAUTH, 2 },
        { "PASS [AUTH]", "user", false, "-ERR [AUTH] bad\r\n", -1, MP_EAUTH,
          2 },
        /* Every -ERR to PASS is EX_NOPERM, as in the original. */
        { "PASS [IN-USE]", "user", false, "-ERR [IN-USE] locked\r\n", -1,
          MP_EAUTH, 2 },
        { "PASS [LOGIN-DELAY]", "user", false, "-ERR [LOGIN-DELAY] wait\r\n",
          -1, MP_EAUTH, 2 },
        { "PASS [SYS/TEMP]", "user", false, "-ERR [SYS/TEMP] x\r\n", -1,
          MP_EAUTH, 2 },
        { "PASS [SYS/PERM]", "user", false, "-ERR [SYS/PERM] x\r\n", -1,
          MP_EAUTH, 2 },
        { "PASS unknown code", "user", false, "-ERR [XYZ] x\r\n", -1,
          MP_EAUTH, 2 },
        { "PASS +OK", "user", false, "+OK in\r\n", 0, MP_EOK, 2 },
        { "APOP ok", "apop", false, "+OK in\r\n", 0, MP_EOK, 1 },
        /* Without TLS only SCRAM is chosen, as the original (exit 69). */
        { "auto without TLS refuses APOP", NULL, false, NULL, -1,
          MP_EUNAVAIL, 0 },
        /* No CAPA: APOP comes before USER in the automatic order. */
        { "auto with TLS, no CAPA: APOP", "on", true, "+OK in\r\n", 0,
          MP_EOK, 1 },
        { "unknown method", "cram-md5", false, NULL, -1, MP_EUNAVAIL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct auth_case *c = &cases[i];
        struct step script[5];
        int k = 0;
        script[k++] = (struct step){ 0, GREETING };
        if (c->commands == 2)
            script[k++] = (struct step){ 1, "+OK\r\n" };
        if (c->commands)
            script[k++] = (struct step){ 1, c->pass_reply };
        script[k++] = (struct step){ -1, NULL };
        struct pop3_auth_params ap = {
            .method = c->method, .user = "mrose", .get_password = pw_cb,
            .password_ctx = "tanstaaf", .tls = c->tls,
        };
        struct fixture f;
        struct mp_err e;
        int r;

        err_init(&e);
        start(&f, script, POP3_PIPELINING_AUTO, false);
        pop3_greeting(f.s, &e);
        r = pop3_auth(f.s, &ap, &e);
        ok(r == c->ret && (r == 0 || e.kind == c->kind),
           "%s: result %d kind %d (%s)", c->name, r, e.kind, e.msg);
        if (r != 0 && c->pass_reply)
            ok(strncmp(e.server, c->pass_reply, strlen(e.server)) == 0
               && e.server[0] == '-', "%s: server words kept", c->name);
        if (r == 0)
            is_int(pop3_state(f.s), POP3_STATE_TRANSACTION,
                   "%s: in TRANSACTION", c->name);
        finish(&f);
        if (c->commands == 1)
            is_str(f.peer.log,
                   "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
                   "%s: the RFC 1939 digest", c->name);
    }
    /* Insecure: no timestamp, no TLS, automatic choice. */
    {
        const struct step script[] = { { 0, "+OK hi\r\n" }, { -1, NULL } };
        struct pop3_auth_params ap = {
            .user = "u", .get_password = pw_cb, .password_ctx = "p",
        };
        struct fixture f;
        struct mp_err e;
        start(&f, script, POP3_PIPELINING_AUTO, false);
        pop3_greeting(f.s, &e);
        ok(pop3_auth(f.s, &ap, &e) == -1 && e.kind == MP_EUNAVAIL,
           "no TLS, no APOP: MP_EUNAVAIL (EX_UNAVAILABLE, as the original)");
        ap.method = "apop";
        ok(pop3_auth(f.s, &ap, &e) == -1 && e.kind == MP_EUNAVAIL,
           "apop without timestamp: MP_EUNAVAIL");
        finish(&f);
    }
    {
        char d[33];
        struct mp_err e;
        pop3_apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf", d,
                         &e);
        is_str(d, "c4c9334bac560ecc979e58001b3e22fb", "APOP digest");
    }
}

static void test_listings(void)
{
    static const struct {
        const char *name;
        const char *stat;
        const char *listing;    /* reply to LIST or UIDL */
        bool uidl;
        enum mp_err_kind kind;
    } cases[] = {
        { "STAT above the limit", "+OK 1000001 5\r\n", NULL, false,
          MP_EPROTO },
        { "STAT garbage", "+OK lots\r\n", NULL, false, MP_EPROTO },
        { "STAT -ERR [SYS/TEMP]", "-ERR [SYS/TEMP] later\r\n", NULL, false,
          MP_ETEMP },
        { "LIST missing a message", "+OK 2 10\r\n",
          "+OK\r\n1 5\r\n.\r\n", false, MP_EPROTO },
        { "LIST msn twice", "+OK 2 10\r\n",
          "+OK\r\n1 5\r\n1 5\r\n2 5\r\n.\r\n", false, MP_EPROTO },
        { "LIST msn 0", "+OK 2 10\r\n", "+OK\r\n0 5\r\n.\r\n", false,
          MP_EPROTO },
        { "LIST msn above count", "+OK 2 10\r\n",
          "+OK\r\n1 5\r\n2 5\r\n3 5\r\n.\r\n", false, MP_EPROTO },
        { "LIST overflowing size", "+OK 1 10\r\n",
          "+OK\r\n1 99999999999999999999999\r\n.\r\n", false, MP_EPROTO },
        { "UIDL duplicate UID", "+OK 2 10\r\n",
          "+OK\r\n1 same\r\n2 same\r\n.\r\n", true, MP_EPROTO },
        { "UIDL control char", "+OK 1 10\r\n",
          "+OK\r\n1 a\x1b" "b\r\n.\r\n", true, MP_EPROTO },
        { "UIDL too long", "+OK 1 10\r\n",
          "+OK\r\n1 0123456789012345678901234567890123456789012345678901"
          "2345678901234567890\r\n.\r\n", true, MP_EPROTO },
        { "UIDL -ERR", "+OK 1 10\r\n", "-ERR no UIDL\r\n", true,
          MP_EUNAVAIL },
        { "UIDL ok", "+OK 2 10\r\n", "+OK\r\n2 b\r\n1 a\r\n.\r\n", true,
          MP_EOK },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct step script[] = {
            { 0, "+OK hi\r\n" }, { 1, "+OK\r\n" }, { 1, "+OK\r\n" },
            { 1, cases[i].stat }, { cases[i].listing ? 1 : -1,
                                    cases[i].listing },
            { -1, NULL }
        };
        struct pop3_auth_params ap = {
            .method = "user", .user = "u", .get_password = pw_cb,
            .password_ctx = "p",
        };
        struct fixture f;
        struct mp_err e;
        unsigned long n = 0;
        unsigned long long total, *sizes = NULL;
        char **uids = NULL;
        int r;

        err_init(&e);
        start(&f, script, POP3_PIPELINING_AUTO, false);
        pop3_greeting(f.s, &e);
        pop3_auth(f.s, &ap, &e);
        r = pop3_stat(f.s, &n, &total, &e);
        if (r == 0 && cases[i].uidl)
            r = pop3_uidl_all(f.s, n, &uids, &e);
        else if (r == 0)
            r = pop3_list_all(f.s, n, &sizes, &e);
        if (cases[i].kind == MP_EOK)
            ok(r == 0 && uids && strcmp(uids[0], "a") == 0
               && strcmp(uids[1], "b") == 0, "%s", cases[i].name);
        else
            ok(r == -1 && e.kind == cases[i].kind, "%s: kind %d (%s)",
               cases[i].name, e.kind, e.msg);
        free(sizes);
        pop3_uids_free(&uids, n);
        finish(&f);
    }
}

static void test_stls(void)
{
    const struct step script[] = {
        { 0, "+OK hi\r\n" }, { 1, "+OK begin TLS\r\nINJECTED\r\n" },
        { -1, NULL }
    };
    struct fixture f;
    struct mp_err e;

    start(&f, script, POP3_PIPELINING_AUTO, false);
    pop3_greeting(f.s, &e);
    /* Make sure both lines arrived before the check. */
    usleep(100000);
    ok(pop3_stls(f.s, &e) == -1 && e.kind == MP_EPROTO,
       "STLS: bytes after the reply are an injection (%s)", e.msg);
    finish(&f);
}

static void test_debug_trace(void)
{
    const struct step script[] = { SETUP, { 1, NULL }, { -1, NULL } };
    struct fixture f;
    struct mp_err e;
    struct mails m;
    struct pop3_sink sink = { &m, m_begin, m_data, m_end, m_abort };
    unsigned long n;
    char *trace = NULL;
    size_t tracelen = 0;

    memset(&m, 0, sizeof m);
    log_out = open_memstream(&trace, &tracelen);
    log_level = LOGLEVEL_DEBUG;
    start(&f, script, POP3_PIPELINING_OFF, false);
    login(&f, &n, &e);
    struct pop3_job j = { .cmd = POP3_CMD_RETR, .msn = 1, .size = 51,
                          .sink = &sink };
    pop3_queue(f.s, &j);
    pop3_run(f.s, m_reply, &m, &e);
    finish(&f);
    fclose(log_out);
    log_out = NULL;
    log_level = LOGLEVEL_NORMAL;
    ok(strstr(trace, "--> PASS xxxx\n") != NULL, "debug: PASS masked");
    ok(strstr(trace, "secret") == NULL, "debug: password never shown");
    ok(strstr(trace, "--> USER joe\n") != NULL, "debug: USER shown");
    ok(strstr(trace, "<-- +OK 20 1000\n") != NULL, "debug: replies shown");
    ok(strstr(trace, "<-- ..dotted line 1\n") != NULL,
       "debug: body lines shown as received");
    ok(strstr(trace, "AUTHORIZATION -> TRANSACTION") != NULL,
       "debug: state change traced");
    free(trace);
}

int main(void)
{
    test_batch(true);
    test_batch(false);
    test_pipelining_forced();
    test_pipelined_session();
    test_user_pass_refused();
    test_cut_mid_retr();
    test_sink_failure();
    test_bad_replies();
    test_auth();
    test_listings();
    test_stls();
    test_debug_trace();
    return done_testing();
}
