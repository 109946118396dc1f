#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gettext.h"
#include "mpopd_opts.h"
#include "strparse.h"
#include "xalloc.h"

enum {
    OPT_VERSION = 256, OPT_HELP, OPT_INETD, OPT_INTERFACE, OPT_PORT,
    OPT_PORT_FILE, OPT_LOG, OPT_AUTH, OPT_MAILDIR, OPT_MAX_SESSIONS,
    OPT_TIMEOUT, OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_IMPLICIT
};

static const struct option options[] = {
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, OPT_HELP },
    { "inetd", no_argument, NULL, OPT_INETD },
    { "interface", required_argument, NULL, OPT_INTERFACE },
    { "port", required_argument, NULL, OPT_PORT },
    { "port-file", required_argument, NULL, OPT_PORT_FILE },
    { "log", required_argument, NULL, OPT_LOG },
    { "auth", required_argument, NULL, OPT_AUTH },
    { "maildir", required_argument, NULL, OPT_MAILDIR },
    { "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
    { "tls-key", required_argument, NULL, OPT_TLS_KEY },
    /* New beyond the original mpopd, which has no TLS.  --tls-cert and
     * --tls-key alone offer RFC 2595 STLS on a plain connection and refuse
     * USER/PASS until TLS is on, so that no password ever travels in the
     * clear; --tls-implicit starts TLS at once instead (port 995 style, as
     * Mailpit's --pop3-tls-cert/--pop3-tls-key do).  The names are those
     * doc/mpopd.1 and the manual give. */
    { "tls-implicit", no_argument, NULL, OPT_TLS_IMPLICIT },
    { NULL, 0, NULL, 0 }
};

static int bad_arg(struct mp_err *e, const char *arg, const char *opt)
{
    return err_set(e, MP_EUSAGE, _("invalid argument %s for %s"), arg, opt);
}

static int number(const char *arg, const char *opt, unsigned long long min,
                  unsigned long long max, unsigned long long *n_r,
                  struct mp_err *e)
{
    if (str_to_ull(arg, min, max, n_r) != 0)
        return bad_arg(e, arg, opt);
    return 0;
}

/* --auth=USER[,PASSWORDEVAL]: a new mailbox still without its maildir. */
static int add_box(struct mpopd_opts *o, const char *arg, struct mp_err *e)
{
    const char *comma = strchr(arg, ',');
    struct mpopd_box *b;

    if (o->nboxes > 0 && !o->boxes[o->nboxes - 1].maildir)
        return err_set(e, MP_EUSAGE, _("--auth=%s must be followed by "
                       "--maildir"), o->boxes[o->nboxes - 1].user);
    if (comma == arg || arg[0] == '\0')
        return bad_arg(e, arg, "--auth");
    o->boxes = xreallocarray(o->boxes, o->nboxes + 1, sizeof *o->boxes);
    b = &o->boxes[o->nboxes++];
    b->user = comma ? xstrndup(arg, (size_t)(comma - arg)) : xstrdup(arg);
    b->eval = comma && comma[1] ? xstrdup(comma + 1) : NULL;
    b->maildir = NULL;
    for (size_t i = 0; i + 1 < o->nboxes; i++)
        if (strcmp(o->boxes[i].user, b->user) == 0)
            return err_set(e, MP_EUSAGE, _("user %s is defined twice"),
                           b->user);
    return 0;
}

static int set_maildir(struct mpopd_opts *o, const char *arg,
                       struct mp_err *e)
{
    if (o->nboxes == 0 || o->boxes[o->nboxes - 1].maildir)
        return err_set(e, MP_EUSAGE, _("--maildir=%s must follow an --auth "
                       "option"), arg);
    o->boxes[o->nboxes - 1].maildir = xstrdup(arg);
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A maildir mpopd can serve: a directory with cur/ and new/ (tmp/ is for
 * writers; pop3d_store.c only reads cur/ and new/). */
static int check_maildir(const char *dir, struct mp_err *e)
{
    struct stat st;
    char *cur, *new;
    int ok;

    if (stat(dir, &st) != 0)
        return err_set_errno(e, MP_ENOINPUT, errno,
                             _("cannot open maildir %s"), dir);
    if (!S_ISDIR(st.st_mode))
        return err_set(e, MP_ENOINPUT, _("maildir %s: not a directory"),
                       dir);
    cur = xasprintf("%s/cur", dir);
    new = xasprintf("%s/new", dir);
    ok = is_dir(cur) && is_dir(new);
    free(cur);
    free(new);
    if (!ok)
        return err_set(e, MP_ENOINPUT, _("maildir %s: not a maildir (it "
                       "has no cur and new folders)"), dir);
    return 0;
}

static int parse_one(struct mpopd_opts *o, int c, const char *arg,
                     struct mp_err *e)
{
    unsigned long long n;

    switch (c) {
    case OPT_VERSION:
        o->mode = MPOPD_VERSION;
        return 0;
    case OPT_HELP:
        o->mode = MPOPD_HELP;
        return 0;
    case OPT_INETD:
        o->inetd = true;
        return 0;
    case OPT_INTERFACE:
        o->interface = arg;
        return 0;
    case OPT_PORT:
        if (number(arg, "--port", 0, 65535, &n, e) != 0)
            return -1;
        o->port = (int)n;
        return 0;
    case OPT_PORT_FILE:
        o->port_file = arg;
        return 0;
    case OPT_LOG:
        o->log = arg;
        return 0;
    case OPT_MAX_SESSIONS:
        if (number(arg, "--max-sessions", 1, MPOPD_MAX_MAX_SESSIONS, &n, e)
            != 0)
            return -1;
        o->max_sessions = (size_t)n;
        return 0;
    case OPT_TIMEOUT:
        if (number(arg, "--timeout", 1, MPOPD_MAX_TIMEOUT, &n, e) != 0)
            return -1;
        o->timeout = (int)n;
        return 0;
    case OPT_TLS_CERT:
        o->tls_cert = arg;
        return 0;
    case OPT_TLS_KEY:
        o->tls_key = arg;
        return 0;
    case OPT_TLS_IMPLICIT:
        o->tls_implicit = true;
        return 0;
    case OPT_AUTH:
        return add_box(o, arg, e);
    case OPT_MAILDIR:
        return set_maildir(o, arg, e);
    default:
        return err_set(e, MP_EUSAGE, _("use --help for a list of options"));
    }
}

int mpopd_opts_parse(struct mpopd_opts *o, int argc, char *argv[],
                     struct mp_err *e)
{
    int c;

    memset(o, 0, sizeof *o);
    o->interface = MPOPD_DEFAULT_INTERFACE;
    o->port = MPOPD_DEFAULT_PORT;
    o->log = "none";
    o->max_sessions = MPOPD_DEFAULT_MAX_SESSIONS;
    o->timeout = MPOPD_DEFAULT_TIMEOUT;
    optind = 0;         /* glibc: start over, also after an earlier run */
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (parse_one(o, c, optarg, e) != 0)
            return -1;
        if (o->mode != MPOPD_SERVE)
            return 0;
    }
    if (optind < argc)
        return err_set(e, MP_EUSAGE, _("unexpected argument %s"),
                       argv[optind]);
    if (o->nboxes > 0 && !o->boxes[o->nboxes - 1].maildir)
        return err_set(e, MP_EUSAGE, _("--auth=%s must be followed by "
                       "--maildir"), o->boxes[o->nboxes - 1].user);
    if (o->nboxes == 0)
        return err_set(e, MP_EUSAGE, _("at least one pair of --auth and "
                       "--maildir is required"));
    if (!o->tls_cert != !o->tls_key)
        return err_set(e, MP_EUSAGE, _("--tls-cert and --tls-key must be "
                       "given together"));
    if (o->tls_implicit && !o->tls_cert)
        return err_set(e, MP_EUSAGE, _("%s needs --tls-cert and --tls-key"),
                       "--tls-implicit");
    for (size_t i = 0; i < o->nboxes; i++) {
        if (check_maildir(o->boxes[i].maildir, e) != 0) {
            err_prefix(e, "--auth=%s: ", o->boxes[i].user);
            return -1;
        }
    }
    return 0;
}

void mpopd_opts_clear(struct mpopd_opts *o)
{
    for (size_t i = 0; i < o->nboxes; i++) {
        free(o->boxes[i].user);
        free(o->boxes[i].eval);
        free(o->boxes[i].maildir);
    }
    free(o->boxes);
    o->boxes = NULL;
    o->nboxes = 0;
}
