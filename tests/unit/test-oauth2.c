/* The OAuth2 token store without a network (oauth2.h): a grant stored in
 * a token file (mode 0600, written atomically), its cached access token
 * handed out without a request, a record of another client or endpoint
 * not taken, a file others can read refused, where "no sign-in" looked;
 * and the percent-encoding of form fields (oauth2_http.h).  The refresh,
 * the flows and the key ring run against real servers in
 * tests/integration/oauth2.sh. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "conf.h"
#include "oauth2.h"
#include "oauth2_http.h"
#include "tap.h"
#include "xalloc.h"

#ifdef HAVE_OAUTH2
# include <json-c/json.h>

static char dir[] = "/tmp/test-oauth2-XXXXXX";

static struct account *load(const char *extra)
{
    struct account_list l = { NULL, 0 };
    struct account *a = NULL;
    struct mp_err e;
    char *text = xasprintf("account a\nhost h\nuser joe\n"
                           "oauth2_provider custom\n"
                           "oauth2_client_id cid\n"
                           "oauth2_token_endpoint https://127.0.0.1:1/t\n"
                           "oauth2_device_endpoint https://127.0.0.1:1/d\n"
                           "oauth2_token_file %s/tok.json\n%s", dir, extra);
    FILE *f = fmemopen(text, strlen(text), "r");

    err_init(&e);
    if (f && conf_load(f, "rc", &l, &e) == 0 && l.n == 1)
        a = account_copy(l.v[0], NULL);
    if (f)
        fclose(f);
    account_list_clear(&l);
    free(text);
    return a;
}

static struct json_object *reply(const char *access, long long expires_in)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "access_token", json_object_new_string(access));
    json_object_object_add(o, "token_type", json_object_new_string("bearer"));
    json_object_object_add(o, "refresh_token",
                           json_object_new_string("RT-one"));
    json_object_object_add(o, "expires_in",
                           json_object_new_int64(expires_in));
    return o;
}

static void test_store(void)
{
    struct account *a = load(""), *other;
    struct json_object *r;
    struct mp_err e;
    struct stat st;
    char *tok = NULL, *path = xasprintf("%s/tok.json", dir);

    err_init(&e);
    ok(a != NULL, "account loads");
    is_int(oauth2_access_token(a, &tok, &e), -1, "nothing stored: fails");
    is_int(e.kind, MP_EAUTH, "nothing stored: MP_EAUTH (exit 77)");
    ok(strstr(e.msg, "no OAuth2 sign-in stored in ") != NULL
       && strstr(e.msg, "sign in again with: mpop --oauth2-login a")
       != NULL, "nothing stored: names the file and the command: %s",
       e.msg);

    r = reply("AT-cached", 3600);
    err_init(&e);
    is_int(oauth2_store_grant(a, r, &e), 0, "a grant is stored");
    json_object_put(r);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
       "the token file is private (0600)");

    err_init(&e);
    is_int(oauth2_access_token(a, &tok, &e), 0,
           "a valid access token is handed out without a request");
    is_str(tok, "AT-cached", "the cached access token");
    xfree_secret(&tok);

    /* Another client ID with the same file: not its sign-in. */
    other = load("oauth2_client_id other\n");
    err_init(&e);
    is_int(oauth2_access_token(other, &tok, &e), -1,
           "another client's record is not taken");
    account_free(&other);

    /* Another user with the same file (oauth2_token_file shared by
     * mistake): not his sign-in either. */
    other = load("user ann\n");
    err_init(&e);
    is_int(oauth2_access_token(other, &tok, &e), -1,
           "another user's record is not taken");
    xfree_secret(&tok);
    account_free(&other);

    /* Forgetting the access token keeps the refresh token: the next
     * run must refresh, here at an endpoint that cannot answer. */
    oauth2_forget_access_token(a);
    err_init(&e);
    is_int(oauth2_access_token(a, &tok, &e), -1,
           "a forgotten token needs a refresh");
    is_int(e.kind, MP_ETEMP, "an unreachable token endpoint: MP_ETEMP (75)");
    ok(strstr(e.msg, "cannot refresh the OAuth2 access token") != NULL,
       "the refresh is named: %s", e.msg);

    /* Within the margin before expiry: refreshed too. */
    r = reply("AT-soon", OAUTH2_MARGIN - 1);
    err_init(&e);
    oauth2_store_grant(a, r, &e);
    json_object_put(r);
    err_init(&e);
    is_int(oauth2_access_token(a, &tok, &e), -1,
           "a token about to expire is not used");

    chmod(path, 0644);
    err_init(&e);
    is_int(oauth2_access_token(a, &tok, &e), -1,
           "a token file others can read is refused");
    is_int(e.kind, MP_ECONFIG, "as a configuration error");

    account_free(&a);
    unlink(path);
    free(path);
}

/* A hostile or broken token endpoint's expires_in: huge (as a number or a
 * string of digits) must not overflow the expiry time, negative means
 * already expired. */
static void test_expires_in(void)
{
    struct account *a = load("");
    struct json_object *r;
    struct mp_err e;
    char *tok = NULL, *path = xasprintf("%s/tok.json", dir);

    r = reply("AT-huge", 9223372036854775807LL);
    err_init(&e);
    is_int(oauth2_store_grant(a, r, &e), 0, "expires_in 2^63-1: stored");
    json_object_put(r);
    err_init(&e);
    is_int(oauth2_access_token(a, &tok, &e), 0,
           "expires_in 2^63-1: the token is valid, not wrapped into the "
           "past");
    xfree_secret(&tok);

    r = reply("AT-str", 0);
    json_object_object_add(r, "expires_in",
                           json_object_new_string("99999999999999999999"));
    err_init(&e);
    is_int(oauth2_store_grant(a, r, &e), 0, "expires_in a huge string: "
           "stored");
    json_object_put(r);
    err_init(&e);
    is_int(oauth2_access_token(a, &tok, &e), 0,
           "expires_in a huge string: the token is valid");
    xfree_secret(&tok);

    /* The helper the device flow's expires_in goes through too. */
    r = reply("x", 0);
    json_object_object_add(r, "n", json_object_new_string("-3"));
    json_object_object_add(r, "big", json_object_new_int64(1LL << 62));
    json_object_object_add(r, "bad", json_object_new_string("12s"));
    ok(oauth2_json_seconds(r, "n", 5, 100) == 0
       && oauth2_json_seconds(r, "big", 5, 100) == 100
       && oauth2_json_seconds(r, "bad", 5, 100) == 5
       && oauth2_json_seconds(r, "none", 7, 100) == 7
       && oauth2_json_seconds(r, "expires_in", 7, 100) == 0,
       "oauth2_json_seconds: 0..max, the default when absent or broken");
    json_object_put(r);

    /* A token_type from the server is quoted in the message: no
     * terminal escape from a hostile endpoint reaches stderr. */
    r = reply("AT-type", 3600);
    json_object_object_add(r, "token_type",
                           json_object_new_string("\033]0;owned\007mac"));
    err_init(&e);
    is_int(oauth2_store_grant(a, r, &e), -1, "token_type mac: refused");
    json_object_put(r);
    ok(strchr(e.msg, '\033') == NULL && strchr(e.msg, '\007') == NULL,
       "the server's token_type is quoted in the message");

    r = reply("AT-neg", -9223372036854775807LL - 1);
    err_init(&e);
    is_int(oauth2_store_grant(a, r, &e), 0, "expires_in -2^63: stored");
    json_object_put(r);
    err_init(&e);
    is_int(oauth2_access_token(a, &tok, &e), -1,
           "expires_in -2^63: expired, a refresh is needed");
    is_int(e.kind, MP_ETEMP, "(at an endpoint that cannot answer)");

    account_free(&a);
    unlink(path);
    free(path);
}

/* A provider's error that echoes what was sent (the client secret, the
 * refresh token, the code) must not put it in the message, which goes to
 * stderr and the log. */
static void test_reply_echo(void)
{
    struct account *a = load("oauth2_client_secret CS-hush-1234\n");
    struct json_object *r = json_object_new_object();
    struct mp_err e;

    json_object_object_add(r, "error",
                           json_object_new_string("invalid_client"));
    json_object_object_add(r, "error_description", json_object_new_string(
        "client_secret CS-hush-1234 is wrong"));
    err_init(&e);
    is_int(oauth2_reply_error(a, 401, r, "refresh", true, NULL, &e), -1,
           "a 401 reply is an error");
    is_int(e.kind, MP_EAUTH, "a 401 reply: MP_EAUTH (77)");
    ok(strstr(e.msg, "CS-hush-1234") == NULL
       && strstr(e.msg, "invalid_client") != NULL
       && strstr(e.msg, "is wrong") != NULL,
       "the echoed client secret is not in the message: %s", e.msg);
    json_object_put(r);

    r = json_object_new_object();
    json_object_object_add(r, "error", json_object_new_string(
        "bad_RT-9f8e7d"));
    json_object_object_add(r, "error_description", json_object_new_string(
        "RT-9f8e7d RT-9f8e7dRT-9f8e7d and CODE-xxxx-42 refused"));
    {
        const char *sent[] = { "RT-9f8e7d", "CODE-xxxx-42", "xxxx", NULL };

        err_init(&e);
        oauth2_reply_error(a, 503, r, "refresh", true, sent, &e);
        is_int(e.kind, MP_ETEMP, "a 503 reply: MP_ETEMP (75)");
        ok(strstr(e.msg, "RT-9f8e7d") == NULL, "503: the echoed token "
           "is not in the message: %s", e.msg);
        err_init(&e);
        oauth2_reply_error(a, 400, r, "refresh", true, sent, &e);
        ok(strstr(e.msg, "RT-9f8e7d") == NULL
           && strstr(e.msg, "CODE-xxxx-42") == NULL
           && strstr(e.msg, "bad_xxxx") != NULL
           && strstr(e.msg, "xxxx xxxxxxxx and xxxx refused") != NULL,
           "400: every echoed secret becomes xxxx: %s", e.msg);
    }
    json_object_put(r);
    account_free(&a);
}

static void test_escape(void)
{
    char *s = oauth2_url_escape("a b&c=d/é~-._");

    is_str(s, "a%20b%26c%3Dd%2F%C3%A9~-._", "percent-encoding (RFC 3986)");
    free(s);
}

int main(void)
{
    char *lock;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* No key ring is asked: oauth2_token_file is set.  No HOME file is
     * touched either. */
    setenv("HOME", dir, 1);
    test_escape();
    test_store();
    test_expires_in();
    test_reply_echo();
    lock = xasprintf("%s/tok.json.lock", dir);
    unlink(lock);
    free(lock);
    rmdir(dir);
    return done_testing();
}
#else
int main(void)
{
    plan(0);
    return done_testing();
}
#endif
