/* filter: exit code to decision, errors for >= 3 and signals, %F and %S,
 * headers on stdin with LF line ends, a filter that does not read. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "tap.h"

static const char hdr[] = "Return-Path: <a@b>\r\nSubject: x\r\n\r\n";

static const struct {
    const char *name;
    const char *cmd;
    int ret;
    enum filter_result res;
    const char *msg;    /* substring of the error */
} cases[] = {
    { "exit 0 retrieves", "cat >/dev/null; exit 0", 0, FILTER_RETRIEVE,
      NULL },
    { "exit 1 deletes", "cat >/dev/null; exit 1", 0, FILTER_DELETE, NULL },
    { "exit 2 skips", "exit 2", 0, FILTER_SKIP, NULL },
    { "exit 3 is an error", "exit 3", -1, 0, "exit code 3" },
    { "exit 100 is an error", "exit 100", -1, 0, "exit code 100" },
    { "not found is an error", "/nonexistent/filter 2>/dev/null", -1, 0,
      "exit code 127" },
    { "a signal is an error", "kill -9 $$", -1, 0, "signal 9" },
    { "grep match", "grep -q '^Subject: x$'", 0, FILTER_RETRIEVE, NULL },
    { "grep no match", "grep -q '^Subject: y$'", 0, FILTER_DELETE, NULL },
};

static const struct {
    const char *cmd, *from;
    long long size;
    const char *want;
} expand_cases[] = {
    { "f %F %S", "a@b", 123, "f a@b 123" },
    { "%F%F", "x", 0, "xx" },
    { "%S", NULL, -1, "0" },
    { "%F", NULL, 5, "MAILER-DAEMON" },
    { "100%", "x", 1, "100%" },
    { "%X %f %s", "x", 1, "%X %f %s" },
};

int main(void)
{
    struct mp_err e;
    enum filter_result res;
    size_t i;
    int r;
    char tmp[] = "/tmp/test-filter.XXXXXX", cmd[512], path[300], buf[256];
    FILE *f;

    if (!mkdtemp(tmp))
        return 1;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err_init(&e);
        res = (enum filter_result)-1;
        r = filter_run(cases[i].cmd, "a@b", 42, hdr, strlen(hdr), &res, &e);
        is_int(r, cases[i].ret, "run: %s", cases[i].name);
        if (cases[i].ret == 0) {
            is_int(res, cases[i].res, "result: %s", cases[i].name);
        } else {
            ok(e.kind == MP_EFILTER && strstr(e.msg, cases[i].msg)
               && strstr(e.msg, cases[i].cmd),
               "error names command and status: %s", e.msg);
        }
    }
    for (i = 0; i < sizeof expand_cases / sizeof expand_cases[0]; i++) {
        char *s = filter_expand(expand_cases[i].cmd, expand_cases[i].from,
                                expand_cases[i].size);
        is_str(s, expand_cases[i].want, "expand: %s", expand_cases[i].cmd);
        free(s);
    }

    /* What the filter sees: %F, %S, and the headers with LF line ends. */
    snprintf(path, sizeof path, "%s/seen", tmp);
    snprintf(cmd, sizeof cmd, "{ echo '%%F %%S'; cat; } > %s", path);
    r = filter_run(cmd, "joe@x.org", 4711, hdr, strlen(hdr), &res, &e);
    is_int(r, 0, "seen: ran");
    f = fopen(path, "r");
    memset(buf, 0, sizeof buf);
    if (f) {
        if (fread(buf, 1, sizeof buf - 1, f) == 0)
            buf[0] = '\0';
        fclose(f);
    }
    is_str(buf, "joe@x.org 4711\nReturn-Path: <a@b>\nSubject: x\n\n",
           "seen: substitutions and LF headers on stdin");

    /* A filter that decides without reading a large header block. */
    {
        size_t n = 1 << 20;
        char *big = malloc(n);
        memset(big, 'X', n);
        big[n - 1] = '\n';
        r = filter_run("exit 2", NULL, 1, big, n, &res, &e);
        ok(r == 0 && res == FILTER_SKIP,
           "large headers, filter does not read: decision still counts");
        free(big);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
