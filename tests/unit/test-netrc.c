#include "config.h"

#include <string.h>

#include "netrc.h"
#include "tap.h"

/* Lookups: text, host, login -> expected result and password (or the line
 * of the syntax error). */
static const struct {
    const char *name;
    const char *text;
    const char *host, *login;
    int want;                   /* 1 found, 0 not found, -1 error */
    const char *password;       /* when found */
    unsigned long line;         /* when error */
} cases[] = {
    { "one line", "machine pop.example login joe password s3cret\n",
      "pop.example", "joe", 1, "s3cret", 0 },
    { "one keyword per line",
      "machine pop.example\n  login joe\n  password s3cret\n",
      "pop.example", "joe", 1, "s3cret", 0 },
    { "host is case-blind", "machine POP.Example login joe password p\n",
      "pop.example", "joe", 1, "p", 0 },
    { "login is exact", "machine h login Joe password p\n",
      "h", "joe", 0, NULL, 0 },
    { "second entry matches",
      "machine h login ann password a\nmachine h login joe password j\n",
      "h", "joe", 1, "j", 0 },
    { "first match wins",
      "machine h login joe password one\nmachine h login joe password two\n",
      "h", "joe", 1, "one", 0 },
    { "other host", "machine other login joe password p\n",
      "h", "joe", 0, NULL, 0 },
    { "entry without login is not used", "machine h password p\n",
      "h", "joe", 0, NULL, 0 },
    { "entry without password is not used", "machine h login joe\n",
      "h", "joe", 0, NULL, 0 },
    { "default is never used", "default login joe password p\n",
      "h", "joe", 0, NULL, 0 },
    { "default after machine ends it",
      "machine h login joe default password p\n", "h", "joe", 0, NULL, 0 },
    { "quoted password with blanks",
      "machine h login joe password \"a b\tc\"\n", "h", "joe", 1, "a b\tc",
      0 },
    { "account field ignored",
      "machine h login joe account acc password p\n", "h", "joe", 1, "p",
      0 },
    { "macdef body skipped",
      "macdef init\nmachine h login joe password wrong\n\n"
      "machine h login joe password right\n", "h", "joe", 1, "right", 0 },
    { "comment in keyword position",
      "# machine h login joe password c\nmachine h login joe password p\n",
      "h", "joe", 1, "p", 0 },
    { "hash in value is data", "machine h login joe password #x\n",
      "h", "joe", 1, "#x", 0 },
    { "unknown keyword skipped", "machine h port 21 login joe password p\n",
      "h", "joe", 1, "p", 0 },
    { "CRLF lines", "machine h\r\nlogin joe\r\npassword p\r\n",
      "h", "joe", 1, "p", 0 },
    { "empty file", "", "h", "joe", 0, NULL, 0 },
    { "login before any machine ignored",
      "login joe password p\n", "h", "joe", 0, NULL, 0 },
    { "keyword without value", "machine h login joe password",
      "h", "joe", -1, NULL, 1 },
    { "keyword without value on line 3", "machine h\nlogin joe\npassword\n",
      "h", "joe", -1, NULL, 3 },
    { "unterminated quote", "machine h\nlogin joe password \"abc\n",
      "h", "joe", -1, NULL, 2 },
};

static int count_cb(const struct netrc_entry *ent, void *arg)
{
    (void)ent;
    (*(int *)arg)++;
    return 0;
}

int main(void)
{
    struct netrc_entry ent;
    unsigned long line;
    const char *why;
    size_t i;
    int r, n;
    static const char three[] = "machine a login x\ndefault\nmachine b\n";
    static const char nul[] = "machine h\nlogin j\0oe password p\n";

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&ent, 0, sizeof ent);
        line = 0;
        why = NULL;
        r = netrc_find(cases[i].text, strlen(cases[i].text), cases[i].host,
                       cases[i].login, &ent, &line, &why);
        is_int(r, cases[i].want, "%s: result", cases[i].name);
        if (cases[i].want == 1) {
            is_mem(ent.password.p, ent.password.len, cases[i].password,
                   strlen(cases[i].password), "%s: password",
                   cases[i].name);
        } else if (cases[i].want == -1) {
            is_int((long long)line, (long long)cases[i].line, "%s: line",
                   cases[i].name);
            ok(why != NULL && *why, "%s: reason given", cases[i].name);
        }
    }

    r = netrc_find(nul, sizeof nul - 1, "h", "joe", &ent, &line, &why);
    is_int(r, -1, "NUL byte is an error");
    is_int((long long)line, 2, "NUL byte: line");

    n = 0;
    r = netrc_parse(three, strlen(three), count_cb, &n, &line, &why);
    is_int(r, 0, "parse: three entries ok");
    is_int(n, 3, "parse: callback per entry");

    r = netrc_find(cases[0].text, strlen(cases[0].text), "pop.example",
                   "joe", &ent, &line, &why);
    is_int((long long)ent.line, 1, "entry line");
    ok(ent.has_login && ent.has_password && !ent.has_account
       && !ent.is_default, "entry flags");
    return done_testing();
}
