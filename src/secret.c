#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "gettext.h"
#include "keyring.h"
#include "netrc.h"
#include "paths.h"
#include "proc.h"
#include "secret.h"
#include "xalloc.h"

#ifndef SYSCONFDIR
# define SYSCONFDIR "/etc"
#endif

/* A netrc file is read whole; anything bigger is not a netrc file. */
#define NETRC_MAX (1024 * 1024)
/* A typed password longer than this is cut short by an error, not kept. */
#define PROMPT_MAX 4096

static bool is_set(const char *s)
{
    return s && *s;
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n--)
        *v++ = 0;
}

/* Appends n bytes to a growing secret buffer; wipes the old copy when it
 * moves so no stray copy of a password stays on the heap. */
static void grow_append(char **buf, size_t *len, size_t *cap,
                        const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = *cap ? *cap : 256;
        char *nb;

        while (*len + n + 1 > ncap)
            ncap *= 2;
        nb = xmalloc(ncap);
        if (*buf) {
            memcpy(nb, *buf, *len);
            wipe(*buf, *len);
            free(*buf);
        }
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
}

static void strip_line_ends(char *s, size_t *len)
{
    while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r'))
        s[--*len] = '\0';
}

int secret_eval(const char *cmd, char **out_r, struct mp_err *e)
{
    struct proc_status st;
    char *buf;
    size_t len;
    bool too_long;

    *out_r = NULL;
    if (proc_capture(cmd, SECRET_EVAL_MAX, &buf, &len, &too_long, &st,
                     e) != 0)
        return -1;
    if (!proc_status_ok(&st)) {
        xfree_secret(&buf);
        if (st.how == PROC_SIGNALED)
            return err_set(e, MP_ECONFIG,
                           _("passwordeval command '%s' was killed by "
                             "signal %d"), cmd, st.code);
        return err_set(e, MP_ECONFIG,
                       _("passwordeval command '%s' failed with exit code "
                         "%d"), cmd, st.code);
    }
    if (too_long) {
        xfree_secret(&buf);
        return err_set(e, MP_ECONFIG,
                       _("passwordeval command '%s' printed more than %d "
                         "bytes"), cmd, SECRET_EVAL_MAX);
    }
    if (len == 0) {
        free(buf);
        return err_set(e, MP_ECONFIG,
                       _("passwordeval command '%s' printed nothing"), cmd);
    }
    strip_line_ends(buf, &len);
    if (memchr(buf, '\0', len)) {
        xfree_secret(&buf);
        return err_set(e, MP_ECONFIG,
                       _("passwordeval command '%s' printed a NUL byte"),
                       cmd);
    }
    *out_r = buf;
    return 0;
}

int secret_netrc_lookup(const char *path, const char *host, const char *user,
                        char **password_r, struct mp_err *e)
{
    struct netrc_entry ent;
    unsigned long line = 0;
    const char *why = NULL;
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    ssize_t n;
    int fd, r;

    *password_r = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return err_set_errno(e, MP_EIO, errno, _("cannot open %s"), path);
    }
    for (;;) {
        n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;

            close(fd);
            xfree_secret(&text);
            return err_set_errno(e, MP_EIO, saved, _("cannot read %s"),
                                 path);
        }
        if (n == 0)
            break;
        if (len + (size_t)n > NETRC_MAX) {
            close(fd);
            xfree_secret(&text);
            return err_set(e, MP_ECONFIG, _("%s: file too large"), path);
        }
        grow_append(&text, &len, &cap, chunk, (size_t)n);
    }
    wipe(chunk, sizeof chunk);
    close(fd);
    if (!text)
        return 0;
    r = netrc_find(text, len, host, user, &ent, &line, &why);
    if (r < 0) {
        xfree_secret(&text);
        return err_set(e, MP_ECONFIG, "%s:%lu: %s", path, line, _(why));
    }
    if (r == 1)
        *password_r = xstrndup(ent.password.p, ent.password.len);
    xfree_secret(&text);
    return r;
}

/* The system key ring (keyring.c: the original's libsecret schema and
 * its fallback).  Returns 1 with *password_r, 0 when nothing is stored. */
static int secret_keyring_hook(const char *host, const char *user,
                               char **password_r, struct mp_err *e)
{
    return keyring_lookup(host, user, password_r, e);
}

int secret_prompt(const char *prompt, char **out_r, struct mp_err *e)
{
    struct termios old, noecho;
    bool restore = false;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char ch;
    ssize_t n;
    int fd, rc = -1;

    *out_r = NULL;
    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return err_set_errno(e, MP_EAUTH, errno,
                             _("no password and no terminal to ask for it "
                               "on (/dev/tty)"));
    if (tcgetattr(fd, &old) == 0) {
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        noecho.c_lflag |= ECHONL;
        if (tcsetattr(fd, TCSAFLUSH, &noecho) == 0)
            restore = true;
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        err_set_errno(e, MP_EIO, errno, _("cannot write to /dev/tty"));
        goto out;
    }
    /* One byte at a time: nothing after the line end may be consumed. */
    for (;;) {
        n = read(fd, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err_set_errno(e, MP_EIO, errno, _("cannot read from /dev/tty"));
            goto out;
        }
        if (n == 0) {
            err_set(e, MP_EIO, _("end of input on /dev/tty before a "
                                 "password was entered"));
            goto out;
        }
        if (ch == '\n')
            break;
        if (len >= PROMPT_MAX) {
            err_set(e, MP_EIO, _("password typed on /dev/tty is longer "
                                 "than %d bytes"), PROMPT_MAX);
            goto out;
        }
        grow_append(&buf, &len, &cap, &ch, 1);
    }
    if (!buf)
        buf = xstrdup("");
    strip_line_ends(buf, &len);
    *out_r = buf;
    buf = NULL;
    rc = 0;
out:
    ch = 0;
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    close(fd);
    xfree_secret(&buf);
    return rc;
}

int secret_get_password(const struct account *a, char **password_r,
                        enum secret_source *source_r, struct mp_err *e)
{
    const char *host = is_set(a->host) ? a->host : a->socket_name;
    enum secret_source src;
    char *pw = NULL, *path, *prompt;
    int r;

    *password_r = NULL;
    if (!host)
        host = "";
    if (is_set(a->password)) {
        pw = xstrdup(a->password);
        src = SECRET_CONFIG;
        goto found;
    }
    if (is_set(a->passwordeval)) {
        if (secret_eval(a->passwordeval, &pw, e) < 0)
            goto fail;
        src = SECRET_EVAL;
        goto found;
    }
    r = secret_keyring_hook(host, a->user, &pw, e);
    if (r < 0)
        goto fail;
    if (r == 1) {
        src = SECRET_KEYRING;
        goto found;
    }
    if (is_set(a->user)) {
        char *home = paths_home();

        path = paths_join(home, ".netrc");
        free(home);
        r = secret_netrc_lookup(path, host, a->user, &pw, e);
        free(path);
        if (r == 0) {
            r = secret_netrc_lookup(SYSCONFDIR "/netrc", host, a->user, &pw,
                                    e);
        }
        if (r < 0)
            goto fail;
        if (r == 1) {
            src = SECRET_NETRC;
            goto found;
        }
    }
    prompt = xasprintf(_("password for %s at %s: "),
                       a->user ? a->user : "", host);
    r = secret_prompt(prompt, &pw, e);
    free(prompt);
    if (r < 0)
        goto fail;
    src = SECRET_PROMPT;

found:
    *password_r = pw;
    if (source_r)
        *source_r = src;
    return 0;

fail:
    err_prefix(e, _("account %s: "), a->id);
    return -1;
}
