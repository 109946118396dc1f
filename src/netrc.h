/* A pure parser of netrc files (the format of ftp(1)'s ~/.netrc): tokens
 * separated by blanks and line ends; the keywords `machine NAME`,
 * `default`, `login NAME`, `password SECRET`, `account STRING` and
 * `macdef NAME` (whose body runs to the next empty line and is skipped).
 * A token may be written in double quotes to hold blanks; there are no
 * escapes inside quotes.  In keyword position, `#` starts a comment to the
 * end of the line, and unknown words are skipped one by one (other
 * programs' extensions such as `port 21` must not break our lookups).
 *
 * Nothing here allocates, reads a file or prints: the text is untrusted
 * input and the results are slices of it. */
#ifndef MPOP_NETRC_H
#define MPOP_NETRC_H

#include <stdbool.h>
#include <stddef.h>

#include "strparse.h"

struct netrc_entry {
    bool is_default;            /* `default` (machine is then empty) */
    struct span machine;
    bool has_login, has_password, has_account;
    struct span login, password, account;
    unsigned long line;         /* line of its `machine`/`default` keyword */
};

/* Called for each entry in file order; return 0 to go on, 1 to stop. */
typedef int netrc_cb(const struct netrc_entry *ent, void *arg);

/* Parses text[0..len).  Returns 0 (also when cb stopped the walk), or -1
 * with *why_r a static English reason and *line_r the 1-based line: a NUL
 * byte, a keyword without its value, an unterminated quoted token. */
int netrc_parse(const char *text, size_t len, netrc_cb *cb, void *arg,
                unsigned long *line_r, const char **why_r);

/* The first `machine` entry whose name equals host (ASCII case-blind) and
 * whose login equals login exactly, with a password.  `default` entries are
 * never used: like the original mpop, we do not send a catch-all password
 * meant for ftp to a mail server.  Returns 1 and fills *out, 0 when there
 * is no such entry, -1 on a syntax error (as netrc_parse). */
int netrc_find(const char *text, size_t len, const char *host,
               const char *login, struct netrc_entry *out,
               unsigned long *line_r, const char **why_r);

#endif
