#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "gettext.h"
#include "log.h"
#include "serverinfo.h"
#include "tls.h"

/* The SASL mechanisms the original knows, in the order it lists them
 * (whatever order the server used; mechanisms it does not know, and the
 * -PLUS variants, are not shown: mpop 1.4.18, 2026-11-24). */
static const char *const known_sasl[] = {
    "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "EXTERNAL", "GSSAPI",
    "APOP",     /* not SASL: shown here when the greeting allows it */
    "CRAM-MD5", "DIGEST-MD5", "LOGIN", "NTLM", "OAUTHBEARER", "XOAUTH2"
};

/* Server text for the report.  The original shows control characters as
 * '?' and everything else as received; we do the same for ASCII text, so
 * the report stays byte-identical, and let log_quote() make text with
 * other bytes (UTF-8 or not) terminal-safe. */
static const char *show(char *out, size_t outsz, const char *p, size_t len)
{
    char tmp[2 * POP3_LINE_MAX];
    bool ascii = true;
    size_t i;

    if (len >= sizeof tmp)
        len = sizeof tmp - 1;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];

        tmp[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        if (c >= 0x80)
            ascii = false;
    }
    tmp[len] = '\0';
    if (!ascii)
        return log_quote(out, outsz, tmp, len);
    snprintf(out, outsz, "%s", tmp);
    return out;
}

char *serverinfo_login_delay(long long seconds, char *out, size_t outsz)
{
    /* The original computes in single precision: 2147483647 seconds is
     * "596523.25 hours" there, so we do the same. */
    if (seconds > 60 * 60)
        snprintf(out, outsz, _("minimum time between logins is %lld "
                 "seconds = %.2f hours"), seconds,
                 (double)((float)seconds / 3600.0f));
    else if (seconds > 60)
        snprintf(out, outsz, _("minimum time between logins is %lld "
                 "seconds = %.2f minutes"), seconds,
                 (double)((float)seconds / 60.0f));
    else
        snprintf(out, outsz, _("minimum time between logins is %lld "
                 "seconds"), seconds);
    return out;
}

static void item(FILE *f, const char *name, const char *text)
{
    fprintf(f, "    %s:\n        %s\n", name, text);
}

static void print_caps(const struct session *s, FILE *f)
{
    const struct pop3_caps *c = pop3_caps(s->pop3);
    bool capa = pop3_has_capa(s->pop3);
    bool stls = capa && (c->flags & POP3_CAP_STLS);
    char q[4 * POP3_IMPL_MAX + 16];
    size_t i;

    /* The original still lists STLS once STARTTLS has succeeded, although
     * servers (dovecot) stop announcing it then. */
    if (s->tls && s->acc->tls_starttls)
        stls = true;
    fprintf(f, "%s\n", _("POP3 capabilities:"));
    if (capa) {
        item(f, "CAPA", _("Support for the CAPA command (get list of "
             "capabilities)"));
        if (c->flags & POP3_CAP_IMPLEMENTATION)
            item(f, "IMPLEMENTATION", show(q, sizeof q,
                 c->implementation, strlen(c->implementation)));
        if (c->flags & POP3_CAP_PIPELINING)
            item(f, "PIPELINING", _("Support for command grouping for "
                 "faster transmission"));
        if (c->flags & POP3_CAP_TOP)
            item(f, "TOP", _("Support for the TOP command (get mail "
                 "headers)"));
        if (c->flags & POP3_CAP_UIDL)
            item(f, "UIDL", _("Support for the UIDL command (get unique "
                 "mail identifiers)"));
        if (c->flags & POP3_CAP_LOGIN_DELAY) {
            /* A per-user delay ("LOGIN-DELAY n USER") is shown like a
             * global one, as the original does. */
            fprintf(f, "    LOGIN-DELAY %lld:\n        %s\n", c->login_delay,
                    serverinfo_login_delay(c->login_delay, q, sizeof q));
        }
        if (c->flags & POP3_CAP_EXPIRE) {
            if (c->expire == POP3_EXPIRE_NEVER)
                item(f, "EXPIRE NEVER", _("this POP3 server will never "
                     "delete mails"));
            else if (c->expire == 0)
                fprintf(f, "    EXPIRE 0:\n        %s\n", _("this POP3 "
                        "server will not keep mails"));
            else {
                fprintf(f, "    EXPIRE %lld:\n        ", c->expire);
                fprintf(f, _("this POP3 server will keep mails for %lld "
                        "days"), c->expire);
                fputc('\n', f);
            }
        }
        if (stls)
            item(f, "STLS", _("Support for TLS encryption via the STLS "
                 "command"));
    }
    /* Every server takes USER (RFC 1939); the original lists it always. */
    fprintf(f, "    AUTH:\n        %s\n        USER ",
            _("Supported authentication methods:"));
    for (i = 0; i < sizeof known_sasl / sizeof known_sasl[0]; i++) {
        bool have = strcmp(known_sasl[i], "APOP") == 0
                    ? pop3_apop_timestamp(s->pop3) != NULL
                    : capa && (c->flags & POP3_CAP_SASL)
                      && pop3_caps_has_sasl(c, known_sasl[i]);

        if (have)
            fprintf(f, "%s ", known_sasl[i]);
    }
    fputc('\n', f);
    if (capa) {
        if (c->flags & POP3_CAP_RESP_CODES)
            item(f, "RESP-CODES", _("Server error messages in square "
                 "brackets have a special meaning"));
        if (c->flags & POP3_CAP_AUTH_RESP_CODE)
            item(f, "AUTH-RESP-CODE", _("Server error messages in square "
                 "brackets have a special meaning"));
    }
    if (stls && !s->tls)
        fprintf(f, "%s\n", _("This server might advertise more or other "
                "capabilities\n    when TLS is active."));
    fprintf(f, "%s\n", _("This server might advertise more or other "
            "capabilities\n    after successful authentication."));
    if (!capa)
        fprintf(f, "%s\n", _("This server does not support the CAPA "
                "command, so this\n    list is probably not complete."));
}

int serverinfo_print(struct session *s, FILE *f, struct mp_err *e)
{
    const struct account *a = s->acc;
    const char *host = a->host ? a->host : a->socket_name;
    const char *greeting = pop3_greeting_text(s->pop3);
    char q[8 * POP3_LINE_MAX + 16];
    struct tls_info ti;

    memset(&ti, 0, sizeof ti);
    if (s->tls && tls_info_get(&s->t, &ti, e) != 0)
        return -1;
    if (s->server_ip[0]) {
        /* Without a reverse DNS name: "127.0.0.2 ([127.0.0.2])". */
        fprintf(f, _("POP3 server at %s (%s%s[%s]), port %d:\n"), host,
                show(q, sizeof q, s->server_name, strlen(s->server_name)),
                s->server_name[0] ? " " : "", s->server_ip,
                account_port(a));
    } else {
        fprintf(f, _("POP3 server at %s, port %d:\n"), host,
                account_port(a));
    }
    if (*greeting)
        fprintf(f, "    %s\n", show(q, sizeof q, greeting,
                strlen(greeting)));
    if (s->tls) {
        tls_info_print(&ti, f);
        tls_info_clear(&ti);
    }
    print_caps(s, f);
    if (ferror(f))
        return err_set(e, MP_EIO, _("cannot write the server "
                       "information"));
    return 0;
}
