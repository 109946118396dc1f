/* mpopd's command line: parsed into a struct and checked, nothing printed
 * (mpopd.c prints).  Each --auth=USER[,PASSWORDEVAL] followed by a
 * --maildir=DIR defines one mailbox; at least one is required. */
#ifndef MPOP_MPOPD_OPTS_H
#define MPOP_MPOPD_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define MPOPD_DEFAULT_INTERFACE "127.0.0.1"
#define MPOPD_DEFAULT_PORT 1100
#define MPOPD_DEFAULT_MAX_SESSIONS 16
#define MPOPD_MAX_MAX_SESSIONS 1024
/* RFC 1939 §3: an autologout timer of at least 10 minutes. */
#define MPOPD_DEFAULT_TIMEOUT 600
#define MPOPD_MAX_TIMEOUT 86400

enum mpopd_mode { MPOPD_SERVE = 0, MPOPD_VERSION, MPOPD_HELP };

struct mpopd_box {
    char *user;
    char *eval;             /* the password command; NULL: key ring, prompt */
    char *maildir;
};

struct mpopd_opts {
    enum mpopd_mode mode;
    bool inetd;
    const char *interface;  /* the strings point into argv */
    int port;               /* 0: any free port */
    const char *port_file;  /* NULL: none */
    const char *log;        /* "none", "syslog" or a file name */
    size_t max_sessions;
    int timeout;            /* seconds */
    const char *tls_cert, *tls_key;     /* both or neither */
    bool tls_implicit;
    struct mpopd_box *boxes;    /* owned; mpopd_opts_clear() frees */
    size_t nboxes;
};

/* Parses argv (getopt_long; restarts it, so it may run more than once in
 * a process) into *o, then checks the whole: pairs of --auth and
 * --maildir, TLS options that belong together, and that every maildir is
 * a directory with cur/ and new/ folders, so that a mistyped path stops
 * mpopd at start instead of failing each login.  Returns 0, or -1 with e:
 *   MP_EUSAGE     a bad option or argument, a missing or unpaired option
 *   MP_ENOINPUT   a --maildir that does not exist or is not a maildir
 * With --help or --version, mode says so and nothing else is checked.
 * *o is filled either way; free it with mpopd_opts_clear(). */
int mpopd_opts_parse(struct mpopd_opts *o, int argc, char *argv[],
                     struct mp_err *e);
void mpopd_opts_clear(struct mpopd_opts *o);

#endif
