/* Fuzz target: a CAPA listing (pop3_parse_capa_line, pop3_caps_has_sasl).
 * The input is the listing's lines separated by LF; each goes through the
 * parser into one pop3_caps, as the session engine does, and parsing goes
 * on after a bad line (the engine stops, but the state must stay sound). */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "pop3_parse.h"

static void check_caps(const struct pop3_caps *c)
{
    FUZZ_CHECK(memchr(c->implementation, '\0', sizeof c->implementation));
    FUZZ_CHECK(memchr(c->sasl, '\0', sizeof c->sasl));
    FUZZ_CHECK(c->login_delay >= -1
               && c->login_delay <= (long long)POP3_CAPA_NUM_MAX);
    FUZZ_CHECK(c->expire == -1 || c->expire == POP3_EXPIRE_NEVER
               || (c->expire >= 0
                   && c->expire <= (long long)POP3_CAPA_NUM_MAX));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct pop3_caps caps;
    const char *why;
    char mech[32];
    size_t i, n;

    pop3_caps_init(&caps);
    check_caps(&caps);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

        why = NULL;
        if (pop3_parse_capa_line(p, len, &caps, &why) != 0)
            FUZZ_CHECK(why != NULL && strlen(why) > 0);
        check_caps(&caps);
        p += len + (nl != NULL);
    }
    /* Every mechanism stored must be found again, case-blind. */
    n = strlen(caps.sasl);
    for (i = 0; i < n;) {
        size_t w = strcspn(caps.sasl + i, " ");
        if (w > 0 && w < sizeof mech) {
            size_t k;
            memcpy(mech, caps.sasl + i, w);
            mech[w] = '\0';
            FUZZ_CHECK(pop3_caps_has_sasl(&caps, mech));
            for (k = 0; k < w; k++)
                if (mech[k] >= 'A' && mech[k] <= 'Z')
                    mech[k] = (char)(mech[k] - 'A' + 'a');
            FUZZ_CHECK(pop3_caps_has_sasl(&caps, mech));
        }
        i += w + 1;
    }
    (void)pop3_caps_has_sasl(&caps, "");
    (void)pop3_caps_has_sasl(&caps, "PLAIN");
    return 0;
}
