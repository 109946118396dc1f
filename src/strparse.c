#include "config.h"

#include <string.h>

#include "strparse.h"

void cursor_init(struct cursor *c, const char *p, size_t len)
{
    c->p = p;
    c->end = p + len;
}

bool cursor_eof(const struct cursor *c)
{
    return c->p >= c->end;
}

int cursor_word(struct cursor *c, size_t max, struct span *out)
{
    const char *q = c->p;

    while (q < c->end && *q != ' ')
        q++;
    if (q == c->p || (size_t)(q - c->p) > max)
        return -1;
    out->p = c->p;
    out->len = (size_t)(q - c->p);
    c->p = q;
    return 0;
}

int cursor_ulong(struct cursor *c, unsigned long long min,
                 unsigned long long max, unsigned long long *out)
{
    const char *q = c->p;
    const char *stop;
    unsigned long long v = 0;

    if (q >= c->end || *q < '0' || *q > '9')
        return -1;
    /* 19 digits cannot overflow 64 bits: no check for those (this runs
     * twice per mail of a listing). */
    stop = c->end - q > 19 ? q + 19 : c->end;
    while (q < stop && *q >= '0' && *q <= '9')
        v = v * 10 + (unsigned)(*q++ - '0');
    if (q < c->end && *q >= '0' && *q <= '9') {
        unsigned d = (unsigned)(*q - '0');

        if (v > (~0ULL - d) / 10)
            return -1;
        v = v * 10 + d;
        q++;
        if (q < c->end && *q >= '0' && *q <= '9')
            return -1;      /* more than 20 digits */
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    c->p = q;
    return 0;
}

int cursor_space(struct cursor *c)
{
    if (c->p >= c->end || *c->p != ' ')
        return -1;
    c->p++;
    return 0;
}

int cursor_spaces(struct cursor *c)
{
    if (cursor_space(c) != 0)
        return -1;
    while (c->p < c->end && *c->p == ' ')
        c->p++;
    return 0;
}

void cursor_rest(struct cursor *c, struct span *out)
{
    out->p = c->p;
    out->len = (size_t)(c->end - c->p);
    c->p = c->end;
}

bool span_eq(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static int lower(int ch)
{
    return (ch >= 'A' && ch <= 'Z') ? ch + ('a' - 'A') : ch;
}

bool span_eq_ci(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
            return false;
    return true;
}

int str_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int str_pct_decode(const char *p, size_t n, bool plus_space, char *out)
{
    size_t i;
    int h, l;

    for (i = 0; i < n; i++) {
        if (p[i] != '%') {
            *out++ = plus_space && p[i] == '+' ? ' ' : p[i];
            continue;
        }
        if (n - i < 3 || (h = str_hexval((unsigned char)p[i + 1])) < 0
            || (l = str_hexval((unsigned char)p[i + 2])) < 0 || (h | l) == 0)
            return -1;
        *out++ = (char)(h << 4 | l);
        i += 2;
    }
    *out = '\0';
    return 0;
}

int str_to_ull(const char *s, unsigned long long min, unsigned long long max,
               unsigned long long *out)
{
    struct cursor c;
    unsigned long long v;

    cursor_init(&c, s, strlen(s));
    if (cursor_ulong(&c, min, max, &v) != 0 || !cursor_eof(&c))
        return -1;
    *out = v;
    return 0;
}
