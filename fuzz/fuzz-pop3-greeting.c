/* Fuzz target: the POP3 greeting and its APOP timestamp
 * (pop3_parse_greeting).  The input is one line without its line end. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    struct pop3_greeting g;
    const char *why = NULL;
    size_t i, at = 0;
    int r;

    memset(&g, 0, sizeof g);
    r = pop3_parse_greeting(line, size, &g, &why);
    if (r != 0) {
        FUZZ_CHECK(why != NULL);
        (void)strlen(why);
        return 0;
    }
    FUZZ_CHECK(fuzz_inside(line, size, g.text.p, g.text.len));
    (void)fuzz_touch(g.text.p, g.text.len);
    if (g.timestamp_why)
        (void)strlen(g.timestamp_why);
    if (g.timestamp.len == 0)
        return 0;
    /* The strict form the header promises. */
    FUZZ_CHECK(g.timestamp_why == NULL);
    FUZZ_CHECK(fuzz_inside(line, size, g.timestamp.p, g.timestamp.len));
    FUZZ_CHECK(g.timestamp.len >= 5);   /* "<a@b>" */
    FUZZ_CHECK(g.timestamp.len <= POP3_TIMESTAMP_MAX);
    FUZZ_CHECK(g.timestamp.p[0] == '<');
    FUZZ_CHECK(g.timestamp.p[g.timestamp.len - 1] == '>');
    for (i = 1; i + 1 < g.timestamp.len; i++) {
        unsigned char c = (unsigned char)g.timestamp.p[i];
        FUZZ_CHECK(c >= 0x21 && c <= 0x7e && c != '<' && c != '>');
        if (c == '@') {
            at++;
            FUZZ_CHECK(i != 1 && i + 2 != g.timestamp.len);
        }
    }
    FUZZ_CHECK(at == 1);
    /* Exactly one '<' and one '>' in the whole line. */
    FUZZ_CHECK(memchr(line, '<', size) == g.timestamp.p);
    FUZZ_CHECK(memchr(line, '>', size)
               == g.timestamp.p + g.timestamp.len - 1);
    return 0;
}
