/* Cursor parsing of untrusted text.  Nothing here allocates, prints or
 * touches a socket; every function returns 0 on success and -1 on failure
 * and then leaves the cursor where it was. */
#ifndef MPOP_STRPARSE_H
#define MPOP_STRPARSE_H

#include <stdbool.h>
#include <stddef.h>

/* A slice of somebody else's memory. */
struct span {
    const char *p;
    size_t len;
};

struct cursor {
    const char *p;      /* next byte */
    const char *end;    /* one past the last byte */
};

void cursor_init(struct cursor *c, const char *p, size_t len);
bool cursor_eof(const struct cursor *c);
/* A run of bytes up to (not including) the next space or the end; fails on
 * an empty word or one longer than max. */
int cursor_word(struct cursor *c, size_t max, struct span *out);
/* A decimal number of at most 20 digits in [min, max]; no sign, no spaces. */
int cursor_ulong(struct cursor *c, unsigned long long min,
                 unsigned long long max, unsigned long long *out);
/* Exactly one space. */
int cursor_space(struct cursor *c);
/* One or more spaces. */
int cursor_spaces(struct cursor *c);
/* Everything that is left (may be empty). */
void cursor_rest(struct cursor *c, struct span *out);

bool span_eq(struct span s, const char *lit);        /* exact */
bool span_eq_ci(struct span s, const char *lit);     /* ASCII case-blind */

/* Parses a whole string as a decimal number in [min, max]. */
int str_to_ull(const char *s, unsigned long long min, unsigned long long max,
               unsigned long long *out);

/* The value of the hex digit c (either case), or -1. */
int str_hexval(int c);

/* Decodes the %XX escapes of p[0..n) into out, which has room for n + 1
 * bytes, and ends it with a NUL; with plus_space, '+' stands for a space
 * (a URL's query part).  Returns -1 for a broken escape or one that
 * decodes to NUL (no user name, password or code holds one). */
int str_pct_decode(const char *p, size_t n, bool plus_space, char *out);

#endif
