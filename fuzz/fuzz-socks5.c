/* Fuzz target: the SOCKS5 CONNECT reply (socks5_parse_reply,
 * socks5_rep_reason).  The input is what the proxy sent.  Every prefix is
 * parsed too, as the reply arrives piece by piece: the answers must be
 * consistent with the whole reply's. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "socks5.h"

static int parse(const unsigned char *p, size_t len, size_t *need,
                 int *rep, const char **why)
{
    int r;

    *need = 0;
    *rep = -2;
    *why = NULL;
    r = socks5_parse_reply(p, len, need, rep, why);
    FUZZ_CHECK(r == 0 || r == 1 || r == -1);
    if (r == 0)
        FUZZ_CHECK(*need >= 7 && *need <= len);  /* 7: empty domain */
    else if (r == 1)
        FUZZ_CHECK(*need > len && *need <= 4 + 1 + 255 + 2);
    else {
        FUZZ_CHECK(*why != NULL && strlen(*why) > 0);
        FUZZ_CHECK(*rep == -1 || (*rep >= 1 && *rep <= 255));
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t need, need2, k;
    int rep, rep2, r, r2;
    const char *why, *why2;

    r = parse(data, size, &need, &rep, &why);
    if (r == 0) {
        /* The exact reply alone is complete, and so is it with more. */
        r2 = parse(data, need, &need2, &rep2, &why2);
        FUZZ_CHECK(r2 == 0 && need2 == need);
    }
    /* A prefix never decides differently from the whole. */
    for (k = 0; k < size && k < 300; k++) {
        r2 = parse(data, k, &need2, &rep2, &why2);
        if (r2 == 1)
            continue;
        if (r == 0)
            FUZZ_CHECK(r2 == 0 && need2 == need);
        if (r == 1)
            FUZZ_CHECK(0);      /* a prefix decided, the whole did not */
        if (r == -1 && r2 == -1)
            FUZZ_CHECK(rep2 == rep);
    }
    /* NULL out-pointers are allowed for rep_r and why_r. */
    (void)socks5_parse_reply(data, size, &need, NULL, NULL);
    for (rep = 0; rep < 256; rep += 37)
        FUZZ_CHECK(socks5_rep_reason(rep) != NULL);
    return 0;
}
