#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "gettext.h"
#include "paths.h"
#include "proc.h"
#include "strparse.h"
#include "xalloc.h"

/* An eval command's output longer than this is an error: one config line
 * never needs more, and a runaway command must not fill our memory. */
#define EVAL_OUTPUT_MAX (64 * 1024)

struct conf_state {
    const char *name;           /* file name for messages */
    struct account_list *out;
    struct account *defaults;
    struct account *cur;        /* NULL before the first account/defaults */
    int line;
    int password_line;          /* first literal `password` or
                                 * `oauth2_client_secret` line, or 0 */
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int bad_arg(struct mp_err *e, const char *cmd, const char *arg)
{
    return err_set(e, MP_ECONFIG, _("invalid argument %s for command %s"),
                   arg, cmd);
}

static int parse_bool(const char *cmd, const char *arg, bool *r,
                      struct mp_err *e)
{
    if (*arg == '\0' || strcmp(arg, "on") == 0)
        *r = true;
    else if (strcmp(arg, "off") == 0)
        *r = false;
    else
        return bad_arg(e, cmd, arg);
    return 0;
}

static int parse_int(const char *cmd, const char *arg, unsigned long long min,
                     unsigned long long max, int *r, struct mp_err *e)
{
    unsigned long long v;

    if (str_to_ull(arg, min, max, &v) != 0)
        return bad_arg(e, cmd, arg);
    *r = (int)v;
    return 0;
}

/* "off", or a number of bytes with an optional k/K (KiB) or m/M (MiB)
 * suffix; the original uses 1024 and 1048576 and accepts only lower case,
 * we accept both. */
static int parse_size(const char *arg, long long *r, struct mp_err *e)
{
    unsigned long long v, mult = 1;
    char *digits;
    size_t n = strlen(arg);
    int ret;

    if (strcmp(arg, "off") == 0) {
        *r = -1;
        return 0;
    }
    if (n > 0 && strchr("kK", arg[n - 1])) {
        mult = 1024;
        n--;
    } else if (n > 0 && strchr("mM", arg[n - 1])) {
        mult = 1024 * 1024;
        n--;
    }
    digits = xstrndup(arg, n);
    ret = str_to_ull(digits, 0, (unsigned long long)LLONG_MAX / mult, &v);
    free(digits);
    if (ret != 0)
        return err_set(e, MP_ECONFIG,
                       _("invalid size (not a number or out of range): %s"),
                       arg);
    *r = (long long)(v * mult);
    return 0;
}

/* Our extension: a duration as number-unit groups, units w d h m s,
 * optionally separated by blanks: "1d12h", "36h", "1d 11h 60m". */
static int parse_duration(const char *arg, long long *r)
{
    long long total = 0;
    int groups = 0;
    const char *p = arg;

    for (;;) {
        unsigned long long v = 0, unit;

        while (is_blank(*p))
            p++;
        if (*p == '\0')
            break;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            if (v > (unsigned long long)LLONG_MAX / 10)
                return -1;
            v = v * 10 + (unsigned long long)(*p++ - '0');
        }
        switch (*p++) {
        case 'w': unit = 604800; break;
        case 'd': unit = 86400; break;
        case 'h': unit = 3600; break;
        case 'm': unit = 60; break;
        case 's': unit = 1; break;
        default: return -1;
        }
        if (v > (unsigned long long)(LLONG_MAX - total) / unit)
            return -1;
        total += (long long)(v * unit);
        groups++;
    }
    if (groups == 0 || total <= 0)
        return -1;
    *r = total;
    return 0;
}

static bool fingerprint_ok(const char *s)
{
    static const char hex[] = "0123456789abcdefABCDEF";
    size_t n = 0;

    for (;;) {
        if (!s[0] || !strchr(hex, s[0]) || !s[1] || !strchr(hex, s[1]))
            return false;
        n++;
        s += 2;
        if (*s == '\0')
            break;
        if (*s++ != ':')
            return false;
    }
    return n == 16 || n == 20 || n == 32;
}

const char *const conf_auth_methods[] = {
    "user", "apop", "plain", "scram-sha-1", "scram-sha-256",
    "scram-sha-1-plus", "scram-sha-256-plus", "cram-md5", "digest-md5",
    "gssapi", "external", "login", "ntlm", "oauthbearer", "xoauth2", NULL
};

static int unquote(const char *arg, char **r, struct mp_err *e);

/* Replaces *dst with a copy of arg, or NULL when arg is empty. */
static void put_str(char **dst, const char *arg)
{
    free(*dst);
    *dst = *arg ? xstrdup(arg) : NULL;
}

static void put_file(char **dst, const char *arg)
{
    free(*dst);
    *dst = *arg ? paths_expand_tilde(arg) : NULL;
}

static int set_delivery(struct account *a, const char *arg,
                        struct mp_err *e)
{
    static const struct { const char *name; int method; bool path; } m[] = {
        { "mda", DELIVERY_MDA, false },
        { "maildir", DELIVERY_MAILDIR, true },
        { "mbox", DELIVERY_MBOX, true },
        { "exchange", DELIVERY_EXCHANGE, true },
    };
    size_t i, wlen = strcspn(arg, " \t");
    const char *rest = arg + wlen;
    char *val;

    while (is_blank(*rest))
        rest++;
    for (i = 0; i < sizeof m / sizeof m[0]; i++) {
        if (strlen(m[i].name) == wlen && strncmp(arg, m[i].name, wlen) == 0)
            break;
    }
    if (i == sizeof m / sizeof m[0] || *rest == '\0')
        return bad_arg(e, "delivery", arg);
    /* The original also strips quotes around the part after the method. */
    if (unquote(rest, &val, e) != 0)
        return -1;
    if (*val == '\0') {
        free(val);
        return bad_arg(e, "delivery", arg);
    }
    a->delivery = m[i].method;
    free(a->delivery_args);
    a->delivery_args = m[i].path ? paths_expand_tilde(val) : xstrdup(val);
    free(val);
    return 0;
}

static int set_auth(struct account *a, const char *arg, struct mp_err *e)
{
    size_t i;
    struct span s = { arg, strlen(arg) };

    if (*arg == '\0' || strcmp(arg, "on") == 0) {
        free(a->auth);
        a->auth = NULL;
        return 0;
    }
    /* Case-blind, unlike the original, which wants lower case. */
    for (i = 0; conf_auth_methods[i]; i++) {
        if (span_eq_ci(s, conf_auth_methods[i])) {
            free(a->auth);
            a->auth = xstrdup(conf_auth_methods[i]);
            return 0;
        }
    }
    return bad_arg(e, "auth", arg);
}

static int set_keep(struct account *a, const char *arg, struct mp_err *e)
{
    long long secs;

    if (*arg == '\0' || strcmp(arg, "on") == 0) {
        a->keep = KEEP_ON;
    } else if (strcmp(arg, "off") == 0) {
        a->keep = KEEP_OFF;
    } else if (parse_duration(arg, &secs) == 0) {
        a->keep = KEEP_DURATION;
        a->keep_seconds = secs;
    } else {
        return err_set(e, MP_ECONFIG,
                       _("invalid argument %s for command keep "
                         "(on, off, or a duration such as 1d12h; "
                         "units w d h m s)"), arg);
    }
    return 0;
}

enum cmd_id {
    C_HOST, C_PORT, C_SOURCE_IP, C_PROXY_HOST, C_PROXY_PORT, C_SOCKET,
    C_TIMEOUT, C_PIPELINING, C_RECEIVED_HEADER, C_AUTH, C_USER, C_PASSWORD,
    C_PASSWORDEVAL, C_NTLM_DOMAIN, C_TLS, C_TLS_STARTTLS, C_TLS_TRUST_FILE,
    C_TLS_CRL_FILE, C_TLS_FINGERPRINT, C_TLS_KEY_FILE, C_TLS_CERT_FILE,
    C_TLS_CERTCHECK, C_TLS_MIN_DH_PRIME_BITS, C_TLS_PRIORITIES,
    C_TLS_HOST_OVERRIDE, C_DELIVERY, C_UIDLS_FILE, C_ONLY_NEW, C_KEEP,
    C_KILLSIZE, C_SKIPSIZE, C_FILTER,
    C_OAUTH2_PROVIDER, C_OAUTH2_TENANT, C_OAUTH2_CLIENT_ID,
    C_OAUTH2_CLIENT_SECRET, C_OAUTH2_SCOPE, C_OAUTH2_AUTHORIZATION_ENDPOINT,
    C_OAUTH2_TOKEN_ENDPOINT, C_OAUTH2_DEVICE_ENDPOINT, C_OAUTH2_TOKEN_FILE
};

static const struct command {
    const char *name;
    enum cmd_id id;
    enum acc_field field;
    bool need_arg;      /* an empty argument is an error */
} commands[] = {
    { "host", C_HOST, ACC_HOST, true },
    { "port", C_PORT, ACC_PORT, true },
    { "source_ip", C_SOURCE_IP, ACC_SOURCE_IP, false },
    { "proxy_host", C_PROXY_HOST, ACC_PROXY_HOST, false },
    { "proxy_port", C_PROXY_PORT, ACC_PROXY_PORT, false },
    { "socket", C_SOCKET, ACC_SOCKET, false },
    { "timeout", C_TIMEOUT, ACC_TIMEOUT, true },
    { "pipelining", C_PIPELINING, ACC_PIPELINING, false },
    { "received_header", C_RECEIVED_HEADER, ACC_RECEIVED_HEADER, false },
    { "auth", C_AUTH, ACC_AUTH, false },
    { "user", C_USER, ACC_USER, false },
    { "password", C_PASSWORD, ACC_PASSWORD, false },
    { "passwordeval", C_PASSWORDEVAL, ACC_PASSWORDEVAL, false },
    /* The original knows only "ntlmdomain"; "ntlm_domain" is an alias. */
    { "ntlmdomain", C_NTLM_DOMAIN, ACC_NTLM_DOMAIN, false },
    { "ntlm_domain", C_NTLM_DOMAIN, ACC_NTLM_DOMAIN, false },
    { "tls", C_TLS, ACC_TLS, false },
    { "tls_starttls", C_TLS_STARTTLS, ACC_TLS_STARTTLS, false },
    { "tls_trust_file", C_TLS_TRUST_FILE, ACC_TLS_TRUST_FILE, false },
    { "tls_crl_file", C_TLS_CRL_FILE, ACC_TLS_CRL_FILE, false },
    { "tls_fingerprint", C_TLS_FINGERPRINT, ACC_TLS_FINGERPRINT, false },
    { "tls_key_file", C_TLS_KEY_FILE, ACC_TLS_KEY_FILE, false },
    { "tls_cert_file", C_TLS_CERT_FILE, ACC_TLS_CERT_FILE, false },
    { "tls_certcheck", C_TLS_CERTCHECK, ACC_TLS_CERTCHECK, false },
    { "tls_min_dh_prime_bits", C_TLS_MIN_DH_PRIME_BITS,
      ACC_TLS_MIN_DH_PRIME_BITS, false },
    { "tls_priorities", C_TLS_PRIORITIES, ACC_TLS_PRIORITIES, false },
    { "tls_host_override", C_TLS_HOST_OVERRIDE, ACC_TLS_HOST_OVERRIDE,
      false },
    { "delivery", C_DELIVERY, ACC_DELIVERY, true },
    { "uidls_file", C_UIDLS_FILE, ACC_UIDLS_FILE, true },
    { "only_new", C_ONLY_NEW, ACC_ONLY_NEW, false },
    { "keep", C_KEEP, ACC_KEEP, false },
    { "killsize", C_KILLSIZE, ACC_KILLSIZE, true },
    { "skipsize", C_SKIPSIZE, ACC_SKIPSIZE, true },
    { "filter", C_FILTER, ACC_FILTER, false },
    /* Beyond the original (issue 15). */
    { "oauth2_provider", C_OAUTH2_PROVIDER,
      ACC_OAUTH2_PROVIDER, false },
    { "oauth2_tenant", C_OAUTH2_TENANT,
      ACC_OAUTH2_TENANT, false },
    { "oauth2_client_id", C_OAUTH2_CLIENT_ID,
      ACC_OAUTH2_CLIENT_ID, false },
    { "oauth2_client_secret", C_OAUTH2_CLIENT_SECRET,
      ACC_OAUTH2_CLIENT_SECRET, false },
    { "oauth2_scope", C_OAUTH2_SCOPE,
      ACC_OAUTH2_SCOPE, false },
    { "oauth2_authorization_endpoint", C_OAUTH2_AUTHORIZATION_ENDPOINT,
      ACC_OAUTH2_AUTHORIZATION_ENDPOINT, false },
    { "oauth2_token_endpoint", C_OAUTH2_TOKEN_ENDPOINT,
      ACC_OAUTH2_TOKEN_ENDPOINT, false },
    { "oauth2_device_endpoint", C_OAUTH2_DEVICE_ENDPOINT,
      ACC_OAUTH2_DEVICE_ENDPOINT, false },
    { "oauth2_token_file", C_OAUTH2_TOKEN_FILE,
      ACC_OAUTH2_TOKEN_FILE, false },
};

static const struct command *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int apply(struct account *a, const struct command *c, const char *arg,
                 struct mp_err *e)
{
    const char *n = c->name;
    bool b;
    int i = 0;

    if (c->need_arg && *arg == '\0')
        return err_set(e, MP_ECONFIG, _("command %s needs an argument"), n);
    switch (c->id) {
    case C_HOST: put_str(&a->host, arg); break;
    case C_PORT:
        if (parse_int(n, arg, 1, 65535, &a->port, e) != 0)
            return -1;
        break;
    case C_SOURCE_IP: put_str(&a->source_ip, arg); break;
    case C_PROXY_HOST: put_str(&a->proxy_host, arg); break;
    case C_PROXY_PORT:
        if (*arg == '\0')
            a->proxy_port = 0;
        else if (parse_int(n, arg, 1, 65535, &a->proxy_port, e) != 0)
            return -1;
        break;
    case C_SOCKET: put_str(&a->socket_name, arg); break;
    case C_TIMEOUT:
        if (strcmp(arg, "off") == 0)
            a->timeout = 0;
        else if (parse_int(n, arg, 1, INT_MAX, &a->timeout, e) != 0)
            return -1;
        break;
    case C_PIPELINING:
        if (strcmp(arg, "auto") == 0) {
            a->pipelining = PIPELINING_AUTO;
        } else {
            if (parse_bool(n, arg, &b, e) != 0)
                return -1;
            a->pipelining = b ? PIPELINING_ON : PIPELINING_OFF;
        }
        break;
    case C_RECEIVED_HEADER:
        if (parse_bool(n, arg, &a->received_header, e) != 0)
            return -1;
        break;
    case C_AUTH:
        if (set_auth(a, arg, e) != 0)
            return -1;
        break;
    case C_USER: put_str(&a->user, arg); break;
    case C_PASSWORD:
        xfree_secret(&a->password);
        a->password = *arg ? xstrdup(arg) : NULL;
        break;
    case C_PASSWORDEVAL: put_str(&a->passwordeval, arg); break;
    case C_OAUTH2_PROVIDER:
        if (*arg && !account_oauth2_provider_ok(arg))
            return err_set(e, MP_ECONFIG, _("invalid argument %s for "
                           "command %s (google, microsoft or custom)"),
                           arg, n);
        put_str(&a->oauth2_provider, arg);
        break;
    case C_OAUTH2_TENANT: put_str(&a->oauth2_tenant, arg); break;
    case C_OAUTH2_CLIENT_ID: put_str(&a->oauth2_client_id, arg); break;
    case C_OAUTH2_CLIENT_SECRET:
        xfree_secret(&a->oauth2_client_secret);
        a->oauth2_client_secret = *arg ? xstrdup(arg) : NULL;
        break;
    case C_OAUTH2_SCOPE: put_str(&a->oauth2_scope, arg); break;
    case C_OAUTH2_AUTHORIZATION_ENDPOINT:
        put_str(&a->oauth2_authorization_endpoint, arg);
        break;
    case C_OAUTH2_TOKEN_ENDPOINT:
        put_str(&a->oauth2_token_endpoint, arg);
        break;
    case C_OAUTH2_DEVICE_ENDPOINT:
        put_str(&a->oauth2_device_endpoint, arg);
        break;
    case C_OAUTH2_TOKEN_FILE: put_file(&a->oauth2_token_file, arg); break;
    case C_NTLM_DOMAIN: put_str(&a->ntlm_domain, arg); break;
    case C_TLS:
        if (parse_bool(n, arg, &a->tls, e) != 0)
            return -1;
        break;
    case C_TLS_STARTTLS:
        if (parse_bool(n, arg, &a->tls_starttls, e) != 0)
            return -1;
        break;
    case C_TLS_TRUST_FILE:
        /* "" means no trust file at all (shown as "(not set)"). */
        free(a->tls_trust_file);
        a->tls_trust_file = strcmp(arg, "system") == 0 ? xstrdup("system")
                            : paths_expand_tilde(arg);
        break;
    case C_TLS_CRL_FILE: put_file(&a->tls_crl_file, arg); break;
    case C_TLS_FINGERPRINT:
        if (*arg && !fingerprint_ok(arg))
            return err_set(e, MP_ECONFIG,
                           _("invalid argument %s for command %s (expected "
                             "16, 20 or 32 hex byte pairs separated by "
                             "':')"), arg, n);
        put_str(&a->tls_fingerprint, arg);
        break;
    case C_TLS_KEY_FILE: put_file(&a->tls_key_file, arg); break;
    case C_TLS_CERT_FILE: put_file(&a->tls_cert_file, arg); break;
    case C_TLS_CERTCHECK:
        if (parse_bool(n, arg, &a->tls_certcheck, e) != 0)
            return -1;
        break;
    case C_TLS_MIN_DH_PRIME_BITS:
        if (*arg == '\0')
            a->tls_min_dh_prime_bits = -1;
        else if (parse_int(n, arg, 1, INT_MAX, &i, e) != 0)
            return -1;
        else
            a->tls_min_dh_prime_bits = i;
        break;
    case C_TLS_PRIORITIES: put_str(&a->tls_priorities, arg); break;
    case C_TLS_HOST_OVERRIDE: put_str(&a->tls_host_override, arg); break;
    case C_DELIVERY:
        if (set_delivery(a, arg, e) != 0)
            return -1;
        break;
    case C_UIDLS_FILE: put_str(&a->uidls_file, arg); break;
    case C_ONLY_NEW:
        if (parse_bool(n, arg, &a->only_new, e) != 0)
            return -1;
        break;
    case C_KEEP:
        if (set_keep(a, arg, e) != 0)
            return -1;
        break;
    case C_KILLSIZE:
        if (parse_size(arg, &a->killsize, e) != 0)
            return -1;
        break;
    case C_SKIPSIZE:
        if (parse_size(arg, &a->skipsize, e) != 0)
            return -1;
        break;
    case C_FILTER: put_str(&a->filter, arg); break;
    }
    a->set |= ACC_BIT(c->field);
    return 0;
}

int conf_account_set(struct account *a, const char *cmd, const char *arg,
                     struct mp_err *e)
{
    const struct command *c = find_command(cmd);

    if (!c)
        return err_set(e, MP_ECONFIG, _("unknown command %s"), cmd);
    return apply(a, c, arg, e);
}

/* Undoes the double quotes around an argument.  The original mpop strips
 * a quote at both ends and nothing else; we do the same and, in addition,
 * turn \" into " and \\ into \ inside them (any other backslash stays, so
 * "C:\dir" needs no doubling).  An argument that starts with a quote but
 * ends elsewhere is taken literally when a closing quote appears inside it
 * (`passwordeval "$HOME/bin/pw" work` is a shell command, as the original
 * reads it) and is an error when no quote closes it. */
static int unquote(const char *arg, char **r, struct mp_err *e)
{
    size_t n = strlen(arg), i;
    bool closed_early = false;
    char *q;

    *r = NULL;
    if (arg[0] != '"') {
        *r = xstrdup(arg);
        return 0;
    }
    for (i = 1; i < n; i++) {
        if (arg[i] == '\\' && (arg[i + 1] == '"' || arg[i + 1] == '\\')) {
            i++;
            continue;
        }
        if (arg[i] == '"') {
            if (i == n - 1)
                break;
            closed_early = true;
        }
    }
    if (i >= n) {
        if (!closed_early)
            return err_set(e, MP_ECONFIG, _("unterminated quoted argument"));
        *r = xstrdup(arg);
        return 0;
    }
    *r = q = xmalloc(n);
    for (i = 1; i < n - 1; i++) {
        if (arg[i] == '\\' && (arg[i + 1] == '"' || arg[i + 1] == '\\'))
            i++;
        *q++ = arg[i];
    }
    *q = '\0';
    return 0;
}

static char *trim(char *s)
{
    size_t n;

    while (is_blank(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int cmd_account(struct conf_state *st, char *arg, struct mp_err *e)
{
    char *colon = strchr(arg, ':');
    char *name, *parents = NULL, *tok;
    struct account *a;

    if (colon) {
        *colon = '\0';
        parents = colon + 1;
    }
    name = trim(arg);
    if (*name == '\0')
        return err_set(e, MP_ECONFIG, _("missing account name"));
    if (account_list_find(st->out, name))
        return err_set(e, MP_ECONFIG, _("account %s was already defined"),
                       name);
    a = account_copy(st->defaults, name);
    /* What the defaults gave is not "written" in this account: a later
     * `account x : this` takes the defaults current at that point, as the
     * original does. */
    a->set = 0;
    free(a->conffile);
    a->conffile = xstrdup(st->name);
    a->confline = st->line;
    if (parents) {
        /* Every element must be non-empty: "a," names nothing. */
        char *p = parents;
        for (;;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            tok = trim(p);
            if (*tok == '\0') {
                account_free(&a);
                return err_set(e, MP_ECONFIG, _("missing account name"));
            }
            {
                struct account *parent = account_list_find(st->out, tok);
                if (!parent) {
                    err_set(e, MP_ECONFIG,
                            _("account %s not (yet) defined"), tok);
                    account_free(&a);
                    return -1;
                }
                account_merge(a, parent);
            }
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    account_list_add(st->out, a);
    st->cur = a;
    return 0;
}

static int parse_line(struct conf_state *st, char *line, bool from_eval,
                      struct mp_err *e);

int (*conf_eval_capture)(const char *cmd, size_t max, char **out_r,
                         size_t *len_r, bool *too_long_r,
                         struct proc_status *st, struct mp_err *e)
    = proc_capture;

/* Runs `sh -c cmd` and keeps the first line of its output. */
static int run_eval(const char *cmd, char **line_r, struct mp_err *e)
{
    struct proc_status st;
    char *buf;
    size_t n;
    bool too_long;

    if (conf_eval_capture(cmd, EVAL_OUTPUT_MAX, &buf, &n, &too_long, &st,
                          e) != 0) {
        err_prefix(e, _("cannot run eval command '%s': "), cmd);
        return -1;
    }
    if (!proc_status_ok(&st)) {
        free(buf);
        if (st.how == PROC_EXITED)
            return err_set(e, MP_ECONFIG,
                           _("eval command '%s' failed with exit code %d"),
                           cmd, st.code);
        return err_set(e, MP_ECONFIG, _("eval command '%s' failed"), cmd);
    }
    if (too_long || memchr(buf, '\0', n)) {
        free(buf);
        return err_set(e, MP_ECONFIG,
                       _("eval command '%s' gave unusable output"), cmd);
    }
    /* Like the original, only the first line counts. */
    buf[strcspn(buf, "\n")] = '\0';
    *line_r = buf;
    return 0;
}

static int parse_line(struct conf_state *st, char *line, bool from_eval,
                      struct mp_err *e)
{
    char *cmd, *raw, *arg = NULL;
    const struct command *c;
    int ret = -1;

    cmd = trim(line);
    if (*cmd == '\0' || *cmd == '#')
        return 0;
    raw = cmd + strcspn(cmd, " \t");
    if (*raw) {
        *raw++ = '\0';
        raw = trim(raw);
    }

    if (unquote(raw, &arg, e) != 0)
        return -1;
    if (strcmp(cmd, "eval") == 0) {
        char *out;
        /* One level only: an eval that prints `eval ...` could loop. */
        if (from_eval) {
            err_set(e, MP_ECONFIG,
                    _("the output of eval must not contain another eval"));
            goto out;
        }
        if (*arg == '\0') {
            err_set(e, MP_ECONFIG, _("command %s needs an argument"), cmd);
            goto out;
        }
        if (run_eval(arg, &out, e) != 0)
            goto out;
        ret = parse_line(st, out, true, e);
        xfree_secret(&out);
        goto out;
    }
    if (strcmp(cmd, "defaults") == 0) {
        if (*arg) {
            err_set(e, MP_ECONFIG, _("command %s takes no argument"), cmd);
            goto out;
        }
        st->cur = st->defaults;
        ret = 0;
        goto out;
    }
    if (strcmp(cmd, "account") == 0) {
        ret = cmd_account(st, arg, e);
        goto out;
    }
    c = find_command(cmd);
    if (!c) {
        err_set(e, MP_ECONFIG, _("unknown command %s"), cmd);
        goto out;
    }
    if (!st->cur) {
        err_set(e, MP_ECONFIG,
                _("first command must be account or defaults"));
        goto out;
    }
    /* An OAuth2 client secret is a secret like a password (Google calls
     * a desktop client's secret not confidential; others' are). */
    if ((c->id == C_PASSWORD || c->id == C_OAUTH2_CLIENT_SECRET) && *arg
        && !from_eval && !st->password_line)
        st->password_line = st->line;
    ret = apply(st->cur, c, arg, e);
out:
    if (arg) {
        /* The argument may be a password. */
        char *tmp = arg;
        xfree_secret(&tmp);
    }
    return ret;
}

/* The parser behind conf_load and conf_load_file. */
static int load(FILE *f, const char *name, struct account_list *out,
                int *password_line_r, struct mp_err *e)
{
    struct conf_state st = { .name = name, .out = out };
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ret = 0;

    st.defaults = account_new("defaults");
    while ((len = getline(&line, &cap, f)) != -1) {
        st.line++;
        if (memchr(line, '\0', (size_t)len)) {
            ret = err_set(e, MP_ECONFIG, _("NUL byte in line"));
        } else {
            if (len > 0 && line[len - 1] == '\n')
                line[len - 1] = '\0';
            ret = parse_line(&st, line, false, e);
        }
        if (ret != 0) {
            err_prefix(e, "%s:%d: ", name, st.line);
            break;
        }
    }
    if (ret == 0 && ferror(f))
        ret = err_set_errno(e, MP_EIO, errno, _("%s: read error"), name);
    if (line) {
        /* It may have held a password. */
        memset(line, 0, cap);
        free(line);
    }
    account_free(&st.defaults);
    if (ret != 0)
        account_list_clear(out);
    if (password_line_r)
        *password_line_r = st.password_line;
    return ret;
}

int conf_load(FILE *f, const char *name, struct account_list *out,
              struct mp_err *e)
{
    return load(f, name, out, NULL, e);
}

int conf_load_file(const char *path, struct account_list *out,
                   struct mp_err *e)
{
    FILE *f = fopen(path, "r");
    int pwline = 0, ret;

    if (!f) {
        int saved = errno;
        return err_set_errno(e, saved == ENOENT ? MP_ENOINPUT : MP_EIO,
                             saved, "%s", path);
    }
    ret = load(f, path, out, &pwline, e);
    if (ret == 0 && pwline > 0) {
        char *where = xasprintf("%s:%d", path, pwline);
        ret = paths_check_private(fileno(f), where, e);
        free(where);
        if (ret != 0)
            account_list_clear(out);
    }
    fclose(f);
    return ret;
}

char *conf_default_path(void)
{
    char *home = paths_home();
    char *rc = paths_join(home, ".mpoprc");
    char *xdg;
    struct stat st;

    free(home);
    if (stat(rc, &st) == 0)
        return rc;
    xdg = paths_xdg_config("mpop/config");
    if (stat(xdg, &st) == 0) {
        free(rc);
        return xdg;
    }
    /* Neither exists: name the classic file in messages, as the
     * original does. */
    free(xdg);
    return rc;
}
