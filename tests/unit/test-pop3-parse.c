#include "config.h"

#include <string.h>

#include "pop3_parse.h"
#include "tap.h"

static char *spanstr(struct span s, char *buf, size_t sz)
{
    size_t n = s.len < sz - 1 ? s.len : sz - 1;
    memcpy(buf, s.p ? s.p : "", n);
    buf[n] = '\0';
    return buf;
}

static void test_status(void)
{
    static const struct {
        const char *line;
        int ret;
        enum pop3_status_kind kind;
        enum pop3_resp_code code;
        const char *text;
    } t[] = {
        { "+OK", 0, POP3_OK, POP3_RC_NONE, "" },
        { "+OK ", 0, POP3_OK, POP3_RC_NONE, "" },
        { "+OK 2 320", 0, POP3_OK, POP3_RC_NONE, "2 320" },
        { "-ERR", 0, POP3_ERR, POP3_RC_NONE, "" },
        { "-ERR no such message", 0, POP3_ERR, POP3_RC_NONE,
          "no such message" },
        { "-ERR [IN-USE] locked", 0, POP3_ERR, POP3_RC_IN_USE, "locked" },
        { "-ERR [in-use] locked", 0, POP3_ERR, POP3_RC_IN_USE, "locked" },
        { "-ERR [LOGIN-DELAY] wait", 0, POP3_ERR, POP3_RC_LOGIN_DELAY,
          "wait" },
        { "-ERR [SYS/TEMP] try later", 0, POP3_ERR, POP3_RC_SYS_TEMP,
          "try later" },
        { "-ERR [SYS/TEMP/QUOTA] x", 0, POP3_ERR, POP3_RC_SYS_TEMP, "x" },
        { "-ERR [SYS/PERM] gone", 0, POP3_ERR, POP3_RC_SYS_PERM, "gone" },
        { "-ERR [AUTH] bad password", 0, POP3_ERR, POP3_RC_AUTH,
          "bad password" },
        { "-ERR [AUTH]", 0, POP3_ERR, POP3_RC_AUTH, "" },
        { "-ERR [AUTHX] x", 0, POP3_ERR, POP3_RC_UNKNOWN, "x" },
        { "-ERR [SYS/TEMPX] x", 0, POP3_ERR, POP3_RC_UNKNOWN, "x" },
        { "-ERR [SYS] x", 0, POP3_ERR, POP3_RC_UNKNOWN, "x" },
        { "-ERR [FOO-BAR/BAZ] x", 0, POP3_ERR, POP3_RC_UNKNOWN, "x" },
        /* Not valid codes: stay text. */
        { "-ERR [] x", 0, POP3_ERR, POP3_RC_NONE, "[] x" },
        { "-ERR [SYS//TEMP] x", 0, POP3_ERR, POP3_RC_NONE, "[SYS//TEMP] x" },
        { "-ERR [SYS/] x", 0, POP3_ERR, POP3_RC_NONE, "[SYS/] x" },
        { "-ERR [a b] x", 0, POP3_ERR, POP3_RC_NONE, "[a b] x" },
        { "-ERR [AUTH x", 0, POP3_ERR, POP3_RC_NONE, "[AUTH x" },
        { "-ERR x [AUTH]", 0, POP3_ERR, POP3_RC_NONE, "x [AUTH]" },
        { "+OK [AUTH] odd", 0, POP3_OK, POP3_RC_AUTH, "odd" },
        { "+", 0, POP3_CONT, POP3_RC_NONE, "" },
        { "+ dGVzdA==", 0, POP3_CONT, POP3_RC_NONE, "dGVzdA==" },
        /* Invalid. */
        { "", -1, 0, 0, NULL },
        { "OK", -1, 0, 0, NULL },
        { "+ok", -1, 0, 0, NULL },
        { "-err x", -1, 0, 0, NULL },
        { "+OKAY", -1, 0, 0, NULL },
        { "-ERROR x", -1, 0, 0, NULL },
        { "+\tOK", -1, 0, 0, NULL },
        { " +OK", -1, 0, 0, NULL },
        { "* OK imap", -1, 0, 0, NULL },
        { "220 smtp", -1, 0, 0, NULL },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct pop3_status st;
        const char *why = NULL;
        char b[128];
        int r = pop3_parse_status(t[i].line, strlen(t[i].line), &st, &why);

        if (!is_int(r, t[i].ret, "status '%s': result", t[i].line))
            continue;
        if (r != 0) {
            ok(why != NULL, "status '%s': reason given", t[i].line);
            continue;
        }
        ok(st.kind == t[i].kind && st.code == t[i].code,
           "status '%s': kind %d code %d", t[i].line, st.kind, st.code);
        is_str(spanstr(st.text, b, sizeof b), t[i].text,
               "status '%s': text", t[i].line);
    }
    is_str(pop3_resp_code_name(POP3_RC_SYS_PERM), "SYS/PERM", "code name");
    ok(pop3_resp_code_name(POP3_RC_UNKNOWN) == NULL, "unknown has no name");
}

static void test_greeting(void)
{
    static const struct {
        const char *line;
        int ret;
        const char *timestamp;  /* "" = none */
        int why;                /* timestamp_why expected */
    } t[] = {
        { "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>", 0,
          "<1896.697170952@dbc.mtview.ca.us>", 0 },
        { "+OK <a@b>", 0, "<a@b>", 0 },
        { "+OK <a@b> ready", 0, "<a@b>", 0 },
        { "+OK Dovecot ready.", 0, "", 0 },
        { "+OK", 0, "", 0 },
        { "+OK <>", 0, "", 1 },
        { "+OK <ab>", 0, "", 1 },
        { "+OK <@b>", 0, "", 1 },
        { "+OK <a@>", 0, "", 1 },
        { "+OK <a@b@c>", 0, "", 1 },
        { "+OK <a b@c>", 0, "", 1 },
        { "+OK <a\x01@c>", 0, "", 1 },
        { "+OK <a\xc3\xa4@c>", 0, "", 1 },
        { "+OK <a@b", 0, "", 1 },
        { "+OK <a@b> <c@d>", 0, "", 1 },
        { "+OK <<a@b>", 0, "", 1 },
        { "+OK <a@b>>", 0, "", 1 },
        { "+OK > <a@b>", 0, "", 1 },
        { "+OK a@b>", 0, "", 0 },
        { "-ERR go away", -1, "", 0 },
        { "-ERR [SYS/TEMP] busy", -1, "", 0 },
        { "+ hi", -1, "", 0 },
        { "hello", -1, "", 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct pop3_greeting g;
        const char *why = NULL;
        char b[512];
        int r = pop3_parse_greeting(t[i].line, strlen(t[i].line), &g, &why);

        if (!is_int(r, t[i].ret, "greeting %zu: result", i) || r != 0)
            continue;
        is_str(spanstr(g.timestamp, b, sizeof b), t[i].timestamp,
               "greeting %zu: timestamp", i);
        is_int(g.timestamp_why != NULL, t[i].why,
               "greeting %zu: reason %s", i,
               g.timestamp_why ? g.timestamp_why : "none");
    }
    /* Length bound: 254 inner characters pass, 255 fail. */
    for (int extra = 0; extra < 2; extra++) {
        char line[600];
        struct pop3_greeting g;
        const char *why;
        size_t inner = POP3_TIMESTAMP_MAX - 2 + (size_t)extra;
        size_t n = (size_t)sprintf(line, "+OK <");
        memset(line + n, 'x', inner - 2);
        n += inner - 2;
        memcpy(line + n, "@h>", 3);
        n += 3;
        pop3_parse_greeting(line, n, &g, &why);
        is_int((long long)g.timestamp.len, extra ? 0 : (long long)inner + 2,
               "timestamp of %zu inner characters", inner);
    }
    {
        struct pop3_greeting g;
        const char *why;
        char b[64];
        pop3_parse_greeting("-ERR [IN-USE] x", 15, &g, &why);
        is_str(spanstr(g.text, b, sizeof b), "[IN-USE] x",
               "-ERR greeting keeps its words");
    }
}

static void test_capa(void)
{
    static const struct {
        const char *line;
        int ret;
    } t[] = {
        { "TOP", 0 }, { "top", 0 }, { "USER", 0 }, { "UIDL", 0 },
        { "RESP-CODES", 0 }, { "AUTH-RESP-CODE", 0 }, { "PIPELINING", 0 },
        { "STLS", 0 }, { "SASL PLAIN LOGIN", 0 }, { "SASL", 0 },
        { "SASL SCRAM-SHA-256 X_Y", 0 },
        { "LOGIN-DELAY 900", 0 }, { "LOGIN-DELAY 900 USER", 0 },
        { "EXPIRE 30", 0 }, { "EXPIRE NEVER", 0 }, { "EXPIRE 0 USER", 0 },
        { "IMPLEMENTATION Shlemazle-Plotz-v302", 0 },
        { "X-UNKNOWN whatever you like", 0 },
        { "TOP x", -1 }, { "PIPELINING 1", -1 }, { "USER ", -1 },
        { "SASL PL@IN", -1 }, { "SASL ABCDEFGHIJKLMNOPQRSTU", -1 },
        { "LOGIN-DELAY", -1 }, { "LOGIN-DELAY x", -1 },
        { "LOGIN-DELAY -1", -1 }, { "LOGIN-DELAY 2147483648", -1 },
        { "LOGIN-DELAY 99999999999999999999999", -1 },
        { "LOGIN-DELAY 10 USERS", -1 }, { "LOGIN-DELAY 10 USER x", -1 },
        { "LOGIN-DELAY 10  USER", -1 }, { "LOGIN-DELAY NEVER", -1 },
        { "EXPIRE", -1 }, { "EXPIRE soon", -1 }, { "EXPIRE NEVER USER", -1 },
        { "IMPLEMENTATION", -1 }, { "IMPLEMENTATION ", -1 },
        { "TOP\x1b[2J", -1 }, { "IMPLEMENTATION a\rb", -1 }, { "", -1 },
        { " TOP", -1 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct pop3_caps c;
        const char *why = NULL;
        pop3_caps_init(&c);
        int r = pop3_parse_capa_line(t[i].line, strlen(t[i].line), &c, &why);
        is_int(r, t[i].ret, "capa %zu '%s' %s", i, t[i].line,
               r ? why : "");
    }

    struct pop3_caps c;
    const char *why;
    const char *lines[] = {
        "TOP", "USER", "SASL PLAIN SCRAM-SHA-1", "RESP-CODES",
        "LOGIN-DELAY 900 USER", "PIPELINING", "EXPIRE NEVER", "UIDL",
        "IMPLEMENTATION Dovecot 2.3", "AUTH-RESP-CODE", "STLS",
    };
    pop3_caps_init(&c);
    is_int(c.login_delay, -1, "no login delay by default");
    is_int(c.expire, -1, "no expire by default");
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        pop3_parse_capa_line(lines[i], strlen(lines[i]), &c, &why);
    is_int(c.flags, POP3_CAP_TOP | POP3_CAP_USER | POP3_CAP_SASL
           | POP3_CAP_RESP_CODES | POP3_CAP_LOGIN_DELAY | POP3_CAP_PIPELINING
           | POP3_CAP_EXPIRE | POP3_CAP_UIDL | POP3_CAP_IMPLEMENTATION
           | POP3_CAP_AUTH_RESP_CODE | POP3_CAP_STLS, "all flags");
    is_int(c.login_delay, 900, "login delay");
    ok(c.login_delay_user, "login delay per user");
    is_int(c.expire, POP3_EXPIRE_NEVER, "expire never");
    is_str(c.implementation, "Dovecot 2.3", "implementation");
    is_str(c.sasl, "PLAIN SCRAM-SHA-1", "sasl list");
    ok(pop3_caps_has_sasl(&c, "scram-sha-1"), "has SCRAM-SHA-1");
    ok(!pop3_caps_has_sasl(&c, "SCRAM"), "no SCRAM prefix match");
    ok(!pop3_caps_has_sasl(&c, "LOGIN"), "no LOGIN");

    /* An over-long SASL list fails and leaves the old list. */
    char big[1200] = "SASL";
    for (int i = 0; i < 60; i++)
        strcat(big, " MECHANISM-NUMBER-1");
    is_int(pop3_parse_capa_line(big, strlen(big), &c, &why), -1,
           "SASL list too long");
    is_str(c.sasl, "PLAIN SCRAM-SHA-1", "old list kept");
    char impl[400] = "IMPLEMENTATION ";
    memset(impl + 15, 'x', 300);
    impl[315] = '\0';
    is_int(pop3_parse_capa_line(impl, strlen(impl), &c, &why), -1,
           "IMPLEMENTATION too long");
}

static void test_stat(void)
{
    static const struct {
        const char *text;
        int ret;
        unsigned long n;
        unsigned long long total;
    } t[] = {
        { "2 320", 0, 2, 320 },
        { "0 0", 0, 0, 0 },
        { "1000000 5", 0, 1000000, 5 },
        { "2 320 messages", 0, 2, 320 },
        { "1 4611686018427387904", 0, 1, 1ULL << 62 },
        { "1000001 5", -1, 0, 0 },
        { "18446744073709551616 1", -1, 0, 0 },
        { "1 4611686018427387905", -1, 0, 0 },
        { "1 99999999999999999999999", -1, 0, 0 },
        { "-1 5", -1, 0, 0 },
        { "2", -1, 0, 0 },
        { "2  320", -1, 0, 0 },
        { "x 320", -1, 0, 0 },
        { "2 x", -1, 0, 0 },
        { "2 320x", -1, 0, 0 },
        { " 2 320", -1, 0, 0 },
        { "", -1, 0, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        unsigned long n = 99;
        unsigned long long total = 99;
        const char *why;
        int r = pop3_parse_stat(t[i].text, strlen(t[i].text), &n, &total,
                                &why);
        if (!is_int(r, t[i].ret, "stat '%s'", t[i].text) || r != 0)
            continue;
        ok(n == t[i].n && total == t[i].total, "stat '%s' values",
           t[i].text);
    }
}

static void test_list(void)
{
    static const struct {
        const char *line;
        unsigned long nmsgs;
        int ret;
        unsigned long msn;
        unsigned long long size;
    } t[] = {
        { "1 120", 2, 0, 1, 120 },
        { "2 0", 2, 0, 2, 0 },
        { "2 200 extra info", 2, 0, 2, 200 },
        { "0 120", 2, -1, 0, 0 },
        { "3 120", 2, -1, 0, 0 },
        { "1 120", 0, -1, 0, 0 },
        { "x 120", 2, -1, 0, 0 },
        { "1x 120", 2, -1, 0, 0 },
        { "1  120", 2, -1, 0, 0 },
        { "1", 2, -1, 0, 0 },
        { "1 ", 2, -1, 0, 0 },
        { "1 -5", 2, -1, 0, 0 },
        { "1 12a", 2, -1, 0, 0 },
        { "1 99999999999999999999", 2, -1, 0, 0 },
        { "18446744073709551617 1", 2, -1, 0, 0 },
        { "+1 5", 2, -1, 0, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        unsigned long msn = 0;
        unsigned long long size = 0;
        const char *why;
        int r = pop3_parse_list_line(t[i].line, strlen(t[i].line),
                                     t[i].nmsgs, &msn, &size, &why);
        if (!is_int(r, t[i].ret, "list '%s' of %lu", t[i].line, t[i].nmsgs)
            || r != 0)
            continue;
        ok(msn == t[i].msn && size == t[i].size, "list '%s' values",
           t[i].line);
    }
}

static void test_uidl(void)
{
    static const struct {
        const char *line;
        unsigned long nmsgs;
        int ret;
        unsigned long msn;
        const char *uid;
    } t[] = {
        { "1 whqtswO00WBw418f9t5JxYwZ", 2, 0, 1,
          "whqtswO00WBw418f9t5JxYwZ" },
        { "2 QhdPYR:00WBw1Ph7x7", 2, 0, 2, "QhdPYR:00WBw1Ph7x7" },
        { "2 !", 2, 0, 2, "!" },
        { "2 ~~", 2, 0, 2, "~~" },
        { "0 abc", 2, -1, 0, NULL },
        { "3 abc", 2, -1, 0, NULL },
        { "x abc", 2, -1, 0, NULL },
        { "1", 2, -1, 0, NULL },
        { "1 ", 2, -1, 0, NULL },
        { "1  abc", 2, -1, 0, NULL },
        { "1 abc def", 2, -1, 0, NULL },
        { "1 abc ", 2, -1, 0, NULL },
        { "1 ab\tc", 2, -1, 0, NULL },
        { "1 ab\x7f", 2, -1, 0, NULL },
        { "1 ab\x1b[2J", 2, -1, 0, NULL },
        { "1 \xc3\xa4", 2, -1, 0, NULL },
        { "99999999999999999999999 a", 2, -1, 0, NULL },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        unsigned long msn = 0;
        struct span uid;
        const char *why;
        char b[100];
        int r = pop3_parse_uidl_line(t[i].line, strlen(t[i].line),
                                     t[i].nmsgs, &msn, &uid, &why);
        if (!is_int(r, t[i].ret, "uidl %zu '%s'", i, t[i].line) || r != 0)
            continue;
        ok(msn == t[i].msn, "uidl '%s' msn", t[i].line);
        is_str(spanstr(uid, b, sizeof b), t[i].uid, "uidl '%s' uid",
               t[i].line);
    }
    /* 70 characters pass, 71 fail. */
    for (int extra = 0; extra < 2; extra++) {
        char line[100] = "1 ";
        unsigned long msn;
        struct span uid;
        const char *why;
        memset(line + 2, 'u', 70 + (size_t)extra);
        line[72 + extra] = '\0';
        is_int(pop3_parse_uidl_line(line, strlen(line), 1, &msn, &uid, &why),
               extra ? -1 : 0, "UID of %d characters", 70 + extra);
    }
}

int main(void)
{
    test_status();
    test_greeting();
    test_capa();
    test_stat();
    test_list();
    test_uidl();
    return done_testing();
}
