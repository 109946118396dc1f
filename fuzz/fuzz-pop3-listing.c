/* Fuzz target: the STAT reply and LIST / UIDL scan listings
 * (pop3_parse_stat, pop3_parse_list_line, pop3_parse_uidl_line).
 * The input is lines separated by LF.  The first line is the text of the
 * +OK STAT reply; if it parses, its count bounds the message numbers of
 * the following lines (else 10 does).  Each following line goes through
 * both the LIST and the UIDL parser. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    unsigned long nmsgs = 10, msn;
    unsigned long long total, msize;
    struct span uid;
    const char *why, *nl;
    size_t len, i;

    nl = memchr(p, '\n', size);
    len = nl ? (size_t)(nl - p) : size;
    why = NULL;
    if (pop3_parse_stat(p, len, &nmsgs, &total, &why) == 0) {
        FUZZ_CHECK(nmsgs <= POP3_MSGS_MAX);
        FUZZ_CHECK(total <= POP3_SIZE_MAX);
    } else {
        FUZZ_CHECK(why != NULL);
        nmsgs = 10;
    }
    p += len + (nl != NULL);

    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        len = nl ? (size_t)(nl - p) : (size_t)(end - p);

        why = NULL;
        if (pop3_parse_list_line(p, len, nmsgs, &msn, &msize, &why) == 0) {
            FUZZ_CHECK(msn >= 1 && msn <= nmsgs);
            FUZZ_CHECK(msize <= POP3_SIZE_MAX);
        } else {
            FUZZ_CHECK(why != NULL);
        }
        why = NULL;
        if (pop3_parse_uidl_line(p, len, nmsgs, &msn, &uid, &why) == 0) {
            FUZZ_CHECK(msn >= 1 && msn <= nmsgs);
            FUZZ_CHECK(fuzz_inside(p, len, uid.p, uid.len));
            FUZZ_CHECK(uid.len >= 1 && uid.len <= POP3_UID_MAX);
            for (i = 0; i < uid.len; i++)
                FUZZ_CHECK((unsigned char)uid.p[i] >= 0x21
                           && (unsigned char)uid.p[i] <= 0x7e);
            /* The UID is the rest of the line. */
            FUZZ_CHECK(uid.p + uid.len == p + len);
        } else {
            FUZZ_CHECK(why != NULL);
        }
        p += len + (nl != NULL);
    }
    return 0;
}
