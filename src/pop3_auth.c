#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "gettext.h"
#include "log.h"
#include "pop3_auth.h"
#include "sasl.h"
#include "tls.h"
#include "xalloc.h"

int pop3_apop_digest(const char *timestamp, const char *password,
                     char out[33], struct mp_err *e)
{
    static const char hex[] = "0123456789abcdef";
    size_t tl = strlen(timestamp), pl = strlen(password);
    unsigned char md5[16];
    char *in;
    int r;

    if (tl > POP3_TIMESTAMP_MAX || pl > 65536)
        return err_set(e, MP_ESOFTWARE, _("APOP input too long"));
    in = xmalloc(tl + pl + 1);
    memcpy(in, timestamp, tl);
    memcpy(in + tl, password, pl);
    in[tl + pl] = '\0';
    r = gnutls_hash_fast(GNUTLS_DIG_MD5, in, tl + pl, md5);
    xfree_secret(&in);
    if (r < 0)
        return err_set(e, MP_ESOFTWARE, _("cannot compute the APOP digest: "
                       "%s"), gnutls_strerror(r));
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[md5[i] >> 4];
        out[2 * i + 1] = hex[md5[i] & 15];
    }
    out[32] = '\0';
    gnutls_memset(md5, 0, sizeof md5);
    return 0;
}

/* Whether a refusal of method can only mean wrong credentials: the
 * password travels as it is (USER, PLAIN, LOGIN) and the server checks it
 * as it checks any login.  A challenge-response method can also fail
 * because the server lacks what it needs for the user: SCRAM secrets, a
 * clear-text password for CRAM-MD5, an entry in a separate APOP database
 * (GNU Mailutils pop3d 3.15 sends an APOP timestamp to every client and
 * answers "-ERR [AUTH] Bad login" for a user who has none, 2026-12-07),
 * or, for -PLUS, the two ends compute different channel bindings. */
static bool password_only(const char *method)
{
    return strcmp(method, "USER") == 0 || strcmp(method, "PLAIN") == 0
           || strcmp(method, "LOGIN") == 0;
}

/* The error of a -ERR reply to an authentication command.  Whatever the
 * RFC 3206 code ([IN-USE], [LOGIN-DELAY], [SYS/TEMP], [SYS/PERM], [AUTH]),
 * the kind is MP_EAUTH (EX_NOPERM), as the original mpop exits (checked
 * against 1.4.18, 2026-11-24), so scripts see the same code; the code's
 * meaning stays in the message.  [AUTH] blames the password only for a
 * method that cannot fail otherwise: Cyrus pop3d 3.6 answers a SCRAM
 * exchange it cannot finish "-ERR [AUTH] authenticating: bad protocol /
 * cancel" (2026-12-07). */
static int auth_refused(struct pop3_session *s, const struct pop3_status *st,
                        const char *method, struct mp_err *e)
{
    if (st->code == POP3_RC_AUTH && !password_only(method)) {
        struct pop3_status st2 = *st;

        st2.code = POP3_RC_NONE;
        pop3_status_error(s, &st2, MP_EAUTH, e,
                          _("authentication failed (method %s): the server "
                            "refused the exchange; if the password is "
                            "right, choose another method with the auth "
                            "command"), method);
    } else {
        pop3_status_error(s, st, MP_EAUTH, e,
                          _("authentication failed (method %s)"), method);
    }
    e->kind = MP_EAUTH;
    return -1;
}

static bool bad_user(const char *user)
{
    return !user || !*user || strpbrk(user, "\r\n") || strlen(user) > 256;
}

static int get_pw(const struct pop3_auth_params *p, char **pw_r,
                  struct mp_err *e)
{
    *pw_r = NULL;
    if (p->get_password(p->password_ctx, pw_r, e) != 0)
        return -1;
    if (!*pw_r)
        return err_set(e, MP_ESOFTWARE, _("no password"));
    if (strpbrk(*pw_r, "\r\n")) {
        xfree_secret(pw_r);
        return err_set(e, MP_EAUTH, _("the password contains a line "
                       "break"));
    }
    return 0;
}

static int auth_user(struct pop3_session *s, const struct pop3_auth_params *p,
                     struct mp_err *e)
{
    struct pop3_status st;
    char *pw = NULL, *line = NULL;
    int r;

    if (pop3_pipelining_active(s)) {
        /* USER and PASS in one write, one round trip (RFC 2449 §6.6; mpop
         * 1.4.18 does the same with PIPELINING).  Sending PASS before
         * USER's answer reveals nothing more: both go over the same
         * channel to the same peer, whose identity only TLS checks, never
         * its reply to USER; whether USER may run at all (without TLS
         * only when the user named it) was decided before we got here.  A
         * server that refuses USER answers PASS with -ERR as well (RFC
         * 1939: PASS only after a successful USER), and we report USER's
         * refusal. */
        char *uline;
        int which;

        if (get_pw(p, &pw, e) != 0)
            return -1;
        uline = xasprintf("USER %s", p->user);
        line = xasprintf("PASS %s", pw);
        xfree_secret(&pw);
        r = pop3_command_pair(s, uline, POP3_TRACE_ALL, line,
                              POP3_TRACE_WORD, &st, &which, e);
        free(uline);
        xfree_secret(&line);
        if (r != 0)
            return -1;
        if (st.kind != POP3_OK)
            return auth_refused(s, &st, "USER", e);
        pop3_set_authenticated(s);
        return 0;
    }
    line = xasprintf("USER %s", p->user);
    r = pop3_command(s, POP3_CMD_USER, line, POP3_TRACE_ALL, &st, e);
    free(line);
    if (r != 0)
        return -1;
    if (st.kind != POP3_OK)
        return auth_refused(s, &st, "USER", e);
    if (get_pw(p, &pw, e) != 0)
        return -1;
    line = xasprintf("PASS %s", pw);
    xfree_secret(&pw);
    r = pop3_command(s, POP3_CMD_PASS, line, POP3_TRACE_WORD, &st, e);
    xfree_secret(&line);
    if (r != 0)
        return -1;
    if (st.kind != POP3_OK)
        return auth_refused(s, &st, "USER", e);
    pop3_set_authenticated(s);
    return 0;
}

static int auth_apop(struct pop3_session *s, const struct pop3_auth_params *p,
                     struct mp_err *e)
{
    const char *ts = pop3_apop_timestamp(s);
    struct pop3_status st;
    char digest[33];
    char *pw = NULL, *line;
    int r;

    if (!ts)
        return err_set(e, MP_EUNAVAIL, _("the POP3 server does not "
                       "support APOP (%s)"), pop3_apop_timestamp_why(s)
                       ? pop3_apop_timestamp_why(s)
                       : "no timestamp in the greeting");
    if (get_pw(p, &pw, e) != 0)
        return -1;
    r = pop3_apop_digest(ts, pw, digest, e);
    xfree_secret(&pw);
    if (r != 0)
        return -1;
    line = xasprintf("APOP %s %s", p->user, digest);
    gnutls_memset(digest, 0, sizeof digest);
    /* The digest allows an offline guess of the password: not traced. */
    r = pop3_command(s, POP3_CMD_APOP, line, POP3_TRACE_WORD, &st, e);
    xfree_secret(&line);
    if (r != 0)
        return -1;
    if (st.kind != POP3_OK)
        return auth_refused(s, &st, "APOP", e);
    pop3_set_authenticated(s);
    return 0;
}

/* RFC 5034 §4: the AUTH command line, initial response included, is at
 * most 255 octets; a longer response waits for the server's empty
 * challenge. */
#define AUTH_LINE_MAX 255

/* Copies the text of a "+ " continuation (base64, untrusted). */
static char *challenge_text(const struct pop3_status *st)
{
    return xstrndup(st->text.p, st->text.len);
}

/* RFC 5034 §4: "*" cancels the exchange; the server answers -ERR.  The
 * first error (already in e) is kept; the server's answer is read so the
 * session stays in step. */
static int cancel(struct pop3_session *s, const char *line, struct mp_err *e)
{
    struct pop3_status st;
    struct mp_err e2;

    err_init(&e2);
    if (pop3_command(s, POP3_CMD_AUTH, line, POP3_TRACE_ALL, &st, &e2) == 0
        && st.kind == POP3_OK)
        /* It let us in after all; we did not verify it: stay out. */
        return err_set(e, MP_EPROTO, _("the POP3 server accepted a "
                       "cancelled authentication"));
    return -1;
}

static int channel_binding(const struct pop3_auth_params *p,
                           struct sasl_params *sp, unsigned char **data_r,
                           struct mp_err *e)
{
    size_t len;

    *data_r = NULL;
    if (!p->transport || !tls_active(p->transport))
        return err_set(e, MP_EUNAVAIL, _("authentication method %s needs "
                       "TLS"), p->method ? p->method : "-PLUS");
    if (tls_channel_binding(p->transport, &sp->cb_type, data_r, &len, e)
        != 0)
        return -1;
    sp->cb_data = *data_r;
    sp->cb_len = len;
    return 0;
}

/* One AUTH exchange (RFC 5034) for mech, which the server offers. */
static int auth_sasl(struct pop3_session *s, const struct pop3_auth_params *p,
                     const char *mech, struct mp_err *e)
{
    int flags = sasl_mech_flags(mech);
    struct sasl_params sp;
    struct sasl_client *c = NULL;
    struct pop3_status st;
    unsigned char *cb = NULL;
    char *pw = NULL, *out = NULL, *line = NULL, *pending = NULL, *in;
    enum pop3_trace trace = POP3_TRACE_ALL;
    bool done = false;
    int ret = -1;

    memset(&sp, 0, sizeof sp);
    sp.user = p->user;
    sp.host = p->host;
    sp.port = p->port;
    sp.ntlm_domain = p->ntlm_domain;
    if ((flags & SASL_PLUS) && channel_binding(p, &sp, &cb, e) != 0)
        goto out;
    if ((flags & SASL_PASSWORD) && get_pw(p, &pw, e) != 0)
        goto out;
    sp.password = pw;
    if (sasl_client_new(mech, &sp, &c, e) != 0)
        goto out;
    xfree_secret(&pw);

    if (flags & SASL_CLIENT_FIRST) {
        if (sasl_client_step(c, NULL, &out, &done, e) != 0)
            goto out;
        /* RFC 5034 §4: "=" is an empty initial response. */
        line = xasprintf("AUTH %s %s", mech, *out ? out : "=");
        if (strlen(line) <= AUTH_LINE_MAX) {
            trace = POP3_TRACE_WORD;
            xfree_secret(&out);
        } else {
            xfree_secret(&line);
            line = xasprintf("AUTH %s", mech);
            pending = out;
            out = NULL;
        }
    } else {
        line = xasprintf("AUTH %s", mech);
    }

    for (;;) {
        if (pop3_command(s, POP3_CMD_AUTH, line, trace, &st, e) != 0)
            goto out;
        xfree_secret(&line);
        if (st.kind == POP3_ERR) {
            auth_refused(s, &st, mech, e);
            goto out;
        }
        if (st.kind == POP3_OK)
            break;
        /* A continuation. */
        trace = POP3_TRACE_NONE;
        if (pending) {
            /* The empty challenge after a bare AUTH: now the initial
             * response. */
            if (st.text.len != 0) {
                err_set_server(e, st.text.p, st.text.len);
                err_set(e, MP_EPROTO, _("authentication failed (method "
                        "%s): unexpected challenge"), mech);
                cancel(s, "*", e);
                goto out;
            }
            line = pending;
            pending = NULL;
            continue;
        }
        in = challenge_text(&st);
        if (done && *in) {
            free(in);
            err_set(e, MP_EPROTO, _("authentication failed (method %s): "
                    "unexpected challenge after the last step"), mech);
            cancel(s, "*", e);
            goto out;
        }
        if (done) {
            /* RFC 5034 §4: no additional data with success in POP3; an
             * empty challenge gets an empty response. */
            free(in);
            line = xstrdup("");
            continue;
        }
        if (sasl_client_step(c, in, &out, &done, e) != 0) {
            free(in);
            if (e->kind == MP_EAUTH) {
                /* RFC 7628 §3.2.3: an OAuth2 error challenge; answer it
                 * (^A; XOAUTH2: empty) and take the server's -ERR. */
                const char *ack = strcmp(mech, "OAUTHBEARER") == 0
                                  ? "AQ==" : "";

                if (pop3_command(s, POP3_CMD_AUTH, ack, POP3_TRACE_ALL, &st,
                                 e) != 0)
                    goto out;
                if (st.kind == POP3_ERR) {
                    auth_refused(s, &st, mech, e);
                    goto out;
                }
                err_set(e, MP_EPROTO, _("authentication failed (method "
                        "%s): the server did not end the exchange after "
                        "an error"), mech);
                goto out;
            }
            err_prefix(e, _("authentication failed (method %s): "), mech);
            cancel(s, "*", e);
            goto out;
        }
        free(in);
        line = out;
        out = NULL;
    }
    /* +OK.  A SCRAM server proves that it knows the password in its last
     * challenge; a server that skips it may be anyone. */
    if (!done && strncmp(mech, "SCRAM-", 6) == 0) {
        err_set(e, MP_EPROTO, _("authentication failed (method %s): the "
                "server did not prove its identity"), mech);
        goto out;
    }
    pop3_set_authenticated(s);
    ret = 0;
out:
    sasl_client_free(&c);
    xfree_secret(&pw);
    xfree_secret(&out);
    xfree_secret(&line);
    xfree_secret(&pending);
    if (cb) {
        gnutls_memset(cb, 0, sp.cb_len);
        free(cb);
    }
    return ret;
}

static bool user_listed(const struct pop3_session *s)
{
    /* RFC 2449 §6.3: a server with CAPA lists USER when it takes it;
     * without CAPA we cannot know, and RFC 1939 servers all do. */
    return !pop3_has_capa(s) || (pop3_caps(s)->flags & POP3_CAP_USER);
}

static bool sasl_offered(const struct pop3_session *s, const char *mech)
{
    return pop3_has_capa(s) && pop3_caps_has_sasl(pop3_caps(s), mech);
}

/* The automatic choice, best first.  With TLS the channel-bound SCRAM
 * variants, then SCRAM, PLAIN, APOP and USER (as listed in CAPA), then
 * the obsolete mechanisms, and last USER even when CAPA does not list
 * it: mpop 1.4.18 sends USER to such a server too (checked 2026-11-24).
 * Without TLS only SCRAM: mpop 1.4.18 chooses neither APOP nor CRAM-MD5
 * there (an eavesdropper can guess the password offline from both), and
 * exits EX_UNAVAILABLE. */
static const char *const auto_order[] = {
    "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
    "SCRAM-SHA-1", "PLAIN", "APOP", "USER", "CRAM-MD5", "DIGEST-MD5",
    "LOGIN", "NTLM", NULL
};

/* Whether method can run now: the server offers it and this build has
 * it (and TLS for the -PLUS variants). */
static bool can_run(const struct pop3_session *s,
                    const struct pop3_auth_params *p, const char *method)
{
    int flags;

    if (strcmp(method, "USER") == 0)
        return user_listed(s);
    if (strcmp(method, "APOP") == 0)
        return pop3_apop_timestamp(s) != NULL;
    flags = sasl_mech_flags(method);
    if (flags < 0 || !sasl_mech_supported(method)
        || !sasl_offered(s, method))
        return false;
    return !(flags & SASL_PLUS) || (p->tls && p->transport);
}

static int run(struct pop3_session *s, const struct pop3_auth_params *p,
               const char *method, struct mp_err *e)
{
    if (strcmp(method, "USER") == 0)
        return auth_user(s, p, e);
    if (strcmp(method, "APOP") == 0)
        return auth_apop(s, p, e);
    return auth_sasl(s, p, method, e);
}

/* With an OAuth2 token only its two mechanisms make sense: RFC 7628's
 * OAUTHBEARER first, then Google's and Microsoft's XOAUTH2.  A bearer
 * token is as good as a password to whoever reads it: never without
 * TLS, unless the user named the mechanism. */
static int choose_oauth2(struct pop3_session *s,
                         const struct pop3_auth_params *p, struct mp_err *e)
{
    static const char *const order[] = { "OAUTHBEARER", "XOAUTH2", NULL };

    if (!p->tls)
        return err_set(e, MP_EUNAVAIL, _("an OAuth2 token is never sent "
                       "without TLS; use TLS or choose a method with the "
                       "auth command"));
    for (size_t i = 0; order[i]; i++)
        if (can_run(s, p, order[i]))
            return auth_sasl(s, p, order[i], e);
    return err_set(e, MP_EUNAVAIL, _("the POP3 server supports neither "
                   "OAUTHBEARER nor XOAUTH2, which OAuth2 needs"));
}

/* The password for a chain of attempts: the caller's callback runs once
 * (it may prompt), later attempts get a copy. */
struct pw_cache {
    const struct pop3_auth_params *orig;
    char *pw;
};

static int cached_password(void *ctx, char **pw_r, struct mp_err *e)
{
    struct pw_cache *c = ctx;

    if (!c->pw && c->orig->get_password(c->orig->password_ctx, &c->pw, e)
                  != 0)
        return -1;
    *pw_r = c->pw ? xstrdup(c->pw) : NULL;
    return 0;
}

/* Whether the server answered the last command -ERR and the session is
 * still in the AUTHORIZATION state: RFC 5034 §4 lets the client try again.
 * Nothing else allows another method: a broken exchange, and above all a
 * SCRAM server that failed to prove its identity (MP_EPROTO), may be an
 * impostor, which must get no further attempt with a weaker mechanism. */
static bool refused_by_server(struct pop3_session *s, const struct mp_err *e)
{
    return e->kind == MP_EAUTH && strncmp(e->server, "-ERR", 4) == 0
           && pop3_state(s) == POP3_STATE_AUTHORIZATION;
}

/* One automatic attempt; *next_r says whether another may follow.
 * refusal holds the previous attempt's refusal, if any (kind MP_EOK if
 * none), and receives this one's. */
static int attempt(struct pop3_session *s, const struct pop3_auth_params *p,
                   const char *m, bool *next_r, struct mp_err *refusal,
                   struct mp_err *e)
{
    char q[MP_ERR_SERVER_MAX * 4];

    *next_r = false;
    log_debug(_("auth: trying method %s\n"), m);
    if (run(s, p, m, e) == 0)
        return 0;
    if (refusal->kind != MP_EOK && pop3_state(s) == POP3_STATE_BROKEN) {
        /* The server hung up (or broke off) after refusing the previous
         * method, as some close the connection after a failed login: its
         * refusal says more than the lost connection. */
        log_debug(_("auth: %s failed: %s\n"), m, e->msg);
        *e = *refusal;
        return -1;
    }
    if (!refused_by_server(s, e))
        return -1;
    *refusal = *e;
    /* After a refused PLAIN, USER or LOGIN the password is wrong:
     * more attempts would only count as more failed logins. */
    if (password_only(m))
        return -1;
    *next_r = true;
    log_debug(_("auth: the server refused method %s (%s); trying the "
                "next one\n"), m,
              log_quote(q, sizeof q, e->server, strlen(e->server)));
    return -1;
}

/* The automatic choice, with a fallback in the same session: when the
 * server refuses a mechanism that can fail for other reasons than the
 * password, the next candidate runs.  A refused X-PLUS is followed by X
 * and no other -PLUS mechanism: the channel binding is the likely culprit
 * (Cyrus pop3d 3.6 offers -PLUS under TLS 1.3 but binds to "tls-unique",
 * which RFC 9266 leaves undefined there, and refuses tls-exporter,
 * 2026-12-07). */
static int choose(struct pop3_session *s, const struct pop3_auth_params *p0,
                  struct mp_err *e)
{
    struct pop3_auth_params pp = *p0;
    const struct pop3_auth_params *p = &pp;
    struct pw_cache cache = { p0, NULL };
    bool tried = false, plus_failed = false, next = true;
    bool done[sizeof auto_order / sizeof auto_order[0]] = { false };
    struct mp_err refusal;
    int r = -1;

    if (p0->oauth2)
        return choose_oauth2(s, p0, e);
    err_init(&refusal);

    pp.get_password = cached_password;
    pp.password_ctx = &cache;
    for (size_t i = 0; auto_order[i] && next; i++) {
        const char *m = auto_order[i];
        size_t ml = strlen(m);

        if (done[i] || (!p->tls && strncmp(m, "SCRAM-", 6) != 0)
            || (plus_failed && ml > 5 && strcmp(m + ml - 5, "-PLUS") == 0)
            || !can_run(s, p, m))
            continue;
        tried = true;
        done[i] = true;
        if (attempt(s, p, m, &next, &refusal, e) == 0) {
            r = 0;
            goto out;
        }
        if (next && ml > 5 && strcmp(m + ml - 5, "-PLUS") == 0) {
            plus_failed = true;
            /* The same mechanism without channel binding, now. */
            for (size_t j = i + 1; auto_order[j]; j++)
                if (strlen(auto_order[j]) == ml - 5
                    && strncmp(auto_order[j], m, ml - 5) == 0) {
                    if (can_run(s, p, auto_order[j])) {
                        done[j] = true;
                        if (attempt(s, p, auto_order[j], &next, &refusal,
                                    e) == 0) {
                            r = 0;
                            goto out;
                        }
                    }
                    break;
                }
        }
    }
    if (tried)
        goto out;
    if (p->tls) {
        r = auth_user(s, p, e);
        goto out;
    }
    /* The original exits EX_UNAVAILABLE here, not EX_NOPERM (1.4.18,
     * 2026-11-24), so this is MP_EUNAVAIL; nothing was sent. */
    err_set(e, MP_EUNAVAIL, _("cannot use a secure authentication "
            "method; use TLS or choose a method with the auth command"));
out:
    xfree_secret(&cache.pw);
    return r;
}

int pop3_auth(struct pop3_session *s, const struct pop3_auth_params *p,
              struct mp_err *e)
{
    char name[24];
    size_t n;

    if (pop3_state(s) != POP3_STATE_AUTHORIZATION)
        return err_set(e, MP_ESOFTWARE, _("not in the POP3 authorization "
                       "state"));
    if (bad_user(p->user))
        return err_set(e, MP_ECONFIG, _("a valid user name is required "
                       "for authentication"));
    if (!p->method || !*p->method || strcasecmp(p->method, "on") == 0)
        return choose(s, p, e);

    n = strlen(p->method);
    if (n >= sizeof name)
        return err_set(e, MP_EUNAVAIL, _("authentication method %s is not "
                       "supported"), p->method);
    for (size_t i = 0; i <= n; i++)
        name[i] = (char)(p->method[i] >= 'a' && p->method[i] <= 'z'
                         ? p->method[i] - 'a' + 'A' : p->method[i]);
    /* The user named the method: it runs even without TLS.  USER always
     * (the original sends it whatever CAPA says), APOP when the greeting
     * has a timestamp (auth_apop says why not). */
    if (strcmp(name, "USER") == 0)
        return auth_user(s, p, e);
    if (strcmp(name, "APOP") == 0)
        return auth_apop(s, p, e);
    if (sasl_mech_flags(name) < 0)
        return err_set(e, MP_EUNAVAIL, _("authentication method %s is not "
                       "supported"), p->method);
    if (!sasl_mech_supported(name))
        return err_set(e, MP_EUNAVAIL, _("authentication method %s is not "
                       "supported by this build of mpop"), name);
    if (!sasl_offered(s, name))
        return err_set(e, MP_EUNAVAIL, _("the POP3 server does not support "
                       "authentication method %s"), name);
    return auth_sasl(s, p, name, e);
}
