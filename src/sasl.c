#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>

#ifdef HAVE_LIBGSASL
# include <gsasl.h>
#endif

#include "gettext.h"
#include "sasl.h"
#include "xalloc.h"

const char *const sasl_mech_names[] = {
    "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
    "SCRAM-SHA-256-PLUS", "EXTERNAL", "GSSAPI", "CRAM-MD5", "DIGEST-MD5",
    "LOGIN", "NTLM", "OAUTHBEARER", "XOAUTH2", NULL
};

static const struct {
    const char *name;
    int flags;
} mechs[] = {
    { "PLAIN", SASL_CLEARTEXT | SASL_PASSWORD | SASL_CLIENT_FIRST },
    { "SCRAM-SHA-1", SASL_PASSWORD | SASL_CLIENT_FIRST },
    { "SCRAM-SHA-1-PLUS", SASL_PASSWORD | SASL_CLIENT_FIRST | SASL_PLUS },
    { "SCRAM-SHA-256", SASL_PASSWORD | SASL_CLIENT_FIRST },
    { "SCRAM-SHA-256-PLUS", SASL_PASSWORD | SASL_CLIENT_FIRST | SASL_PLUS },
    /* EXTERNAL: the TLS client certificate authenticates; an empty
     * authorization identity (RFC 4422 appendix A). */
    { "EXTERNAL", SASL_CLIENT_FIRST },
    { "GSSAPI", SASL_CLIENT_FIRST },
    /* CRAM-MD5 and DIGEST-MD5 keep the password from the wire but let an
     * eavesdropper guess it offline, and servers must store it in the
     * clear: RFC 6331 moved DIGEST-MD5 to Historic. */
    { "CRAM-MD5", SASL_PASSWORD | SASL_OBSOLETE },
    { "DIGEST-MD5", SASL_PASSWORD | SASL_OBSOLETE },
    { "LOGIN", SASL_CLEARTEXT | SASL_PASSWORD | SASL_OBSOLETE },
    { "NTLM", SASL_PASSWORD | SASL_CLIENT_FIRST | SASL_OBSOLETE },
    /* A bearer token is as good as a password to whoever sees it. */
    { "OAUTHBEARER", SASL_CLEARTEXT | SASL_PASSWORD | SASL_CLIENT_FIRST },
    { "XOAUTH2", SASL_CLEARTEXT | SASL_PASSWORD | SASL_CLIENT_FIRST },
};

enum builtin_mech { B_NONE, B_PLAIN, B_LOGIN, B_OAUTHBEARER, B_XOAUTH2 };

struct sasl_client {
    char mech[24];
    enum builtin_mech builtin;
    int step;                   /* built-in: steps taken */
    char *user;
    char *password;
    char *host;
    int port;
#ifdef HAVE_LIBGSASL
    Gsasl *ctx;
    Gsasl_session *session;
#endif
};

int sasl_mech_flags(const char *mech)
{
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
        if (strcasecmp(mech, mechs[i].name) == 0)
            return mechs[i].flags;
    return -1;
}

static enum builtin_mech builtin_of(const char *mech)
{
    if (strcasecmp(mech, "PLAIN") == 0)
        return B_PLAIN;
    if (strcasecmp(mech, "LOGIN") == 0)
        return B_LOGIN;
    if (strcasecmp(mech, "OAUTHBEARER") == 0)
        return B_OAUTHBEARER;
    if (strcasecmp(mech, "XOAUTH2") == 0)
        return B_XOAUTH2;
    return B_NONE;
}

bool sasl_mech_builtin(const char *mech)
{
    enum builtin_mech b = builtin_of(mech);

#ifdef HAVE_LIBGSASL
    /* GNU SASL 2.2 lacks both token mechanisms; PLAIN and LOGIN go
     * through it, as in the original. */
    return b == B_OAUTHBEARER || b == B_XOAUTH2;
#else
    return b != B_NONE;
#endif
}

#ifdef HAVE_LIBGSASL
/* One library context for the process: gsasl_init loads every mechanism,
 * which costs more than a session does. */
static Gsasl *gsasl_ctx(void)
{
    static Gsasl *ctx;
    static bool failed;

    if (!ctx && !failed && gsasl_init(&ctx) != GSASL_OK) {
        ctx = NULL;
        failed = true;
    }
    return ctx;
}
#endif

bool sasl_mech_supported(const char *mech)
{
    if (sasl_mech_flags(mech) < 0)
        return false;
    if (sasl_mech_builtin(mech))
        return true;
#ifdef HAVE_LIBGSASL
    {
        Gsasl *ctx = gsasl_ctx();

        return ctx && gsasl_client_support_p(ctx, mech);
    }
#else
    return false;
#endif
}

char *sasl_base64_encode(const void *p, size_t n)
{
    gnutls_datum_t in, out;
    char *s;

    if (n == 0)
        return xstrdup("");
    in.data = (unsigned char *)p;
    in.size = (unsigned)n;
    if (n > 64 * 1024 * 1024 || gnutls_base64_encode2(&in, &out) < 0) {
        /* Only a failed allocation makes GnuTLS fail here. */
        fputs("mpop: out of memory\n", stderr);
        exit(70);
    }
    s = xstrndup((const char *)out.data, out.size);
    gnutls_memset(out.data, 0, out.size);
    gnutls_free(out.data);
    return s;
}

int sasl_base64_decode(const char *b64, unsigned char **out_r, size_t *len_r,
                       struct mp_err *e)
{
    gnutls_datum_t in, out;
    size_t n = strlen(b64);

    *out_r = NULL;
    *len_r = 0;
    if (n == 0) {
        *out_r = (unsigned char *)xstrdup("");
        return 0;
    }
    in.data = (unsigned char *)b64;
    in.size = (unsigned)n;
    /* GnuTLS skips line breaks; the server's line has none, so anything it
     * would skip is already an error. */
    if (n > 64 * 1024 * 1024 || strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "abcdefghijklmnopqrstuvwxyz"
                                        "0123456789+/=") != n
        || gnutls_base64_decode2(&in, &out) < 0)
        return err_set(e, MP_EPROTO, _("the POP3 server sent invalid "
                       "base64 data"));
    *out_r = xmalloc((size_t)out.size + 1);
    memcpy(*out_r, out.data, out.size);
    (*out_r)[out.size] = '\0';
    *len_r = out.size;
    gnutls_memset(out.data, 0, out.size);
    gnutls_free(out.data);
    return 0;
}

static void wipe_free(unsigned char **pp, size_t n)
{
    if (*pp) {
        gnutls_memset(*pp, 0, n);
        free(*pp);
        *pp = NULL;
    }
}

/* RFC 5801 §4 saslname: ',' and '=' are escaped. */
static char *saslname(const char *s)
{
    size_t n = 0;
    char *out, *q;

    for (const char *p = s; *p; p++)
        n += (*p == ',' || *p == '=') ? 3 : 1;
    out = q = xmalloc(n + 1);
    for (const char *p = s; *p; p++) {
        if (*p == ',') {
            memcpy(q, "=2C", 3);
            q += 3;
        } else if (*p == '=') {
            memcpy(q, "=3D", 3);
            q += 3;
        } else {
            *q++ = *p;
        }
    }
    *q = '\0';
    return out;
}

/* The initial response of a built-in mechanism, raw, in *raw_r (wiped and
 * freed by the caller) of *len_r bytes. */
static void builtin_initial(const struct sasl_client *c, unsigned char **raw_r,
                            size_t *len_r)
{
    size_t ul = strlen(c->user), pl = strlen(c->password);
    char *s = NULL;

    switch (c->builtin) {
    case B_PLAIN:
        /* RFC 4616 §2: [authzid] NUL authcid NUL passwd; no authzid. */
        *len_r = 1 + ul + 1 + pl;
        *raw_r = xmalloc(*len_r + 1);
        (*raw_r)[0] = '\0';
        memcpy(*raw_r + 1, c->user, ul);
        (*raw_r)[1 + ul] = '\0';
        memcpy(*raw_r + 2 + ul, c->password, pl);
        (*raw_r)[*len_r] = '\0';
        return;
    case B_OAUTHBEARER: {
        /* RFC 7628 §3.1: a GS2 header without channel binding and with
         * the user as authorization identity, then key=value pairs, each
         * ended by ^A, and a final ^A. */
        char *name = saslname(c->user);
        char port[24] = "";
        char *host = c->host && *c->host
                     ? xasprintf("host=%s\001", c->host) : xstrdup("");

        if (c->port > 0)
            snprintf(port, sizeof port, "port=%d\001", c->port);
        s = xasprintf("n,a=%s,\001%s%sauth=Bearer %s\001\001", name, host,
                      port, c->password);
        free(name);
        free(host);
        break;
    }
    case B_XOAUTH2:
        /* Google's and Microsoft's XOAUTH2: user=U ^A auth=Bearer T ^A^A */
        s = xasprintf("user=%s\001auth=Bearer %s\001\001", c->user,
                      c->password);
        break;
    default:
        s = xstrdup("");
        break;
    }
    *len_r = strlen(s);
    *raw_r = (unsigned char *)s;
}

static int builtin_step(struct sasl_client *c, const char *in_b64,
                        char **out_b64_r, bool *done_r, struct mp_err *e)
{
    unsigned char *raw = NULL, *in = NULL;
    size_t len = 0, inlen = 0;
    int step = c->step++;

    *done_r = false;
    if (in_b64 && sasl_base64_decode(in_b64, &in, &inlen, e) != 0)
        return -1;
    switch (c->builtin) {
    case B_PLAIN:
        if (step > 0 || (in_b64 && inlen > 0)) {
            wipe_free(&in, inlen);
            return err_set(e, MP_EPROTO, _("unexpected challenge in the "
                           "%s exchange"), c->mech);
        }
        builtin_initial(c, &raw, &len);
        *done_r = true;
        break;
    case B_LOGIN:
        /* The draft's LOGIN: the server asks "User Name" and then
         * "Password" (the prompt texts vary between servers and are
         * ignored); no initial response. */
        if (!in_b64 || step > 1) {
            wipe_free(&in, inlen);
            return err_set(e, MP_EPROTO, _("unexpected challenge in the "
                           "%s exchange"), c->mech);
        }
        if (step == 0) {
            raw = (unsigned char *)xstrdup(c->user);
        } else {
            raw = (unsigned char *)xstrdup(c->password);
            *done_r = true;
        }
        len = strlen((char *)raw);
        break;
    case B_OAUTHBEARER:
    case B_XOAUTH2:
        if (step == 0 && (!in_b64 || inlen == 0)) {
            builtin_initial(c, &raw, &len);
            /* Not done: the server may still answer with an error
             * report, which the next step must see. */
            break;
        }
        /* RFC 7628 §3.2.2: a challenge after the client's response is an
         * error report (JSON); the client answers with a lone ^A (XOAUTH2:
         * an empty line) and the server then fails the command. */
        wipe_free(&in, inlen);
        err_set(e, MP_EAUTH, _("the server rejected the OAuth2 token"));
        return -1;
    default:
        wipe_free(&in, inlen);
        return err_set(e, MP_ESOFTWARE, _("no built-in code for %s"),
                       c->mech);
    }
    wipe_free(&in, inlen);
    *out_b64_r = sasl_base64_encode(raw, len);
    wipe_free(&raw, len);
    return 0;
}

#ifdef HAVE_LIBGSASL
static int gsasl_start(struct sasl_client *c, const struct sasl_params *p,
                       struct mp_err *e)
{
    int r;

    c->ctx = gsasl_ctx();
    if (!c->ctx)
        return err_set(e, MP_ESOFTWARE, _("cannot initialise GNU SASL"));
    r = gsasl_client_start(c->ctx, c->mech, &c->session);
    if (r != GSASL_OK)
        return err_set(e, MP_ESOFTWARE, _("GNU SASL cannot start %s: %s"),
                       c->mech, gsasl_strerror(r));
    /* Properties are set before the first step, so no callback is
     * needed: the library asks for nothing we do not have. */
    if (p->user)
        gsasl_property_set(c->session, GSASL_AUTHID, p->user);
    if (p->password)
        gsasl_property_set(c->session, GSASL_PASSWORD, p->password);
    /* RFC 5034 §3: the GSSAPI service name of POP3 is "pop". */
    gsasl_property_set(c->session, GSASL_SERVICE, "pop");
    if (p->host)
        gsasl_property_set(c->session, GSASL_HOSTNAME, p->host);
    if (p->ntlm_domain)
        gsasl_property_set(c->session, GSASL_REALM, p->ntlm_domain);
    if (p->cb_type && p->cb_len > 0) {
        char *b64 = sasl_base64_encode(p->cb_data, p->cb_len);
        Gsasl_property prop;

        if (strcmp(p->cb_type, "tls-exporter") == 0) {
            prop = GSASL_CB_TLS_EXPORTER;
        } else if (strcmp(p->cb_type, "tls-unique") == 0) {
            prop = GSASL_CB_TLS_UNIQUE;
        } else {
            free(b64);
            return err_set(e, MP_ESOFTWARE, _("unknown channel binding "
                           "type %s"), p->cb_type);
        }
        gsasl_property_set(c->session, prop, b64);
        free(b64);
    }
    return 0;
}

static int gsasl_do_step(struct sasl_client *c, const char *in_b64,
                         char **out_b64_r, bool *done_r, struct mp_err *e)
{
    char *out = NULL;
    int r;

    *done_r = false;
    if (in_b64 && strspn(in_b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "abcdefghijklmnopqrstuvwxyz0123456789+/=")
                  != strlen(in_b64))
        return err_set(e, MP_EPROTO, _("the POP3 server sent invalid "
                       "base64 data"));
    r = gsasl_step64(c->session, in_b64 ? in_b64 : "", &out);
    if (r != GSASL_OK && r != GSASL_NEEDS_MORE) {
        if (out)
            gsasl_free(out);
        return err_set(e, r == GSASL_AUTHENTICATION_ERROR ? MP_EAUTH
                       : MP_EPROTO, "%s", gsasl_strerror(r));
    }
    *done_r = (r == GSASL_OK);
    *out_b64_r = xstrdup(out ? out : "");
    if (out) {
        gnutls_memset(out, 0, strlen(out));
        gsasl_free(out);
    }
    return 0;
}
#endif

int sasl_client_new(const char *mech, const struct sasl_params *p,
                    struct sasl_client **c_r, struct mp_err *e)
{
    int flags = sasl_mech_flags(mech);
    struct sasl_client *c;
    bool builtin;

    *c_r = NULL;
    if (flags < 0)
        return err_set(e, MP_EUNAVAIL, _("authentication method %s is not "
                       "supported"), mech);
    builtin = sasl_mech_builtin(mech)
              || (p->builtin && builtin_of(mech) != B_NONE);
    if (!builtin && !sasl_mech_supported(mech))
        return err_set(e, MP_EUNAVAIL, _("authentication method %s is not "
                       "supported by this build"), mech);
    if ((flags & SASL_PASSWORD) && !p->password)
        return err_set(e, MP_ECONFIG, _("%s needs a password"), mech);
    if ((flags & SASL_PLUS) && (!p->cb_type || p->cb_len == 0))
        return err_set(e, MP_EUNAVAIL, _("%s needs TLS channel binding"),
                       mech);
    if (!p->user && strcasecmp(mech, "EXTERNAL") != 0
        && strcasecmp(mech, "GSSAPI") != 0)
        return err_set(e, MP_ECONFIG, _("%s needs a user name"), mech);

    c = xcalloc(1, sizeof *c);
    for (size_t i = 0; i < sizeof c->mech - 1 && mech[i]; i++)
        c->mech[i] = (char)(mech[i] >= 'a' && mech[i] <= 'z'
                            ? mech[i] - 'a' + 'A' : mech[i]);
    c->user = xstrdup(p->user ? p->user : "");
    c->password = xstrdup(p->password ? p->password : "");
    c->host = p->host ? xstrdup(p->host) : NULL;
    c->port = p->port;
    if (builtin) {
        c->builtin = builtin_of(mech);
    } else {
#ifdef HAVE_LIBGSASL
        if (gsasl_start(c, p, e) != 0) {
            sasl_client_free(&c);
            return -1;
        }
#endif
    }
    *c_r = c;
    return 0;
}

int sasl_client_step(struct sasl_client *c, const char *in_b64,
                     char **out_b64_r, bool *done_r, struct mp_err *e)
{
    *out_b64_r = NULL;
    if (c->builtin != B_NONE)
        return builtin_step(c, in_b64, out_b64_r, done_r, e);
#ifdef HAVE_LIBGSASL
    return gsasl_do_step(c, in_b64, out_b64_r, done_r, e);
#else
    *done_r = false;
    return err_set(e, MP_ESOFTWARE, _("no code for %s"), c->mech);
#endif
}

const char *sasl_client_mech(const struct sasl_client *c)
{
    return c->mech;
}

void sasl_client_free(struct sasl_client **cp)
{
    struct sasl_client *c = *cp;

    if (!c)
        return;
#ifdef HAVE_LIBGSASL
    if (c->session)
        gsasl_finish(c->session);
#endif
    free(c->user);
    xfree_secret(&c->password);
    free(c->host);
    free(c);
    *cp = NULL;
}
