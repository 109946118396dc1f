#include "config.h"

#include <string.h>

#include "pop3d_cmd.h"

/* Argument shapes. */
enum shape {
    SHAPE_NONE,         /* no argument */
    SHAPE_MSN,          /* exactly one message number */
    SHAPE_OPT_MSN,      /* an optional message number */
    SHAPE_MSN_LINES,    /* TOP: message number and line count */
    SHAPE_WORD,         /* USER: one word */
    SHAPE_REST          /* PASS: the rest of the line, not empty */
};

static const struct {
    const char *name;
    enum shape shape;
} verbs[POP3D_CMD_COUNT] = {
    [POP3D_CMD_USER] = { "USER", SHAPE_WORD },
    [POP3D_CMD_PASS] = { "PASS", SHAPE_REST },
    [POP3D_CMD_QUIT] = { "QUIT", SHAPE_NONE },
    [POP3D_CMD_STAT] = { "STAT", SHAPE_NONE },
    [POP3D_CMD_LIST] = { "LIST", SHAPE_OPT_MSN },
    [POP3D_CMD_RETR] = { "RETR", SHAPE_MSN },
    [POP3D_CMD_DELE] = { "DELE", SHAPE_MSN },
    [POP3D_CMD_NOOP] = { "NOOP", SHAPE_NONE },
    [POP3D_CMD_RSET] = { "RSET", SHAPE_NONE },
    [POP3D_CMD_TOP] = { "TOP", SHAPE_MSN_LINES },
    [POP3D_CMD_UIDL] = { "UIDL", SHAPE_OPT_MSN },
    [POP3D_CMD_CAPA] = { "CAPA", SHAPE_NONE },
    [POP3D_CMD_STLS] = { "STLS", SHAPE_NONE },
};

const char *pop3d_cmd_name(enum pop3d_verb verb)
{
    return (unsigned)verb < POP3D_CMD_COUNT ? verbs[verb].name : "?";
}

static bool is_ctl(unsigned char ch)
{
    return ch < 0x20 || ch == 0x7f;
}

static int msn(struct cursor *c, unsigned long *out)
{
    unsigned long long v;

    if (cursor_ulong(c, 1, POP3D_CMD_NUM_MAX, &v) != 0)
        return -1;
    *out = (unsigned long)v;
    return 0;
}

int pop3d_cmd_parse(const char *line, size_t len, struct pop3d_cmd *cmd_r,
                    bool *unknown_r, const char **why_r)
{
    struct cursor c;
    struct span w;
    size_t i;
    bool is_pass;
    unsigned long long v;

    if (unknown_r)
        *unknown_r = false;
    memset(cmd_r, 0, sizeof *cmd_r);
    if (len > POP3D_CMD_LINE_MAX) {
        *why_r = "line too long";
        return -1;
    }
    if (memchr(line, '\0', len)) {
        *why_r = "NUL byte in command";
        return -1;
    }
    cursor_init(&c, line, len);
    /* RFC 1939 §3: keywords are three or four characters. */
    if (cursor_word(&c, 4, &w) != 0) {
        if (unknown_r)
            *unknown_r = true;
        *why_r = "unknown command";
        return -1;
    }
    for (i = 0; i < POP3D_CMD_COUNT; i++)
        if (span_eq_ci(w, verbs[i].name))
            break;
    if (i == POP3D_CMD_COUNT) {
        if (unknown_r)
            *unknown_r = true;
        *why_r = "unknown command";
        return -1;
    }
    cmd_r->verb = (enum pop3d_verb)i;
    is_pass = verbs[i].shape == SHAPE_REST;
    for (size_t k = 0; k < len; k++) {
        unsigned char ch = (unsigned char)line[k];
        /* A password may hold any byte a client can send in a line;
         * everything else is printable ASCII or UTF-8. */
        if (is_pass ? (ch == '\r' || ch == '\n') : is_ctl(ch)) {
            *why_r = "control character in command";
            return -1;
        }
    }

    switch (verbs[i].shape) {
    case SHAPE_NONE:
        break;
    case SHAPE_OPT_MSN:
        if (cursor_eof(&c))
            break;
        /* fall through */
    case SHAPE_MSN:
        if (cursor_space(&c) != 0) {
            *why_r = "message number missing";
            return -1;
        }
        if (msn(&c, &cmd_r->msn) != 0) {
            *why_r = "invalid message number";
            return -1;
        }
        cmd_r->has_msn = true;
        break;
    case SHAPE_MSN_LINES:
        if (cursor_space(&c) != 0) {
            *why_r = "message number missing";
            return -1;
        }
        if (msn(&c, &cmd_r->msn) != 0) {
            *why_r = "invalid message number";
            return -1;
        }
        cmd_r->has_msn = true;
        if (cursor_space(&c) != 0) {
            *why_r = "number of lines missing";
            return -1;
        }
        if (cursor_ulong(&c, 0, POP3D_CMD_NUM_MAX, &v) != 0) {
            *why_r = "invalid number of lines";
            return -1;
        }
        cmd_r->lines = (unsigned long)v;
        break;
    case SHAPE_WORD:
        if (cursor_space(&c) != 0
            || cursor_word(&c, POP3D_CMD_LINE_MAX, &cmd_r->arg) != 0) {
            *why_r = "user name missing";
            return -1;
        }
        break;
    case SHAPE_REST:
        if (cursor_space(&c) != 0) {
            *why_r = "password missing";
            return -1;
        }
        cursor_rest(&c, &cmd_r->arg);
        if (cmd_r->arg.len == 0) {
            *why_r = "password missing";
            return -1;
        }
        break;
    }
    if (!cursor_eof(&c)) {
        *why_r = "too many arguments";
        return -1;
    }
    return 0;
}
