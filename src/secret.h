/* Where a password comes from, first match wins:
 *   1. the `password` setting of the account;
 *   2. `passwordeval`: the standard output of `sh -c CMD` (a failing
 *      command is an error, never an empty password);
 *   3. the system key ring (issue 6; for now a hook that finds nothing);
 *   4. ~/.netrc, then SYSCONFDIR/netrc: a `machine HOST login USER` entry;
 *   5. a prompt on /dev/tty with echo off.
 * Every password handed out is a new string the caller wipes and frees
 * with xfree_secret().  Nothing here prints except the prompt, which goes
 * to the terminal, never to stdout or stderr. */
#ifndef MPOP_SECRET_H
#define MPOP_SECRET_H

#include "account.h"
#include "err.h"

enum secret_source {
    SECRET_CONFIG, SECRET_EVAL, SECRET_KEYRING, SECRET_NETRC, SECRET_PROMPT
};

/* The password for account a (its host, or socket name, and user name
 * identify it in the key ring and netrc).  Fills *password_r and, when
 * source_r is not NULL, where it came from.  Errors, with the account
 * named: MP_ECONFIG for a failing passwordeval (naming the command) or a
 * broken netrc file (FILE:LINE), MP_EOS when a process cannot start,
 * MP_EAUTH when there is no terminal to ask on. */
int secret_get_password(const struct account *a, char **password_r,
                        enum secret_source *source_r, struct mp_err *e);

/* Runs `sh -c cmd` with stdin and stderr inherited (so a command may ask
 * for a pass phrase) and returns its whole standard output, without the
 * trailing line ends (CR and LF), in *out_r.  Output beyond
 * SECRET_EVAL_MAX bytes, no output at all, or an exit other than 0 are
 * MP_ECONFIG errors naming the command; a failed pipe or fork is MP_EOS. */
#define SECRET_EVAL_MAX (1024 * 1024)
int secret_eval(const char *cmd, char **out_r, struct mp_err *e);

/* Looks up host and user in the netrc file at path.  Returns 1 with
 * *password_r set, 0 when the file does not exist or has no matching
 * entry, -1 with MP_ECONFIG ("PATH:LINE: ...") on a syntax error or
 * MP_EIO when the file exists but cannot be read. */
int secret_netrc_lookup(const char *path, const char *host, const char *user,
                        char **password_r, struct mp_err *e);

/* Asks for a password on /dev/tty, echo off, showing prompt.  Returns 0
 * with *out_r (line end removed), or -1: MP_EAUTH when there is no
 * terminal, MP_EIO when reading it fails or it ends before a line. */
int secret_prompt(const char *prompt, char **out_r, struct mp_err *e);

#endif
