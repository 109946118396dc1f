#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gettext.h"
#include "paths.h"
#include "xalloc.h"

char *paths_home(void)
{
    const char *h = getenv("HOME");
    struct passwd *pw;

    if (h)
        return xstrdup(h);
    pw = getpwuid(getuid());
    if (pw && pw->pw_dir)
        return xstrdup(pw->pw_dir);
    return xstrdup("");
}

char *paths_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);

    while (*name == '/')
        name++;
    if (n > 0 && dir[n - 1] == '/')
        return xasprintf("%s%s", dir, name);
    return xasprintf("%s/%s", dir, name);
}

char *paths_expand_tilde(const char *s)
{
    char *home, *r;

    if (s[0] != '~')
        return xstrdup(s);
    home = paths_home();
    r = xasprintf("%s%s", home, s + 1);
    free(home);
    return r;
}

/* $VAR/rel, or ~/fallback/rel when VAR is unset or empty. */
static char *xdg_dir(const char *var, const char *fallback, const char *rel)
{
    const char *x = getenv(var);
    char *home, *dir, *r;

    if (x && *x)
        return paths_join(x, rel);
    home = paths_home();
    dir = paths_join(home, fallback);
    r = paths_join(dir, rel);
    free(dir);
    free(home);
    return r;
}

char *paths_xdg_config(const char *rel)
{
    return xdg_dir("XDG_CONFIG_HOME", ".config", rel);
}

char *paths_xdg_state(const char *rel)
{
    return xdg_dir("XDG_STATE_HOME", ".local/state", rel);
}

static char *replace_all(const char *s, const char *pat, const char *with)
{
    size_t plen = strlen(pat), wlen = strlen(with), n = 0, len;
    const char *p;
    char *r, *q;

    for (p = strstr(s, pat); p; p = strstr(p + plen, pat))
        n++;
    len = strlen(s);
    /* Each match grows the string by wlen - plen at most wlen: no overflow
     * for any string that fits in memory twice over. */
    r = xmalloc(len + n * wlen + 1);
    q = r;
    while ((p = strstr(s, pat)) != NULL) {
        memcpy(q, s, (size_t)(p - s));
        q += p - s;
        memcpy(q, with, wlen);
        q += wlen;
        s = p + plen;
    }
    strcpy(q, s);
    return r;
}

char *paths_expand_uh(const char *tmpl, const char *user, const char *host)
{
    char *u, *r;

    u = replace_all(tmpl, "%U", user ? user : "");
    r = replace_all(u, "%H", host ? host : "");
    free(u);
    return r;
}

int paths_check_private(int fd, const char *name, struct mp_err *e)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return err_set_errno(e, MP_EIO, errno, "%s", name);
    if (st.st_uid != geteuid())
        return err_set(e, MP_ECONFIG,
                       _("%s: contains secrets and therefore must be owned "
                         "by you"), name);
    if ((st.st_mode & 07777 & ~(mode_t)(S_IRUSR | S_IWUSR)) != 0)
        return err_set(e, MP_ECONFIG,
                       _("%s: contains secrets and therefore must have no "
                         "more than user read/write permissions"), name);
    return 0;
}
