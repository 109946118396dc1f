#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "gettext.h"
#include "paths.h"
#include "strparse.h"
#include "xalloc.h"

/* Long-only options, and a long twin for every short one: getopt_long
 * reports a bad long option with optopt set to its val, so giving long
 * options values above any character tells the two apart in messages. */
enum {
    OPT_VERSION = 256, OPT_HELP, OPT_PRETEND, OPT_DEBUG, OPT_CONFIGURE,
    OPT_SERVERINFO, OPT_FILE, OPT_HOST, OPT_PORT, OPT_SOURCE_IP,
    OPT_PROXY_HOST, OPT_PROXY_PORT, OPT_SOCKET, OPT_TIMEOUT, OPT_PIPELINING,
    OPT_RECEIVED_HEADER, OPT_AUTH, OPT_USER, OPT_PASSWORDEVAL, OPT_TLS,
    OPT_TLS_STARTTLS, OPT_TLS_TRUST_FILE, OPT_TLS_CRL_FILE,
    OPT_TLS_FINGERPRINT, OPT_TLS_KEY_FILE, OPT_TLS_CERT_FILE,
    OPT_TLS_CERTCHECK, OPT_TLS_PRIORITIES, OPT_TLS_HOST_OVERRIDE,
    OPT_TLS_MIN_DH_PRIME_BITS, OPT_TLS_FORCE_SSLV3, OPT_QUIET,
    OPT_HALF_QUIET, OPT_ALL_ACCOUNTS, OPT_AUTH_ONLY, OPT_STATUS_ONLY,
    OPT_ONLY_NEW, OPT_KEEP, OPT_KILLSIZE, OPT_SKIPSIZE, OPT_FILTER,
    OPT_DELIVERY, OPT_UIDLS_FILE, OPT_JOBS, OPT_LOG, OPT_SUMMARY, OPT_MDA,
    OPT_OAUTH2_LOGIN
};

static const struct option long_options[] = {
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, OPT_HELP },
    { "pretend", no_argument, NULL, OPT_PRETEND },
    { "debug", no_argument, NULL, OPT_DEBUG },
    { "configure", required_argument, NULL, OPT_CONFIGURE },
    { "serverinfo", no_argument, NULL, OPT_SERVERINFO },
    { "file", required_argument, NULL, OPT_FILE },
    { "host", required_argument, NULL, OPT_HOST },
    { "port", required_argument, NULL, OPT_PORT },
    { "source-ip", required_argument, NULL, OPT_SOURCE_IP },
    { "proxy-host", required_argument, NULL, OPT_PROXY_HOST },
    { "proxy-port", required_argument, NULL, OPT_PROXY_PORT },
    { "socket", required_argument, NULL, OPT_SOCKET },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "pipelining", required_argument, NULL, OPT_PIPELINING },
    { "received-header", optional_argument, NULL, OPT_RECEIVED_HEADER },
    { "auth", optional_argument, NULL, OPT_AUTH },
    { "user", required_argument, NULL, OPT_USER },
    { "passwordeval", required_argument, NULL, OPT_PASSWORDEVAL },
    { "tls", optional_argument, NULL, OPT_TLS },
    { "tls-starttls", optional_argument, NULL, OPT_TLS_STARTTLS },
    { "tls-trust-file", required_argument, NULL, OPT_TLS_TRUST_FILE },
    { "tls-crl-file", required_argument, NULL, OPT_TLS_CRL_FILE },
    { "tls-fingerprint", required_argument, NULL, OPT_TLS_FINGERPRINT },
    { "tls-key-file", required_argument, NULL, OPT_TLS_KEY_FILE },
    { "tls-cert-file", required_argument, NULL, OPT_TLS_CERT_FILE },
    { "tls-certcheck", optional_argument, NULL, OPT_TLS_CERTCHECK },
    { "tls-priorities", required_argument, NULL, OPT_TLS_PRIORITIES },
    { "tls-host-override", required_argument, NULL, OPT_TLS_HOST_OVERRIDE },
    { "tls-min-dh-prime-bits", required_argument, NULL,
      OPT_TLS_MIN_DH_PRIME_BITS },
    /* Obsolete in the original, accepted there and ignored; kept so that
     * old scripts keep working. */
    { "tls-force-sslv3", optional_argument, NULL, OPT_TLS_FORCE_SSLV3 },
    { "quiet", no_argument, NULL, OPT_QUIET },
    { "half-quiet", no_argument, NULL, OPT_HALF_QUIET },
    { "all-accounts", no_argument, NULL, OPT_ALL_ACCOUNTS },
    { "auth-only", no_argument, NULL, OPT_AUTH_ONLY },
    { "status-only", no_argument, NULL, OPT_STATUS_ONLY },
    { "only-new", optional_argument, NULL, OPT_ONLY_NEW },
    { "keep", optional_argument, NULL, OPT_KEEP },
    { "killsize", required_argument, NULL, OPT_KILLSIZE },
    { "skipsize", required_argument, NULL, OPT_SKIPSIZE },
    { "filter", required_argument, NULL, OPT_FILTER },
    { "delivery", required_argument, NULL, OPT_DELIVERY },
    { "uidls-file", required_argument, NULL, OPT_UIDLS_FILE },
    /* Beyond the original (issue 9); command line only. */
    { "jobs", required_argument, NULL, OPT_JOBS },
    { "log", required_argument, NULL, OPT_LOG },
    { "summary", required_argument, NULL, OPT_SUMMARY },
    { "mda", optional_argument, NULL, OPT_MDA },
    { "oauth2-login", optional_argument, NULL, OPT_OAUTH2_LOGIN },
    { NULL, 0, NULL, 0 }
};

/* Leading ':' makes a missing argument return ':' instead of '?'; "n::" and
 * "k::" take an attached value as the original does ("-koff"). */
static const char short_options[] = ":PdSC:qQaAsn::k::j:";

static int bad_arg(struct mp_err *e, const char *arg, const char *opt)
{
    return err_set(e, MP_EUSAGE, _("invalid argument %s for %s"), arg, opt);
}

static int parse_int(const char *arg, long long min, long long max, int *out)
{
    unsigned long long v;

    if (min < 0 || str_to_ull(arg, (unsigned long long)min,
                              (unsigned long long)max, &v) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* The configuration command behind an account option: its argument goes
 * through conf.c's parser unchanged, so the two accept the same words
 * (tests/unit/test-cli.c checks it).  --host (which also selects the
 * --host mode), --delivery (METHOD,ARGS) and --uidls-file (empty allowed)
 * parse their own. */
static const struct {
    int val;
    const char *cmd;
} option_commands[] = {
    { OPT_PORT, "port" }, { OPT_SOURCE_IP, "source_ip" },
    { OPT_PROXY_HOST, "proxy_host" }, { OPT_PROXY_PORT, "proxy_port" },
    { OPT_SOCKET, "socket" }, { OPT_TIMEOUT, "timeout" },
    { OPT_PIPELINING, "pipelining" },
    { OPT_RECEIVED_HEADER, "received_header" }, { OPT_AUTH, "auth" },
    { OPT_USER, "user" }, { OPT_PASSWORDEVAL, "passwordeval" },
    { OPT_TLS, "tls" }, { OPT_TLS_STARTTLS, "tls_starttls" },
    { OPT_TLS_TRUST_FILE, "tls_trust_file" },
    { OPT_TLS_CRL_FILE, "tls_crl_file" },
    { OPT_TLS_FINGERPRINT, "tls_fingerprint" },
    { OPT_TLS_KEY_FILE, "tls_key_file" },
    { OPT_TLS_CERT_FILE, "tls_cert_file" },
    { OPT_TLS_CERTCHECK, "tls_certcheck" },
    { OPT_TLS_PRIORITIES, "tls_priorities" },
    { OPT_TLS_HOST_OVERRIDE, "tls_host_override" },
    { OPT_TLS_MIN_DH_PRIME_BITS, "tls_min_dh_prime_bits" },
    { 'n', "only_new" }, { OPT_ONLY_NEW, "only_new" },
    { 'k', "keep" }, { OPT_KEEP, "keep" },
    { OPT_KILLSIZE, "killsize" }, { OPT_SKIPSIZE, "skipsize" },
    { OPT_FILTER, "filter" },
};

static const char *conf_command_of(int val)
{
    for (size_t i = 0; i < sizeof option_commands
                           / sizeof option_commands[0]; i++)
        if (option_commands[i].val == val)
            return option_commands[i].cmd;
    return "?";
}

const char *cli_option_name(size_t i)
{
    return i < sizeof long_options / sizeof long_options[0]
        ? long_options[i].name : NULL;
}

const char *cli_option_command(const char *name)
{
    const char *cmd;

    for (size_t i = 0; long_options[i].name; i++) {
        if (strcmp(long_options[i].name, name) != 0)
            continue;
        cmd = conf_command_of(long_options[i].val);
        return strcmp(cmd, "?") == 0 ? NULL : cmd;
    }
    return NULL;
}

/* An option whose argument is that of the configuration command cmd:
 * parsed and checked by conf.c, so the two cannot disagree. */
static int via_conf(struct account *a, const char *cmd, const char *arg,
                    const char *opt, struct mp_err *e)
{
    struct mp_err ce;

    err_init(&ce);
    if (conf_account_set(a, cmd, arg ? arg : "", &ce) < 0)
        return bad_arg(e, arg ? arg : "", opt);
    return 0;
}

/* An empty argument unsets a string setting. */
static void set_string(struct account *a, enum acc_field f, char **field,
                       const char *arg)
{
    free(*field);
    *field = (arg && *arg) ? xstrdup(arg) : NULL;
    a->set |= ACC_BIT(f);
}

/* METHOD,ARGS: the comma stands for the blank of the `delivery` command. */
static int parse_delivery(struct account *a, const char *arg)
{
    static const struct {
        const char *name;
        int method;
        bool path;
    } methods[] = {
        { "mda", DELIVERY_MDA, false },
        { "maildir", DELIVERY_MAILDIR, true },
        { "mbox", DELIVERY_MBOX, true },
        { "exchange", DELIVERY_EXCHANGE, true },
    };
    const char *comma = strchr(arg, ',');
    size_t i, n;

    if (!comma)
        return -1;
    n = (size_t)(comma - arg);
    for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (strlen(methods[i].name) == n
            && strncmp(arg, methods[i].name, n) == 0) {
            free(a->delivery_args);
            a->delivery = methods[i].method;
            a->delivery_args = methods[i].path
                ? paths_expand_tilde(comma + 1) : xstrdup(comma + 1);
            a->set |= ACC_BIT(ACC_DELIVERY);
            return 0;
        }
    }
    return -1;
}

/* The text of the long option argv[optind - 1] names, without "=VALUE". */
static void long_name(char *out, size_t outsz, char **argv, int argc)
{
    const char *s = "?";
    size_t n;

    if (optind >= 1 && optind - 1 < argc && argv[optind - 1])
        s = argv[optind - 1];
    n = strcspn(s, "=");
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* getopt_long cannot tell an ambiguous abbreviation from an unknown option
 * once opterr is 0; count the prefix matches ourselves. */
static bool is_ambiguous(const char *name)
{
    size_t i, len, matches = 0;

    if (strncmp(name, "--", 2) != 0)
        return false;
    name += 2;
    len = strlen(name);
    if (len == 0)
        return false;
    for (i = 0; long_options[i].name; i++) {
        if (strcmp(long_options[i].name, name) == 0)
            return false;
        if (strncmp(long_options[i].name, name, len) == 0)
            matches++;
    }
    return matches > 1;
}

static int getopt_error(int r, char **argv, int argc, struct mp_err *e)
{
    char name[128];

    if (r == ':') {
        if (optopt >= OPT_VERSION) {
            long_name(name, sizeof name, argv, argc);
            return err_set(e, MP_EUSAGE,
                           _("option '%s' requires an argument"), name);
        }
        return err_set(e, MP_EUSAGE, _("option '-%c' requires an argument"),
                       optopt);
    }
    if (optopt >= OPT_VERSION) {
        long_name(name, sizeof name, argv, argc);
        return err_set(e, MP_EUSAGE,
                       _("option '%s' does not take an argument"), name);
    }
    if (optopt > 0 && optopt < 256)
        return err_set(e, MP_EUSAGE, _("invalid option '-%c'"), optopt);
    long_name(name, sizeof name, argv, argc);
    if (is_ambiguous(name))
        return err_set(e, MP_EUSAGE, _("option '%s' is ambiguous"), name);
    return err_set(e, MP_EUSAGE, _("unrecognized option '%s'"), name);
}

/* One option with its argument (NULL when an optional one is absent).
 * `opt` is the option's name for messages. */
static int handle(struct cli *c, int val, const char *arg, const char *opt,
                  struct mp_err *e)
{
    struct account *a = c->over;
    int n;

    switch (val) {
    case OPT_VERSION:
        c->version = true;
        break;
    case OPT_HELP:
        c->help = true;
        break;
    case 'P': case OPT_PRETEND:
        c->pretend = true;
        break;
    case 'd': case OPT_DEBUG:
        c->debug = true;
        /* The progress output would mix with the conversation. */
        if (c->quiet < CLI_QUIET_HALF)
            c->quiet = CLI_QUIET_HALF;
        break;
    case OPT_CONFIGURE:
        c->mode = CLI_MODE_CONFIGURE;
        free(c->configure_addr);
        c->configure_addr = xstrdup(arg);
        break;
    case 'S': case OPT_SERVERINFO:
        if (c->mode != CLI_MODE_CONFIGURE)
            c->mode = CLI_MODE_SERVERINFO;
        break;
    case 'C': case OPT_FILE:
        free(c->conffile);
        c->conffile = paths_expand_tilde(arg);
        break;
    case OPT_HOST:
        c->host_mode = true;
        set_string(a, ACC_HOST, &a->host, arg);
        /* The original keeps an empty --host as "", not as unset. */
        if (!a->host)
            a->host = xstrdup("");
        break;
    case OPT_PORT:
    case OPT_SOURCE_IP: case OPT_PROXY_HOST: case OPT_PROXY_PORT:
    case OPT_SOCKET: case OPT_TIMEOUT: case OPT_PIPELINING:
    case OPT_RECEIVED_HEADER: case OPT_AUTH: case OPT_USER:
    case OPT_PASSWORDEVAL: case OPT_TLS: case OPT_TLS_STARTTLS:
    case OPT_TLS_TRUST_FILE: case OPT_TLS_CRL_FILE: case OPT_TLS_FINGERPRINT:
    case OPT_TLS_KEY_FILE: case OPT_TLS_CERT_FILE: case OPT_TLS_CERTCHECK:
    case OPT_TLS_PRIORITIES: case OPT_TLS_HOST_OVERRIDE:
    case OPT_TLS_MIN_DH_PRIME_BITS: case 'n': case OPT_ONLY_NEW:
    case 'k': case OPT_KEEP: case OPT_KILLSIZE: case OPT_SKIPSIZE:
    case OPT_FILTER:
        return via_conf(a, conf_command_of(val), arg, opt, e);
    case OPT_TLS_FORCE_SSLV3:
        break;
    case 'q': case OPT_QUIET:
        c->quiet = CLI_QUIET_FULL;
        break;
    case 'Q': case OPT_HALF_QUIET:
        if (c->quiet < CLI_QUIET_HALF)
            c->quiet = CLI_QUIET_HALF;
        break;
    case 'a': case OPT_ALL_ACCOUNTS:
        c->all_accounts = true;
        break;
    case 'A': case OPT_AUTH_ONLY:
        c->action = CLI_ACTION_AUTH;
        break;
    case 's': case OPT_STATUS_ONLY:
        c->action = CLI_ACTION_STATUS;
        break;
    case OPT_UIDLS_FILE:
        /* The original takes an empty --uidls-file= (the default file)
         * where its command wants an argument.  Expanded later, after
         * %U/%H, by account_uidls_path(). */
        set_string(a, ACC_UIDLS_FILE, &a->uidls_file, arg);
        break;
    case OPT_DELIVERY:
        /* METHOD,ARGS as in the original, where ARGS stays as written
         * (quotes too), unlike the command's METHOD ARGS. */
        if (parse_delivery(a, arg) < 0)
            return bad_arg(e, arg, opt);
        break;
    case 'j': case OPT_JOBS:
        if (parse_int(arg, 1, CLI_JOBS_MAX, &n) < 0)
            return bad_arg(e, arg, opt);
        c->jobs = (unsigned)n;
        break;
    case OPT_LOG:
        free(c->log);
        c->log = NULL;
        if (!*arg)
            return bad_arg(e, arg, opt);
        if (strcmp(arg, "none") != 0)
            c->log = strcmp(arg, "syslog") == 0 ? xstrdup(arg)
                : paths_expand_tilde(arg);
        break;
    case OPT_SUMMARY:
        if (strcmp(arg, "json") == 0)
            c->summary_json = true;
        else if (strcmp(arg, "none") == 0)
            c->summary_json = false;
        else
            return bad_arg(e, arg, opt);
        break;
    case OPT_MDA:
        c->mda = true;
        free(c->mda_from);
        c->mda_from = arg && *arg ? xstrdup(arg) : NULL;
        break;
    case OPT_OAUTH2_LOGIN:
        c->oauth2_login = true;
        if (!arg || !*arg || strcmp(arg, "auto") == 0)
            c->oauth2_flow = CLI_OAUTH2_AUTO;
        else if (strcmp(arg, "browser") == 0)
            c->oauth2_flow = CLI_OAUTH2_BROWSER;
        else if (strcmp(arg, "device") == 0)
            c->oauth2_flow = CLI_OAUTH2_DEVICE;
        else
            return bad_arg(e, arg, opt);
        break;
    default:
        return err_set(e, MP_EUSAGE, _("unhandled option %d"), val);
    }
    return 0;
}

/* The name to show for option val in messages: "--keep" for long ones,
 * "-k" when the short form was used. */
static void opt_name(char *out, size_t outsz, int val, int idx)
{
    if (idx >= 0)
        snprintf(out, outsz, "--%s", long_options[idx].name);
    else
        snprintf(out, outsz, "-%c", val);
}

int cli_parse(struct cli *c, int argc, char **argv, struct mp_err *e)
{
    char name[64];
    int r, idx;

    memset(c, 0, sizeof *c);
    c->over = account_new(_("(command line)"));
    c->jobs = 1;
    /* glibc: optind 0 re-initialises getopt's whole state. */
    optind = 0;
    opterr = 0;
    for (;;) {
        idx = -1;
        r = getopt_long(argc, argv, short_options, long_options, &idx);
        if (r == -1)
            break;
        if (r == '?' || r == ':') {
            getopt_error(r, argv, argc, e);
            goto fail;
        }
        opt_name(name, sizeof name, r, idx);
        if (handle(c, r, optarg, name, e) < 0)
            goto fail;
    }
    if (optind < argc) {
        c->names = argv + optind;
        c->nnames = (size_t)(argc - optind);
    }
    if (c->host_mode && (c->nnames > 0 || c->all_accounts)) {
        err_set(e, MP_EUSAGE, _("cannot use both --host and accounts"));
        goto fail;
    }
    if (c->all_accounts && c->nnames > 0) {
        err_set(e, MP_EUSAGE,
                _("cannot use both --all-accounts and a list of accounts"));
        goto fail;
    }
    if (c->oauth2_login) {
        /* One sign-in at a time: a person answers each. */
        if (c->mode != CLI_MODE_RETRIEVE || c->action != CLI_ACTION_RETRIEVE
            || c->all_accounts || c->nnames > 1 || c->host_mode || c->mda) {
            err_set(e, MP_EUSAGE, _("--oauth2-login takes at most one "
                                    "account and no other mode "
                                    "(--serverinfo, --configure, --mda, -a, "
                                    "-A, -s, --host)"));
            goto fail;
        }
        c->mode = CLI_MODE_OAUTH2_LOGIN;
    }
    if (c->mda) {
        /* One mail from standard input, delivered once: one account. */
        if (c->mode != CLI_MODE_RETRIEVE || c->action != CLI_ACTION_RETRIEVE
            || c->all_accounts || c->nnames > 1 || c->host_mode) {
            err_set(e, MP_EUSAGE, _("--mda takes at most one account and "
                                    "no other mode (--serverinfo, "
                                    "--configure, -a, -A, -s, --host)"));
            goto fail;
        }
        c->mode = CLI_MODE_MDA;
    }
    return 0;

fail:
    cli_clear(c);
    return -1;
}

void cli_clear(struct cli *c)
{
    account_free(&c->over);
    free(c->conffile);
    free(c->configure_addr);
    free(c->log);
    free(c->mda_from);
    memset(c, 0, sizeof *c);
}
