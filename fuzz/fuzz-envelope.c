/* Fuzz target: envelope-from extraction from a mail's header block
 * (envelope_header_len, envelope_from, envelope_sanitize).  The header
 * comes from the server; the result ends up in a shell command (%F), so
 * every byte of it must be in the safe set.
 *
 * Input layout: byte 0 picks the output size (14..269); the rest is the
 * mail as received. */
#include "config.h"

#include <string.h>

#include "envelope.h"
#include "fuzz.h"

static int safe(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || (c && strchr(".@_+/-", c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[14 + 256];
    const char *mail;
    size_t len, outsz, hlen, n, i;
    char *copy;

    if (size < 1)
        return 0;
    outsz = 14 + data[0] % 256;
    mail = (const char *)data + 1;
    len = size - 1;

    hlen = envelope_header_len(mail, len);
    FUZZ_CHECK(hlen <= len);
    if (hlen > 0)
        FUZZ_CHECK(mail[hlen - 1] == '\n');

    /* As retrieve.c would call it: on the header block when one was
     * found, else on everything it has. */
    memset(out, 'Z', sizeof out);
    envelope_from(mail, hlen ? hlen : len, out, outsz);
    n = strnlen(out, outsz);
    FUZZ_CHECK(n < outsz);
    FUZZ_CHECK(n > 0);
    for (i = 0; i < n; i++)
        FUZZ_CHECK(safe((unsigned char)out[i]));

    copy = malloc(len ? len : 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, mail, len);
    envelope_sanitize(copy, len);
    for (i = 0; i < len; i++)
        FUZZ_CHECK(safe((unsigned char)copy[i]));
    free(copy);
    return 0;
}
