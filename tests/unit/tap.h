/* A tiny TAP producer for the unit tests (header-only).
 *   plan(n) or no plan and done_testing() at the end;
 *   ok(cond, name...), is_int(got, want, name...), is_str(got, want, name...),
 *   is_mem(got, gotlen, want, wantlen, name...).
 * Exit code: 0 if every test passed, 1 otherwise. */
#ifndef MPOP_TAP_H
#define MPOP_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned;

static inline void plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
}

static inline int tap_vok(int cond, const char *fmt, va_list ap)
{
    tap_n++;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    vprintf(fmt, ap);
    printf("\n");
    if (!cond)
        tap_failed++;
    fflush(stdout);
    return cond;
}

static inline int __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = tap_vok(cond, fmt, ap);
    va_end(ap);
    return r;
}

static inline int __attribute__((format(printf, 3, 4)))
is_int(long long got, long long want, const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = tap_vok(got == want, fmt, ap);
    va_end(ap);
    if (!r)
        printf("#   got:  %lld\n#   want: %lld\n", got, want);
    return r;
}

static inline int __attribute__((format(printf, 3, 4)))
is_str(const char *got, const char *want, const char *fmt, ...)
{
    va_list ap;
    int r, same;
    same = (got == NULL && want == NULL)
           || (got && want && strcmp(got, want) == 0);
    va_start(ap, fmt);
    r = tap_vok(same, fmt, ap);
    va_end(ap);
    if (!r)
        printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(null)",
               want ? want : "(null)");
    return r;
}

static inline int __attribute__((format(printf, 5, 6)))
is_mem(const void *got, size_t gotlen, const void *want, size_t wantlen,
       const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = tap_vok(gotlen == wantlen && memcmp(got, want, gotlen) == 0, fmt, ap);
    va_end(ap);
    if (!r)
        printf("#   got %zu bytes: '%.*s'\n#   want %zu bytes: '%.*s'\n",
               gotlen, (int)gotlen, (const char *)got, wantlen,
               (int)wantlen, (const char *)want);
    return r;
}

static inline int done_testing(void)
{
    if (!tap_planned)
        printf("1..%d\n", tap_n);
    else if (tap_planned != tap_n)
        tap_failed++;
    return tap_failed ? 1 : 0;
}

#endif
