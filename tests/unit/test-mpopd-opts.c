/* mpopd_opts_parse(): mpopd's command line into a struct, checked. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpopd_opts.h"
#include "tap.h"

#define MAXW 16

static char dir[64];

/* argv from words; "@MD@", "@NOTMD@" and "@FILE@" become a maildir, a
 * directory without cur/ and a regular file in the test's folder. */
struct args {
    int argc;
    char *argv[MAXW + 2];
};

static void args_make(struct args *a, const char *const *w)
{
    static const char *const subst[][2] = {
        { "@MD@", "md" }, { "@NOTMD@", "notmd" }, { "@FILE@", "file" }
    };

    a->argc = 0;
    a->argv[a->argc++] = strdup("mpopd");
    for (; *w && a->argc <= MAXW; w++) {
        const char *at = strchr(*w, '@');
        char *s = NULL;

        for (size_t i = 0; at && i < 3; i++) {
            size_t n = strlen(subst[i][0]);

            if (strncmp(at, subst[i][0], n) == 0) {
                s = malloc(strlen(*w) + sizeof dir + 8);
                sprintf(s, "%.*s%s/%s%s", (int)(at - *w), *w, dir,
                        subst[i][1], at + n);
            }
        }
        a->argv[a->argc++] = s ? s : strdup(*w);
    }
    a->argv[a->argc] = NULL;
}

static void args_free(struct args *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
}

static const struct {
    const char *name;
    const char *words[MAXW];
    enum mp_err_kind kind;      /* MP_EOK: accepted */
    const char *msg;            /* a part of the message */
} cases[] = {
    { "one mailbox", { "--auth=u,echo p", "--maildir=@MD@" }, MP_EOK, "" },
    { "two mailboxes", { "--auth=u", "--maildir=@MD@", "--auth=v,echo p",
      "--maildir=@MD@" }, MP_EOK, "" },
    { "every option", { "--inetd", "--interface=::1", "--port=0",
      "--port-file=pf", "--log=syslog", "--max-sessions=1024",
      "--timeout=86400", "--tls-cert=c", "--tls-key=k", "--tls-implicit",
      "--auth=u", "--maildir=@MD@" }, MP_EOK, "" },
    { "no mailbox", { NULL }, MP_EUSAGE, "at least one pair" },
    { "--maildir first", { "--maildir=@MD@" }, MP_EUSAGE,
      "must follow an --auth" },
    { "--auth alone", { "--auth=u" }, MP_EUSAGE, "must be followed" },
    { "--auth twice", { "--auth=u", "--auth=v", "--maildir=@MD@" },
      MP_EUSAGE, "--auth=u must be followed" },
    { "--maildir twice", { "--auth=u", "--maildir=@MD@", "--maildir=@MD@" },
      MP_EUSAGE, "must follow an --auth" },
    { "empty user", { "--auth=,echo p", "--maildir=@MD@" }, MP_EUSAGE,
      "invalid argument" },
    { "user defined twice", { "--auth=u", "--maildir=@MD@", "--auth=u",
      "--maildir=@MD@" }, MP_EUSAGE, "defined twice" },
    { "port too big", { "--port=65536", "--auth=u", "--maildir=@MD@" },
      MP_EUSAGE, "--port" },
    { "port not a number", { "--port=x", "--auth=u", "--maildir=@MD@" },
      MP_EUSAGE, "--port" },
    { "max-sessions 0", { "--max-sessions=0", "--auth=u",
      "--maildir=@MD@" }, MP_EUSAGE, "--max-sessions" },
    { "timeout 0", { "--timeout=0", "--auth=u", "--maildir=@MD@" },
      MP_EUSAGE, "--timeout" },
    { "cert without key", { "--tls-cert=c", "--auth=u", "--maildir=@MD@" },
      MP_EUSAGE, "together" },
    { "implicit without cert", { "--tls-implicit", "--auth=u",
      "--maildir=@MD@" }, MP_EUSAGE, "--tls-implicit" },
    { "an argument", { "--auth=u", "--maildir=@MD@", "extra" }, MP_EUSAGE,
      "unexpected argument extra" },
    { "missing maildir", { "--auth=u", "--maildir=@MD@/nonexistent" },
      MP_ENOINPUT, "--auth=u: cannot open maildir" },
    { "not a maildir", { "--auth=u", "--maildir=@MD@", "--auth=v",
      "--maildir=@NOTMD@" }, MP_ENOINPUT, "--auth=v: maildir " },
    { "a file", { "--auth=u", "--maildir=@FILE@" }, MP_ENOINPUT,
      "not a directory" },
    /* Usage errors come before the maildir check. */
    { "usage before maildir", { "--auth=u", "--maildir=@NOTMD@",
      "--port=x" }, MP_EUSAGE, "--port" },
};

int main(void)
{
    char path[128];
    struct mpopd_opts o;
    struct mp_err e;
    struct args a;
    FILE *f;

    snprintf(dir, sizeof dir, "/tmp/test-mpopd-opts.%ld", (long)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/md", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/md/cur", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/md/new", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/notmd", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/notmd/new", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/file", dir);
    f = fopen(path, "w");
    if (f)
        fclose(f);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r;

        args_make(&a, cases[i].words);
        err_init(&e);
        r = mpopd_opts_parse(&o, a.argc, a.argv, &e);
        if (cases[i].kind == MP_EOK) {
            is_int(r, 0, "%s: accepted", cases[i].name);
            if (r != 0)
                printf("# %s\n", e.msg);
        } else {
            is_int(r, -1, "%s: refused", cases[i].name);
            is_int(e.kind, cases[i].kind, "%s: error kind", cases[i].name);
            ok(strstr(e.msg, cases[i].msg) != NULL, "%s: message \"%s\"",
               cases[i].name, e.msg);
        }
        mpopd_opts_clear(&o);
        args_free(&a);
    }

    /* The struct. */
    {
        static const char *const def[] = { "--auth=u", "--maildir=@MD@",
                                           NULL };
        static const char *const all[] = { "--inetd", "--interface=::1",
            "--port=0", "--port-file=pf", "--log=syslog",
            "--max-sessions=7", "--timeout=30", "--tls-cert=c",
            "--tls-key=k", "--tls-implicit", "--auth=u,echo p",
            "--maildir=@MD@", "--auth=v", "--maildir=@MD@", NULL };

        args_make(&a, def);
        is_int(mpopd_opts_parse(&o, a.argc, a.argv, &e), 0, "defaults");
        ok(o.mode == MPOPD_SERVE && !o.inetd
           && strcmp(o.interface, "127.0.0.1") == 0 && o.port == 1100
           && !o.port_file && strcmp(o.log, "none") == 0
           && o.max_sessions == 16 && o.timeout == 600 && !o.tls_cert
           && !o.tls_key && !o.tls_implicit && o.nboxes == 1
           && strcmp(o.boxes[0].user, "u") == 0 && !o.boxes[0].eval,
           "defaults: the documented values");
        mpopd_opts_clear(&o);
        args_free(&a);

        args_make(&a, all);
        is_int(mpopd_opts_parse(&o, a.argc, a.argv, &e), 0, "all options");
        ok(o.inetd && strcmp(o.interface, "::1") == 0 && o.port == 0
           && strcmp(o.port_file, "pf") == 0 && strcmp(o.log, "syslog") == 0
           && o.max_sessions == 7 && o.timeout == 30
           && strcmp(o.tls_cert, "c") == 0 && strcmp(o.tls_key, "k") == 0
           && o.tls_implicit && o.nboxes == 2
           && strcmp(o.boxes[0].eval, "echo p") == 0
           && strcmp(o.boxes[1].user, "v") == 0 && !o.boxes[1].eval
           && strstr(o.boxes[1].maildir, "/md") != NULL,
           "all options: in the struct");
        mpopd_opts_clear(&o);
        args_free(&a);
    }
    {
        static const char *const v[] = { "--version", "--port=x", NULL };
        static const char *const h[] = { "--help", NULL };

        args_make(&a, v);
        ok(mpopd_opts_parse(&o, a.argc, a.argv, &e) == 0
           && o.mode == MPOPD_VERSION, "--version first: nothing checked");
        mpopd_opts_clear(&o);
        args_free(&a);
        args_make(&a, h);
        ok(mpopd_opts_parse(&o, a.argc, a.argv, &e) == 0
           && o.mode == MPOPD_HELP, "--help: mode");
        mpopd_opts_clear(&o);
        args_free(&a);
    }

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0)
        printf("# cannot remove %s\n", dir);
    done_testing();
}
