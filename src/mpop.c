/* main() of mpop: parse the command line, load the configuration (unless
 * --host), pick the accounts, apply the command-line overrides, check every
 * account before acting on any, then run the mode once per account.  This
 * is the only file of the client that prints. */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sysexits.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "account.h"
#include "cli.h"
#include "conf.h"
#include "configure.h"
#include "err.h"
#include "gettext.h"
#include "jobs.h"
#include "log.h"
#include "mdamode.h"
#include "oauth2_login.h"
#include "movemail.h"
#include "retrieve.h"
#include "sasl.h"
#include "runlog.h"
#include "serverinfo.h"
#include "session.h"
#include "transport.h"
#include "xalloc.h"

#ifndef LOCALEDIR
# define LOCALEDIR "/usr/share/locale"
#endif

/* The authentication methods this build offers, in the original's order
 * (apop after gssapi), asking GNU SASL at run time which mechanisms it
 * really has. */
static void put_lower(const char *s, FILE *f)
{
    for (; *s; s++)
        fputc(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s, f);
}

static void print_auth_methods(FILE *f)
{
    size_t i;

#ifdef HAVE_LIBGSASL
    fprintf(f, _("Authentication library: %s; "), "GNU SASL");
    fputs("user, apop", f);
    for (i = 0; sasl_mech_names[i]; i++)
        if (sasl_mech_builtin(sasl_mech_names[i])) {
            fputs(", ", f);
            put_lower(sasl_mech_names[i], f);
        }
    fputs(_(": built-in\n"), f);
#else
    fprintf(f, _("Authentication library: built-in\n"));
#endif
    fputs(_("Supported authentication methods:\n"), f);
    fputs("user ", f);
    for (i = 0; sasl_mech_names[i]; i++) {
        const char *m = sasl_mech_names[i];

        if (strcmp(m, "CRAM-MD5") == 0)
            fputs("apop ", f);
        if (!sasl_mech_supported(m))
            continue;
        put_lower(m, f);
        fputc(' ', f);
    }
    fputc('\n', f);
}

static void print_platform(FILE *f)
{
#ifdef PLATFORM
    fprintf(f, _("Platform: %s\n"), PLATFORM);
#else
    /* configure does not record the host triplet; describe the machine we
     * run on instead. */
    struct utsname u;

    if (uname(&u) == 0)
        fprintf(f, _("Platform: %s %s\n"), u.machine, u.sysname);
    else
        fprintf(f, _("Platform: %s\n"), _("unknown"));
#endif
}

static void print_version(const char *conffile)
{
    char *path = conffile ? xstrdup(conffile) : conf_default_path();

    printf(_("%s version %s\n"), PACKAGE, VERSION);
    print_platform(stdout);
    printf(_("TLS/SSL library: %s %s\n"), "GnuTLS", gnutls_check_version(NULL));
    print_auth_methods(stdout);
#ifdef HAVE_LIBIDN
    printf(_("IDN support: %s\n"), _("enabled (libidn2)"));
#else
    printf(_("IDN support: %s\n"), _("disabled"));
#endif
#ifdef ENABLE_NLS
    printf(_("NLS: enabled, LOCALEDIR is %s\n"), LOCALEDIR);
#else
    printf(_("NLS: %s\n"), _("disabled"));
#endif
#ifdef HAVE_LIBSECRET
    printf(_("Keyring support: %s\n"), "Gnome (libsecret)");
#else
    printf(_("Keyring support: %s\n"), _("none"));
#endif
    printf(_("Configuration file name: %s\n"), path);
    printf("\n");
    printf(_("Copyright (C) 2026 The mpop authors.\n"
             "License GPL-3.0-or-later: GNU GPL version 3 or later "
             "<https://gnu.org/licenses/gpl.html>.\n"
             "This is free software: you are free to change and "
             "redistribute it.\n"
             "There is NO WARRANTY, to the extent permitted by law.\n"));
    free(path);
}

static void print_help(void)
{
    printf(_("Usage:\n\n"));
    printf(_("Mail retrieval mode (default):\n"
             "  %s [option...] [--] account...\n"
             "  %s [option...] --all-accounts\n"
             "  %s --host=host [option...]\n"
             "  Fetch mail from one or more POP3 accounts and deliver it.\n"),
           PACKAGE, PACKAGE, PACKAGE);
    printf(_("Configuration mode:\n"
             "  %s --configure=mailaddress\n"
             "  Print a configuration for the address, found in DNS.\n"),
           PACKAGE);
    printf(_("Server information mode:\n"
             "  %s [option...] --serverinfo account...\n"
             "  %s --host=host [option...] --serverinfo\n"
             "  Show what one or more POP3 servers support.\n"),
           PACKAGE, PACKAGE);
    printf(_("Delivery mode:\n"
             "  %s --mda[=from] [--delivery=method,arg] [option...] "
             "[account]\n"
             "  Deliver one mail read from standard input.\n\n"),
           PACKAGE);
    printf(_("General options:\n"
"  --version                    show version and build information\n"
"  --help                       show this help\n"
"  -P, --pretend                show the effective settings and exit\n"
"  -d, --debug                  show the conversation with the server\n"));
    printf(_("Changing the mode of operation:\n"
"  --configure=mailaddress      print a configuration for the address\n"
"  -S, --serverinfo             show information about the server\n"));
    printf(_("Configuration options:\n"
"  -C, --file=filename          read this configuration file\n"
"  --host=hostname              use this server and only settings from the\n"
"                               command line; read no configuration file\n"
"  --port=number                server port\n"
"  --source-ip=[IP]             bind to this local address (empty: unset)\n"
"  --proxy-host=[IP|hostname]   SOCKS proxy (empty: unset)\n"
"  --proxy-port=[number]        SOCKS proxy port (empty: unset)\n"
"  --socket=[socketname]        connect to a local socket (empty: unset)\n"
"  --timeout=(off|seconds)      network timeout\n"
"  --pipelining=(auto|on|off)   use POP3 pipelining\n"
"  --received-header[=(on|off)] add a Received header\n"
"  --auth[=(on|method)]         authentication method (on: choose)\n"
"  --user=[username]            user name (empty: unset)\n"
"  --passwordeval=[eval]        command that prints the password\n"
"  --tls[=(on|off)]             use TLS\n"
"  --tls-starttls[=(on|off)]    start TLS with STLS instead of at connect\n"
"  --tls-trust-file=[file]      trusted CA certificates (empty: none)\n"
"  --tls-crl-file=[file]        certificate revocation list (empty: none)\n"
"  --tls-fingerprint=[f]        trust only the certificate with this\n"
"                               fingerprint (empty: unset)\n"
"  --tls-certcheck[=(on|off)]   verify the server certificate\n"
"  --tls-key-file=[file]        client key for TLS (empty: none)\n"
"  --tls-cert-file=[file]       client certificate for TLS (empty: none)\n"
"  --tls-priorities=[prios]     GnuTLS priority string (empty: default)\n"
"  --tls-host-override=[host]   verify the certificate for this host name\n"
"  --tls-min-dh-prime-bits=[b]  smallest DH prime accepted (empty: unset)\n"));
    printf(_("Options specific to mail retrieval mode:\n"
"  -q, --quiet                  show neither status nor progress\n"
"  -Q, --half-quiet             show status but not progress\n"
"  -a, --all-accounts           use every account of the configuration\n"
"  -A, --auth-only              authenticate, then quit; fetch nothing\n"
"  -s, --status-only            show the number and size of mails only\n"
"  -n, --only-new[=(on|off)]    fetch only mails not seen before\n"
"  -k, --keep[=(on|off)]        never delete mails from the server\n"
"  --killsize=(off|number)      delete mails of this size or larger\n"
"  --skipsize=(off|number)      skip mails of this size or larger\n"
"  --filter=[program]           decide per mail from its header\n"
"  --delivery=method,arg        how to deliver (mda, maildir, mbox,\n"
"                               exchange)\n"
"  --uidls-file=filename        file that remembers the mails seen\n"));
    printf(_("Options beyond the original:\n"
"  -j, --jobs=number            fetch this many accounts at once\n"
"  --log=(syslog|filename)      log each mail and account\n"
"  --summary=json               print a JSON summary of all accounts\n"
"  --mda[=from]                 deliver one mail read from standard input\n"
"                               with --delivery or the account's delivery\n"
"                               (from: the envelope sender; default: from\n"
"                               its header)\n"
"  --movemail                   act as a movemail program; see\n"
"                               '%s --movemail --help'\n"), PACKAGE);
    printf(_("OAuth2 sign-in (beyond the original):\n"
"  --oauth2-login[=(browser|device)] [account]\n"
"                               sign in once; then the account gets and\n"
"                               refreshes its OAuth2 tokens by itself\n"
"                               (browser: authorization code with a\n"
"                               loopback redirect; device: a code to enter\n"
"                               on another device; default: browser when\n"
"                               the provider has it)\n"));
}

static int usage_error(const struct mp_err *e)
{
    log_error("%s", e->msg);
    fprintf(stderr, _("Try '%s --help' for more information.\n"), PACKAGE);
    return EX_USAGE;
}

static int print_err(const struct mp_err *e)
{
    log_error("%s", e->msg);
    return err_exitcode(e->kind);
}

/* The exit status of mpop 1.4.18 in retrieval and server information
 * mode, where scripts look at it: it knows no EX_CANTCREAT and no
 * EX_NOINPUT for the configuration file, and a failed filter command, like
 * every local file error, is EX_IOERR there.  (--mda and mpopd keep the
 * finer codes of err_exitcode().) */
static int compat_exitcode(enum mp_err_kind kind)
{
    switch (kind) {
    case MP_ECANTCREAT:
    case MP_EFILTER:
        return EX_IOERR;
    default:
        return err_exitcode(kind);
    }
}

/* ---- retrieval mode: the original's output ---------------------------- */

struct progress {
    bool show;          /* per-mail lines (not with -Q or -q) */
    int pct;            /* last percentage printed, -1: none */
    int back;           /* backspaces needed to overwrite it */
};

/* "222 bytes", "5.04 KiB", "1.50 MiB", as the original prints sizes. */
static char *human_size(unsigned long long n, char *out, size_t outsz)
{
    if (n < 1024)
        snprintf(out, outsz, _("%llu bytes"), n);
    else if (n < 1024ULL * 1024)
        snprintf(out, outsz, _("%.2f KiB"), n / 1024.0);
    else if (n < 1024ULL * 1024 * 1024)
        snprintf(out, outsz, _("%.2f MiB"), n / (1024.0 * 1024.0));
    else
        snprintf(out, outsz, _("%.2f GiB"),
                 n / (1024.0 * 1024.0 * 1024.0));
    return out;
}

static void print_count(unsigned long n, unsigned long long size)
{
    char hs[64];

    if (n == 0)
        printf(_("no messages"));
    else
        printf(ngettext("%lu message in %s", "%lu messages in %s", n), n,
               human_size(size, hs, sizeof hs));
}

static void ev_status(void *ctx, const struct retrieve_status *st)
{
    char q1[256], q2[256];

    if (log_level == LOGLEVEL_QUIET)
        return;
    printf(_("%s at %s:\n"),
           log_quote(q1, sizeof q1, st->user, strlen(st->user)),
           log_quote(q2, sizeof q2, st->host, strlen(st->host)));
    /* An empty mailbox is one line, as in mpop 1.4.18. */
    if (st->nmsgs == 0) {
        print_count(0, 0);
    } else {
        printf(_("new: "));
        print_count(st->nnew, st->newsize);
        printf(_(", total: "));
        print_count(st->nmsgs, st->total);
    }
    printf("\n");
    fflush(stdout);
}

static void ev_decision(void *ctx, unsigned long msn, unsigned long n,
                        enum retrieve_reason reason, bool deleted,
                        bool keep)
{
    struct progress *p = ctx;
    const char *why = reason == RETRIEVE_REASON_KILLSIZE ? "killsize"
        : reason == RETRIEVE_REASON_SKIPSIZE ? "skipsize" : "filter";

    if (!p->show)
        return;
    if (deleted)
        printf(_("deleting message %lu of %lu (reason: %s)\n"), msn, n,
               why);
    else if (keep)
        printf(_("skipping message %lu of %lu (reason: %s + keep)\n"),
               msn, n, why);
    else
        printf(_("skipping message %lu of %lu (reason: %s)\n"), msn, n,
               why);
    fflush(stdout);
}

static void ev_mail_begin(void *ctx, unsigned long msn, unsigned long n,
                          long long size)
{
    struct progress *p = ctx;
    char hs[64];

    if (!p->show)
        return;
    printf(_("retrieving message %lu of %lu (%s): "), msn, n,
           human_size(size < 0 ? 0 : (unsigned long long)size, hs,
                      sizeof hs));
    printf("%3d%%", 0);
    p->pct = 0;
    p->back = 4;
    fflush(stdout);
}

static void progress_to(struct progress *p, int pct)
{
    if (pct == p->pct)
        return;
    printf("%.*s%3d", p->back, "\b\b\b\b", pct);
    p->pct = pct;
    p->back = 3;
    fflush(stdout);
}

static void ev_mail_progress(void *ctx, long long done, long long size)
{
    struct progress *p = ctx;
    int pct;

    if (!p->show || p->pct < 0 || size <= 0)
        return;
    /* retrieve.c reports done == size only once the mail is complete. */
    pct = done >= size ? 100 : (int)(done * 100 / size);
    progress_to(p, pct);
}

static void ev_mail_end(void *ctx, bool ok)
{
    struct progress *p = ctx;

    if (!p->show || p->pct < 0)
        return;
    if (ok)
        progress_to(p, 100);
    printf("\n");
    p->pct = -1;
    fflush(stdout);
}

/* --log and --summary (issue 9): the account being fetched. */
static struct runlog_account *cur_rl;

static void ev_mail_done(void *ctx, const struct retrieve_mail_log *ml)
{
    (void)ctx;
    if (cur_rl)
        runlog_mail(cur_rl, ml);
}

static void on_signal(int sig)
{
    (void)sig;
    transport_interrupted = 1;
}

/* SIGTERM, SIGINT and SIGHUP end the session cleanly: the flag makes the
 * next interrupted read or write fail (no SA_RESTART), retrieve.c aborts
 * the mail in progress and saves the UIDLs. */
static void catch_signals(void)
{
    static bool done;
    struct sigaction sa;

    if (done)
        return;
    done = true;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static int run_retrieve(const struct cli *c, const struct account *a)
{
    struct progress p = { c->quiet == CLI_QUIET_NONE && !c->debug, -1, 0 };
    struct retrieve_events ev = {
        &p, ev_status, ev_decision, ev_mail_begin, ev_mail_progress,
        ev_mail_end, ev_mail_done
    };
    enum retrieve_action act = c->action == CLI_ACTION_STATUS
        ? RETRIEVE_STATUS : c->action == CLI_ACTION_AUTH ? RETRIEVE_AUTH
        : RETRIEVE_FETCH;
    struct mp_err e;
    char q[MP_ERR_SERVER_MAX * 4 + 1];

    catch_signals();
    err_init(&e);
    if (transport_interrupted)
        return EX_TEMPFAIL;
    if (retrieve_account(a, act, &ev, &e) == 0)
        return EX_OK;
    if (p.pct >= 0)
        printf("\n");
    fflush(stdout);
    log_error("%s", e.msg);
    if (e.server[0])
        log_error(_("POP3 server message: %s"),
                  log_quote(q, sizeof q, e.server, strlen(e.server)));
    if (a->conffile)
        log_error(_("error during mail retrieval (account %s from %s)"),
                  a->id, a->conffile);
    else
        log_error(_("error during mail retrieval"));
    return compat_exitcode(e.kind);
}

/* Like the original, --serverinfo prints no "error during" line and no
 * warning about disabled certificate checks (that is how users learn a
 * fingerprint). */
static int run_serverinfo(const struct cli *c, const struct account *a)
{
    struct session s;
    struct mp_err e, e2;
    char q[MP_ERR_SERVER_MAX * 4 + 1];
    int r;

    (void)c;
    catch_signals();
    err_init(&e);
    err_init(&e2);
    if (transport_interrupted)
        return EX_TEMPFAIL;
    r = session_open(&s, a, SESSION_CAPA, &e);
    if (r == 0) {
        r = serverinfo_print(&s, stdout, &e);
        /* The report is out; a failing QUIT changes nothing for it. */
        session_close(&s, true, &e2);
    }
    if (r == 0)
        return EX_OK;
    fflush(stdout);
    log_error("%s", e.msg);
    if (e.server[0])
        log_error(_("POP3 server message: %s"),
                  log_quote(q, sizeof q, e.server, strlen(e.server)));
    return compat_exitcode(e.kind);
}

/* --configure: SRV records (RFC 6186, 8314), see configure.h. */
static int run_configure(const struct cli *c)
{
    struct mp_err e;
    char *path = c->conffile ? xstrdup(c->conffile) : conf_default_path();
    int r;

    err_init(&e);
    r = configure_run(c->configure_addr, path, stdout, &e);
    free(path);
    if (r < 0)
        return print_err(&e);
    return EX_OK;
}

/* ---- issue 9: accounts one after the other or in parallel (-j),
 * --log and --summary=json ------------------------------------------ */

struct runner {
    const struct cli *c;
    const struct account_list *sel;
    struct logfile log;
    char **json;            /* per account, for --summary */
    int rc;                 /* -j: the first failure, in order */
};

static void pretend(const struct cli *c, const struct account *a);

/* One account with its log lines; its JSON object, when wanted, goes to
 * *json_r. */
static int run_one(struct runner *rn, size_t i, char **json_r)
{
    const struct account *a = rn->sel->v[i];
    struct runlog_account ra;
    int r;

    /* --debug starts with the account's settings, as in mpop 1.4.18. */
    if (rn->c->debug) {
        pretend(rn->c, a);
        fflush(stdout);
    }

    runlog_account_begin(&ra, &rn->log, a);
    ra.keep_mails = json_r != NULL;
    cur_rl = &ra;
    if (rn->c->mode == CLI_MODE_SERVERINFO)
        r = run_serverinfo(rn->c, a);
    else
        r = run_retrieve(rn->c, a);
    cur_rl = NULL;
    runlog_account_end(&ra, r);
    if (json_r)
        *json_r = runlog_account_json(&ra);
    runlog_account_clear(&ra);
    return r;
}

static int job_run(size_t i, int side_fd, void *arg)
{
    struct runner *rn = arg;
    char *json = NULL;
    int r = run_one(rn, i, rn->c->summary_json ? &json : NULL);

    if (json) {
        size_t off = 0, len = strlen(json);
        ssize_t w;

        while (off < len && (w = write(side_fd, json + off, len - off)) > 0)
            off += (size_t)w;
        free(json);
    }
    return r;
}

static void job_done(size_t i, int exitcode, const char *side, size_t len,
                     void *arg)
{
    struct runner *rn = arg;

    if (rn->rc == EX_OK)
        rn->rc = exitcode;
    if (rn->json && side && len)
        rn->json[i] = xstrndup(side, len);
}

/* The UIDLs file and the delivery file or directory: accounts sharing
 * one never run at the same time. */
static void job_keys(const struct account *a, struct jobs_item *it,
                     char **uidls_r)
{
    memset(it, 0, sizeof *it);
    *uidls_r = account_uidls_path(a);
    it->keys[0] = *uidls_r;
    if (a->delivery == DELIVERY_MAILDIR || a->delivery == DELIVERY_MBOX
        || a->delivery == DELIVERY_EXCHANGE)
        it->keys[1] = a->delivery_args;
}

/* Runs every selected account; returns the exit code of the first that
 * failed, as the original does. */
static int run_accounts(const struct cli *c, const struct account_list *sel)
{
    struct runner rn;
    struct mp_err e;
    size_t i;
    int rc = EX_OK, r;

    memset(&rn, 0, sizeof rn);
    rn.c = c;
    rn.sel = sel;
    err_init(&e);
    if (logfile_open(&rn.log, c->log, PACKAGE, &e) < 0)
        return print_err(&e);
    if (c->summary_json)
        rn.json = xcalloc(sel->n ? sel->n : 1, sizeof *rn.json);
    if (c->jobs > 1 && sel->n > 1) {
        struct jobs_item *items = xcalloc(sel->n, sizeof *items);
        char **paths = xcalloc(sel->n, sizeof *paths);

        for (i = 0; i < sel->n; i++)
            job_keys(sel->v[i], &items[i], &paths[i]);
        catch_signals();
        if (jobs_run(items, sel->n, c->jobs, job_run, job_done, &rn,
                     &e) < 0) {
            log_error("%s", e.msg);
        }
        rc = rn.rc;
        for (i = 0; i < sel->n; i++)
            free(paths[i]);
        free(paths);
        free(items);
    }
    if (c->jobs <= 1 || sel->n <= 1) {
        for (i = 0; i < sel->n; i++) {
            r = run_one(&rn, i, rn.json ? &rn.json[i] : NULL);
            if (rc == EX_OK)
                rc = r;
        }
    }
    logfile_close(&rn.log);
    if (rn.json) {
        printf("[");
        for (i = 0; i < sel->n; i++)
            printf("%s\n%s", i ? "," : "", rn.json[i] ? rn.json[i] : "null");
        printf("\n]\n");
        for (i = 0; i < sel->n; i++)
            free(rn.json[i]);
        free(rn.json);
    }
    return rc;
}

/* `mpop --movemail ...` or `mpop-movemail ...` (issue 9). */
static int run_movemail(int argc, char **argv)
{
    struct movemail_opts o;
    struct mp_err e;
    char q[MP_ERR_SERVER_MAX * 4 + 1];

    err_init(&e);
    if (movemail_parse_args(&o, argc, argv, &e) < 0)
        return usage_error(&e);
    if (o.help) {
        printf(_("Usage: %s --movemail [-p|--preserve] [-r|--reverse] "
                 "[--tls] [--file=FILE] [--emacs] source destfile "
                 "[password]\n"
                 "  source: pop://user[:pass]@host[:port], "
                 "pops://... (TLS), po:user[:host[:port]]\n"), PACKAGE);
        return EX_OK;
    }
    if (o.version) {
        /* Before anything else, the line Emacs Rmail looks for. */
        printf("%s\n", MOVEMAIL_VERSION_LINE);
        print_version(NULL);
        return EX_OK;
    }
    /* Rmail drops a leading "movemail: " from what it shows. */
    if (o.emacs)
        log_set_progname("movemail");
    catch_signals();
    if (movemail_run(&o, &e) == 0)
        return EX_OK;
    /* Rmail forgets the password it passed when the message matches
     * MU_ERR_AUTH_FAILURE (and strips that code before showing it). */
    if (o.emacs && e.kind == MP_EAUTH)
        log_error("MU_ERR_AUTH_FAILURE: %s", e.msg);
    else
        log_error("%s", e.msg);
    if (e.server[0])
        log_error(_("POP3 server message: %s"),
                  log_quote(q, sizeof q, e.server, strlen(e.server)));
    return err_exitcode(e.kind);
}

/* Fills *sel with copies of the accounts to use.  Returns an exit code. */
static int select_accounts(const struct cli *c, struct account_list *sel)
{
    struct account_list all = { NULL, 0 };
    struct mp_err e;
    char *path;
    size_t i;
    int rc = EX_OK;

    err_init(&e);
    if (c->host_mode) {
        /* No configuration file at all: the defaults and the options. */
        account_list_add(sel, account_new(""));
        return EX_OK;
    }
    path = c->conffile ? xstrdup(c->conffile) : conf_default_path();
    if (conf_load_file(path, &all, &e) < 0) {
        rc = print_err(&e);
        /* A missing file: EX_IOERR, as in mpop 1.4.18 (--mda keeps
         * EX_NOINPUT). */
        if (e.kind == MP_ENOINPUT && c->mode != CLI_MODE_MDA)
            rc = EX_IOERR;
        goto out;
    }
    if (c->all_accounts) {
        if (all.n == 0) {
            log_error(_("%s: no accounts defined"), path);
            rc = EX_CONFIG;
            goto out;
        }
        for (i = 0; i < all.n; i++)
            account_list_add(sel, account_copy(all.v[i], NULL));
    } else if (c->nnames == 0) {
        struct account *a = account_list_find(&all, "default");

        if (!a) {
            log_error(_("%s: no account %s"), path, "default");
            rc = EX_CONFIG;
            goto out;
        }
        account_list_add(sel, account_copy(a, NULL));
    } else {
        for (i = 0; i < c->nnames; i++) {
            struct account *a = account_list_find(&all, c->names[i]);

            if (!a) {
                log_error(_("%s: no account %s"), path, c->names[i]);
                rc = EX_CONFIG;
                goto out;
            }
            account_list_add(sel, account_copy(a, NULL));
        }
    }
out:
    if (rc != EX_OK)
        account_list_clear(sel);
    account_list_clear(&all);
    free(path);
    return rc;
}

/* --mda[=FROM]: one mail from standard input, delivered with --delivery
 * (then no configuration file is read), or with the delivery of the named
 * account (default: "default"). */
static int run_mda(const struct cli *c)
{
    struct account_list sel = { NULL, 0 };
    struct account *a;
    struct mp_err e;
    int rc = EX_OK;

    err_init(&e);
    if (c->nnames == 0 && !c->conffile
        && (c->over->set & ACC_BIT(ACC_DELIVERY))) {
        account_list_add(&sel, account_new(""));
    } else {
        rc = select_accounts(c, &sel);
        if (rc != EX_OK)
            return rc;
    }
    a = sel.v[0];
    account_merge(a, c->over);
    if (c->pretend) {
        account_print_pretend(a, stdout);
    } else {
        catch_signals();
        if (mdamode_run(a, c->mda_from, STDIN_FILENO, &e) < 0) {
            log_error("%s", e.msg);
            if (a->conffile)
                log_error(_("error during delivery (account %s from %s)"),
                          a->id, a->conffile);
            rc = err_exitcode(e.kind);
        }
    }
    account_list_clear(&sel);
    return rc;
}

/* --oauth2-login[=FLOW] [ACCOUNT]: sign in once (oauth2.h). */
static int run_oauth2_login(const struct cli *c)
{
    struct account_list sel = { NULL, 0 };
    struct account *a;
    struct mp_err e;
    int rc;

    err_init(&e);
    rc = select_accounts(c, &sel);
    if (rc != EX_OK)
        return rc;
    a = sel.v[0];
    account_merge(a, c->over);
    if (account_check(a, false, &e) < 0) {
        rc = print_err(&e);
    } else if (c->pretend) {
        account_print_pretend(a, stdout);
    } else {
        /* No catch_signals(): Ctrl-C ends a sign-in at once, in the poll
         * for the browser or between device polls.  Nothing is left
         * half-written (the token store writes atomically) and the lock
         * goes with the process. */
        if (oauth2_login(a, (enum oauth2_flow)c->oauth2_flow, &e) < 0)
            rc = print_err(&e);
    }
    account_list_clear(&sel);
    return rc;
}

static void pretend(const struct cli *c, const struct account *a)
{
    struct account *p;

    if (c->mode != CLI_MODE_SERVERINFO) {
        account_print_pretend(a, stdout);
        return;
    }
    /* Like the original, --serverinfo shows no retrieval settings. */
    p = account_copy(a, NULL);
    p->delivery = DELIVERY_NONE;
    account_print_pretend(p, stdout);
    account_free(&p);
}

int main(int argc, char **argv)
{
    struct account_list sel = { NULL, 0 };
    struct mp_err e;
    struct cli c;
    const char *localedir;
    size_t i;
    int rc;

    setlocale(LC_ALL, "");
    /* MPOP_LOCALEDIR lets the tests use catalogs from the build tree. */
    localedir = getenv("MPOP_LOCALEDIR");
    bindtextdomain(PACKAGE, localedir && *localedir ? localedir
                                                    : LOCALEDIR);
    textdomain(PACKAGE);
    log_set_progname(PACKAGE);
    err_init(&e);

    if (movemail_invoked(argc, argv))
        return run_movemail(argc, argv);
    if (cli_parse(&c, argc, argv, &e) < 0)
        return usage_error(&e);
    if (c.version || c.help) {
        if (c.version)
            print_version(c.conffile);
        if (c.help)
            print_help();
        rc = fflush(stdout) == 0 ? EX_OK : EX_IOERR;
        goto out;
    }
    if (c.debug)
        log_level = LOGLEVEL_DEBUG;
    else if (c.quiet == CLI_QUIET_FULL)
        log_level = LOGLEVEL_QUIET;

    if (c.mode == CLI_MODE_CONFIGURE) {
        rc = run_configure(&c);
        goto out;
    }
    if (c.mode == CLI_MODE_MDA) {
        rc = run_mda(&c);
        goto out;
    }
    if (c.mode == CLI_MODE_OAUTH2_LOGIN) {
        rc = run_oauth2_login(&c);
        goto out;
    }

    rc = select_accounts(&c, &sel);
    if (rc != EX_OK)
        goto out;
    /* Every account is checked before any is used, as the original does,
     * so a typo in the last one does not leave the first half done. */
    for (i = 0; i < sel.n; i++) {
        account_merge(sel.v[i], c.over);
        if (account_check(sel.v[i], c.mode == CLI_MODE_RETRIEVE, &e) < 0) {
            rc = print_err(&e);
            goto out;
        }
    }
    if (c.pretend) {
        for (i = 0; i < sel.n; i++)
            pretend(&c, sel.v[i]);
    } else {
        rc = run_accounts(&c, &sel);
    }
    if (fflush(stdout) != 0 && rc == EX_OK) {
        log_error(_("cannot write to standard output"));
        rc = EX_IOERR;
    }
out:
    account_list_clear(&sel);
    cli_clear(&c);
    return rc;
}
