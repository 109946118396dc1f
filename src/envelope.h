/* The envelope sender of a mail (for %F and the mbox From_ line) and the
 * Received header mpop prepends.  Pure: no I/O except where a function says
 * it asks the system (envelope_local_user, envelope_local_host).
 *
 * The header block is untrusted input from the server. */
#ifndef MPOP_ENVELOPE_H
#define MPOP_ENVELOPE_H

#include <stddef.h>
#include <time.h>

/* Enough for any address we keep; longer ones are truncated. */
#define ENVELOPE_FROM_MAX 256

/* The length of the header block at the start of p[0..len): up to and
 * including the empty line that ends it (LF or CRLF line ends), or 0 when
 * no empty line was found yet. */
size_t envelope_header_len(const char *p, size_t len);

/* Finds the envelope sender in the header block hdr[0..len) (the body may
 * follow; it is never looked at): the address of the first Return-Path
 * header if it is not empty, else that of the first Sender header, else
 * "MAILER-DAEMON".  Field names are matched without regard to case and
 * must be followed directly by ':'.  Folded headers are unfolded; lines may
 * end in LF or CRLF.  The address is the text inside <...> if there is a
 * '<', else the last word; comments in (...) are dropped.
 *
 * The result is sanitised: only a-z A-Z 0-9 and ".@_+/-" stay, every other
 * byte becomes '_', so it is safe inside a shell command.  (mpop 1.4.18
 * turns spaces inside an address into '-' and reads only the first line of
 * a folded header; we follow the documented rule and unfold.)
 * out gets at most outsz - 1 bytes and a NUL; outsz >= 14. */
void envelope_from(const char *hdr, size_t len, char *out, size_t outsz);

/* Replaces in s[0..len) every byte outside a-z A-Z 0-9 ".@_+/-" with '_'. */
void envelope_sanitize(char *s, size_t len);

struct envelope_received {
    const char *server_host;    /* the host as configured */
    const char *server_name;    /* reverse DNS name of the peer, or NULL */
    const char *server_ip;      /* numeric address of the peer, or NULL
                                   (unix socket): then no (...) part */
    const char *local_host;     /* this machine's name */
    const char *user;           /* the local user the mail is for */
    time_t now;
};

/* The Received header in mpop 1.4.18's layout, with LF line ends and a
 * final LF, for example:
 *   Received: from pop.example.org (mx.example.org [192.0.2.1])
 *   <TAB>by myhost (mpop-VERSION) with POP3
 *   <TAB>for <joe>; Tue, 24 Nov 2026 18:51:44 +0100
 * "(NAME [IP])" becomes "([IP])" without a name and disappears without an
 * address.  The date is local time, RFC 5322 style, English names whatever
 * the locale.  Control characters in the fields become '_'.
 * The caller frees the result. */
char *envelope_received(const struct envelope_received *r);

/* The date of an mbox From_ line, as asctime() in UTC without its newline:
 * "Sat Dec  5 03:04:05 2026".  out must hold 32 bytes; returns out. */
char *envelope_from_date(time_t t, char *out, size_t outsz);

/* The local user: $USER if set (even if empty, as mpop 1.4.18 does), else
 * the password database's name for our uid, else "unknown".  Caller frees. */
char *envelope_local_user(void);

/* This machine's name (gethostname), "localhost" if unknown.  Caller
 * frees. */
char *envelope_local_host(void);

#endif
