#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "gettext.h"
#include "keyring.h"
#include "lock.h"
#include "log.h"
#include "oauth2.h"
#include "oauth2_http.h"
#include "paths.h"
#include "xalloc.h"

bool oauth2_enabled(const struct account *a)
{
    return a->oauth2_provider && *a->oauth2_provider;
}

#ifdef HAVE_OAUTH2
# include <json-c/json.h>

/* A token record is a few KiB at most (Microsoft's tokens are long). */
#define RECORD_MAX (64 * 1024)
/* The longest access token lifetime taken from a token endpoint. */
#define EXPIRES_IN_MAX (365LL * 24 * 3600)

static bool is_set(const char *s)
{
    return s && *s;
}

/* Where a sign-in is kept and how it is locked. */
struct store {
    char *endpoint;     /* the token endpoint (owned) */
    const char *client_id;
    const char *user;
    char *path;         /* the token file */
    char *lockpath;     /* path + ".lock" */
    bool file_only;     /* oauth2_token_file was set: no key ring */
    int lockfd;
};

/* The token endpoint's host, for the default file name and the key ring
 * label: "https://HOST[:PORT]/..." -> "HOST". */
static char *url_host(const char *url)
{
    const char *p = strstr(url, "://"), *end;

    p = p ? p + 3 : url;
    if (*p == '[') {
        end = strchr(p, ']');
        return end ? xstrndup(p + 1, (size_t)(end - p - 1)) : xstrdup(p);
    }
    end = p + strcspn(p, ":/?#");
    return xstrndup(p, (size_t)(end - p));
}

/* A file name from user and host: '/' and control characters become
 * '_', so the name stays in its directory; a leading dot too. */
static char *file_name(const char *user, const char *host)
{
    char *s = xasprintf("%s_at_%s.json", user, host);

    for (char *p = s; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f
            || (p == s && *p == '.'))
            *p = '_';
    return s;
}

static char *default_dir(void)
{
    const char *x = getenv("XDG_STATE_HOME");
    char *home, *d;

    if (x && *x == '/')
        return paths_join(x, "mpop/oauth2");
    home = paths_home();
    d = paths_join(home, ".local/state/mpop/oauth2");
    free(home);
    return d;
}

static int store_init(struct store *st, const struct account *a,
                      struct mp_err *e)
{
    struct account_oauth2 o;

    memset(st, 0, sizeof *st);
    st->lockfd = -1;
    if (!is_set(a->user))
        return err_set(e, MP_ECONFIG, _("account %s: OAuth2 needs the "
                       "user name (the user command)"), a->id);
    account_oauth2_endpoints(a, &o);
    st->endpoint = o.token;
    o.token = NULL;
    account_oauth2_clear(&o);
    if (!st->endpoint)
        return err_set(e, MP_ECONFIG, _("account %s: no "
                       "oauth2_token_endpoint"), a->id);
    st->client_id = a->oauth2_client_id ? a->oauth2_client_id : "";
    st->user = a->user;
    if (is_set(a->oauth2_token_file)) {
        st->path = xstrdup(a->oauth2_token_file);
        st->file_only = true;
    } else {
        char *dir = default_dir(), *host = url_host(st->endpoint);
        char *name = file_name(st->user, host);

        st->path = paths_join(dir, name);
        free(dir);
        free(host);
        free(name);
    }
    st->lockpath = xasprintf("%s.lock", st->path);
    return 0;
}

static void store_clear(struct store *st)
{
    if (st->lockfd >= 0)
        close(st->lockfd);      /* releases the lock */
    free(st->endpoint);
    free(st->path);
    free(st->lockpath);
    memset(st, 0, sizeof *st);
    st->lockfd = -1;
}

static int store_lock(struct store *st, const struct account *a,
                      struct mp_err *e)
{
    /* Long enough for the holder's request to the token endpoint to time
     * out first. */
    int timeout = (a->timeout > 0 ? a->timeout : 180) + 10;

    if (durable_mkdirs_parent(st->lockpath, e) < 0)
        return -1;
    st->lockfd = open(st->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lockfd < 0)
        return err_set_errno(e, MP_ECANTCREAT, errno, _("cannot open %s"),
                             st->lockpath);
    return lock_file(st->lockfd, st->lockpath, true, timeout, e);
}

/* The record as stored. */
struct record {
    char *refresh;          /* may be NULL: a provider without refresh */
    char *access;
    long long expires_at;   /* seconds since the epoch */
    bool in_keyring;        /* where it was found */
    bool no_keyring;        /* the key ring could not be reached */
};

static void record_clear(struct record *r)
{
    xfree_secret(&r->refresh);
    xfree_secret(&r->access);
    memset(r, 0, sizeof *r);
}

static int record_parse(const char *text, const struct store *st,
                        struct record *r)
{
    struct json_object *o = json_tokener_parse(text);
    const char *s;
    int ret = -1;

    if (!o || !json_object_is_type(o, json_type_object))
        goto out;
    /* A record of another sign-in (a token file shared by mistake: other
     * endpoint, client or user) is not ours. */
    s = oauth2_json_str(o, "token_endpoint");
    if (s && strcmp(s, st->endpoint) != 0)
        goto out;
    s = oauth2_json_str(o, "client_id");
    if (s && strcmp(s, st->client_id) != 0)
        goto out;
    s = oauth2_json_str(o, "user");
    if (s && strcmp(s, st->user) != 0)
        goto out;
    if ((s = oauth2_json_str(o, "refresh_token")))
        r->refresh = xstrdup(s);
    if ((s = oauth2_json_str(o, "access_token")))
        r->access = xstrdup(s);
    r->expires_at = oauth2_json_int(o, "expires_at", 0);
    /* An edited file's value must not overflow the margin check. */
    if (r->expires_at < 0 || r->expires_at > LLONG_MAX / 2)
        r->expires_at = 0;
    ret = r->refresh || r->access ? 0 : -1;
out:
    oauth2_json_free(&o);
    return ret;
}

static char *record_text(const struct store *st, const struct record *r)
{
    struct json_object *o = json_object_new_object();
    const char *inner;
    char *text;

    json_object_object_add(o, "version", json_object_new_int(1));
    json_object_object_add(o, "token_endpoint",
                           json_object_new_string(st->endpoint));
    json_object_object_add(o, "client_id",
                           json_object_new_string(st->client_id));
    json_object_object_add(o, "user", json_object_new_string(st->user));
    if (r->refresh)
        json_object_object_add(o, "refresh_token",
                               json_object_new_string(r->refresh));
    if (r->access)
        json_object_object_add(o, "access_token",
                               json_object_new_string(r->access));
    json_object_object_add(o, "expires_at",
                           json_object_new_int64(r->expires_at));
    inner = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN
                                           | JSON_C_TO_STRING_NOSLASHESCAPE);
    text = xstrdup(inner);
    /* The serialised copy inside o (valid until o is freed) holds the
     * tokens too. */
    memset((void *)inner, 0, strlen(inner));
    oauth2_json_free(&o);
    return text;
}

/* Reads the token file.  1 with *r, 0 when there is none, -1 on error. */
static int file_load(const struct store *st, struct record *r,
                     struct mp_err *e)
{
    char *buf = NULL;
    size_t len = 0;
    ssize_t n;
    int fd, ret = -1;

    fd = open(st->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return err_set_errno(e, MP_EIO, errno, _("cannot open %s"),
                             st->path);
    }
    if (paths_check_private(fd, st->path, e) < 0)
        goto out;
    buf = xmalloc(RECORD_MAX + 1);
    for (;;) {
        n = read(fd, buf + len, RECORD_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err_set_errno(e, MP_EIO, errno, _("cannot read %s"), st->path);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == RECORD_MAX) {
            err_set(e, MP_ECONFIG, _("%s: file too large"), st->path);
            goto out;
        }
    }
    buf[len] = '\0';
    if (record_parse(buf, st, r) < 0) {
        /* Unusable: as if there were none, so a new sign-in replaces
         * it. */
        record_clear(r);
        ret = 0;
        goto out;
    }
    ret = 1;
out:
    close(fd);
    xfree_secret(&buf);
    return ret;
}

static int store_load(const struct store *st, struct record *r,
                      struct mp_err *e)
{
    char *text = NULL;
    int k;

    memset(r, 0, sizeof *r);
    if (!st->file_only) {
        k = keyring_token_lookup(st->endpoint, st->client_id, st->user,
                                 &text);
        r->no_keyring = k < 0;
        if (k == 1) {
            k = record_parse(text, st, r);
            xfree_secret(&text);
            if (k == 0) {
                struct record f;
                struct mp_err fe;

                /* A token file beside the item is newer: store_save()
                 * removes it whenever the key ring takes a record, so it
                 * holds a refresh the key ring could not take, and the
                 * item's refresh token may have been rotated away. */
                memset(&f, 0, sizeof f);
                err_init(&fe);
                if (file_load(st, &f, &fe) == 1) {
                    record_clear(r);
                    *r = f;
                    return 1;
                }
                record_clear(&f);
                r->in_keyring = true;
                return 1;
            }
            record_clear(r);
        }
    }
    return file_load(st, r, e);
}

/* Stores r: in the key ring unless the file is forced or the key ring
 * cannot take it, else in the file (atomically, mode 0600).  A record
 * stored in the key ring makes an older default file go away, so that no
 * stale refresh token lies around. */
static int store_save(const struct store *st, const struct record *r,
                      struct mp_err *e)
{
    char *text = record_text(st, r), *label, *host;
    int ret;

    if (!st->file_only) {
        host = url_host(st->endpoint);
        label = xasprintf(_("mpop OAuth2 sign-in of %s at %s"), st->user,
                          host);
        ret = keyring_token_store(st->endpoint, st->client_id, st->user,
                                  label, text);
        free(label);
        free(host);
        if (ret == 0) {
            if (unlink(st->path) == 0)
                (void)durable_sync_parent(st->path, e);
            xfree_secret(&text);
            log_debug("OAuth2: tokens stored in the key ring\n");
            return 0;
        }
    }
    ret = durable_mkdirs_parent(st->path, e);
    if (ret == 0)
        ret = durable_write_file(st->path, text, strlen(text), 0600, e);
    xfree_secret(&text);
    if (ret == 0)
        log_debug("OAuth2: tokens stored in %s\n", st->path);
    return ret;
}

/* MPOP_TEST_OAUTH2_KILL=saved (tests only): SIGKILL right after a
 * refreshed record was stored, before its access token is used. */
static void failpoint(const char *name)
{
    const char *s = getenv("MPOP_TEST_OAUTH2_KILL");

    if (s && strcmp(s, name) == 0)
        raise(SIGKILL);
}

static char *sign_in_hint(const struct account *a)
{
    return xasprintf(_("sign in again with: mpop --oauth2-login %s"), a->id);
}

/* s with every occurrence of x (4 characters or more: no coincidence
 * with a shorter one) replaced by "xxxx"; s is taken over. */
static char *redact_one(char *s, const char *x)
{
    size_t xl = x ? strlen(x) : 0, off = 0;
    char *p, *next;

    if (xl < 4)
        return s;
    while ((p = strstr(s + off, x))) {
        off = (size_t)(p - s) + 4;
        next = xasprintf("%.*s%s%s", (int)(p - s), s, "xxxx", p + xl);
        xfree_secret(&s);
        s = next;
    }
    return s;
}

static char *redact(const char *s, const struct account *a,
                    const char *const *sent)
{
    char *out;

    if (!s)
        return NULL;
    out = redact_one(xstrdup(s), a->oauth2_client_secret);
    for (size_t i = 0; sent && sent[i]; i++)
        out = redact_one(out, sent[i]);
    return out;
}

int oauth2_reply_error(const struct account *a, long status,
                       struct json_object *reply, const char *what,
                       bool hint, const char *const *sent,
                       struct mp_err *e)
{
    char *err = redact(oauth2_json_str(reply, "error"), a, sent);
    char *desc = redact(oauth2_json_str(reply, "error_description"), a,
                        sent);
    char qerr[256], qdesc[768];
    char *h = hint ? sign_in_hint(a) : xstrdup("");
    struct account_oauth2 o;

    account_oauth2_endpoints(a, &o);
    log_quote(qerr, sizeof qerr, err ? err : "", err ? strlen(err) : 0);
    log_quote(qdesc, sizeof qdesc, desc ? desc : "",
              desc ? strlen(desc) : 0);
    if (status == 429 || status >= 500) {
        err_set(e, MP_ETEMP, _("account %s: %s: the token endpoint %s is "
                "not available (HTTP %ld%s%s); try again later"), a->id,
                what, o.token ? o.token : "", status, err ? ", " : "",
                err ? qerr : "");
    } else if (status >= 400 && status < 500) {
        err_set(e, MP_EAUTH, _("account %s: %s%s%s (the provider says: "
                "%s%s%s)"), a->id, what, hint ? "; " : "", h,
                err ? qerr : _("HTTP error"), desc ? ": " : "",
                desc ? qdesc : "");
    } else {
        err_set(e, MP_EPROTO, _("account %s: %s: unexpected reply from the "
                "token endpoint %s (HTTP %ld)"), a->id, what,
                o.token ? o.token : "", status);
    }
    account_oauth2_clear(&o);
    free(h);
    xfree_secret(&err);
    xfree_secret(&desc);
    return -1;
}

/* A successful token reply into r (keeping r's refresh token when the
 * provider sends no new one). */
static int take_reply(const struct account *a, struct json_object *reply,
                      struct record *r, struct mp_err *e)
{
    const char *access = oauth2_json_str(reply, "access_token");
    const char *refresh = oauth2_json_str(reply, "refresh_token");
    const char *type = oauth2_json_str(reply, "token_type");
    /* At most a year: a larger value (up to 2^63-1) must not overflow
     * expires_at; a negative one means expired already. */
    long long expires_in = oauth2_json_seconds(reply, "expires_in", 3600,
                                               EXPIRES_IN_MAX);

    if (!access || !*access)
        return err_set(e, MP_EPROTO, _("account %s: the token endpoint's "
                       "reply has no access_token"), a->id);
    /* RFC 6750: the only type SASL OAUTHBEARER and XOAUTH2 carry. */
    if (type && strcasecmp(type, "Bearer") != 0) {
        char q[128];

        return err_set(e, MP_EPROTO, _("account %s: the token endpoint "
                       "gave a token of type %s, not Bearer"), a->id,
                       log_quote(q, sizeof q, type, strlen(type)));
    }
    xfree_secret(&r->access);
    r->access = xstrdup(access);
    r->expires_at = (long long)time(NULL) + expires_in;
    if (refresh && *refresh) {
        xfree_secret(&r->refresh);
        r->refresh = xstrdup(refresh);
    }
    return 0;
}

int oauth2_store_grant(const struct account *a, struct json_object *reply,
                       struct mp_err *e)
{
    struct store st;
    struct record r;
    int ret = -1;

    memset(&r, 0, sizeof r);
    if (store_init(&st, a, e) < 0 || store_lock(&st, a, e) < 0)
        goto out;
    if (take_reply(a, reply, &r, e) < 0)
        goto out;
    if (!st.file_only)
        keyring_token_clear(st.endpoint, st.client_id, st.user);
    ret = store_save(&st, &r, e);
out:
    record_clear(&r);
    store_clear(&st);
    return ret;
}

int oauth2_access_token(const struct account *a, char **token_r,
                        struct mp_err *e)
{
    struct oauth2_http_reply rep;
    struct account_oauth2 o;
    struct store st;
    struct record r;
    char *hint = NULL;
    int k, ret = -1;

    *token_r = NULL;
    memset(&r, 0, sizeof r);
    memset(&rep, 0, sizeof rep);
    memset(&o, 0, sizeof o);
    if (!oauth2_http_available(e))
        return -1;
    if (store_init(&st, a, e) < 0 || store_lock(&st, a, e) < 0)
        goto out;
    k = store_load(&st, &r, e);
    if (k < 0)
        goto out;
    hint = sign_in_hint(a);
    if (k == 0) {
        /* Where we looked: a sign-in made in a desktop session is in its
         * key ring, which a cron job cannot reach. */
        if (st.file_only)
            err_set(e, MP_EAUTH, _("account %s: no OAuth2 sign-in stored "
                    "in %s; %s"), a->id, st.path, hint);
        else if (r.no_keyring)
            err_set(e, MP_EAUTH, _("account %s: no OAuth2 sign-in stored: "
                    "no key ring can be reached and %s does not exist (set "
                    "oauth2_token_file to share a sign-in with cron); %s"),
                    a->id, st.path, hint);
        else
            err_set(e, MP_EAUTH, _("account %s: no OAuth2 sign-in stored "
                    "in the key ring or in %s; %s"), a->id, st.path, hint);
        goto out;
    }
    if (r.access && r.expires_at - OAUTH2_MARGIN > (long long)time(NULL)) {
        log_debug("OAuth2: cached access token, valid for %lld more "
                  "seconds\n", r.expires_at - (long long)time(NULL));
        *token_r = xstrdup(r.access);
        ret = 0;
        goto out;
    }
    if (!r.refresh) {
        err_set(e, MP_EAUTH, _("account %s: the OAuth2 access token has "
                "expired and there is no refresh token; %s"), a->id, hint);
        goto out;
    }
    account_oauth2_endpoints(a, &o);
    {
        const char *fields[] = {
            "grant_type", "refresh_token",
            "refresh_token", r.refresh,
            "client_id", a->oauth2_client_id,
            "client_secret", is_set(a->oauth2_client_secret)
                             ? a->oauth2_client_secret : NULL,
            NULL
        };

        if (oauth2_http_post(a, o.token, fields, &rep, e) < 0) {
            err_prefix(e, _("account %s: cannot refresh the OAuth2 access "
                       "token: "), a->id);
            goto out;
        }
    }
    if (rep.status != 200) {
        const char *sent[] = { r.refresh, NULL };

        oauth2_reply_error(a, rep.status, rep.json,
                           _("the OAuth2 refresh token was refused"), true,
                           sent, e);
        goto out;
    }
    if (take_reply(a, rep.json, &r, e) < 0)
        goto out;
    /* Stored before it is used: a provider that rotates refresh tokens
     * has made the old one invalid already. */
    if (store_save(&st, &r, e) < 0) {
        err_prefix(e, _("account %s: cannot store the new OAuth2 tokens: "),
                   a->id);
        goto out;
    }
    failpoint("saved");
    log_debug("OAuth2: new access token, valid for %lld seconds\n",
              r.expires_at - (long long)time(NULL));
    *token_r = xstrdup(r.access);
    ret = 0;
out:
    oauth2_http_reply_clear(&rep);
    account_oauth2_clear(&o);
    record_clear(&r);
    store_clear(&st);
    free(hint);
    return ret;
}

void oauth2_forget_access_token(const struct account *a)
{
    struct mp_err e;
    struct store st;
    struct record r;

    err_init(&e);
    memset(&r, 0, sizeof r);
    if (store_init(&st, a, &e) == 0 && store_lock(&st, a, &e) == 0
        && store_load(&st, &r, &e) == 1 && r.access) {
        xfree_secret(&r.access);
        r.expires_at = 0;
        (void)store_save(&st, &r, &e);
    }
    record_clear(&r);
    store_clear(&st);
}
#else
int oauth2_access_token(const struct account *a, char **token_r,
                        struct mp_err *e)
{
    (void)a;
    *token_r = NULL;
    return err_set(e, MP_EUNAVAIL, _("this mpop was built without OAuth2 "
                   "support (libcurl and json-c)"));
}

void oauth2_forget_access_token(const struct account *a)
{
    (void)a;
}

int oauth2_store_grant(const struct account *a, struct json_object *reply,
                       struct mp_err *e)
{
    (void)a;
    (void)reply;
    return err_set(e, MP_EUNAVAIL, _("this mpop was built without OAuth2 "
                   "support (libcurl and json-c)"));
}

int oauth2_reply_error(const struct account *a, long status,
                       struct json_object *reply, const char *what,
                       bool hint, const char *const *sent,
                       struct mp_err *e)
{
    (void)a;
    (void)sent;
    (void)status;
    (void)reply;
    (void)what;
    (void)hint;
    return err_set(e, MP_EUNAVAIL, _("this mpop was built without OAuth2 "
                   "support (libcurl and json-c)"));
}
#endif
