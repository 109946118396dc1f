/* Paths: the home directory, the XDG configuration directory, `~`
 * expansion, the %U/%H expansion of the UIDLs file name, and the check that
 * a file holding secrets is private.  Every returned string is newly
 * allocated; the caller frees it. */
#ifndef MPOP_PATHS_H
#define MPOP_PATHS_H

#include <stdbool.h>

#include "err.h"

/* $HOME when it is set (even when empty, as the original mpop does), else
 * the home directory from the password database, else "". */
char *paths_home(void);

/* "dir/name" with exactly one slash between them (dir may end in '/'). */
char *paths_join(const char *dir, const char *name);

/* When s starts with '~', that one character is replaced by the home
 * directory ("~/x" -> "$HOME/x", and like the original "~x" -> "$HOMEx");
 * otherwise a copy of s. */
char *paths_expand_tilde(const char *s);

/* $XDG_CONFIG_HOME/<rel>, or ~/.config/<rel> when that variable is unset or
 * empty (XDG Base Directory Specification). */
char *paths_xdg_config(const char *rel);

/* $XDG_STATE_HOME/<rel>, or ~/.local/state/<rel> likewise. */
char *paths_xdg_state(const char *rel);

/* Replaces every "%U" in tmpl with user, then every "%H" in the result with
 * host (NULL counts as ""), in that order and without any "%%" escape: this
 * is what the original mpop does with uidls_file. */
char *paths_expand_uh(const char *tmpl, const char *user, const char *host);

/* Checks that the open file fd (named `name` in messages) is owned by the
 * effective user and grants no permission beyond user read/write.
 * Errors: MP_ECONFIG "NAME: ..." (the caller may prefix a line number),
 * MP_EIO when fstat fails. */
int paths_check_private(int fd, const char *name, struct mp_err *e);

#endif
