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

#endif
