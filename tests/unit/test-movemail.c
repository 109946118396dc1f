#include "config.h"

#include <string.h>

#include "movemail.h"
#include "tap.h"

static const struct {
    const char *name;
    const char *src;
    const char *mailhost;
    bool tls;                   /* --tls */
    int want;
    const char *user, *pass, *host, *auth;
    int port;
    bool s_tls, s_starttls;
} cases[] = {
    { "pop:// plain", "pop://joe@pop.example.org", NULL, false, 0,
      "joe", NULL, "pop.example.org", NULL, 0, false, false },
    { "pop:// with password and port", "pop://joe:s3cr%3At@h:1100", NULL,
      false, 0, "joe", "s3cr:t", "h", NULL, 1100, false, false },
    { "pop:// with --tls: STARTTLS", "pop://joe@h", NULL, true, 0,
      "joe", NULL, "h", NULL, 0, true, true },
    { "pops:// implicit TLS", "pops://joe@h:995/", NULL, false, 0,
      "joe", NULL, "h", NULL, 995, true, false },
    { "encoded @ in the user", "pop://joe%40example.org@h", NULL, false, 0,
      "joe@example.org", NULL, "h", NULL, 0, false, false },
    { "raw @ in the user: the last @ ends it", "pop://a@b@h", NULL, false,
      0, "a@b", NULL, "h", NULL, 0, false, false },
    { "IPv6 literal", "pop://joe@[::1]:110", NULL, false, 0,
      "joe", NULL, "::1", NULL, 110, false, false },
    { ";AUTH=+APOP", "pop://joe;AUTH=+APOP@h", NULL, false, 0,
      "joe", NULL, "h", "apop", 0, false, false },
    { ";auth=user with a password", "pop://joe;auth=USER:pw@h", NULL, false,
      0, "joe", "pw", "h", "user", 0, false, false },
    { ";AUTH=*", "pop://joe;AUTH=*@h", NULL, false, 0,
      "joe", NULL, "h", NULL, 0, false, false },
    { "po:USER with MAILHOST", "po:joe", "mail.example", false, 0,
      "joe", NULL, "mail.example", NULL, 0, false, false },
    { "po:USER with MAILHOST:PORT", "po:joe", "mail.example:1110", true, 0,
      "joe", NULL, "mail.example", NULL, 1110, true, true },
    { "po:USER:HOST:PORT", "po:joe:h:995", "ignored", false, 0,
      "joe", NULL, "h", NULL, 995, false, false },
    { "po:USER:HOST", "po:joe:h", NULL, false, 0,
      "joe", NULL, "h", NULL, 0, false, false },
    { "po: without host and MAILHOST", "po:joe", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "po: empty user", "po::h", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "unknown scheme", "imap://joe@h", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "a plain file name", "/var/mail/joe", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "no user", "pop://@h", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "no @", "pop://h", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "no host", "pop://joe@", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "port 0", "pop://joe@h:0", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "port too big", "pop://joe@h:65536", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "port not a number", "pop://joe@h:pop3", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "broken escape", "pop://jo%4@h", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "escaped NUL", "pop://jo%00e@h", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "unknown auth method", "pop://joe;AUTH=foo@h", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "; without auth=", "pop://joe;x@h", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
    { "unclosed IPv6", "pop://joe@[::1", NULL, false,
      -1, NULL, NULL, NULL, NULL, 0, false, false },
};

static void test_source(void)
{
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct movemail_source s;
        struct mp_err e;
        int r;

        err_init(&e);
        r = movemail_parse_source(cases[i].src, cases[i].mailhost,
                                  cases[i].tls, &s, &e);
        is_int(r, cases[i].want, "%s: result", cases[i].name);
        if (r < 0) {
            ok(e.kind == MP_EUSAGE && strstr(e.msg, "source") != NULL,
               "%s: usage error naming the source", cases[i].name);
            continue;
        }
        is_str(s.user, cases[i].user, "%s: user", cases[i].name);
        is_str(s.pass, cases[i].pass, "%s: password", cases[i].name);
        is_str(s.host, cases[i].host, "%s: host", cases[i].name);
        is_str(s.auth, cases[i].auth, "%s: auth", cases[i].name);
        ok(s.port == cases[i].port && s.tls == cases[i].s_tls
           && s.starttls == cases[i].s_starttls, "%s: port and TLS",
           cases[i].name);
        movemail_source_clear(&s);
    }
}

static void test_args(void)
{
    struct movemail_opts o;
    struct mp_err e;
    char *a1[] = { "mpop", "--movemail", "-p", "-r", "--tls", "po:joe",
                   "/tmp/box", "pw", NULL };
    char *a2[] = { "mpop-movemail", "pop://j@h", "box", NULL };
    char *a3[] = { "mpop-movemail", "pop://j@h", NULL };
    char *a4[] = { "mpop-movemail", "-x", "pop://j@h", "box", NULL };
    char *a5[] = { "mpop", "--", "--movemail", NULL };
    char *a6[] = { "/usr/bin/mpop-movemail", NULL };
    /* What Emacs Rmail passes to a Mailutils-style movemail. */
    char *a7[] = { "mpop-movemail", "-p", "--emacs", "--file=/x/rc",
                   "pops://j@h", "/tmp/.newmail-RMAIL", "pw", NULL };
    char *a8[] = { "mpop-movemail", "--file", NULL };

    err_init(&e);
    is_int(movemail_parse_args(&o, 8, a1, &e), 0, "args: all flags");
    ok(o.preserve && o.reverse && o.tls && strcmp(o.source, "po:joe") == 0
       && strcmp(o.dest, "/tmp/box") == 0 && strcmp(o.password, "pw") == 0,
       "args: all flags parsed");
    is_int(movemail_parse_args(&o, 3, a2, &e), 0, "args: two arguments");
    ok(!o.preserve && !o.reverse && o.password == NULL,
       "args: defaults, no password");
    is_int(movemail_parse_args(&o, 2, a3, &e), -1, "args: one argument");
    is_int(e.kind, MP_EUSAGE, "args: usage error");
    is_int(movemail_parse_args(&o, 4, a4, &e), -1, "args: unknown flag");
    ok(movemail_invoked(3, a1 + 0) && movemail_invoked(3, a2),
       "invoked: --movemail and the mpop-movemail name");
    ok(!movemail_invoked(3, a5), "invoked: not after --");
    ok(movemail_invoked(1, a6), "invoked: a path to mpop-movemail");
    is_int(movemail_parse_args(&o, 7, a7, &e), 0, "args: as Rmail passes them");
    ok(o.preserve && o.emacs && strcmp(o.conffile, "/x/rc") == 0
       && strcmp(o.source, "pops://j@h") == 0
       && strcmp(o.password, "pw") == 0, "args: --emacs and --file parsed");
    ok(!o.reverse && !o.tls, "args: nothing else set");
    is_int(movemail_parse_args(&o, 2, a8, &e), -1,
           "args: --file without its argument");
    ok(e.kind == MP_EUSAGE && strstr(e.msg, "--file") != NULL,
       "args: the message names --file");
}

int main(void)
{
    test_source();
    test_args();
    return done_testing();
}
