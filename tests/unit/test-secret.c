#include "config.h"

#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "account.h"
#include "secret.h"
#include "tap.h"
#include "xalloc.h"

static char tmpdir[] = "/tmp/test-secret.XXXXXX";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        perror(path);
        exit(99);
    }
    fputs(text, f);
    fclose(f);
}

/* passwordeval: command -> output or error kind and a word of the message. */
static const struct {
    const char *name;
    const char *cmd;
    const char *want;           /* NULL: error */
    const char *msg_part;       /* in the error message */
} evals[] = {
    { "plain", "printf abc", "abc", NULL },
    { "trailing newline removed", "echo 'pass word'", "pass word", NULL },
    { "trailing CRLFs removed", "printf 'x\\r\\n\\n'", "x", NULL },
    { "inner newline kept", "printf 'a\\nb\\n'", "a\nb", NULL },
    { "only a newline is an empty password", "echo", "", NULL },
    { "failing command", "printf abc; exit 3", NULL, "exit code 3" },
    { "command not found", "/nonexistent/cmd", NULL, "/nonexistent/cmd" },
    { "no output", "true", NULL, "printed nothing" },
    { "killed", "kill -9 $$", NULL, "signal 9" },
    { "NUL byte", "printf 'a\\000b'", NULL, "NUL" },
};

static void test_eval(void)
{
    struct mp_err e;
    char *out;
    size_t i;
    int r;

    for (i = 0; i < sizeof evals / sizeof evals[0]; i++) {
        err_init(&e);
        out = NULL;
        r = secret_eval(evals[i].cmd, &out, &e);
        if (evals[i].want) {
            is_int(r, 0, "eval %s: ok", evals[i].name);
            is_str(out, evals[i].want, "eval %s: output", evals[i].name);
        } else {
            is_int(r, -1, "eval %s: fails", evals[i].name);
            is_int(e.kind, MP_ECONFIG, "eval %s: kind", evals[i].name);
            ok(strstr(e.msg, evals[i].msg_part) != NULL
               && strstr(e.msg, evals[i].cmd) != NULL,
               "eval %s: message names command (%s)", evals[i].name, e.msg);
            ok(out == NULL, "eval %s: no output", evals[i].name);
        }
        xfree_secret(&out);
    }

    /* Far more than any pipe buffer, well under the cap. */
    err_init(&e);
    r = secret_eval("head -c 300000 /dev/zero | tr '\\0' x", &out, &e);
    is_int(r, 0, "eval 300000 bytes: ok");
    is_int(out ? (long long)strlen(out) : -1, 300000,
           "eval 300000 bytes: all kept");
    xfree_secret(&out);

    err_init(&e);
    r = secret_eval("head -c 2000000 /dev/zero | tr '\\0' x", &out, &e);
    is_int(r, -1, "eval over the cap fails");
    ok(strstr(e.msg, "more than") != NULL, "eval over the cap: message");
}

static void test_netrc(void)
{
    struct mp_err e;
    char path[256], *pw;
    int r;

    snprintf(path, sizeof path, "%s/netrc", tmpdir);
    write_file(path, "machine pop.example login joe password fromnetrc\n"
                     "machine bad.example login\n");
    err_init(&e);
    r = secret_netrc_lookup(path, "pop.example", "joe", &pw, &e);
    /* The syntax error on line 2 is found only when the walk gets there. */
    is_int(r, 1, "netrc lookup: found before the bad line");
    is_str(pw, "fromnetrc", "netrc lookup: password");
    xfree_secret(&pw);

    err_init(&e);
    r = secret_netrc_lookup(path, "other.example", "joe", &pw, &e);
    is_int(r, -1, "netrc lookup: syntax error");
    is_int(e.kind, MP_ECONFIG, "netrc lookup: syntax error kind");
    {
        char want[300];

        snprintf(want, sizeof want, "%s:2:", path);
        ok(strncmp(e.msg, want, strlen(want)) == 0,
           "netrc lookup: FILE:LINE in '%s'", e.msg);
    }

    write_file(path, "machine pop.example login joe password p\n");
    err_init(&e);
    r = secret_netrc_lookup(path, "pop.example", "ann", &pw, &e);
    is_int(r, 0, "netrc lookup: other user not found");
    ok(pw == NULL, "netrc lookup: no password when not found");

    snprintf(path, sizeof path, "%s/missing", tmpdir);
    err_init(&e);
    r = secret_netrc_lookup(path, "pop.example", "joe", &pw, &e);
    is_int(r, 0, "netrc lookup: missing file is not an error");
}

/* In a child without a controlling terminal. */
static void test_no_tty(void)
{
    pid_t pid;
    int st;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct mp_err e;
        char *pw;
        int r;

        setsid();
        err_init(&e);
        r = secret_prompt("password: ", &pw, &e);
        _exit(r == -1 && e.kind == MP_EAUTH && strstr(e.msg, "terminal")
              ? 0 : 1);
    }
    waitpid(pid, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
       "prompt without a terminal: MP_EAUTH naming the terminal");
}

/* A pseudo terminal as the child's controlling terminal: the prompt shows,
 * the typed password is not echoed, the answer comes back. */
static void test_pty(void)
{
    char buf[512];
    size_t got = 0;
    ssize_t n;
    pid_t pid;
    int master, st;

    fflush(stdout);
    pid = forkpty(&master, NULL, NULL, NULL);
    if (pid < 0) {
        ok(0, "forkpty");
        return;
    }
    if (pid == 0) {
        struct mp_err e;
        char *pw = NULL;
        int r;

        err_init(&e);
        r = secret_prompt("pw? ", &pw, &e);
        _exit(r == 0 && strcmp(pw, "top secret") == 0 ? 0 : 1);
    }
    /* Wait for the prompt, which comes after echo is switched off. */
    while (got < sizeof buf - 1) {
        n = read(master, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "pw? "))
            break;
    }
    buf[got] = '\0';
    ok(strstr(buf, "pw? ") != NULL, "pty: prompt shown");
    if (write(master, "top secret\n", 11) != 11)
        ok(0, "pty: write");
    got = 0;
    for (;;) {
        n = read(master, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    ok(strstr(buf, "top secret") == NULL, "pty: password not echoed");
    waitpid(pid, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pty: password read");
    close(master);
}

static void test_order(void)
{
    struct account *a = account_new("acc");
    enum secret_source src;
    struct mp_err e;
    char path[256], *pw;
    int r;

    snprintf(path, sizeof path, "%s/.netrc", tmpdir);
    write_file(path, "machine pop.example login joe password fromnetrc\n");
    setenv("HOME", tmpdir, 1);
    a->host = xstrdup("pop.example");
    a->user = xstrdup("joe");
    a->password = xstrdup("fromconf");
    a->passwordeval = xstrdup("echo fromeval");

    err_init(&e);
    r = secret_get_password(a, &pw, &src, &e);
    ok(r == 0 && src == SECRET_CONFIG, "order: config password first");
    is_str(pw, "fromconf", "order: config password value");
    xfree_secret(&pw);

    xfree_secret(&a->password);
    r = secret_get_password(a, &pw, &src, &e);
    ok(r == 0 && src == SECRET_EVAL, "order: then passwordeval");
    is_str(pw, "fromeval", "order: passwordeval value");
    xfree_secret(&pw);

    free(a->passwordeval);
    a->passwordeval = xstrdup("exit 1");
    err_init(&e);
    r = secret_get_password(a, &pw, &src, &e);
    is_int(r, -1, "order: failing passwordeval does not fall through");
    ok(strncmp(e.msg, "account acc: ", 13) == 0,
       "order: error names the account (%s)", e.msg);

    free(a->passwordeval);
    a->passwordeval = NULL;
    r = secret_get_password(a, &pw, &src, &e);
    ok(r == 0 && src == SECRET_NETRC, "order: then ~/.netrc");
    is_str(pw, "fromnetrc", "order: netrc value");
    xfree_secret(&pw);

    unlink(path);
    account_free(&a);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 99;
    }
    test_eval();
    test_netrc();
    test_no_tty();
    test_pty();
    test_order();
    {
        char cmd[300];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            ok(0, "cleanup");
    }
    return done_testing();
}
