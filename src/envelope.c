#include "config.h"

#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "envelope.h"
#include "xalloc.h"

/* A header field longer than this is cut: an envelope address that long is
 * not one anybody can use, and the cap keeps this code allocation free. */
#define FIELD_MAX 1024

static const char *const wday[] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const month[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The end of the line starting at i (index of its '\n', or len) and the
 * length of its content without a final CR. */
static size_t line_end(const char *p, size_t len, size_t i, size_t *clen)
{
    const char *nl = memchr(p + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - p) : len;
    size_t n = end - i;

    if (n > 0 && p[i + n - 1] == '\r')
        n--;
    *clen = n;
    return end;
}

size_t envelope_header_len(const char *p, size_t len)
{
    size_t i = 0, clen, end;

    while (i < len) {
        end = line_end(p, len, i, &clen);
        if (end == len)
            return 0;           /* an unfinished line */
        if (clen == 0)
            return end + 1;
        i = end + 1;
    }
    return 0;
}

struct field {
    char v[FIELD_MAX];
    size_t n;
    bool seen;
};

static void field_add(struct field *f, const char *p, size_t n)
{
    if (n > sizeof f->v - f->n)
        n = sizeof f->v - f->n;
    memcpy(f->v + f->n, p, n);
    f->n += n;
}

static bool name_is(const char *p, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n > k && p[k] == ':' && strncasecmp(p, name, k) == 0;
}

/* Reduces the field value v[0..n) to its address, in place; returns its
 * length (0: no address). */
static size_t address(char *v, size_t n)
{
    size_t i, o = 0, start, end;
    long lt = -1;
    int depth = 0;
    bool quoted = false;

    /* Drop comments; remember the first '<' outside quotes. */
    for (i = 0; i < n; i++) {
        char c = v[i];
        if (depth > 0) {
            if (c == '\\')
                i++;
            else if (c == '(')
                depth++;
            else if (c == ')')
                depth--;
            continue;
        }
        if (quoted) {
            if (c == '\\' && i + 1 < n)
                v[o++] = v[i++];
            else if (c == '"')
                quoted = false;
            v[o++] = v[i];
            continue;
        }
        if (c == '(') {
            depth = 1;
            continue;
        }
        if (c == '"')
            quoted = true;
        else if (c == '<' && lt < 0)
            lt = (long)o;
        v[o++] = c;
    }
    n = o;
    if (lt >= 0) {
        char *gt;
        start = (size_t)lt + 1;
        gt = memchr(v + start, '>', n - start);
        end = gt ? (size_t)(gt - v) : n;
        while (start < end && is_ws(v[start]))
            start++;
        while (end > start && is_ws(v[end - 1]))
            end--;
    } else {
        end = n;
        while (end > 0 && is_ws(v[end - 1]))
            end--;
        start = end;
        while (start > 0 && !is_ws(v[start - 1]))
            start--;
    }
    memmove(v, v + start, end - start);
    return end - start;
}

void envelope_sanitize(char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9')
                    || (c != '\0' && strchr(".@_+/-", c) != NULL);
        if (!keep)
            s[i] = '_';
    }
}

void envelope_from(const char *hdr, size_t len, char *out, size_t outsz)
{
    struct field rp = { .n = 0 }, snd = { .n = 0 };
    struct field *cur = NULL, *pick = NULL;
    size_t i = 0, clen, end, n = 0;

    while (i < len) {
        const char *l = hdr + i;
        end = line_end(hdr, len, i, &clen);
        if (clen == 0)
            break;
        if (l[0] == ' ' || l[0] == '\t') {
            if (cur)
                field_add(cur, l, clen);    /* unfold: drop the line end */
        } else if (!rp.seen && name_is(l, clen, "Return-Path")) {
            cur = &rp;
            rp.seen = true;
            field_add(cur, l + 12, clen - 12);
        } else if (!snd.seen && name_is(l, clen, "Sender")) {
            cur = &snd;
            snd.seen = true;
            field_add(cur, l + 7, clen - 7);
        } else {
            cur = NULL;
        }
        i = end + 1;
    }
    if (rp.seen && (rp.n = address(rp.v, rp.n)) > 0)
        pick = &rp;
    else if (snd.seen && (snd.n = address(snd.v, snd.n)) > 0)
        pick = &snd;
    if (pick) {
        n = pick->n < outsz - 1 ? pick->n : outsz - 1;
        memcpy(out, pick->v, n);
        envelope_sanitize(out, n);
        out[n] = '\0';
    } else {
        strncpy(out, "MAILER-DAEMON", outsz - 1);
        out[outsz - 1] = '\0';
    }
}

/* A copy of s with control characters replaced, so no field can start a
 * new header line. */
static char *clean(const char *s)
{
    char *c = xstrdup(s ? s : "");
    char *p;

    for (p = c; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '_';
    return c;
}

char *envelope_received(const struct envelope_received *r)
{
    char *host = clean(r->server_host), *name = clean(r->server_name);
    char *ip = clean(r->server_ip), *local = clean(r->local_host);
    char *user = clean(r->user), *peer, *res;
    struct tm tm;
    long off;
    char sign;

    localtime_r(&r->now, &tm);
    off = tm.tm_gmtoff / 60;
    sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    if (!r->server_ip)
        peer = xstrdup("");
    else if (r->server_name && *r->server_name)
        peer = xasprintf(" (%s [%s])", name, ip);
    else
        peer = xasprintf(" ([%s])", ip);
    res = xasprintf("Received: from %s%s\n"
                    "\tby %s (%s-%s) with POP3\n"
                    "\tfor <%s>; %s, %02d %s %d %02d:%02d:%02d %c%02ld%02ld\n",
                    host, peer, local, PACKAGE_NAME, PACKAGE_VERSION, user,
                    wday[tm.tm_wday], tm.tm_mday, month[tm.tm_mon],
                    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                    sign, off / 60, off % 60);
    free(host);
    free(name);
    free(ip);
    free(local);
    free(user);
    free(peer);
    return res;
}

char *envelope_from_date(time_t t, char *out, size_t outsz)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(out, outsz, "%s %s %2d %02d:%02d:%02d %d", wday[tm.tm_wday],
             month[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             tm.tm_year + 1900);
    return out;
}

char *envelope_local_user(void)
{
    const char *u = getenv("USER");
    struct passwd *pw;

    if (u)
        return xstrdup(u);
    pw = getpwuid(getuid());
    return xstrdup(pw && pw->pw_name ? pw->pw_name : "unknown");
}

char *envelope_local_host(void)
{
    char h[256];

    if (gethostname(h, sizeof h) != 0 || h[0] == '\0')
        return xstrdup("localhost");
    h[sizeof h - 1] = '\0';
    return xstrdup(h);
}
