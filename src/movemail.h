/* mpop as a movemail program (issue 9), for Emacs Rmail and the like:
 *
 *   mpop --movemail [-p|--preserve] [-r|--reverse] [--tls]
 *        SOURCE DESTFILE [PASSWORD]
 *
 * and the same when the program is called as "mpop-movemail".  SOURCE is
 * pop://USER[;AUTH=METHOD][:PASS]@HOST[:PORT] (RFC 2384, with a
 * password added), pops://... (implicit TLS) or the old
 * po:USER[:HOST[:PORT]] (HOST from $MAILHOST when missing).  Every mail is
 * appended to the mbox DESTFILE (locked, MBOXRD, through the mbox
 * backend), and deleted from the server only once all of them are on
 * stable storage, unless --preserve.  The password: from the URL, the
 * PASSWORD argument, then the password sources of secret.h (key ring,
 * netrc, prompt).  An account of the user's configuration file with the
 * same host and user lends its settings (TLS trust, fingerprint, auth
 * method, password sources), since the po: form Rmail uses can name
 * none of them. */
#ifndef MPOP_MOVEMAIL_H
#define MPOP_MOVEMAIL_H

#include <stdbool.h>

#include "err.h"

struct movemail_opts {
    bool help, version;
    bool preserve;          /* -p, --preserve */
    bool reverse;           /* -r, --reverse */
    bool tls;               /* --tls: STARTTLS for pop:// and po: */
    bool emacs;             /* --emacs (Rmail, when it takes us for the
                               GNU Mailutils movemail): an authentication
                               failure says MU_ERR_AUTH_FAILURE first */
    const char *conffile;   /* --file=FILE; NULL: the default file */
    const char *source;     /* pointers into argv */
    const char *dest;
    const char *password;   /* NULL when not given */
};

/* Where to fetch from; strings are owned (pass is a secret). */
struct movemail_source {
    char *user;
    char *pass;             /* NULL when the URL has none */
    char *host;
    char *auth;             /* ;AUTH= of RFC 2384, lower case (an
                               `auth` method name); NULL: choose */
    int port;               /* 0: the default for the TLS mode */
    bool tls;
    bool starttls;
};

/* True when argv asks for movemail mode: the program's base name is
 * "mpop-movemail", or "--movemail" comes before any "--". */
bool movemail_invoked(int argc, char **argv);

/* Parses the movemail command line (a "--movemail" in it is skipped).
 * Returns 0, or -1 with MP_EUSAGE naming the problem. */
int movemail_parse_args(struct movemail_opts *o, int argc, char **argv,
                        struct mp_err *e);

/* Parses SOURCE (untrusted text from the command line).  URL parts may be
 * %XX-encoded ("joe%40example.org").  mailhost is $MAILHOST (may be NULL).
 * With tls (--tls), pop:// and po: use STARTTLS.  Returns 0, or -1 with
 * MP_EUSAGE ("invalid source ...").  Free with movemail_source_clear(). */
int movemail_parse_source(const char *src, const char *mailhost, bool tls,
                          struct movemail_source *s, struct mp_err *e);
void movemail_source_clear(struct movemail_source *s);

/* The first line of `--version` in movemail mode.  Emacs Rmail reads it
 * to tell which movemail it calls: only one that starts with "movemail
 * (GNU Mailutils" is given pop:// and pops:// URLs unchanged; any other
 * gets the old po:USER:HOST form, and pops:// is refused. */
#define MOVEMAIL_VERSION_LINE "movemail (GNU Mailutils-compatible " \
    "interface of " PACKAGE_NAME ") " VERSION

/* Does the whole job.  Returns 0, or -1 with e filled: usage errors,
 * session errors (session.h), delivery errors (deliver.h), MP_EUNAVAIL
 * when the server cannot send a mail.  Whatever the error, no mail was
 * deleted from the server unless every mail was durably in DESTFILE. */
int movemail_run(const struct movemail_opts *o, struct mp_err *e);

#endif
