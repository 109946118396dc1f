#include "config.h"

#include <string.h>

#include "strparse.h"
#include "tap.h"

static void test_ulong(void)
{
    static const struct {
        const char *in;
        unsigned long long min, max;
        int ret;
        unsigned long long want;
    } rows[] = {
        { "0", 0, 10, 0, 0 },
        { "10", 0, 10, 0, 10 },
        { "11", 0, 10, -1, 0 },
        { "0", 1, 10, -1, 0 },
        { "", 0, 10, -1, 0 },
        { "-1", 0, 10, -1, 0 },
        { "+1", 0, 10, -1, 0 },
        { "1a", 0, 10, -1, 0 },
        { " 1", 0, 10, -1, 0 },
        { "18446744073709551615", 0, ~0ULL, 0, ~0ULL },
        { "18446744073709551616", 0, ~0ULL, -1, 0 },
        { "99999999999999999999999", 0, ~0ULL, -1, 0 },
        { "000000000000000000000001", 0, ~0ULL, -1, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        unsigned long long v = 12345;
        int r = str_to_ull(rows[i].in, rows[i].min, rows[i].max, &v);
        is_int(r, rows[i].ret, "str_to_ull('%s') returns %d", rows[i].in,
               rows[i].ret);
        if (r == 0)
            ok(v == rows[i].want, "str_to_ull('%s') value", rows[i].in);
    }
}

static void test_words(void)
{
    const char *line = "+OK  two words";
    struct cursor c;
    struct span w;

    cursor_init(&c, line, strlen(line));
    ok(cursor_word(&c, 10, &w) == 0 && span_eq(w, "+OK"), "first word");
    ok(cursor_space(&c) == 0, "one space");
    ok(cursor_space(&c) == 0, "second space");
    ok(cursor_space(&c) == -1, "no third space");
    ok(cursor_word(&c, 2, &w) == -1, "word longer than max fails");
    ok(cursor_word(&c, 3, &w) == 0 && span_eq(w, "two"), "word at max");
    ok(cursor_spaces(&c) == 0, "spaces");
    cursor_rest(&c, &w);
    ok(span_eq(w, "words") && cursor_eof(&c), "rest");
    ok(cursor_word(&c, 10, &w) == -1, "no word at end");
    ok(span_eq_ci((struct span){ "Uidl", 4 }, "UIDL"), "case-blind equal");
    ok(!span_eq_ci((struct span){ "UIDLX", 5 }, "UIDL"), "length differs");
}

static void test_pct(void)
{
    static const struct {
        const char *in;
        bool plus;
        int ret;
        const char *want;
    } rows[] = {
        { "joe%40example.org", false, 0, "joe@example.org" },
        { "a+b%2Bc", false, 0, "a+b+c" },
        { "a+b%2Bc", true, 0, "a b+c" },
        { "%7e%7E", false, 0, "~~" },
        { "", false, 0, "" },
        { "end%4", false, -1, NULL },
        { "end%", false, -1, NULL },
        { "%g0", false, -1, NULL },
        { "nul%00", false, -1, NULL },
    };
    char out[32];
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int r = str_pct_decode(rows[i].in, strlen(rows[i].in), rows[i].plus,
                               out);

        is_int(r, rows[i].ret, "str_pct_decode('%s') returns %d",
               rows[i].in, rows[i].ret);
        if (r == 0)
            is_str(out, rows[i].want, "str_pct_decode('%s') value",
                   rows[i].in);
    }
    ok(str_hexval('f') == 15 && str_hexval('A') == 10 && str_hexval('9') == 9
       && str_hexval('g') == -1 && str_hexval(0x80) == -1, "str_hexval");
}

int main(void)
{
    test_ulong();
    test_words();
    test_pct();
    return done_testing();
}
