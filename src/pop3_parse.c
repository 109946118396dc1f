#include "config.h"

#include <string.h>

#include "pop3_parse.h"

static int fail(const char **why_r, const char *why)
{
    *why_r = why;
    return -1;
}

static bool is_ctl(unsigned char ch)
{
    return ch < 0x20 || ch == 0x7f;
}

static bool has_ctl(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (is_ctl((unsigned char)p[i]))
            return true;
    return false;
}

static bool is_alnum(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
           || (ch >= '0' && ch <= '9');
}

static const struct {
    const char *name;
    enum pop3_resp_code code;
} resp_codes[] = {
    { "IN-USE", POP3_RC_IN_USE },
    { "LOGIN-DELAY", POP3_RC_LOGIN_DELAY },
    { "SYS/TEMP", POP3_RC_SYS_TEMP },
    { "SYS/PERM", POP3_RC_SYS_PERM },
    { "AUTH", POP3_RC_AUTH },
};

const char *pop3_resp_code_name(enum pop3_resp_code c)
{
    for (size_t i = 0; i < sizeof resp_codes / sizeof resp_codes[0]; i++)
        if (resp_codes[i].code == c)
            return resp_codes[i].name;
    return NULL;
}

/* RFC 2449 §3: resp-code = "[" resp-level *("/" resp-level) "]",
 * resp-level = 1*rchar, rchar = ALPHA / DIGIT / "-". */
static bool valid_code(const char *p, size_t len)
{
    bool level_start = true;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '/') {
            if (level_start)
                return false;
            level_start = true;
        } else if (is_alnum(ch) || ch == '-') {
            level_start = false;
        } else {
            return false;
        }
    }
    return !level_start;
}

/* Matches a known code or a hierarchical child of it: "SYS/TEMP" matches
 * "SYS/TEMP" and "SYS/TEMP/X", never "SYS/TEMPX". */
static enum pop3_resp_code lookup_code(struct span s)
{
    for (size_t i = 0; i < sizeof resp_codes / sizeof resp_codes[0]; i++) {
        struct span head = s;
        size_t n = strlen(resp_codes[i].name);
        if (s.len < n || (s.len > n && s.p[n] != '/'))
            continue;
        head.len = n;
        if (span_eq_ci(head, resp_codes[i].name))
            return resp_codes[i].code;
    }
    return POP3_RC_UNKNOWN;
}

int pop3_parse_status(const char *line, size_t len, struct pop3_status *st_r,
                      const char **why_r)
{
    struct pop3_status st;
    size_t n;

    memset(&st, 0, sizeof st);
    st.text.p = line + len;
    if (len >= 3 && memcmp(line, "+OK", 3) == 0) {
        st.kind = POP3_OK;
        n = 3;
    } else if (len >= 4 && memcmp(line, "-ERR", 4) == 0) {
        st.kind = POP3_ERR;
        n = 4;
    } else if (len >= 1 && line[0] == '+') {
        st.kind = POP3_CONT;
        n = 1;
    } else {
        return fail(why_r, "no +OK or -ERR at the start of the reply");
    }
    if (n < len && line[n] != ' ')
        return fail(why_r, "garbage after the status indicator");
    if (n < len)
        n++;
    st.text.p = line + n;
    st.text.len = len - n;
    if (st.kind == POP3_CONT) {
        *st_r = st;
        return 0;
    }
    if (st.text.len > 0 && st.text.p[0] == '[') {
        const char *close = memchr(st.text.p, ']', st.text.len);
        if (close && valid_code(st.text.p + 1,
                                (size_t)(close - st.text.p) - 1)) {
            st.code_text.p = st.text.p + 1;
            st.code_text.len = (size_t)(close - st.text.p) - 1;
            st.code = lookup_code(st.code_text);
            n = (size_t)(close - line) + 1;
            if (n < len && line[n] == ' ')
                n++;
            st.text.p = line + n;
            st.text.len = len - n;
        }
    }
    *st_r = st;
    return 0;
}

int pop3_parse_greeting(const char *line, size_t len,
                        struct pop3_greeting *g_r, const char **why_r)
{
    struct pop3_status st;
    struct pop3_greeting g;
    const char *lt, *gt, *at;
    size_t inner;

    if (pop3_parse_status(line, len, &st, why_r) != 0)
        return -1;
    memset(&g, 0, sizeof g);
    g.text = st.text;
    g.timestamp.p = line + len;
    /* A -ERR greeting may carry a code; keep all of its words. */
    if (st.kind == POP3_ERR) {
        g.text.p = line + 4 + (len > 4);
        g.text.len = (size_t)(line + len - g.text.p);
    }
    *g_r = g;
    if (st.kind == POP3_CONT)
        return fail(why_r, "a continuation instead of a greeting");
    if (st.kind == POP3_ERR)
        return fail(why_r, "the server refused the connection");

    lt = memchr(line, '<', len);
    if (!lt)
        return 0;
    gt = memchr(lt, '>', (size_t)(line + len - lt));
    if (!gt) {
        g_r->timestamp_why = "APOP timestamp without a closing '>'";
        return 0;
    }
    if (memchr(lt + 1, '<', (size_t)(line + len - lt - 1))
        || memchr(line, '>', (size_t)(lt - line))
        || memchr(gt + 1, '>', (size_t)(line + len - gt - 1))) {
        g_r->timestamp_why = "more than one '<' or '>' in the greeting";
        return 0;
    }
    inner = (size_t)(gt - lt) - 1;
    if (inner == 0 || inner + 2 > POP3_TIMESTAMP_MAX) {
        g_r->timestamp_why = "APOP timestamp empty or too long";
        return 0;
    }
    for (size_t i = 0; i < inner; i++) {
        unsigned char ch = (unsigned char)lt[1 + i];
        if (ch < 0x21 || ch > 0x7e) {
            g_r->timestamp_why = "APOP timestamp with a space, control "
                                 "or non-ASCII character";
            return 0;
        }
    }
    at = memchr(lt + 1, '@', inner);
    if (!at || at == lt + 1 || at == gt - 1
        || memchr(at + 1, '@', (size_t)(gt - at - 1))) {
        g_r->timestamp_why = "APOP timestamp is not of the form <x@y>";
        return 0;
    }
    g_r->timestamp.p = lt;
    g_r->timestamp.len = inner + 2;
    return 0;
}

void pop3_caps_init(struct pop3_caps *c)
{
    memset(c, 0, sizeof *c);
    c->login_delay = -1;
    c->expire = -1;
}

/* RFC 4422 §3.1: mechanism names are 1..20 of A-Z 0-9 - _.  Servers send
 * them upper case; we accept lower case too and keep what was sent. */
static bool valid_mech(struct span m)
{
    if (m.len == 0 || m.len > 20)
        return false;
    for (size_t i = 0; i < m.len; i++) {
        unsigned char ch = (unsigned char)m.p[i];
        if (!is_alnum(ch) && ch != '-' && ch != '_')
            return false;
    }
    return true;
}

static int capa_sasl(struct cursor *cur, struct pop3_caps *c,
                     const char **why_r)
{
    char list[POP3_SASL_MAX];
    size_t n = 0;

    list[0] = '\0';
    /* "SASL" with no mechanism: RFC 2449 §6.3 asks for at least one, but
     * a server may offer SASL only after STLS and still list the word; it
     * is harmless, so it counts as an empty list. */
    while (!cursor_eof(cur)) {
        struct span m;
        if (cursor_spaces(cur) != 0)
            return fail(why_r, "bad separator in the SASL list");
        if (cursor_eof(cur))
            break;      /* trailing spaces */
        if (cursor_word(cur, 20, &m) != 0 || !valid_mech(m))
            return fail(why_r, "invalid SASL mechanism name");
        if (n + (n > 0) + m.len + 1 > sizeof list)
            return fail(why_r, "SASL mechanism list too long");
        if (n > 0)
            list[n++] = ' ';
        memcpy(list + n, m.p, m.len);
        n += m.len;
        list[n] = '\0';
    }
    memcpy(c->sasl, list, n + 1);
    c->flags |= POP3_CAP_SASL;
    return 0;
}

/* "n" or "n USER" (LOGIN-DELAY); "n", "NEVER", "n USER" (EXPIRE). */
static int capa_duration(struct cursor *cur, bool allow_never,
                         long long *val_r, bool *user_r, const char **why_r)
{
    unsigned long long v;
    struct span w;

    if (cursor_space(cur) != 0)
        return fail(why_r, "missing argument");
    if (cursor_ulong(cur, 0, POP3_CAPA_NUM_MAX, &v) == 0) {
        *val_r = (long long)v;
    } else if (allow_never && cursor_word(cur, 5, &w) == 0
               && span_eq_ci(w, "NEVER")) {
        *val_r = POP3_EXPIRE_NEVER;
    } else {
        return fail(why_r, "bad number");
    }
    *user_r = false;
    if (cursor_eof(cur))
        return 0;
    if (cursor_space(cur) != 0 || cursor_word(cur, 4, &w) != 0
        || !span_eq_ci(w, "USER") || !cursor_eof(cur))
        return fail(why_r, "garbage after the number");
    if (*val_r == POP3_EXPIRE_NEVER)
        return fail(why_r, "EXPIRE NEVER USER makes no sense");
    *user_r = true;
    return 0;
}

int pop3_parse_capa_line(const char *line, size_t len, struct pop3_caps *c,
                         const char **why_r)
{
    static const struct {
        const char *name;
        unsigned flag;
    } flags[] = {
        { "TOP", POP3_CAP_TOP },
        { "USER", POP3_CAP_USER },
        { "RESP-CODES", POP3_CAP_RESP_CODES },
        { "AUTH-RESP-CODE", POP3_CAP_AUTH_RESP_CODE },
        { "PIPELINING", POP3_CAP_PIPELINING },
        { "UIDL", POP3_CAP_UIDL },
        { "STLS", POP3_CAP_STLS },
    };
    struct cursor cur;
    struct span name;

    if (has_ctl(line, len))
        return fail(why_r, "control character in a capability");
    cursor_init(&cur, line, len);
    /* RFC 2449 §5: capability names are at most 40 characters. */
    if (cursor_word(&cur, 40, &name) != 0)
        return fail(why_r, "empty or over-long capability name");
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (span_eq_ci(name, flags[i].name)) {
            if (!cursor_eof(&cur))
                return fail(why_r, "arguments after a capability that "
                            "takes none");
            c->flags |= flags[i].flag;
            return 0;
        }
    }
    if (span_eq_ci(name, "SASL"))
        return capa_sasl(&cur, c, why_r);
    if (span_eq_ci(name, "LOGIN-DELAY")) {
        if (capa_duration(&cur, false, &c->login_delay,
                          &c->login_delay_user, why_r) != 0)
            return -1;
        c->flags |= POP3_CAP_LOGIN_DELAY;
        return 0;
    }
    if (span_eq_ci(name, "EXPIRE")) {
        if (capa_duration(&cur, true, &c->expire, &c->expire_user,
                          why_r) != 0)
            return -1;
        c->flags |= POP3_CAP_EXPIRE;
        return 0;
    }
    if (span_eq_ci(name, "IMPLEMENTATION")) {
        struct span rest;
        if (cursor_space(&cur) != 0)
            return fail(why_r, "IMPLEMENTATION without text");
        cursor_rest(&cur, &rest);
        if (rest.len == 0)
            return fail(why_r, "IMPLEMENTATION without text");
        if (rest.len >= sizeof c->implementation)
            return fail(why_r, "IMPLEMENTATION text too long");
        memcpy(c->implementation, rest.p, rest.len);
        c->implementation[rest.len] = '\0';
        c->flags |= POP3_CAP_IMPLEMENTATION;
        return 0;
    }
    return 0;
}

bool pop3_caps_has_sasl(const struct pop3_caps *c, const char *mech)
{
    struct cursor cur;

    cursor_init(&cur, c->sasl, strlen(c->sasl));
    while (!cursor_eof(&cur)) {
        struct span m;
        if (cursor_word(&cur, sizeof c->sasl, &m) != 0)
            break;
        if (span_eq_ci(m, mech))
            return true;
        if (cursor_space(&cur) != 0)
            break;
    }
    return false;
}

int pop3_parse_stat(const char *text, size_t len, unsigned long *n_r,
                    unsigned long long *total_r, const char **why_r)
{
    struct cursor cur;
    unsigned long long n, total;

    cursor_init(&cur, text, len);
    if (cursor_ulong(&cur, 0, ~0ULL, &n) != 0)
        return fail(why_r, "STAT count is not a number");
    if (n > POP3_MSGS_MAX)
        return fail(why_r, "STAT count above the limit");
    if (cursor_space(&cur) != 0)
        return fail(why_r, "STAT reply without a size");
    if (cursor_ulong(&cur, 0, POP3_SIZE_MAX, &total) != 0)
        return fail(why_r, "STAT size is not a number or too big");
    if (!cursor_eof(&cur) && cursor_space(&cur) != 0)
        return fail(why_r, "garbage after the STAT size");
    *n_r = (unsigned long)n;
    *total_r = total;
    return 0;
}

static int parse_msn(struct cursor *cur, unsigned long nmsgs,
                     unsigned long *msn_r, const char **why_r)
{
    unsigned long long v;

    if (cursor_ulong(cur, 0, ~0ULL, &v) != 0)
        return fail(why_r, "message number is not a number");
    if (v == 0)
        return fail(why_r, "message number 0");
    if (v > nmsgs)
        return fail(why_r, "message number above the message count");
    *msn_r = (unsigned long)v;
    return 0;
}

int pop3_parse_list_line(const char *line, size_t len, unsigned long nmsgs,
                         unsigned long *msn_r, unsigned long long *size_r,
                         const char **why_r)
{
    struct cursor cur;
    unsigned long msn;
    unsigned long long size;

    cursor_init(&cur, line, len);
    if (parse_msn(&cur, nmsgs, &msn, why_r) != 0)
        return -1;
    if (cursor_space(&cur) != 0)
        return fail(why_r, "no single space after the message number");
    if (cursor_ulong(&cur, 0, POP3_SIZE_MAX, &size) != 0)
        return fail(why_r, "message size is not a number or too big");
    /* RFC 1939 §5 (LIST): what follows the size is left open. */
    if (!cursor_eof(&cur) && cursor_space(&cur) != 0)
        return fail(why_r, "garbage after the message size");
    *msn_r = msn;
    *size_r = size;
    return 0;
}

int pop3_parse_uidl_line(const char *line, size_t len, unsigned long nmsgs,
                         unsigned long *msn_r, struct span *uid_r,
                         const char **why_r)
{
    struct cursor cur;
    unsigned long msn;
    struct span uid;

    cursor_init(&cur, line, len);
    if (parse_msn(&cur, nmsgs, &msn, why_r) != 0)
        return -1;
    /* Exactly one space (RFC 1939 §7).  No leniency: no server we know of
     * pads here, and a padded UID would silently change its identity. */
    if (cursor_space(&cur) != 0)
        return fail(why_r, "no single space after the message number");
    cursor_rest(&cur, &uid);
    if (uid.len == 0)
        return fail(why_r, "empty UID");
    if (uid.len > POP3_UID_MAX)
        return fail(why_r, "UID longer than 70 characters");
    for (size_t i = 0; i < uid.len; i++) {
        unsigned char ch = (unsigned char)uid.p[i];
        if (ch < 0x21 || ch > 0x7e)
            return fail(why_r, "UID with a space, control or non-ASCII "
                        "character");
    }
    *msn_r = msn;
    *uid_r = uid;
    return 0;
}
