#include "config.h"

#include <string.h>

#include "pop3d_cmd.h"
#include "tap.h"

/* One row per command line: the expected verdict and, for valid lines, the
 * parsed fields; for invalid ones, the reason the session sends back. */
static const struct row {
    const char *name;
    const char *line;
    size_t len;             /* 0: strlen(line) */
    int ret;
    enum pop3d_verb verb;
    unsigned long msn;
    unsigned long lines;
    const char *arg;        /* NULL: none expected */
    const char *why;        /* for ret == -1 */
    bool unknown;
} rows[] = {
    { "STAT", "STAT", 0, 0, POP3D_CMD_STAT, 0, 0, NULL, NULL, false },
    { "lower case verb", "stat", 0, 0, POP3D_CMD_STAT, 0, 0, NULL, NULL,
      false },
    { "mixed case verb", "rEtR 3", 0, 0, POP3D_CMD_RETR, 3, 0, NULL, NULL,
      false },
    { "STAT with argument", "STAT 1", 0, -1, 0, 0, 0, NULL,
      "too many arguments", false },
    { "STAT trailing space", "STAT ", 0, -1, 0, 0, 0, NULL,
      "too many arguments", false },
    { "LIST", "LIST", 0, 0, POP3D_CMD_LIST, 0, 0, NULL, NULL, false },
    { "LIST n", "LIST 12", 0, 0, POP3D_CMD_LIST, 12, 0, NULL, NULL, false },
    { "LIST 0", "LIST 0", 0, -1, 0, 0, 0, NULL, "invalid message number",
      false },
    { "LIST x", "LIST x", 0, -1, 0, 0, 0, NULL, "invalid message number",
      false },
    { "LIST -1", "LIST -1", 0, -1, 0, 0, 0, NULL, "invalid message number",
      false },
    { "LIST +1", "LIST +1", 0, -1, 0, 0, 0, NULL, "invalid message number",
      false },
    { "LIST 1 2", "LIST 1 2", 0, -1, 0, 0, 0, NULL, "too many arguments",
      false },
    { "LIST two spaces", "LIST  1", 0, -1, 0, 0, 0, NULL,
      "invalid message number", false },
    { "LIST trailing space", "LIST ", 0, -1, 0, 0, 0, NULL,
      "invalid message number", false },
    { "LIST max", "LIST 4294967295", 0, 0, POP3D_CMD_LIST, 4294967295UL, 0,
      NULL, NULL, false },
    { "LIST over max", "LIST 4294967296", 0, -1, 0, 0, 0, NULL,
      "invalid message number", false },
    { "LIST huge", "LIST 99999999999999999999999", 0, -1, 0, 0, 0, NULL,
      "invalid message number", false },
    { "UIDL", "UIDL", 0, 0, POP3D_CMD_UIDL, 0, 0, NULL, NULL, false },
    { "UIDL n", "UIDL 7", 0, 0, POP3D_CMD_UIDL, 7, 0, NULL, NULL, false },
    { "RETR n", "RETR 1", 0, 0, POP3D_CMD_RETR, 1, 0, NULL, NULL, false },
    { "RETR without n", "RETR", 0, -1, 0, 0, 0, NULL,
      "message number missing", false },
    { "RETR 0", "RETR 0", 0, -1, 0, 0, 0, NULL, "invalid message number",
      false },
    { "RETR 1a", "RETR 1a", 0, -1, 0, 0, 0, NULL, "too many arguments",
      false },
    { "DELE n", "DELE 2", 0, 0, POP3D_CMD_DELE, 2, 0, NULL, NULL, false },
    { "DELE extra", "DELE 2 3", 0, -1, 0, 0, 0, NULL, "too many arguments",
      false },
    { "TOP n m", "TOP 1 10", 0, 0, POP3D_CMD_TOP, 1, 10, NULL, NULL, false },
    { "TOP n 0", "top 4 0", 0, 0, POP3D_CMD_TOP, 4, 0, NULL, NULL, false },
    { "TOP without m", "TOP 1", 0, -1, 0, 0, 0, NULL,
      "number of lines missing", false },
    { "TOP without n", "TOP", 0, -1, 0, 0, 0, NULL, "message number missing",
      false },
    { "TOP 0 m", "TOP 0 1", 0, -1, 0, 0, 0, NULL, "invalid message number",
      false },
    { "TOP n x", "TOP 1 x", 0, -1, 0, 0, 0, NULL, "invalid number of lines",
      false },
    { "TOP extra", "TOP 1 2 3", 0, -1, 0, 0, 0, NULL, "too many arguments",
      false },
    { "NOOP", "NOOP", 0, 0, POP3D_CMD_NOOP, 0, 0, NULL, NULL, false },
    { "RSET", "RSET", 0, 0, POP3D_CMD_RSET, 0, 0, NULL, NULL, false },
    { "QUIT", "quit", 0, 0, POP3D_CMD_QUIT, 0, 0, NULL, NULL, false },
    { "CAPA", "CAPA", 0, 0, POP3D_CMD_CAPA, 0, 0, NULL, NULL, false },
    { "STLS", "STLS", 0, 0, POP3D_CMD_STLS, 0, 0, NULL, NULL, false },
    { "USER", "USER joe", 0, 0, POP3D_CMD_USER, 0, 0, "joe", NULL, false },
    { "USER without name", "USER", 0, -1, 0, 0, 0, NULL,
      "user name missing", false },
    { "USER empty name", "USER ", 0, -1, 0, 0, 0, NULL,
      "user name missing", false },
    { "USER two words", "USER joe x", 0, -1, 0, 0, 0, NULL,
      "too many arguments", false },
    { "USER tab", "USER jo\te", 0, -1, 0, 0, 0, NULL,
      "control character in command", false },
    { "PASS", "PASS secret", 0, 0, POP3D_CMD_PASS, 0, 0, "secret", NULL,
      false },
    { "PASS with spaces", "PASS  a b ", 0, 0, POP3D_CMD_PASS, 0, 0, " a b ",
      NULL, false },
    { "PASS with tab", "PASS a\tb", 0, 0, POP3D_CMD_PASS, 0, 0, "a\tb", NULL,
      false },
    { "PASS without password", "PASS", 0, -1, 0, 0, 0, NULL,
      "password missing", false },
    { "PASS empty password", "PASS ", 0, -1, 0, 0, 0, NULL,
      "password missing", false },
    { "PASS with CR", "PASS a\rb", 0, -1, 0, 0, 0, NULL,
      "control character in command", false },
    { "NUL in line", "PASS a\0b", 8, -1, 0, 0, 0, NULL,
      "NUL byte in command", false },
    { "NUL after verb", "STAT\0", 5, -1, 0, 0, 0, NULL,
      "NUL byte in command", false },
    { "CR after argument", "LIST 1\r", 0, -1, 0, 0, 0, NULL,
      "control character in command", false },
    { "CR in verb", "STAT\r", 0, -1, 0, 0, 0, NULL, "unknown command",
      true },
    { "unknown verb", "APOP joe 0123", 0, -1, 0, 0, 0, NULL,
      "unknown command", true },
    { "verb too long", "STATS", 0, -1, 0, 0, 0, NULL, "unknown command",
      true },
    { "empty line", "", 0, -1, 0, 0, 0, NULL, "unknown command", true },
    { "leading space", " STAT", 0, -1, 0, 0, 0, NULL, "unknown command",
      true },
    { "verb prefix", "RET 1", 0, -1, 0, 0, 0, NULL, "unknown command", true },
    { "8-bit verb", "R\xc3\xa9TR", 0, -1, 0, 0, 0, NULL, "unknown command",
      true },
};

static void test_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        size_t len = r->len ? r->len : strlen(r->line);
        struct pop3d_cmd cmd;
        const char *why = NULL;
        bool unknown = !r->unknown;
        int ret = pop3d_cmd_parse(r->line, len, &cmd, &unknown, &why);

        is_int(ret, r->ret, "%s: verdict", r->name);
        if (r->ret != 0) {
            is_str(why, r->why, "%s: reason", r->name);
            is_int(unknown, r->unknown, "%s: unknown flag", r->name);
            continue;
        }
        is_str(pop3d_cmd_name(cmd.verb), pop3d_cmd_name(r->verb),
               "%s: verb", r->name);
        ok(cmd.msn == r->msn && cmd.has_msn == (r->msn != 0),
           "%s: msn %lu", r->name, r->msn);
        ok(cmd.lines == r->lines, "%s: lines %lu", r->name, r->lines);
        if (r->arg)
            is_mem(cmd.arg.p, cmd.arg.len, r->arg, strlen(r->arg),
                   "%s: argument", r->name);
        else
            ok(cmd.arg.p == NULL && cmd.arg.len == 0, "%s: no argument",
               r->name);
    }
}

static void test_length(void)
{
    char line[POP3D_CMD_LINE_MAX + 2];
    struct pop3d_cmd cmd;
    const char *why = NULL;

    /* PASS and a password filling the line exactly. */
    memset(line, 'p', sizeof line);
    memcpy(line, "PASS ", 5);
    ok(pop3d_cmd_parse(line, POP3D_CMD_LINE_MAX, &cmd, NULL, &why) == 0
       && cmd.arg.len == POP3D_CMD_LINE_MAX - 5, "line at the limit");
    ok(pop3d_cmd_parse(line, POP3D_CMD_LINE_MAX + 1, &cmd, NULL, &why) == -1,
       "line one byte over the limit");
    is_str(why, "line too long", "overlong reason");
}

static void test_names(void)
{
    is_str(pop3d_cmd_name(POP3D_CMD_TOP), "TOP", "name of TOP");
    is_str(pop3d_cmd_name(POP3D_CMD_COUNT), "?", "name out of range");
}

int main(void)
{
    test_rows();
    test_length();
    test_names();
    return done_testing();
}
