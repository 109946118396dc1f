#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "gettext.h"
#include "pop3_auth.h"
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

/* The error of a -ERR reply to an authentication command.  Whatever the
 * RFC 3206 code ([IN-USE], [LOGIN-DELAY], [SYS/TEMP], [SYS/PERM], [AUTH]),
 * the kind is MP_EAUTH (EX_NOPERM), as the original mpop exits (checked
 * against 1.4.18, 2026-11-24), so scripts see the same code; the code's
 * meaning stays in the message. */
static int auth_refused(struct pop3_session *s, const struct pop3_status *st,
                        const char *method, struct mp_err *e)
{
    pop3_status_error(s, st, MP_EAUTH, e,
                      _("authentication failed (method %s)"), method);
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

/* The methods, best first for the automatic choice.  sasl.c (issue 6)
 * adds its mechanisms here: each entry says whether the password goes
 * over the wire in clear and whether the server offers it. */
struct method {
    const char *name;
    bool cleartext;
    bool (*available)(const struct pop3_session *s);
    int (*run)(struct pop3_session *s, const struct pop3_auth_params *p,
               struct mp_err *e);
};

static bool user_available(const struct pop3_session *s)
{
    /* RFC 2449 §6.3: a server with CAPA lists USER when it takes it;
     * without CAPA we cannot know, and RFC 1939 servers all do. */
    return !pop3_has_capa(s) || (pop3_caps(s)->flags & POP3_CAP_USER);
}

static bool apop_available(const struct pop3_session *s)
{
    return pop3_apop_timestamp(s) != NULL;
}

static const struct method methods[] = {
    { "USER", true, user_available, auth_user },
    { "APOP", false, apop_available, auth_apop },
};

int pop3_auth(struct pop3_session *s, const struct pop3_auth_params *p,
              struct mp_err *e)
{
    size_t n = sizeof methods / sizeof methods[0];
    bool choose = !p->method || !*p->method
                  || strcasecmp(p->method, "on") == 0;

    if (pop3_state(s) != POP3_STATE_AUTHORIZATION)
        return err_set(e, MP_ESOFTWARE, _("not in the POP3 authorization "
                       "state"));
    if (bad_user(p->user))
        return err_set(e, MP_ECONFIG, _("a valid user name is required "
                       "for authentication"));
    if (!choose) {
        for (size_t i = 0; i < n; i++)
            if (strcasecmp(p->method, methods[i].name) == 0)
                return methods[i].run(s, p, e);
        return err_set(e, MP_EUNAVAIL, _("authentication method %s is not "
                       "supported"), p->method);
    }
    for (size_t i = 0; i < n; i++) {
        if (methods[i].cleartext && !p->tls)
            continue;
        if (methods[i].available(s))
            return methods[i].run(s, p, e);
    }
    /* The original exits EX_UNAVAILABLE here, not EX_NOPERM (1.4.18,
     * 2026-11-24), so this is MP_EUNAVAIL; nothing was sent. */
    if (!p->tls)
        return err_set(e, MP_EUNAVAIL, _("cannot use a secure "
                       "authentication method; use TLS or choose a method "
                       "with the auth command"));
    return err_set(e, MP_EUNAVAIL, _("the POP3 server supports no "
                   "authentication method that mpop knows"));
}
