#include "config.h"

#include <string.h>

#include "configure.h"
#include "tap.h"

/* DNS answers built by hand: header, the question, then records.  The
 * question name is _pop3s._tcp.e.t; "\xc0\x0c" points at it. */
#define HDR(an) "\x12\x34\x85\x80\x00\x01\x00" an "\x00\x00\x00\x00"
#define QNAME "\x06_pop3s\x04_tcp\x01" "e\x01t\x00"
#define Q QNAME "\x00\x21\x00\x01"
#define RR_SRV(rdlen) "\xc0\x0c\x00\x21\x00\x01\x00\x00\x00\x3c\x00" rdlen
#define POP_E_T "\x03pop\x01" "e\x01t\x00"

static const struct {
    const char *name;
    const char *msg;
    size_t len;
    int want;               /* 0 or -1 */
    size_t n;
    unsigned prio, weight, port;    /* of the first record */
    const char *target;
} cases[] = {
#define M(s) s, sizeof(s) - 1
    { "one SRV record",
      M(HDR("\x01") Q RR_SRV("\x0f") "\x00\x0a\x00\x05\x03\xe3" POP_E_T),
      0, 1, 10, 5, 995, "pop.e.t" },
    { "target compressed to the question name",
      M(HDR("\x01") Q RR_SRV("\x08") "\x00\x00\x00\x01\x00\x6e\xc0\x18"),
      0, 1, 0, 1, 110, "e.t" },
    { "target \".\": no service",
      M(HDR("\x01") Q RR_SRV("\x07") "\x00\x00\x00\x00\x00\x00\x00"),
      0, 1, 0, 0, 0, "" },
    { "no answer records", M(HDR("\x00") Q), 0, 0, 0, 0, 0, NULL },
    { "a CNAME before the SRV is skipped",
      M(HDR("\x02") Q "\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x02"
        "\xc0\x0c" RR_SRV("\x0f") "\x00\x01\x00\x02\x03\xe3" POP_E_T),
      0, 1, 1, 2, 995, "pop.e.t" },
    { "shorter than a header", M("\x12\x34\x85\x80"), -1, 0, 0, 0, 0, NULL },
    { "question cut", M(HDR("\x00") "\x06_pop3s\x04_t"), -1, 0, 0, 0, 0,
      NULL },
    { "record data beyond the end",
      M(HDR("\x01") Q RR_SRV("\x20") "\x00\x0a\x00\x05\x03\xe3" POP_E_T),
      -1, 0, 0, 0, 0, NULL },
    { "SRV data too short",
      M(HDR("\x01") Q RR_SRV("\x03") "\x00\x0a\x00"), -1, 0, 0, 0, 0, NULL },
    { "target name runs past its record",
      M(HDR("\x01") Q RR_SRV("\x08") "\x00\x0a\x00\x05\x03\xe3\x03p"
        POP_E_T), -1, 0, 0, 0, 0, NULL },
    { "compression loop",
      M(HDR("\x01") Q RR_SRV("\x08") "\x00\x0a\x00\x05\x03\xe3\xc0\x33"),
      -1, 0, 0, 0, 0, NULL },
    { "more answers announced than present",
      M(HDR("\x02") Q RR_SRV("\x0f") "\x00\x0a\x00\x05\x03\xe3" POP_E_T),
      -1, 0, 0, 0, 0, NULL },
#undef M
};

static void test_parse(void)
{
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct configure_srv v[4];
        const char *why = NULL;
        size_t n = 99;
        int r = configure_parse_srv((const unsigned char *)cases[i].msg,
                                    cases[i].len, v, 4, &n, &why);

        is_int(r, cases[i].want, "parse %s: result", cases[i].name);
        if (cases[i].want < 0) {
            ok(why != NULL, "parse %s: a reason", cases[i].name);
            continue;
        }
        is_int((long long)n, (long long)cases[i].n, "parse %s: count",
               cases[i].name);
        if (cases[i].n == 0)
            continue;
        ok(v[0].prio == cases[i].prio && v[0].weight == cases[i].weight
           && v[0].port == cases[i].port, "parse %s: numbers",
           cases[i].name);
        is_str(v[0].target, cases[i].target, "parse %s: target",
               cases[i].name);
    }
}

static void test_pick(void)
{
    static const struct {
        const char *name;
        struct configure_srv v[3];
        size_t n;
        int want;
    } picks[] = {
        { "lowest priority", { { 20, 9, 995, "b" }, { 10, 1, 995, "a" } },
          2, 1 },
        { "equal priority: highest weight",
          { { 10, 1, 995, "b" }, { 10, 5, 995, "a" } }, 2, 1 },
        { "all equal: the first", { { 0, 0, 995, "a" }, { 0, 0, 995, "b" } },
          2, 0 },
        { "\".\" is never picked", { { 0, 0, 0, "" }, { 5, 0, 110, "x" } },
          2, 1 },
        { "only \".\"", { { 0, 0, 0, "" } }, 1, -1 },
        { "port 0 is unusable", { { 0, 0, 0, "host" } }, 1, -1 },
        { "none", { { 0, 0, 0, "" } }, 0, -1 },
    };
    size_t i;

    for (i = 0; i < sizeof picks / sizeof picks[0]; i++)
        is_int(configure_pick(picks[i].v, picks[i].n), picks[i].want,
               "pick: %s", picks[i].name);
}

int main(void)
{
    test_parse();
    test_pick();
    return done_testing();
}
