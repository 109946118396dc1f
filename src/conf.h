/* The rc-file parser: comments, blank lines, double-quoted arguments,
 * `defaults`, `account NAME [: A[,B...]]`, `eval CMD`, and every account
 * command.  Errors name FILE:LINE and are MP_ECONFIG. */
#ifndef MPOP_CONF_H
#define MPOP_CONF_H

#include <stdio.h>

#include "account.h"
#include "err.h"
#include "proc.h"

/* Parses the stream f (named `name` in messages) and appends one account per
 * `account` command to out, in file order.  Any `defaults` apply to the
 * accounts defined after them.  Returns 0 or -1 (out is then cleared). */
int conf_load(FILE *f, const char *name, struct account_list *out,
              struct mp_err *e);

/* Opens path and calls conf_load.  A file that holds a password (`password`
 * commands) must not be readable or writable by group or others, and must
 * be owned by the user: else MP_ECONFIG, as the original mpop does.  A file
 * that does not exist is MP_ENOINPUT. */
int conf_load_file(const char *path, struct account_list *out, struct mp_err *e);

/* The file to read when -C is not given: ~/.mpoprc if it exists, else
 * $XDG_CONFIG_HOME/mpop/config (default ~/.config/mpop/config).  The caller
 * frees. */
char *conf_default_path(void);

/* The authentication methods the `auth` command and the --auth option
 * accept (lower case, NULL-terminated), whatever this build supports. */
extern const char *const conf_auth_methods[];

/* How `eval CMD` gets the command's output: proc_capture() (which runs
 * sh -c CMD).  The fuzz target replaces it so that no command ever runs
 * while fuzzing; nothing else may. */
extern int (*conf_eval_capture)(const char *cmd, size_t max, char **out_r,
                                size_t *len_r, bool *too_long_r,
                                struct proc_status *st, struct mp_err *e);

/* Applies one account command (not `account`, `defaults` or `eval`) to a,
 * exactly as a configuration line would: arg is the argument after
 * unquoting, "" for none.  Sets the field's bit in a->set.  Errors:
 * MP_ECONFIG with a message that names neither file nor line.  cli.c uses
 * it for the options that take a command's argument unchanged
 * (--killsize=10k is `killsize 10k`). */
int conf_account_set(struct account *a, const char *cmd, const char *arg,
                     struct mp_err *e);

#endif
