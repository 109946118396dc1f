#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "conf.h"
#include "tap.h"

#define MAXARGS 8

/* Valid command lines: a check function per row asserts the effect. */
struct row {
    const char *name;
    const char *argv[MAXARGS];  /* after argv[0]; NULL-terminated */
    /* For invalid rows: a part of the message; NULL for valid rows. */
    const char *error;
};

static int parse(const char *const *args, struct cli *c, struct mp_err *e)
{
    /* static: c->names points into it after the call */
    static char *argv[MAXARGS + 2];
    static char prog[] = "mpop";
    int argc = 0;

    argv[argc++] = prog;
    while (args[argc - 1])
        argv[argc] = (char *)args[argc - 1], argc++;
    argv[argc] = NULL;
    err_init(e);
    return cli_parse(c, argc, argv, e);
}

static const struct row invalid[] = {
    { "unknown long", { "--bogus", NULL }, "unrecognized option '--bogus'" },
    { "unknown short", { "-x", NULL }, "invalid option '-x'" },
    { "ambiguous", { "--tls-c", NULL }, "'--tls-c' is ambiguous" },
    { "argument not allowed", { "--pretend=yes", NULL },
      "'--pretend' does not take an argument" },
    { "missing long argument", { "--port", NULL },
      "'--port' requires an argument" },
    { "missing short argument", { "-C", NULL },
      "'-C' requires an argument" },
    { "port 0", { "--port=0", NULL }, "invalid argument 0 for --port" },
    { "port too big", { "--port=65536", NULL }, "65536 for --port" },
    { "port empty", { "--port=", NULL }, "for --port" },
    { "port sign", { "--port=+5", NULL }, "+5 for --port" },
    { "proxy port too big", { "--proxy-port=70000", NULL },
      "70000 for --proxy-port" },
    { "timeout 0", { "--timeout=0", NULL }, "0 for --timeout" },
    { "timeout negative", { "--timeout=-1", NULL }, "-1 for --timeout" },
    { "timeout overflow", { "--timeout=99999999999", NULL },
      "for --timeout" },
    { "pipelining", { "--pipelining=maybe", NULL }, "for --pipelining" },
    { "tls value", { "--tls=yes", NULL }, "yes for --tls" },
    { "auth unknown", { "--auth=foo", NULL }, "foo for --auth" },
    { "auth off", { "--auth=off", NULL }, "off for --auth" },
    { "size unknown suffix", { "--skipsize=2g", NULL },
      "2g for --skipsize" },
    { "size fraction", { "--killsize=1.5m", NULL }, "for --killsize" },
    { "size empty", { "--killsize=", NULL }, "for --killsize" },
    { "size only suffix", { "--killsize=k", NULL }, "for --killsize" },
    { "dh bits 0", { "--tls-min-dh-prime-bits=0", NULL },
      "for --tls-min-dh-prime-bits" },
    { "fingerprint short", { "--tls-fingerprint=00:11", NULL },
      "for --tls-fingerprint" },
    { "delivery without comma", { "--delivery=maildir", NULL },
      "maildir for --delivery" },
    { "delivery unknown", { "--delivery=foo,x", NULL }, "for --delivery" },
    { "keep not a duration", { "--keep=1x", NULL }, "1x for --keep" },
    { "short keep value", { "-kmaybe", NULL }, "maybe for -k" },
    { "only-new value", { "--only-new=x", NULL }, "x for --only-new" },
    { "host and accounts", { "--host=h", "acc", NULL },
      "cannot use both --host and accounts" },
    { "host and -a", { "-a", "--host=h", NULL },
      "cannot use both --host and accounts" },
    { "-a and accounts", { "-a", "acc", NULL },
      "--all-accounts and a list of accounts" },
};

static void test_invalid(void)
{
    struct mp_err e;
    struct cli c;
    size_t i;
    int r;

    for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        r = parse(invalid[i].argv, &c, &e);
        is_int(r, -1, "invalid %s: rejected", invalid[i].name);
        is_int(e.kind, MP_EUSAGE, "invalid %s: usage error", invalid[i].name);
        ok(strstr(e.msg, invalid[i].error) != NULL,
           "invalid %s: message '%s'", invalid[i].name, e.msg);
        ok(c.over == NULL, "invalid %s: cleared", invalid[i].name);
    }
}

#define BIT(f) ACC_BIT(ACC_##f)

static void test_valid(void)
{
    struct mp_err e;
    struct cli c;
    struct account *a;

    {
        const char *args[] = { NULL };
        is_int(parse(args, &c, &e), 0, "no options: ok");
        ok(c.mode == CLI_MODE_RETRIEVE && c.action == CLI_ACTION_RETRIEVE
           && !c.pretend && !c.host_mode && c.nnames == 0
           && c.over->set == 0, "no options: defaults, nothing set");
        cli_clear(&c);
    }
    {
        const char *args[] = { "-P", "acc1", "-d", "acc2", NULL };
        is_int(parse(args, &c, &e), 0, "names among options: ok");
        ok(c.pretend && c.debug && c.quiet == CLI_QUIET_HALF,
           "-d implies half quiet");
        is_int((long long)c.nnames, 2, "names: two");
        if (c.nnames == 2) {
            is_str(c.names[0], "acc1", "names: first");
            is_str(c.names[1], "acc2", "names: second");
        }
        cli_clear(&c);
    }
    {
        const char *args[] = { "-q", "-Q", "-s", "--", "-a", NULL };
        is_int(parse(args, &c, &e), 0, "-- ends options: ok");
        ok(c.quiet == CLI_QUIET_FULL && c.action == CLI_ACTION_STATUS
           && !c.all_accounts && c.nnames == 1
           && strcmp(c.names[0], "-a") == 0,
           "-q beats -Q; -s; '-a' after -- is a name");
        cli_clear(&c);
    }
    {
        const char *args[] = { "--host=pop.example", "--port=995",
                               "--tls", "--tls-starttls=off", "-S",
                               "--user=", "--auth", NULL };
        is_int(parse(args, &c, &e), 0, "host mode: ok");
        a = c.over;
        ok(c.host_mode && c.mode == CLI_MODE_SERVERINFO, "host mode, -S");
        is_str(a->host, "pop.example", "host");
        is_int(a->port, 995, "port");
        ok(a->tls && !a->tls_starttls, "tls on, starttls off");
        ok(a->user == NULL && (a->set & BIT(USER)), "--user= unsets user");
        ok(a->auth == NULL && (a->set & BIT(AUTH)), "--auth means choose");
        is_int((long long)a->set,
               (long long)(BIT(HOST) | BIT(PORT) | BIT(TLS)
                           | BIT(TLS_STARTTLS) | BIT(USER) | BIT(AUTH)),
               "only the given settings are marked");
        cli_clear(&c);
    }
    {
        const char *args[] = { "--killsize=10k", "--skipsize=2m",
                               "--timeout=off", "--pipelining=on",
                               "--tls-min-dh-prime-bits=", "-koff",
                               "--only-new=off", NULL };
        is_int(parse(args, &c, &e), 0, "numbers: ok");
        a = c.over;
        is_int(a->killsize, 10240, "killsize 10k");
        is_int(a->skipsize, 2097152, "skipsize 2m");
        is_int(a->timeout, 0, "timeout off");
        is_int(a->pipelining, PIPELINING_ON, "pipelining on");
        is_int(a->tls_min_dh_prime_bits, -1, "dh bits empty unsets");
        is_int(a->keep, KEEP_OFF, "-koff");
        ok(!a->only_new && (a->set & BIT(ONLY_NEW)), "only_new off");
        cli_clear(&c);
    }
    {
        /* The options share the configuration's parser: the upper-case
         * suffixes the manual documents for sizes work here too. */
        const char *args[] = { "--killsize=10K", "--skipsize=2M",
                               "--port=995", "--tls-fingerprint="
                               "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:"
                               "ee:ff:00:11:22:33", NULL };
        is_int(parse(args, &c, &e), 0, "sizes with K/M: ok");
        a = c.over;
        is_int(a->killsize, 10240, "killsize 10K");
        is_int(a->skipsize, 2097152, "skipsize 2M");
        is_int(a->port, 995, "port 995");
        ok(a->tls_fingerprint && (a->set & BIT(TLS_FINGERPRINT)),
           "fingerprint set");
        cli_clear(&c);
    }
    {
        const char *args[] = { "--killsize=off", "-k", "-n",
                               "--proxy-port=", "--tls-trust-file=",
                               "--auth=scram-sha-256", "--received-header",
                               NULL };
        is_int(parse(args, &c, &e), 0, "unsets: ok");
        a = c.over;
        is_int(a->killsize, -1, "killsize off");
        is_int(a->keep, KEEP_ON, "-k keeps");
        ok(a->only_new, "-n");
        ok(a->proxy_port == 0 && (a->set & BIT(PROXY_PORT)),
           "--proxy-port= unsets");
        is_str(a->tls_trust_file, "", "--tls-trust-file= means none");
        is_str(a->auth, "scram-sha-256", "auth method kept");
        ok(a->received_header && (a->set & BIT(RECEIVED_HEADER)),
           "--received-header alone is on");
        cli_clear(&c);
    }
    {
        const char *args[] = { "--delivery=maildir,~/Mail",
                               "--tls-key-file=~/k", "--uidls-file=~/u",
                               "-C", "~/rc", NULL };
        setenv("HOME", "/home/tester", 1);
        is_int(parse(args, &c, &e), 0, "tilde: ok");
        a = c.over;
        ok(a->delivery == DELIVERY_MAILDIR, "delivery maildir");
        is_str(a->delivery_args, "/home/tester/Mail", "maildir path expanded");
        is_str(a->tls_key_file, "/home/tester/k", "key file expanded");
        is_str(a->uidls_file, "~/u", "uidls file expanded later");
        is_str(c.conffile, "/home/tester/rc", "-C expanded");
        cli_clear(&c);
    }
    {
        const char *args[] = { "--delivery=mda,~/bin/x -f %F",
                               "--tls-fingerprint=00:11:22:33:44:55:66:77:88:"
                               "99:aa:bb:cc:dd:ee:ff:00:11:22:33",
                               "--pass=echo x", "--tls-force-sslv3", NULL };
        is_int(parse(args, &c, &e), 0, "mda, fingerprint, abbreviation: ok");
        a = c.over;
        ok(a->delivery == DELIVERY_MDA, "delivery mda");
        is_str(a->delivery_args, "~/bin/x -f %F", "mda command untouched");
        ok(a->tls_fingerprint != NULL, "SHA-1 fingerprint accepted");
        is_str(a->passwordeval, "echo x", "--pass abbreviates passwordeval");
        cli_clear(&c);
    }
    {
        const char *args[] = { "--configure=me@example.org", "-S",
                               "--version", "--help", NULL };
        is_int(parse(args, &c, &e), 0, "configure: ok");
        ok(c.mode == CLI_MODE_CONFIGURE && c.version && c.help,
           "--configure beats -S; --version and --help noted");
        is_str(c.configure_addr, "me@example.org", "configure address");
        cli_clear(&c);
    }
    {
        const char *args[] = { "--port=1", "--port=2", NULL };
        is_int(parse(args, &c, &e), 0, "repeated option: ok");
        is_int(c.over->port, 2, "last value wins");
        cli_clear(&c);
    }
}

/* Every account option goes through its configuration command's parser:
 * for each option below and each word, the option accepts the word
 * exactly when the command does, and sets the same (as --pretend shows
 * it).  Words for every kind of argument, valid and not. */
static const char *const words[] = {
    "", "on", "off", "auto", "yes", "On", "0", "1", "110", "65535",
    "65536", "-1", "+5", "99999999999", "10k", "3M", "2g", "1d", "14d12h",
    "x1", "PLAIN", "plain", "apop", "scram-sha-256-plus", "foo", "system",
    "~/file", "/a/b", "a b", "\"quoted\"",
    "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33",
    "00:11:22", "NORMAL:-VERS-TLS1.0",
};

/* The option and the command it must behave like. */
static const struct {
    const char *option;
    const char *command;
} same_words[] = {
    { "port", "port" }, { "source-ip", "source_ip" },
    { "proxy-host", "proxy_host" }, { "proxy-port", "proxy_port" },
    { "socket", "socket" }, { "timeout", "timeout" },
    { "pipelining", "pipelining" },
    { "received-header", "received_header" }, { "auth", "auth" },
    { "user", "user" }, { "passwordeval", "passwordeval" },
    { "tls", "tls" }, { "tls-starttls", "tls_starttls" },
    { "tls-trust-file", "tls_trust_file" },
    { "tls-crl-file", "tls_crl_file" },
    { "tls-fingerprint", "tls_fingerprint" },
    { "tls-key-file", "tls_key_file" },
    { "tls-cert-file", "tls_cert_file" },
    { "tls-certcheck", "tls_certcheck" },
    { "tls-priorities", "tls_priorities" },
    { "tls-host-override", "tls_host_override" },
    { "tls-min-dh-prime-bits", "tls_min_dh_prime_bits" },
    { "only-new", "only_new" }, { "keep", "keep" },
    { "killsize", "killsize" }, { "skipsize", "skipsize" },
    { "filter", "filter" },
};

static char *pretend(const struct account *a)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (f) {
        account_print_pretend(a, f);
        fclose(f);
    }
    return text;
}

static void test_same_words(void)
{
    size_t nrows = sizeof same_words / sizeof same_words[0];

    /* Every option cli.c sends to a command has a row here. */
    for (size_t i = 0; cli_option_name(i); i++) {
        const char *name = cli_option_name(i), *cmd;
        size_t r;

        if (!(cmd = cli_option_command(name)))
            continue;
        for (r = 0; r < nrows; r++)
            if (strcmp(same_words[r].option, name) == 0)
                break;
        ok(r < nrows && strcmp(same_words[r].command, cmd) == 0,
           "--%s goes through `%s` and has a row in same_words[]", name,
           cmd);
    }
    for (size_t r = 0; r < nrows; r++) {
        const char *opt = same_words[r].option, *cmd = same_words[r].command;
        int differ = 0;

        is_str(cli_option_command(opt), cmd, "--%s is `%s`", opt, cmd);
        for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
            char arg[256];
            const char *args[] = { arg, NULL };
            struct account *a = account_new("x");
            struct mp_err e, ce;
            struct cli c;
            int rc, rconf;

            snprintf(arg, sizeof arg, "--%s=%s", opt, words[w]);
            rc = parse(args, &c, &e);
            err_init(&ce);
            rconf = conf_account_set(a, cmd, words[w], &ce);
            if ((rc == 0) != (rconf == 0)) {
                differ++;
                printf("# %s: option %s, command %s\n", arg,
                       rc == 0 ? "accepts" : "refuses",
                       rconf == 0 ? "accepts" : "refuses");
            } else if (rc == 0) {
                char *p1 = pretend(c.over), *p2 = pretend(a);

                if (!p1 || !p2 || strcmp(p1, p2) != 0
                    || c.over->set != a->set) {
                    differ++;
                    printf("# %s: not the same setting as `%s %s`\n", arg,
                           cmd, words[w]);
                }
                free(p1);
                free(p2);
            }
            cli_clear(&c);
            account_free(&a);
        }
        is_int(differ, 0, "--%s accepts the words of `%s`, with the same "
               "effect", opt, cmd);
    }
}

int main(void)
{
    test_invalid();
    test_valid();
    test_same_words();
    return done_testing();
}
