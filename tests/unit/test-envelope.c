/* envelope: envelope sender extraction and sanitising, header block end,
 * Received header and From_ date layouts (checked against mpop 1.4.18). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "tap.h"

static const struct {
    const char *name;
    const char *hdr;
    const char *want;
} from_cases[] = {
    { "Return-Path in brackets",
      "Return-Path: <joe@example.org>\r\nSubject: x\r\n\r\nbody\r\n",
      "joe@example.org" },
    { "Return-Path bare LF", "Return-Path: <rp@x>\n\nb\n", "rp@x" },
    { "lower-case field name", "return-path: <lc@x>\r\n\r\n", "lc@x" },
    { "without brackets, comment dropped",
      "Return-Path: bare@ex.com (comment)\r\n\r\n", "bare@ex.com" },
    { "display name and quotes",
      "Return-Path: \"quoted name\" <q@b>\r\n\r\n", "q@b" },
    { "no brackets: last word", "Return-Path:   spaced  name  \r\n\r\n",
      "name" },
    { "folded value", "Return-Path:\r\n  <folded@ex.com>\r\n\r\n",
      "folded@ex.com" },
    { "folded inside the brackets", "Return-Path: <a\r\n b@c>\r\n\r\n",
      "a_b@c" },
    { "first Return-Path wins",
      "Return-Path: <a@b>\r\nReturn-Path: <second@b>\r\n\r\n", "a@b" },
    { "Return-Path before Sender",
      "Return-Path: <rp@x>\r\nSender: s@x\r\n\r\n", "rp@x" },
    { "Return-Path wins even after Sender",
      "Sender: first@x\r\nReturn-Path: <rp@x>\r\n\r\n", "rp@x" },
    { "empty Return-Path falls back to Sender",
      "Return-Path: <>\r\nSender: snd@x\r\n\r\n", "snd@x" },
    { "Sender only", "Subject: s\r\nSender: Bob <bob@ex.com>\r\n\r\n",
      "bob@ex.com" },
    { "empty Sender, then Return-Path",
      "Sender: \r\nReturn-Path: <rp2@x>\r\n\r\n", "rp2@x" },
    { "none", "Subject: three\r\n\r\nbody3\r\n", "MAILER-DAEMON" },
    { "empty Return-Path only", "Return-Path: <>\r\n\r\n", "MAILER-DAEMON" },
    { "only in the body",
      "Subject: x\r\n\r\nReturn-Path: <body@x>\r\n", "MAILER-DAEMON" },
    { "X-Return-Path is another field", "X-Return-Path: <no@b>\r\n\r\n",
      "MAILER-DAEMON" },
    { "space before the colon", "Return-Path : <colon@b>\r\n\r\n",
      "MAILER-DAEMON" },
    { "continuation of another field",
      "Subject: a\r\n Return-Path: <no@x>\r\n\r\n", "MAILER-DAEMON" },
    { "empty header block", "", "MAILER-DAEMON" },
    { "shell injection in brackets", "Return-Path: <a;rm -rf ~@x>\r\n\r\n",
      "a_rm_-rf__@x" },
    { "command substitution", "Return-Path: <$(cmd)@x>\r\n\r\n",
      "_@x" },
    { "command substitution in quotes",
      "Return-Path: <\"$(cmd)\"@x>\r\n\r\n", "___cmd__@x" },
    { "backticks, pipes, quotes",
      "Return-Path: <`id`|'x'&\"@y>\r\n\r\n", "_id___x___@y" },
    { "'>' ends the address", "Return-Path: <a>b@y>\r\n\r\n", "a" },
    { "newline tricks stay inside the field",
      "Return-Path: <a@b>\rX\r\n\r\n", "a@b" },
    { "allowed punctuation kept", "Return-Path: <a.b+c/d-e_f@x.y>\r\n\r\n",
      "a.b+c/d-e_f@x.y" },
    { "8-bit and control bytes",
      "Return-Path: <\x01\x80\xff@x>\r\n\r\n", "___@x" },
    { "unterminated bracket", "Return-Path: <open@x\r\n\r\n", "open@x" },
    { "unterminated comment", "Return-Path: (oops <x@y>\r\n\r\n",
      "MAILER-DAEMON" },
};

static const struct {
    const char *name;
    const char *p;
    size_t want;
} hlen_cases[] = {
    { "CRLF", "A: b\r\n\r\nbody", 8 },
    { "LF", "A: b\n\nbody", 6 },
    { "empty block", "\r\nbody", 2 },
    { "not finished", "A: b\r\nC: d\r\n", 0 },
    { "no line end yet", "A: b", 0 },
    { "folded", "A: b\r\n c\r\n\r\n", 12 },
};

int main(void)
{
    char out[ENVELOPE_FROM_MAX], small[14], date[32];
    size_t i;
    struct envelope_received r;
    char *s;

    for (i = 0; i < sizeof from_cases / sizeof from_cases[0]; i++) {
        envelope_from(from_cases[i].hdr, strlen(from_cases[i].hdr), out,
                      sizeof out);
        is_str(out, from_cases[i].want, "from: %s", from_cases[i].name);
    }
    {
        /* A very long address is cut, never overflows. */
        char hdr[4000];
        size_t n;
        strcpy(hdr, "Return-Path: <");
        n = strlen(hdr);
        memset(hdr + n, 'a', 3000);
        strcpy(hdr + n + 3000, ">\r\n\r\n");
        envelope_from(hdr, strlen(hdr), out, sizeof out);
        is_int((long long)strlen(out), ENVELOPE_FROM_MAX - 1,
               "from: long address truncated");
        envelope_from(from_cases[0].hdr, strlen(from_cases[0].hdr), small,
                      sizeof small);
        is_str(small, "joe@example.o", "from: small output buffer");
    }
    for (i = 0; i < sizeof hlen_cases / sizeof hlen_cases[0]; i++)
        is_int((long long)envelope_header_len(hlen_cases[i].p,
                                              strlen(hlen_cases[i].p)),
               (long long)hlen_cases[i].want, "header_len: %s",
               hlen_cases[i].name);

    setenv("TZ", "UTC", 1);
    r.server_host = "127.0.0.1";
    r.server_name = "localhost";
    r.server_ip = "127.0.0.1";
    r.local_host = "vm";
    r.user = "root";
    r.now = 1796439845;     /* 2026-12-05 03:04:05 UTC */
    s = envelope_received(&r);
    is_str(s, "Received: from 127.0.0.1 (localhost [127.0.0.1])\n"
              "\tby vm (" PACKAGE_NAME "-" PACKAGE_VERSION ") with POP3\n"
              "\tfor <root>; Sat, 05 Dec 2026 03:04:05 +0000\n",
           "received: with reverse name");
    free(s);
    r.server_name = NULL;
    s = envelope_received(&r);
    is_str(s, "Received: from 127.0.0.1 ([127.0.0.1])\n"
              "\tby vm (" PACKAGE_NAME "-" PACKAGE_VERSION ") with POP3\n"
              "\tfor <root>; Sat, 05 Dec 2026 03:04:05 +0000\n",
           "received: without reverse name");
    free(s);
    r.server_ip = NULL;
    r.user = "";
    s = envelope_received(&r);
    is_str(s, "Received: from 127.0.0.1\n"
              "\tby vm (" PACKAGE_NAME "-" PACKAGE_VERSION ") with POP3\n"
              "\tfor <>; Sat, 05 Dec 2026 03:04:05 +0000\n",
           "received: unix socket, empty user");
    free(s);
    setenv("TZ", "IST-5:30", 1);
    tzset();
    r.server_host = "evil\r\nX-Injected: 1";
    s = envelope_received(&r);
    is_str(s, "Received: from evil__X-Injected: 1\n"
              "\tby vm (" PACKAGE_NAME "-" PACKAGE_VERSION ") with POP3\n"
              "\tfor <>; Sat, 05 Dec 2026 08:34:05 +0530\n",
           "received: control characters replaced, local time offset");
    free(s);
    setenv("TZ", "EST5", 1);
    tzset();
    s = envelope_received(&r);
    ok(strstr(s, "Fri, 04 Dec 2026 22:04:05 -0500\n") != NULL,
       "received: negative offset");
    free(s);

    is_str(envelope_from_date(1796439845, date, sizeof date),
           "Sat Dec  5 03:04:05 2026", "from date: asctime layout in UTC");
    is_str(envelope_from_date(1795546938, date, sizeof date),
           "Tue Nov 24 19:02:18 2026", "from date: two-digit day");

    s = envelope_local_host();
    ok(s && *s, "local host: not empty");
    free(s);
    setenv("USER", "fred", 1);
    s = envelope_local_user();
    is_str(s, "fred", "local user: $USER");
    free(s);
    unsetenv("USER");
    s = envelope_local_user();
    ok(s && *s, "local user: password database");
    free(s);
    return done_testing();
}
