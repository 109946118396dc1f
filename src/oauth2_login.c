/* The contract is in oauth2_login.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gettext.h"
#include "log.h"
#include "monotime.h"
#include "oauth2.h"
#include "oauth2_http.h"
#include "oauth2_login.h"
#include "strparse.h"
#include "xalloc.h"

/* Percent-decoding of n bytes at p ('+' is a space in a query); NULL for
 * a broken escape, which leaves the field unset. */
static char *unescape(const char *p, size_t n)
{
    char *out = xmalloc(n + 1);

    if (str_pct_decode(p, n, true, out) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

void oauth2_answer_clear(struct oauth2_answer *a)
{
    xfree_secret(&a->code);
    xfree_secret(&a->state);
    free(a->error);
    free(a->error_description);
    memset(a, 0, sizeof *a);
}

bool oauth2_parse_answer(const char *s, struct oauth2_answer *a)
{
    const char *q = strchr(s, '?'), *end, *amp, *eq;

    oauth2_answer_clear(a);
    if (!q)
        return false;
    q++;
    end = q + strcspn(q, "# \r\n");
    while (q < end) {
        char **slot = NULL;

        amp = memchr(q, '&', (size_t)(end - q));
        if (!amp)
            amp = end;
        eq = memchr(q, '=', (size_t)(amp - q));
        if (eq) {
            size_t kl = (size_t)(eq - q);

            if (kl == 4 && strncmp(q, "code", 4) == 0)
                slot = &a->code;
            else if (kl == 5 && strncmp(q, "state", 5) == 0)
                slot = &a->state;
            else if (kl == 5 && strncmp(q, "error", 5) == 0)
                slot = &a->error;
            else if (kl == 17 && strncmp(q, "error_description", 17) == 0)
                slot = &a->error_description;
            if (slot) {
                xfree_secret(slot);
                *slot = unescape(eq + 1, (size_t)(amp - eq - 1));
            }
        }
        q = amp < end ? amp + 1 : end;
    }
    return a->code || a->error;
}

#ifdef HAVE_OAUTH2
# include <arpa/inet.h>
# include <fcntl.h>
# include <netinet/in.h>
# include <signal.h>
# include <sys/socket.h>
# include <sys/wait.h>
# include <gnutls/gnutls.h>
# include <gnutls/crypto.h>
# include "sasl.h"

/* How long the browser step may take. */
#define LOGIN_WAIT 600
/* How long one connection to the listener may take to send its request,
 * and how big that request may be. */
#define REQUEST_WAIT 10
#define REQUEST_MAX 8192
/* The longest wait between two device polls we accept from a provider
 * (RFC 8628 suggests 5 s; slow_down adds 5 s each time). */
#define DEVICE_INTERVAL_MAX 120

static bool is_set(const char *s)
{
    return s && *s;
}

/* RFC 7636 §A: base64url without padding. */
static char *b64url(const void *p, size_t n)
{
    char *s = sasl_base64_encode(p, n), *q;

    for (q = s; *q; q++) {
        if (*q == '+')
            *q = '-';
        else if (*q == '/')
            *q = '_';
        else if (*q == '=') {
            *q = '\0';
            break;
        }
    }
    return s;
}

static int random_b64url(size_t n, char **out_r, struct mp_err *e)
{
    unsigned char buf[64];

    if (gnutls_rnd(GNUTLS_RND_KEY, buf, n) < 0)
        return err_set(e, MP_ESOFTWARE, _("cannot get random bytes from "
                       "GnuTLS"));
    *out_r = b64url(buf, n);
    gnutls_memset(buf, 0, sizeof buf);
    return 0;
}

static int pkce_challenge(const char *verifier, char **out_r,
                          struct mp_err *e)
{
    unsigned char d[32];

    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, verifier, strlen(verifier), d)
        < 0)
        return err_set(e, MP_ESOFTWARE, _("cannot compute SHA-256"));
    *out_r = b64url(d, sizeof d);
    return 0;
}

/* Starts a browser on url when one is configured ($BROWSER) or a desktop
 * session has xdg-open; never waits for it.  Its output goes nowhere. */
static void open_browser(const char *url)
{
    const char *b = getenv("BROWSER");
    pid_t pid;
    int status;

    if (!is_set(b)) {
        if (!is_set(getenv("DISPLAY")) && !is_set(getenv("WAYLAND_DISPLAY")))
            return;
        b = "xdg-open";
    }
    pid = fork();
    if (pid < 0)
        return;
    if (pid == 0) {
        /* A grandchild, so that nobody has to wait for the browser. */
        int fd = open("/dev/null", O_RDWR);

        if (fork() != 0)
            _exit(0);
        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        setsid();
        execlp(b, b, url, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}

static void reply_page(int fd, int code, const char *text)
{
    char *page = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
                           "charset=utf-8\r\nConnection: close\r\n"
                           "Cache-Control: no-store\r\n\r\n%s\n", code,
                           code == 200 ? "OK" : "Not Found", text);
    size_t off = 0, n = strlen(page);
    ssize_t w;

    while (off < n) {
        /* A client that reset the connection must not end the sign-in
         * with SIGPIPE. */
        w = send(fd, page + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(page);
}

/* One connection to the listener: reads the request line within
 * REQUEST_WAIT seconds in all (a client that sends a byte now and then
 * must not hold the listener, and the browser queued behind it, for
 * hours).  Returns true with *a filled when it carried the
 * answer (the browser then gets a page saying so), false for anything
 * else (a favicon request, a probe: 404). */
static bool serve_one(int lfd, struct oauth2_answer *a)
{
    char buf[REQUEST_MAX + 1];
    size_t len = 0;
    struct pollfd p;
    bool got = false;
    long long deadline;
    ssize_t n;
    int fd;

    fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return false;
    p.fd = fd;
    p.events = POLLIN;
    deadline = monotime_ms() + REQUEST_WAIT * 1000;
    while (len < REQUEST_MAX && !memchr(buf, '\n', len)) {
        long long left = deadline - monotime_ms();

        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        n = read(fd, buf + len, REQUEST_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (strncmp(buf, "GET ", 4) == 0 && memchr(buf, '\n', len)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        got = oauth2_parse_answer(buf + 4, a);
    }
    if (got)
        reply_page(fd, 200, _("mpop received the answer of the sign-in; "
                              "you can close this window."));
    else
        reply_page(fd, 404, _("Not found."));
    gnutls_memset(buf, 0, sizeof buf);
    close(fd);
    return got;
}

/* A pasted line from standard input.  Returns 1 with *a, 0 for a line
 * without an answer (ignored), -1 at the end of input. */
static int read_pasted(struct oauth2_answer *a)
{
    char line[REQUEST_MAX];
    size_t len = 0;
    ssize_t n;
    char c;

    for (;;) {
        n = read(STDIN_FILENO, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (!len)
                return -1;
            break;              /* a last line without its line end */
        }
        if (c == '\n')
            break;
        if (len < sizeof line - 1)
            line[len++] = c;
    }
    line[len] = '\0';
    n = oauth2_parse_answer(line, a) ? 1 : 0;
    gnutls_memset(line, 0, sizeof line);
    return (int)n;
}

static int wait_answer(int lfd, struct oauth2_answer *a, struct mp_err *e)
{
    time_t deadline = time(NULL) + LOGIN_WAIT;
    bool use_stdin = true;
    struct pollfd p[2];
    int r;

    for (;;) {
        time_t left = deadline - time(NULL);

        if (left <= 0)
            return err_set(e, MP_ETEMP, _("no answer from the browser "
                           "within %d seconds"), LOGIN_WAIT);
        p[0].fd = lfd;
        p[0].events = POLLIN;
        p[1].fd = STDIN_FILENO;
        p[1].events = POLLIN;
        r = poll(p, use_stdin ? 2 : 1, (int)left * 1000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return err_set_errno(e, MP_EOS, errno, "poll");
        if (p[0].revents & POLLIN) {
            if (serve_one(lfd, a))
                return 0;
        }
        /* POLLNVAL: standard input is closed (cron's <&-); the read
         * fails and it is no longer watched. */
        if (use_stdin
            && (p[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
            r = read_pasted(a);
            if (r == 1)
                return 0;
            if (r < 0)
                use_stdin = false;
        }
    }
}

static int listen_loopback(int *fd_r, int *port_r, struct mp_err *e)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    int fd;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set_errno(e, MP_EOS, errno, _("cannot create a socket"));
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 8) < 0
        || getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        int saved = errno;

        close(fd);
        return err_set_errno(e, MP_EOS, saved, _("cannot listen on "
                             "127.0.0.1"));
    }
    *fd_r = fd;
    *port_r = ntohs(sin.sin_port);
    return 0;
}

static char *auth_url(const struct account *a, const char *endpoint,
                      const char *scope, const char *redirect,
                      const char *state, const char *challenge)
{
    const char *fields[] = {
        "response_type", "code",
        "client_id", a->oauth2_client_id,
        "redirect_uri", redirect,
        "scope", scope,
        "state", state,
        "code_challenge", challenge,
        "code_challenge_method", "S256",
        "login_hint", a->user,
        /* Google gives a refresh token only with these two. */
        "access_type", strcmp(a->oauth2_provider, "google") == 0
                       ? "offline" : NULL,
        "prompt", strcmp(a->oauth2_provider, "google") == 0
                  ? "consent" : NULL,
        NULL
    };
    char *url = xstrdup(endpoint), *k, *v, *next;
    size_t i;

    for (i = 0; fields[i]; i += 2) {
        if (!fields[i + 1])
            continue;
        k = oauth2_url_escape(fields[i]);
        v = oauth2_url_escape(fields[i + 1]);
        next = xasprintf("%s%c%s=%s", url, strchr(url, '?') ? '&' : '?',
                         k, v);
        free(url);
        free(k);
        free(v);
        url = next;
    }
    return url;
}

static int browser_flow(const struct account *a,
                        const struct account_oauth2 *o, struct mp_err *e)
{
    struct oauth2_http_reply rep;
    struct oauth2_answer ans;
    char *verifier = NULL, *challenge = NULL, *state = NULL;
    char *redirect = NULL, *url = NULL;
    int lfd = -1, port = 0, ret = -1;

    memset(&ans, 0, sizeof ans);
    memset(&rep, 0, sizeof rep);
    /* RFC 7636 §4.1: 32 random bytes make a 43-character verifier. */
    if (random_b64url(32, &verifier, e) < 0
        || pkce_challenge(verifier, &challenge, e) < 0
        || random_b64url(16, &state, e) < 0
        || listen_loopback(&lfd, &port, e) < 0)
        goto out;
    redirect = xasprintf("http://127.0.0.1:%d/", port);
    url = auth_url(a, o->authorization, o->scope, redirect, state,
                   challenge);
    printf(_("To sign in account %s, open this address in a web browser:\n"
             "\n%s\n\n"), a->id, url);
    printf(_("mpop waits for the browser at %s.  If the browser runs on "
             "another machine, paste here the address it ends on (it "
             "starts with %s).\n"), redirect, redirect);
    fflush(stdout);
    open_browser(url);
    if (wait_answer(lfd, &ans, e) < 0)
        goto out;
    close(lfd);
    lfd = -1;
    if (ans.error) {
        char q1[256], q2[768];

        err_set(e, MP_EAUTH, _("account %s: the sign-in was refused (the "
                "provider says: %s%s%s)"), a->id,
                log_quote(q1, sizeof q1, ans.error, strlen(ans.error)),
                ans.error_description ? ": " : "",
                ans.error_description
                ? log_quote(q2, sizeof q2, ans.error_description,
                            strlen(ans.error_description)) : "");
        goto out;
    }
    /* RFC 6749 §10.12: an answer with another state is not ours. */
    if (!ans.state || strcmp(ans.state, state) != 0) {
        err_set(e, MP_EAUTH, _("account %s: the answer of the sign-in does "
                "not belong to this sign-in (its state differs); nothing "
                "was stored"), a->id);
        goto out;
    }
    {
        const char *fields[] = {
            "grant_type", "authorization_code",
            "code", ans.code,
            "redirect_uri", redirect,
            "client_id", a->oauth2_client_id,
            "code_verifier", verifier,
            "client_secret", is_set(a->oauth2_client_secret)
                             ? a->oauth2_client_secret : NULL,
            NULL
        };

        if (oauth2_http_post(a, o->token, fields, &rep, e) < 0)
            goto out;
    }
    if (rep.status != 200) {
        const char *sent[] = { ans.code, verifier, NULL };

        oauth2_reply_error(a, rep.status, rep.json,
                           _("the sign-in was refused"), false, sent, e);
        goto out;
    }
    ret = oauth2_store_grant(a, rep.json, e);
out:
    if (lfd >= 0)
        close(lfd);
    oauth2_http_reply_clear(&rep);
    oauth2_answer_clear(&ans);
    xfree_secret(&verifier);
    xfree_secret(&challenge);
    xfree_secret(&state);
    free(redirect);
    free(url);
    return ret;
}

static void sleep_seconds(long long s)
{
    struct timespec ts = { (time_t)s, 0 };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int device_flow(const struct account *a,
                       const struct account_oauth2 *o, struct mp_err *e)
{
    struct oauth2_http_reply rep;
    const char *secret = is_set(a->oauth2_client_secret)
                         ? a->oauth2_client_secret : NULL;
    const char *uri, *user_code, *complete;
    char *device_code = NULL;
    long long interval, deadline;
    char q1[512], q2[256], q3[512];
    int ret = -1;

    memset(&rep, 0, sizeof rep);
    {
        const char *fields[] = {
            "client_id", a->oauth2_client_id,
            "scope", o->scope,
            "client_secret", secret,
            NULL
        };

        if (oauth2_http_post(a, o->device, fields, &rep, e) < 0)
            goto out;
    }
    if (rep.status != 200) {
        oauth2_reply_error(a, rep.status, rep.json,
                           _("the device sign-in was refused"), false, NULL,
                           e);
        goto out;
    }
    uri = oauth2_json_str(rep.json, "verification_uri");
    if (!uri)   /* Google's name for it */
        uri = oauth2_json_str(rep.json, "verification_url");
    user_code = oauth2_json_str(rep.json, "user_code");
    complete = oauth2_json_str(rep.json, "verification_uri_complete");
    if (!uri || !user_code || !oauth2_json_str(rep.json, "device_code")) {
        err_set(e, MP_EPROTO, _("account %s: the device endpoint's reply "
                "lacks verification_uri, user_code or device_code"),
                a->id);
        goto out;
    }
    device_code = xstrdup(oauth2_json_str(rep.json, "device_code"));
    /* RFC 8628 §3.2: 5 seconds when the provider does not say. */
    interval = oauth2_json_int(rep.json, "interval", 5);
    if (interval < 1)
        interval = 1;
    /* A provider's typo must not make us sleep for days. */
    if (interval > DEVICE_INTERVAL_MAX)
        interval = DEVICE_INTERVAL_MAX;
    /* At most a day: a hostile value must not overflow the deadline. */
    deadline = (long long)time(NULL)
               + oauth2_json_seconds(rep.json, "expires_in", 900, 86400);
    printf(_("To sign in account %s, open %s in a web browser and enter "
             "the code %s\n"), a->id,
           log_quote(q1, sizeof q1, uri, strlen(uri)),
           log_quote(q2, sizeof q2, user_code, strlen(user_code)));
    if (complete)
        printf(_("(or open %s)\n"),
               log_quote(q3, sizeof q3, complete, strlen(complete)));
    fflush(stdout);
    oauth2_http_reply_clear(&rep);

    for (;;) {
        const char *err;

        if ((long long)time(NULL) + interval > deadline) {
            err_set(e, MP_EAUTH, _("account %s: the code expired before "
                    "the sign-in was completed; run mpop --oauth2-login "
                    "again"), a->id);
            goto out;
        }
        sleep_seconds(interval);
        {
            const char *fields[] = {
                "grant_type", "urn:ietf:params:oauth:grant-type:device_code",
                "device_code", device_code,
                "client_id", a->oauth2_client_id,
                "client_secret", secret,
                NULL
            };

            if (oauth2_http_post(a, o->token, fields, &rep, e) < 0)
                goto out;
        }
        if (rep.status == 200)
            break;
        err = oauth2_json_str(rep.json, "error");
        if (err && strcmp(err, "authorization_pending") == 0) {
            oauth2_http_reply_clear(&rep);
            continue;
        }
        if (err && strcmp(err, "slow_down") == 0) {
            /* RFC 8628 §3.5: 5 seconds more for this and every later
             * request. */
            if (interval + 5 <= DEVICE_INTERVAL_MAX)
                interval += 5;
            log_debug("OAuth2: slow_down: polling every %lld seconds\n",
                      interval);
            oauth2_http_reply_clear(&rep);
            continue;
        }
        if (err && strcmp(err, "expired_token") == 0) {
            err_set(e, MP_EAUTH, _("account %s: the code expired before "
                    "the sign-in was completed; run mpop --oauth2-login "
                    "again"), a->id);
            goto out;
        }
        if (err && strcmp(err, "access_denied") == 0) {
            err_set(e, MP_EAUTH, _("account %s: the sign-in was refused "
                    "in the browser (access_denied)"), a->id);
            goto out;
        }
        {
            const char *sent[] = { device_code, NULL };

            oauth2_reply_error(a, rep.status, rep.json,
                               _("the device sign-in was refused"), false,
                               sent, e);
        }
        goto out;
    }
    ret = oauth2_store_grant(a, rep.json, e);
out:
    oauth2_http_reply_clear(&rep);
    xfree_secret(&device_code);
    return ret;
}

int oauth2_login(const struct account *a, enum oauth2_flow flow,
                 struct mp_err *e)
{
    struct account_oauth2 o;
    int ret = -1;

    if (!oauth2_enabled(a))
        return err_set(e, MP_ECONFIG, _("account %s: no oauth2_provider "
                       "set"), a->id);
    if (!oauth2_http_available(e))
        return -1;
    account_oauth2_endpoints(a, &o);
    if (flow == OAUTH2_FLOW_AUTO)
        flow = o.authorization ? OAUTH2_FLOW_BROWSER : OAUTH2_FLOW_DEVICE;
    if (flow == OAUTH2_FLOW_BROWSER && !o.authorization)
        err_set(e, MP_ECONFIG, _("account %s: no "
                "oauth2_authorization_endpoint for the browser sign-in"),
                a->id);
    else if (flow == OAUTH2_FLOW_DEVICE && !o.device)
        err_set(e, MP_ECONFIG, _("account %s: no oauth2_device_endpoint "
                "for the device sign-in (Google does not offer it for "
                "mail)"), a->id);
    else if (flow == OAUTH2_FLOW_BROWSER)
        ret = browser_flow(a, &o, e);
    else
        ret = device_flow(a, &o, e);
    account_oauth2_clear(&o);
    if (ret == 0) {
        printf(_("Signed in: account %s now gets its OAuth2 tokens by "
                 "itself.\n"), a->id);
        fflush(stdout);
    }
    return ret;
}
#else
int oauth2_login(const struct account *a, enum oauth2_flow flow,
                 struct mp_err *e)
{
    (void)a;
    (void)flow;
    return err_set(e, MP_EUNAVAIL, _("this mpop was built without OAuth2 "
                   "support (libcurl and json-c)"));
}
#endif
