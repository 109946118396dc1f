/* The command line: getopt_long over the original mpop's options, turned
 * into a mode, a few flags and one override account whose `set` bits say
 * which settings the command line gave (merged over every used account with
 * account_merge()).  Nothing here prints: errors come back in a struct
 * mp_err of kind MP_EUSAGE, and mpop.c prints them. */
#ifndef MPOP_CLI_H
#define MPOP_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "account.h"
#include "err.h"

/* The most accounts -j runs at once. */
#define CLI_JOBS_MAX 64

enum cli_mode {
    CLI_MODE_RETRIEVE = 0,      /* default */
    CLI_MODE_SERVERINFO,        /* -S, --serverinfo */
    CLI_MODE_CONFIGURE,         /* --configure=ADDR */
    CLI_MODE_MDA,               /* --mda[=FROM]: deliver one mail read from
                                   standard input */
    CLI_MODE_OAUTH2_LOGIN       /* --oauth2-login[=FLOW] (issue 15) */
};

/* The same values as enum oauth2_flow (oauth2.h). */
enum cli_oauth2_flow {
    CLI_OAUTH2_AUTO = 0, CLI_OAUTH2_BROWSER, CLI_OAUTH2_DEVICE
};

/* What a retrieval-mode run does with each account. */
enum cli_action {
    CLI_ACTION_RETRIEVE = 0,    /* fetch and deliver */
    CLI_ACTION_STATUS,          /* -s: number and size of mails only */
    CLI_ACTION_AUTH             /* -A: authenticate and quit */
};

enum cli_quiet {
    CLI_QUIET_NONE = 0,         /* status and progress */
    CLI_QUIET_HALF,             /* -Q (and -d): status, no progress */
    CLI_QUIET_FULL              /* -q: neither */
};

struct cli {
    bool version;               /* --version */
    bool help;                  /* --help */
    enum cli_mode mode;
    enum cli_action action;     /* last of -s/-A wins */
    enum cli_quiet quiet;       /* the strongest of -q, -Q, -d wins */
    bool pretend;               /* -P */
    bool debug;                 /* -d */
    bool all_accounts;          /* -a */
    bool host_mode;             /* --host was given: no config file */
    char *conffile;             /* -C FILE, NULL when not given */
    char *configure_addr;       /* --configure=ADDR */
    unsigned jobs;              /* -j N, --jobs=N: 1 (default) .. 64 */
    char *log;                  /* --log=syslog|FILE (~ expanded), NULL:
                                   none */
    bool summary_json;          /* --summary=json */
    bool mda;                   /* --mda given (mode is CLI_MODE_MDA) */
    char *mda_from;             /* --mda=FROM, NULL: from the header */
    bool oauth2_login;          /* --oauth2-login given */
    int oauth2_flow;            /* enum cli_oauth2_flow */
    /* Every setting the command line gave, with its bit in over->set.
     * id is "(command line)"; never NULL after a successful cli_parse(). */
    struct account *over;
    /* The account names after the options, in order (pointers into argv). */
    char **names;
    size_t nnames;
};

/* Parses argv (argv[0] is the program name).  Uses getopt_long and resets
 * its state first, so it may be called more than once (tests do).  Leaves
 * argv's order as getopt_long permutes it.  Returns 0, or -1 with
 * e->kind == MP_EUSAGE and a message naming the option ("invalid argument
 * X for --port"); c is then cleared.  Also rejects, as the original does,
 * --host together with account names or -a, and -a together with names.
 * File arguments (--tls-*-file, --uidls-file, --delivery paths) have `~`
 * expanded.  The caller frees with cli_clear(). */
int cli_parse(struct cli *c, int argc, char **argv, struct mp_err *e);

/* Releases what cli_parse() allocated; c can be parsed into again. */
void cli_clear(struct cli *c);

/* The configuration command whose parser the long option name (without
 * "--") goes through, e.g. "tls_starttls" for "tls-starttls"; NULL for an
 * option that is no account setting or parses its own argument (--host,
 * --delivery, --uidls-file). */
const char *cli_option_command(const char *name);
/* The name of long option i (0, 1, ...), NULL after the last. */
const char *cli_option_name(size_t i);

#endif
