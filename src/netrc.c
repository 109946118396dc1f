#include "config.h"

#include <string.h>
#include <strings.h>

#include "netrc.h"

struct lexer {
    const char *p;
    const char *end;
    unsigned long line;
};

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'
           || ch == '\f' || ch == '\v';
}

/* Skips blanks (counting lines) and, when comments is set, `#` comments. */
static void skip_space(struct lexer *lx, bool comments)
{
    while (lx->p < lx->end) {
        if (*lx->p == '\n') {
            lx->line++;
            lx->p++;
        } else if (is_blank(*lx->p)) {
            lx->p++;
        } else if (comments && *lx->p == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else {
            break;
        }
    }
}

/* The next token.  Returns 1 with *tok, 0 at the end, -1 on an
 * unterminated quote (*why_r set). */
static int next_token(struct lexer *lx, bool comments, struct span *tok,
                      const char **why_r)
{
    const char *start;

    skip_space(lx, comments);
    if (lx->p >= lx->end)
        return 0;
    if (*lx->p == '"') {
        unsigned long line = lx->line;

        start = ++lx->p;
        while (lx->p < lx->end && *lx->p != '"') {
            if (*lx->p == '\n')
                lx->line++;
            lx->p++;
        }
        if (lx->p >= lx->end) {
            lx->line = line;
            *why_r = "unterminated quoted token";
            return -1;
        }
        tok->p = start;
        tok->len = (size_t)(lx->p - start);
        lx->p++;
        return 1;
    }
    start = lx->p;
    while (lx->p < lx->end && !is_blank(*lx->p))
        lx->p++;
    tok->p = start;
    tok->len = (size_t)(lx->p - start);
    return 1;
}

/* A macdef body runs up to and including the next empty line. */
static void skip_macro(struct lexer *lx)
{
    /* The rest of the `macdef NAME` line is not part of the body. */
    while (lx->p < lx->end && *lx->p != '\n')
        lx->p++;
    while (lx->p < lx->end) {
        lx->p++;        /* the '\n' ending the previous line */
        lx->line++;
        if (lx->p < lx->end && *lx->p == '\n')
            return;
        if (lx->p + 1 < lx->end && lx->p[0] == '\r' && lx->p[1] == '\n')
            return;
        while (lx->p < lx->end && *lx->p != '\n')
            lx->p++;
    }
}

int netrc_parse(const char *text, size_t len, netrc_cb *cb, void *arg,
                unsigned long *line_r, const char **why_r)
{
    struct lexer lx = { text, text + len, 1 };
    struct netrc_entry ent;
    bool in_entry = false;
    unsigned long kwline;
    struct span kw, val;
    int r;

    if (memchr(text, '\0', len)) {
        const char *nul = memchr(text, '\0', len);
        unsigned long line = 1;
        const char *q;

        for (q = text; q < nul; q++)
            line += (*q == '\n');
        *line_r = line;
        *why_r = "NUL byte";
        return -1;
    }
    memset(&ent, 0, sizeof ent);
    for (;;) {
        r = next_token(&lx, true, &kw, why_r);
        if (r < 0)
            goto fail;
        if (r == 0)
            break;
        if (span_eq(kw, "default") || span_eq(kw, "machine")) {
            if (in_entry && cb(&ent, arg) != 0)
                return 0;
            memset(&ent, 0, sizeof ent);
            in_entry = true;
            ent.line = lx.line;
            if (span_eq(kw, "default")) {
                ent.is_default = true;
                continue;
            }
        } else if (!span_eq(kw, "login") && !span_eq(kw, "password")
                   && !span_eq(kw, "account") && !span_eq(kw, "macdef")) {
            continue;   /* unknown word: skipped, see netrc.h */
        }
        kwline = lx.line;
        r = next_token(&lx, false, &val, why_r);
        if (r < 0)
            goto fail;
        if (r == 0) {
            lx.line = kwline;
            *why_r = "keyword without a value";
            goto fail;
        }
        if (span_eq(kw, "machine")) {
            ent.machine = val;
        } else if (span_eq(kw, "login")) {
            ent.login = val;
            ent.has_login = in_entry;
        } else if (span_eq(kw, "password")) {
            ent.password = val;
            ent.has_password = in_entry;
        } else if (span_eq(kw, "account")) {
            ent.account = val;
            ent.has_account = in_entry;
        } else {
            skip_macro(&lx);
        }
    }
    if (in_entry)
        cb(&ent, arg);
    return 0;

fail:
    *line_r = lx.line;
    return -1;
}

struct find_ctx {
    const char *host;
    const char *login;
    struct netrc_entry *out;
    bool found;
};

static int find_cb(const struct netrc_entry *ent, void *arg)
{
    struct find_ctx *f = arg;

    if (ent->is_default || !ent->has_login || !ent->has_password)
        return 0;
    if (ent->machine.len != strlen(f->host)
        || strncasecmp(ent->machine.p, f->host, ent->machine.len) != 0)
        return 0;
    if (!span_eq(ent->login, f->login))
        return 0;
    *f->out = *ent;
    f->found = true;
    return 1;
}

int netrc_find(const char *text, size_t len, const char *host,
               const char *login, struct netrc_entry *out,
               unsigned long *line_r, const char **why_r)
{
    struct find_ctx f = { host, login, out, false };

    if (netrc_parse(text, len, find_cb, &f, line_r, why_r) < 0)
        return -1;
    return f.found ? 1 : 0;
}
