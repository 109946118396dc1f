/* sasl.c: the built-in encoders byte for byte, their errors, base64, and
 * (with GNU SASL) whole exchanges against GNU SASL's own server side in
 * this process: SCRAM with and without channel binding, CRAM-MD5,
 * DIGEST-MD5, PLAIN and LOGIN, each with the right and a wrong password. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBGSASL
# include <gsasl.h>
#endif

#include "sasl.h"
#include "tap.h"
#include "xalloc.h"

struct enc_case {
    const char *name;
    const char *mech;
    const char *user, *password, *host;
    int port;
    const char *want;       /* base64 of the initial response */
};

static void test_initial(void)
{
    const struct enc_case cases[] = {
        /* RFC 4616: NUL joe NUL secret (also what mpop 1.4.18 sends) */
        { "PLAIN", "PLAIN", "joe", "secret", NULL, 0, "AGpvZQBzZWNyZXQ=" },
        /* user=joe@example.com ^A auth=Bearer ya29.tok ^A ^A */
        { "XOAUTH2", "XOAUTH2", "joe@example.com", "ya29.tok", NULL, 0,
          "dXNlcj1qb2VAZXhhbXBsZS5jb20BYXV0aD1CZWFyZXIgeWEyOS50b2sBAQ==" },
        /* n,a=a=3Db=2Cc@example.com, ^A host=pop.example.com ^A port=995
         * ^A auth=Bearer ya29.tok ^A ^A: RFC 5801 escapes '=' and ',' */
        { "OAUTHBEARER with host, port, escapes", "OAUTHBEARER",
          "a=b,c@example.com", "ya29.tok", "pop.example.com", 995,
          "bixhPWE9M0RiPTJDY0BleGFtcGxlLmNvbSwBaG9zdD1wb3AuZXhhbXBsZS5jb20B"
          "cG9ydD05OTUBYXV0aD1CZWFyZXIgeWEyOS50b2sBAQ==" },
        /* n,a=joe, ^A auth=Bearer t ^A ^A */
        { "OAUTHBEARER without host and port", "OAUTHBEARER", "joe", "t",
          NULL, 0, "bixhPWpvZSwBYXV0aD1CZWFyZXIgdAEB" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct enc_case *c = &cases[i];
        struct sasl_params p = {
            .user = c->user, .password = c->password, .host = c->host,
            .port = c->port, .builtin = true,
        };
        struct sasl_client *cl = NULL;
        struct mp_err e;
        char *out = NULL;
        bool done = false;

        err_init(&e);
        if (!ok(sasl_client_new(c->mech, &p, &cl, &e) == 0, "%s: new (%s)",
                c->name, e.msg))
            continue;
        ok(sasl_client_step(cl, NULL, &out, &done, &e) == 0, "%s: step",
           c->name);
        is_str(out, c->want, "%s: exact bytes", c->name);
        /* OAuth2: not done, the server may still send an error report */
        ok(done == (strcmp(c->mech, "PLAIN") == 0),
           "%s: done after one step: %d", c->name, done);
        xfree_secret(&out);
        sasl_client_free(&cl);
        ok(cl == NULL, "%s: free clears the pointer", c->name);
    }
}

static void test_login(void)
{
    struct sasl_params p = {
        .user = "joe", .password = "secret", .builtin = true,
    };
    struct sasl_client *c = NULL;
    struct mp_err e;
    char *out = NULL;
    bool done = true;

    err_init(&e);
    ok(sasl_client_new("login", &p, &c, &e) == 0, "LOGIN: new, any case");
    is_str(sasl_client_mech(c), "LOGIN", "LOGIN: name upper case");
    /* "Username:" then "Password:"; the prompt text is ignored. */
    ok(sasl_client_step(c, "VXNlcm5hbWU6", &out, &done, &e) == 0 && !done,
       "LOGIN: first challenge");
    is_str(out, "am9l", "LOGIN: the user name");
    xfree_secret(&out);
    ok(sasl_client_step(c, "UGFzc3dvcmQ6", &out, &done, &e) == 0 && done,
       "LOGIN: second challenge");
    is_str(out, "c2VjcmV0", "LOGIN: the password");
    xfree_secret(&out);
    ok(sasl_client_step(c, "", &out, &done, &e) == -1
       && e.kind == MP_EPROTO, "LOGIN: a third challenge is an error");
    sasl_client_free(&c);
    sasl_client_free(&c);
    ok(1, "free is NULL-safe");
}

struct err_case {
    const char *name;
    const char *mech;
    const char *password;
    bool plus;
    const char *challenge;  /* after the initial response; NULL: none */
    int new_ret, step_ret;
    enum mp_err_kind kind;
};

static void test_errors(void)
{
    static const unsigned char cb[] = "0123456789abcdef";
    const struct err_case cases[] = {
        { "unknown mechanism", "FOO-BAR", "x", false, NULL, -1, 0,
          MP_EUNAVAIL },
        { "PLAIN without a password", "PLAIN", NULL, false, NULL, -1, 0,
          MP_ECONFIG },
        { "SCRAM-SHA-256-PLUS without channel binding",
          "SCRAM-SHA-256-PLUS", "x", false, NULL, -1, 0, MP_EUNAVAIL },
        { "PLAIN then a challenge", "PLAIN", "x", false, "YWJj", 0, -1,
          MP_EPROTO },
        { "XOAUTH2 error report", "XOAUTH2", "t", false,
          "eyJzdGF0dXMiOiI0MDEifQ==", 0, -1, MP_EAUTH },
        { "OAUTHBEARER error report", "OAUTHBEARER", "t", false,
          "eyJzdGF0dXMiOiI0MDEifQ==", 0, -1, MP_EAUTH },
        { "OAUTHBEARER invalid base64", "OAUTHBEARER", "t", false,
          "!!!notbase64", 0, -1, MP_EPROTO },
        { "XOAUTH2 base64 with a space", "XOAUTH2", "t", false, "YW Jj", 0,
          -1, MP_EPROTO },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct err_case *c = &cases[i];
        struct sasl_params p = {
            .user = "joe", .password = c->password, .builtin = true,
        };
        struct sasl_client *cl = NULL;
        struct mp_err e;
        char *out = NULL;
        bool done;
        int r;

        (void)cb;
        err_init(&e);
        r = sasl_client_new(c->mech, &p, &cl, &e);
        if (c->new_ret != 0) {
            ok(r == -1 && e.kind == c->kind && !cl,
               "%s: refused (kind %d, %s)", c->name, e.kind, e.msg);
            continue;
        }
        ok(r == 0, "%s: new", c->name);
        ok(sasl_client_step(cl, NULL, &out, &done, &e) == 0, "%s: initial",
           c->name);
        xfree_secret(&out);
        err_init(&e);
        r = sasl_client_step(cl, c->challenge, &out, &done, &e);
        ok(r == c->step_ret && e.kind == c->kind && !out,
           "%s: kind %d (%s)", c->name, e.kind, e.msg);
        sasl_client_free(&cl);
    }
}

static void test_base64(void)
{
    const char *rows[][2] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foobar", "Zm9vYmFy" },
    };
    const char *bad[] = { "Zg=", "Z", "Zm9v\n", "Zm9v YmFy", "Zm9v*" };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *enc = sasl_base64_encode(rows[i][0], strlen(rows[i][0]));
        unsigned char *dec = NULL;
        size_t len = 0;
        struct mp_err e;

        is_str(enc, rows[i][1], "base64 encode '%s'", rows[i][0]);
        ok(sasl_base64_decode(rows[i][1], &dec, &len, &e) == 0,
           "base64 decode '%s'", rows[i][1]);
        is_mem(dec, len, rows[i][0], strlen(rows[i][0]),
               "base64 round trip '%s'", rows[i][0]);
        free(enc);
        free(dec);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char *dec = (unsigned char *)"x";
        size_t len = 7;
        struct mp_err e;

        err_init(&e);
        ok(sasl_base64_decode(bad[i], &dec, &len, &e) == -1
           && e.kind == MP_EPROTO && dec == NULL && len == 0,
           "base64 rejects row %zu", i);
    }
}

static void test_table(void)
{
    ok(sasl_mech_flags("plain") & SASL_CLEARTEXT, "PLAIN is cleartext");
    ok(!(sasl_mech_flags("SCRAM-SHA-256") & SASL_CLEARTEXT),
       "SCRAM is not cleartext");
    ok(sasl_mech_flags("SCRAM-SHA-1-PLUS") & SASL_PLUS, "-PLUS flag");
    ok(sasl_mech_flags("CRAM-MD5") & SASL_OBSOLETE, "CRAM-MD5 obsolete");
    ok(!(sasl_mech_flags("LOGIN") & SASL_CLIENT_FIRST),
       "LOGIN has no initial response");
    is_int(sasl_mech_flags("SCRAM-SHA-256-PLUSX"), -1, "no prefix match");
    is_int(sasl_mech_flags("USER"), -1, "USER is not SASL");
    ok(sasl_mech_supported("XOAUTH2") && sasl_mech_builtin("XOAUTH2"),
       "XOAUTH2 always built in");
    ok(sasl_mech_supported("OAUTHBEARER")
       && sasl_mech_builtin("OAUTHBEARER"), "OAUTHBEARER always built in");
    ok(sasl_mech_supported("PLAIN") && sasl_mech_supported("LOGIN"),
       "PLAIN and LOGIN in every build");
#ifdef HAVE_LIBGSASL
    ok(!sasl_mech_builtin("PLAIN"), "PLAIN through GNU SASL");
    ok(sasl_mech_supported("SCRAM-SHA-256"), "SCRAM-SHA-256 with GNU SASL");
#else
    ok(sasl_mech_builtin("PLAIN"), "PLAIN built in");
    ok(!sasl_mech_supported("SCRAM-SHA-256"), "no SCRAM without GNU SASL");
#endif
}

#ifdef HAVE_LIBGSASL
/* GNU SASL's server side, as a POP3 server would run it. */
struct srv {
    const char *password;       /* the one the server knows */
    const char *cb_unique;      /* base64 channel binding, server's view */
    const char *cb_exporter;
};

static int srv_cb(Gsasl *ctx, Gsasl_session *sctx, Gsasl_property prop)
{
    struct srv *s = gsasl_callback_hook_get(ctx);

    switch (prop) {
    case GSASL_PASSWORD:
        gsasl_property_set(sctx, prop, s->password);
        return GSASL_OK;
    case GSASL_CB_TLS_UNIQUE:
        gsasl_property_set(sctx, prop, s->cb_unique);
        return GSASL_OK;
    case GSASL_CB_TLS_EXPORTER:
        gsasl_property_set(sctx, prop, s->cb_exporter);
        return GSASL_OK;
    case GSASL_SERVICE:
        gsasl_property_set(sctx, prop, "pop");
        return GSASL_OK;
    case GSASL_HOSTNAME:
        gsasl_property_set(sctx, prop, "pop.example.com");
        return GSASL_OK;
    case GSASL_REALM:
        gsasl_property_set(sctx, prop, "pop.example.com");
        return GSASL_OK;
    case GSASL_VALIDATE_SIMPLE: {
        const char *pw = gsasl_property_fast(sctx, GSASL_PASSWORD);

        return pw && strcmp(pw, s->password) == 0 ? GSASL_OK
               : GSASL_AUTHENTICATION_ERROR;
    }
    default:
        return GSASL_NO_CALLBACK;
    }
}

struct xcase {
    const char *mech;
    const char *client_pw;
    const char *cb_type;        /* client's channel binding type */
    const char *cb_client;      /* client's data */
    const char *cb_server;      /* server's data of that type */
    bool want_ok;
};

/* Runs a whole exchange the way pop3_auth.c does: the client speaks first
 * when the mechanism has an initial response.  Returns 1 when the server
 * accepted, 0 when either side failed. */
static int exchange(Gsasl *ctx, const struct xcase *x, struct srv *s,
                    char *why, size_t whysz)
{
    struct sasl_params p = {
        .user = "joe", .password = x->client_pw, .host = "pop.example.com",
    };
    Gsasl_session *ss = NULL;
    struct sasl_client *c = NULL;
    struct mp_err e;
    char *cout = NULL, *sout = NULL;
    bool cdone = false;
    int r, sr = GSASL_NEEDS_MORE, result = 0;

    err_init(&e);
    s->cb_unique = s->cb_exporter = NULL;
    if (x->cb_type) {
        p.cb_type = x->cb_type;
        p.cb_data = (const unsigned char *)x->cb_client;
        p.cb_len = strlen(x->cb_client);
        char *b64 = sasl_base64_encode(x->cb_server, strlen(x->cb_server));
        static char keep[2][128];

        snprintf(keep[0], sizeof keep[0], "%s", b64);
        free(b64);
        if (strcmp(x->cb_type, "tls-unique") == 0)
            s->cb_unique = keep[0];
        else
            s->cb_exporter = keep[0];
    }
    if (sasl_client_new(x->mech, &p, &c, &e) != 0) {
        snprintf(why, whysz, "client new: %s", e.msg);
        return 0;
    }
    if (gsasl_server_start(ctx, x->mech, &ss) != GSASL_OK) {
        snprintf(why, whysz, "server start");
        goto out;
    }
    if (sasl_mech_flags(x->mech) & SASL_CLIENT_FIRST) {
        if (sasl_client_step(c, NULL, &cout, &cdone, &e) != 0) {
            snprintf(why, whysz, "client initial: %s", e.msg);
            goto out;
        }
    } else {
        cout = xstrdup("");
    }
    for (int round = 0; round < 10; round++) {
        sr = gsasl_step64(ss, cout, &sout);
        xfree_secret(&cout);
        if (sr == GSASL_OK && (!sout || !*sout)) {
            result = 1;
            break;
        }
        if (sr != GSASL_OK && sr != GSASL_NEEDS_MORE) {
            snprintf(why, whysz, "server: %s", gsasl_strerror(sr));
            break;
        }
        r = sasl_client_step(c, sout, &cout, &cdone, &e);
        gsasl_free(sout);
        sout = NULL;
        if (r != 0) {
            snprintf(why, whysz, "client: %s", e.msg);
            break;
        }
        if (sr == GSASL_OK) {
            /* The server's last word was its proof; the client checked
             * it and must be done now. */
            result = cdone;
            if (!cdone)
                snprintf(why, whysz, "client not done");
            break;
        }
    }
out:
    xfree_secret(&cout);
    if (sout)
        gsasl_free(sout);
    if (ss)
        gsasl_finish(ss);
    sasl_client_free(&c);
    return result;
}

static void test_against_gsasl(void)
{
    const struct xcase cases[] = {
        { "SCRAM-SHA-256", "pw,=ä", NULL, NULL, NULL, true },
        { "SCRAM-SHA-256", "wrong", NULL, NULL, NULL, false },
        { "SCRAM-SHA-1", "pw,=ä", NULL, NULL, NULL, true },
        { "SCRAM-SHA-1", "wrong", NULL, NULL, NULL, false },
        { "SCRAM-SHA-256-PLUS", "pw,=ä", "tls-exporter", "cbdata-1",
          "cbdata-1", true },
        { "SCRAM-SHA-256-PLUS", "pw,=ä", "tls-exporter", "cbdata-1",
          "cbdata-2", false },
        { "SCRAM-SHA-1-PLUS", "pw,=ä", "tls-unique", "unique-1",
          "unique-1", true },
        { "SCRAM-SHA-1-PLUS", "pw,=ä", "tls-unique", "unique-1",
          "unique-X", false },
        { "CRAM-MD5", "pw,=ä", NULL, NULL, NULL, true },
        { "CRAM-MD5", "wrong", NULL, NULL, NULL, false },
        { "DIGEST-MD5", "pw,=ä", NULL, NULL, NULL, true },
        { "DIGEST-MD5", "wrong", NULL, NULL, NULL, false },
        { "PLAIN", "pw,=ä", NULL, NULL, NULL, true },
        { "PLAIN", "wrong", NULL, NULL, NULL, false },
        { "LOGIN", "pw,=ä", NULL, NULL, NULL, true },
        { "LOGIN", "wrong", NULL, NULL, NULL, false },
    };
    struct srv s = { .password = "pw,=ä" };
    Gsasl *ctx;

    if (gsasl_init(&ctx) != GSASL_OK) {
        ok(0, "gsasl_init");
        return;
    }
    gsasl_callback_set(ctx, srv_cb);
    gsasl_callback_hook_set(ctx, &s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct xcase *x = &cases[i];
        char why[512] = "";
        int r = exchange(ctx, x, &s, why, sizeof why);

        ok(r == (int)x->want_ok, "%s %s%s%s: %s (%s)", x->mech,
           x->want_ok ? "right" : "wrong", x->cb_type ? " " : "",
           x->cb_type ? x->cb_type : "", r ? "accepted" : "refused", why);
    }
    gsasl_done(ctx);
}
#endif

int main(void)
{
    test_initial();
    test_login();
    test_errors();
    test_base64();
    test_table();
#ifdef HAVE_LIBGSASL
    test_against_gsasl();
#endif
    return done_testing();
}
