/* What every fuzz target defines, and helpers they share.  A target is one
 * fuzz-NAME.c file defining LLVMFuzzerTestOneInput (and optionally
 * LLVMFuzzerInitialize); it links against libFuzzer (clang
 * -fsanitize=fuzzer, see scripts/fuzz) or against replay.c, which runs it
 * over a corpus with any compiler (make check).
 *
 * A target may abort() when an invariant of a parser's contract is broken:
 * that is the fuzzer's way to report a logic bug.  Library code never
 * aborts on input. */
#ifndef MPOP_FUZZ_H
#define MPOP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Reports a broken invariant and aborts (libFuzzer then saves the input). */
#define FUZZ_CHECK(cond)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,      \
                    __LINE__, #cond);                                       \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* Whether [p, p + n) lies inside [base, base + len). */
static inline int fuzz_inside(const char *base, size_t len, const char *p,
                              size_t n)
{
    if (n == 0)
        return 1;
    if (!p || p < base || p > base + len)
        return 0;
    return n <= (size_t)(base + len - p);
}

/* Reads every byte of p[0..n) so that ASan sees a bad span. */
static inline unsigned fuzz_touch(const char *p, size_t n)
{
    unsigned sum = 0;
    size_t i;

    for (i = 0; i < n; i++)
        sum += (unsigned char)p[i];
    return sum;
}

/* Whether s[0..n) is safe on a UTF-8 terminal: no C0 control (but LF and
 * TAB when keep_lf_tab), no DEL, and every byte >= 0x80 part of a valid
 * UTF-8 sequence (RFC 3629) of a character that is not a C1 control.
 * Written independently of log.c's decoder, to check it; the unit test
 * tests/unit/test-log.c uses it too. */
static inline int fuzz_terminal_safe(const char *s, size_t n, int keep_lf_tab)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned long cp, min;
        size_t need, k;

        if (p[i] < 0x80) {
            if ((p[i] == '\n' || p[i] == '\t') && keep_lf_tab) {
                i++;
                continue;
            }
            if (p[i] < 0x20 || p[i] == 0x7f)
                return 0;
            i++;
            continue;
        }
        if ((p[i] & 0xe0) == 0xc0) {
            need = 1, cp = p[i] & 0x1fu, min = 0x80;
        } else if ((p[i] & 0xf0) == 0xe0) {
            need = 2, cp = p[i] & 0x0fu, min = 0x800;
        } else if ((p[i] & 0xf8) == 0xf0) {
            need = 3, cp = p[i] & 0x07u, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        for (k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)
            || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += need + 1;
    }
    return 1;
}

#endif
