#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netdb.h>

#include "gettext.h"
#include "net.h"
#include "oauth2.h"
#include "pop3_auth.h"
#include "secret.h"
#include "session.h"
#include "tls.h"
#include "xalloc.h"

/* Where the peer is: its reverse DNS name (NI_NAMEREQD: only a real name,
 * never the number again), its numeric address, and a line for messages. */
static void describe_peer(struct session *s, int port)
{
    const struct account *a = s->acc;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    s->server_name[0] = '\0';
    s->server_ip[0] = '\0';
    if (a->socket_name) {
        snprintf(s->peer, sizeof s->peer, _("socket %s"), a->socket_name);
        return;
    }
    if (getpeername(s->t.fd, (struct sockaddr *)&ss, &len) == 0
        && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
        && !a->proxy_host) {
        if (getnameinfo((struct sockaddr *)&ss, len, s->server_ip,
                        sizeof s->server_ip, NULL, 0, NI_NUMERICHOST) != 0)
            s->server_ip[0] = '\0';
        if (getnameinfo((struct sockaddr *)&ss, len, s->server_name,
                        sizeof s->server_name, NULL, 0, NI_NAMEREQD) != 0)
            s->server_name[0] = '\0';
    }
    if (s->server_ip[0])
        snprintf(s->peer, sizeof s->peer, _("%s [%s], port %d"), a->host,
                 s->server_ip, port);
    else
        snprintf(s->peer, sizeof s->peer, _("%s, port %d"), a->host, port);
}

static int get_password(void *ctx, char **pw_r, struct mp_err *e)
{
    const struct account *a = ctx;

    return secret_get_password(a, pw_r, NULL, e);
}

void session_tls_params(const struct account *a, struct tls_params *p)
{
    memset(p, 0, sizeof *p);
    p->host = a->host;
    p->host_override = a->tls_host_override;
    p->trust_file = a->tls_trust_file;
    p->crl_file = a->tls_crl_file;
    p->fingerprint = a->tls_fingerprint;
    p->certcheck = a->tls_certcheck;
    p->cert_file = a->tls_cert_file;
    p->key_file = a->tls_key_file;
    p->priorities = a->tls_priorities;
    p->min_dh_prime_bits = a->tls_min_dh_prime_bits;
}

/* With OAuth2 the "password" of OAUTHBEARER and XOAUTH2 is the access
 * token from mpop's own store (oauth2.h). */
static int get_token(void *ctx, char **pw_r, struct mp_err *e)
{
    return oauth2_access_token(ctx, pw_r, e);
}

/* Whether the authentication of a takes its token from oauth2.c: OAuth2
 * is configured and the method is the automatic choice or one of the two
 * OAuth2 mechanisms.  Another named method (auth plain, say) keeps the
 * password sources. */
static bool uses_oauth2(const struct account *a)
{
    return oauth2_enabled(a)
           && (!a->auth || !*a->auth || strcasecmp(a->auth, "on") == 0
               || strcasecmp(a->auth, "oauthbearer") == 0
               || strcasecmp(a->auth, "xoauth2") == 0);
}

/* Microsoft's servers (2024-2026, IMAP and POP3) answer +OK to AUTH
 * XOAUTH2 with a token that lacks the mail scope or for a mailbox without
 * POP, and then refuse the next command ("-ERR ... not connected") or
 * close the connection.  One NOOP right after the login turns that into
 * what it is: a refused authentication. */
static int check_after_oauth2(struct session *s, struct mp_err *e)
{
    struct pop3_status st;

    if (pop3_command(s->pop3, POP3_CMD_NOOP, "NOOP", POP3_TRACE_ALL, &st,
                     e) == 0 && st.kind == POP3_OK)
        return 0;
    if (e->kind == MP_EOK)
        pop3_status_error(s->pop3, &st, MP_EAUTH, e, _("NOOP failed"));
    err_prefix(e, _("the POP3 server accepted the OAuth2 access token but "
               "refused the next command; the token may lack the mail "
               "scope, or POP may be off for this mailbox: "));
    e->kind = MP_EAUTH;
    return -1;
}

static int start_tls(struct session *s, struct mp_err *e)
{
    struct tls_params p;

    session_tls_params(s->acc, &p);
    if (tls_start(&s->t, &p, e) != 0)
        return -1;
    s->tls = true;
    return 0;
}

/* RFC 2595 §4: with STARTTLS required, no credential and no command but
 * CAPA and STLS goes out before the handshake; a server that does not
 * offer STLS may be an attacker who stripped it. */
static int starttls(struct session *s, struct mp_err *e)
{
    if (!(pop3_caps(s->pop3)->flags & POP3_CAP_STLS))
        /* The original exits with EX_UNAVAILABLE here (1.4.18,
         * 2026-11-24); the session ends before anything else is sent. */
        return err_set(e, MP_EUNAVAIL, _("the POP3 server does not "
                       "support TLS via the STLS command"));
    if (pop3_stls(s->pop3, e) != 0) {
        /* -ERR leaves the session usable; the original exits
         * EX_PROTOCOL then, whatever the RESP-CODE (1.4.18, 2026-11-24). */
        if (pop3_state(s->pop3) != POP3_STATE_BROKEN)
            e->kind = MP_EPROTO;
        return -1;
    }
    if (start_tls(s, e) != 0)
        return -1;
    /* pop3_stls forgot the old capabilities; learn them anew. */
    return pop3_capa(s->pop3, e);
}

/* Whether commands sent behind PASS are lost when the login succeeds:
 * Courier's courierpop3login (1.0.16, Debian 12) reads them into its buffer
 * and then execs courierpop3d, which never sees them, although CAPA lists
 * PIPELINING; the listing would wait for the timeout
 * (tests/integration/interop-courier.sh, 2026-12-07).  Its CAPA says
 * "IMPLEMENTATION Courier Mail Server". */
static bool login_drops_pipelined(struct pop3_session *p)
{
    const struct pop3_caps *c = pop3_caps(p);

    return (c->flags & POP3_CAP_IMPLEMENTATION)
           && strncasecmp(c->implementation, "Courier", 7) == 0;
}

int session_open(struct session *s, const struct account *a,
                 enum session_until until, struct mp_err *e)
{
    return session_open_meanwhile(s, a, until, NULL, NULL, e);
}

int session_open_meanwhile(struct session *s, const struct account *a,
                           enum session_until until,
                           session_meanwhile_fn meanwhile, void *ctx,
                           struct mp_err *e)
{
    struct net_target nt;
    struct pop3_auth_params ap;
    int fd = -1;
    int port = account_port(a);

    memset(s, 0, sizeof *s);
    s->acc = a;
    s->t.fd = -1;
    s->t.out_fd = -1;

    memset(&nt, 0, sizeof nt);
    nt.host = a->host;
    nt.port = port;
    nt.source_ip = a->source_ip;
    nt.proxy_host = a->proxy_host;
    nt.proxy_port = a->proxy_port;
    nt.socket_name = a->socket_name;
    nt.timeout = a->timeout;
    if (net_connect(&nt, &fd, NULL, 0, e) != 0)
        return -1;
    transport_plain_init(&s->t, fd, fd, a->timeout);
    describe_peer(s, port);

    if (a->tls && !a->tls_starttls && start_tls(s, e) != 0)
        goto fail;
    if (meanwhile && meanwhile(ctx, e) != 0)
        goto fail;

    s->pop3 = pop3_session_new(&s->t, (enum pop3_pipelining)a->pipelining,
                               POP3_BODY_LF);
    if (pop3_greeting(s->pop3, e) != 0 || pop3_capa(s->pop3, e) != 0)
        goto fail;
    if (a->tls && a->tls_starttls && starttls(s, e) != 0)
        goto fail;
    if (until == SESSION_CAPA)
        return 0;

    memset(&ap, 0, sizeof ap);
    ap.method = a->auth;
    ap.user = a->user;
    ap.get_password = uses_oauth2(a) ? get_token : get_password;
    ap.password_ctx = (void *)a;
    ap.oauth2 = uses_oauth2(a);
    ap.tls = s->tls;
    ap.transport = s->tls ? &s->t : NULL;
    ap.host = a->host;
    ap.port = port;
    ap.ntlm_domain = a->ntlm_domain;
    if (until == SESSION_LISTING && !login_drops_pipelined(s->pop3))
        pop3_listing_ahead(s->pop3, true);
    if (pop3_auth(s->pop3, &ap, e) != 0) {
        /* A refused login leaves the session usable: say goodbye politely
         * (nothing was deleted, so QUIT is harmless), keeping the first
         * error.  Not after other failures: a server that misbehaved
         * need not answer, and we would wait for the timeout. */
        if (pop3_state(s->pop3) == POP3_STATE_AUTHORIZATION) {
            struct mp_err e2;

            err_init(&e2);
            (void)pop3_quit(s->pop3, &e2);
        }
        /* A refused token is not used again: the next run gets a new
         * one (and learns then whether the sign-in is still valid). */
        if (ap.oauth2 && e->kind == MP_EAUTH)
            oauth2_forget_access_token(a);
        goto fail;
    }
    if (ap.oauth2 && check_after_oauth2(s, e) != 0) {
        oauth2_forget_access_token(a);
        goto fail;
    }
    return 0;

fail:
    pop3_session_free(&s->pop3);
    transport_close(&s->t);
    return -1;
}

int session_close(struct session *s, bool quit, struct mp_err *e)
{
    int r = 0;

    if (!s->pop3) {
        if (s->t.ops)       /* never set on a zeroed, unopened session */
            transport_close(&s->t);
        return 0;
    }
    if (quit && pop3_state(s->pop3) != POP3_STATE_BROKEN
        && pop3_state(s->pop3) != POP3_STATE_DONE)
        r = pop3_quit(s->pop3, e);
    pop3_session_free(&s->pop3);
    transport_close(&s->t);
    return r;
}
