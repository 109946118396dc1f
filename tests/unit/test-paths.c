#include "config.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "tap.h"

static void test_home(void)
{
    char *h;
    struct passwd *pw = getpwuid(getuid());

    setenv("HOME", "/h/me", 1);
    h = paths_home();
    is_str(h, "/h/me", "home from $HOME");
    free(h);
    setenv("HOME", "", 1);
    h = paths_home();
    is_str(h, "", "an empty $HOME stays empty, as in the original");
    free(h);
    unsetenv("HOME");
    h = paths_home();
    is_str(h, pw ? pw->pw_dir : "", "no $HOME: the password database");
    free(h);
}

static void test_join(void)
{
    static const struct { const char *dir, *name, *want; } rows[] = {
        { "/a", "b", "/a/b" },
        { "/a/", "b", "/a/b" },
        { "/a", "/b", "/a/b" },
        { "", "b", "/b" },
        { "/", ".mpoprc", "/.mpoprc" },
    };
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *r = paths_join(rows[i].dir, rows[i].name);
        is_str(r, rows[i].want, "join '%s' '%s'", rows[i].dir, rows[i].name);
        free(r);
    }
}

static void test_tilde(void)
{
    static const struct { const char *home, *in, *want; } rows[] = {
        { "/h", "~/x", "/h/x" },
        { "/h", "~", "/h" },
        { "/h", "~x/y", "/hx/y" },        /* the original does this too */
        { "/h/", "~/x", "/h//x" },        /* literal, as the original */
        { "/h", "/abs/~/x", "/abs/~/x" },
        { "/h", "rel", "rel" },
        { "/h", "", "" },
    };
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *r;
        setenv("HOME", rows[i].home, 1);
        r = paths_expand_tilde(rows[i].in);
        is_str(r, rows[i].want, "tilde '%s' with HOME=%s", rows[i].in,
               rows[i].home);
        free(r);
    }
}

static void test_xdg(void)
{
    char *r;

    setenv("HOME", "/h", 1);
    setenv("XDG_CONFIG_HOME", "/x", 1);
    r = paths_xdg_config("mpop/config");
    is_str(r, "/x/mpop/config", "XDG_CONFIG_HOME set");
    free(r);
    setenv("XDG_CONFIG_HOME", "", 1);
    r = paths_xdg_config("mpop/config");
    is_str(r, "/h/.config/mpop/config", "XDG_CONFIG_HOME empty");
    free(r);
    unsetenv("XDG_CONFIG_HOME");
    r = paths_xdg_config("mpop/config");
    is_str(r, "/h/.config/mpop/config", "XDG_CONFIG_HOME unset");
    free(r);
}

static void test_uh(void)
{
    static const struct {
        const char *tmpl, *user, *host, *want;
    } rows[] = {
        { "~/.mpop_uidls/%U_at_%H", "joe", "pop.example.com",
          "~/.mpop_uidls/joe_at_pop.example.com" },
        { "%U_at_%H", NULL, "h", "_at_h" },
        { "%U_at_%H", "u", NULL, "u_at_" },
        { "%H%H%U%%%x%", "", "h", "hh%%%x%" },
        /* %U first, then %H in the result: observed in the original. */
        { "%H%H%%U", "%U%H", "/s", "/s/s%%U/s" },
        { "plain", "u", "h", "plain" },
        { "%", "u", "h", "%" },
        { "%U%U%U", "long-user-name", "h",
          "long-user-namelong-user-namelong-user-name" },
    };
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *r = paths_expand_uh(rows[i].tmpl, rows[i].user, rows[i].host);
        is_str(r, rows[i].want, "expand '%s'", rows[i].tmpl);
        free(r);
    }
}

static void test_private(void)
{
    static const struct { mode_t mode; int ok; } rows[] = {
        { 0600, 1 }, { 0400, 1 }, { 0200, 1 }, { 0000, 1 },
        { 0640, 0 }, { 0604, 0 }, { 0620, 0 }, { 0602, 0 },
        { 0700, 0 }, { 0644, 0 }, { 04600, 0 },
    };
    char tmpl[] = "/tmp/test-paths-XXXXXX";
    int fd = mkstemp(tmpl);
    size_t i;

    ok(fd >= 0, "temp file");
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct mp_err e;
        int r;
        err_init(&e);
        fchmod(fd, rows[i].mode);
        r = paths_check_private(fd, "f:3", &e);
        if (rows[i].ok) {
            is_int(r, 0, "mode %04o is private", (unsigned)rows[i].mode);
        } else {
            is_int(r, -1, "mode %04o is refused", (unsigned)rows[i].mode);
            ok(e.kind == MP_ECONFIG && strncmp(e.msg, "f:3: ", 5) == 0,
               "mode %04o: MP_ECONFIG naming f:3 (%s)",
               (unsigned)rows[i].mode, e.msg);
        }
    }
    close(fd);
    unlink(tmpl);
}

int main(void)
{
    test_home();
    test_join();
    test_tilde();
    test_xdg();
    test_uh();
    test_private();
    return done_testing();
}
