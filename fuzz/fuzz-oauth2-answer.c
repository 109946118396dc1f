/* Fuzz target: the answer of an OAuth2 authorization endpoint, as the
 * request line mpop's loopback listener receives or the address a person
 * pastes (oauth2_parse_answer).  The input is one such text. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "oauth2_login.h"
#include "xalloc.h"

static void check(const char *s, size_t size)
{
    /* Percent-decoding only shortens. */
    if (s)
        FUZZ_CHECK(strlen(s) <= size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oauth2_answer a;
    char *text = xstrndup((const char *)data, size);
    bool got;

    memset(&a, 0, sizeof a);
    got = oauth2_parse_answer(text, &a);
    FUZZ_CHECK(got == (a.code != NULL || a.error != NULL));
    check(a.code, size);
    check(a.state, size);
    check(a.error, size);
    check(a.error_description, size);
    /* A second parse into the same answer frees the first one's. */
    (void)oauth2_parse_answer(text, &a);
    oauth2_answer_clear(&a);
    FUZZ_CHECK(!a.code && !a.state && !a.error && !a.error_description);
    free(text);
    return 0;
}
