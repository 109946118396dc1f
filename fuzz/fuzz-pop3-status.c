/* Fuzz target: POP3 status lines with RFC 2449 / RFC 3206 response codes
 * (pop3_parse_status, pop3_resp_code_name).  The input is one line as the
 * line reader hands it over (without its line end). */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    struct pop3_status st;
    const char *why = NULL, *name;

    memset(&st, 0xa5, sizeof st);
    if (pop3_parse_status(line, size, &st, &why) != 0) {
        FUZZ_CHECK(why != NULL);
        (void)strlen(why);
        return 0;
    }
    FUZZ_CHECK(st.kind == POP3_OK || st.kind == POP3_ERR
               || st.kind == POP3_CONT);
    FUZZ_CHECK(st.code >= POP3_RC_NONE && st.code <= POP3_RC_UNKNOWN);
    FUZZ_CHECK(fuzz_inside(line, size, st.code_text.p, st.code_text.len));
    FUZZ_CHECK(fuzz_inside(line, size, st.text.p, st.text.len));
    (void)fuzz_touch(st.code_text.p, st.code_text.len);
    (void)fuzz_touch(st.text.p, st.text.len);
    /* A code is only recognised inside brackets. */
    if (st.code != POP3_RC_NONE)
        FUZZ_CHECK(st.code_text.len > 0);
    name = pop3_resp_code_name(st.code);
    if (st.code == POP3_RC_NONE || st.code == POP3_RC_UNKNOWN)
        FUZZ_CHECK(name == NULL);
    else
        FUZZ_CHECK(name != NULL && strlen(name) > 0);
    return 0;
}
