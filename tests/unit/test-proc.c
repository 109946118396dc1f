/* proc: exit codes, signals, EPIPE without SIGPIPE, captured stdout, and
 * proc_kill() stopping a child before it sees the end of its input. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "tap.h"

static const struct {
    const char *name;
    const char *cmd;
    enum proc_how how;
    int code;
    const char *str;
} status_cases[] = {
    { "exit 0", "exit 0", PROC_EXITED, 0, "exit code 0" },
    { "exit 1", "exit 1", PROC_EXITED, 1, "exit code 1" },
    { "exit 3", "exit 3", PROC_EXITED, 3, "exit code 3" },
    { "exit 255", "exit 255", PROC_EXITED, 255, "exit code 255" },
    { "command not found", "/nonexistent/cmd 2>/dev/null", PROC_EXITED, 127,
      "exit code 127" },
    { "reads stdin", "cat >/dev/null", PROC_EXITED, 0, "exit code 0" },
    { "killed by SIGKILL", "kill -9 $$", PROC_SIGNALED, SIGKILL,
      "killed by signal 9" },
    { "killed by SIGTERM", "kill -TERM $$", PROC_SIGNALED, SIGTERM,
      "killed by signal 15" },
};

static char tmpdir[] = "/tmp/test-proc.XXXXXX";

int main(void)
{
    struct proc p;
    struct proc_status st;
    struct mp_err e;
    char why[128], cmd[1024], path[256], buf[64];
    size_t i, len;
    int r;

    if (!mkdtemp(tmpdir))
        return 1;
    err_init(&e);
    for (i = 0; i < sizeof status_cases / sizeof status_cases[0]; i++) {
        r = proc_start(&p, status_cases[i].cmd, 0, &e);
        if (r == 0) {
            /* EPIPE is fine here: some of these never read. */
            proc_write(&p, "data\n", 5, &e);
            r = proc_wait(&p, &st, &e);
        }
        proc_clear(&p);
        ok(r == 0 && st.how == status_cases[i].how
           && st.code == status_cases[i].code, "status: %s",
           status_cases[i].name);
        proc_status_str(&st, why, sizeof why);
        ok(strncmp(why, status_cases[i].str, strlen(status_cases[i].str))
           == 0, "status text: %s (%s)", status_cases[i].name, why);
        is_int(proc_status_ok(&st), status_cases[i].code == 0
               && status_cases[i].how == PROC_EXITED, "status ok: %s",
               status_cases[i].name);
    }

    /* A child that exits without reading: EPIPE, never SIGPIPE (the test
     * would die).  SIGPIPE stays deliverable to us afterwards. */
    {
        static char big[1 << 20];
        sigset_t pend;
        memset(big, 'x', sizeof big);
        proc_start(&p, "exit 0", 0, &e);
        usleep(50000);
        r = proc_write(&p, big, sizeof big, &e);
        ok(r == -1 && errno == EPIPE, "write to a gone child: EPIPE");
        ok(e.kind == MP_EIO && strstr(e.msg, "exit 0") != NULL,
           "write error names the command: %s", e.msg);
        sigpending(&pend);
        ok(!sigismember(&pend, SIGPIPE), "no SIGPIPE left pending");
        proc_wait(&p, &st, &e);
        proc_clear(&p);
        ok(proc_status_ok(&st), "its exit code is still read");
    }

    /* Data goes through; stdout captured. */
    proc_start(&p, "tr a-z A-Z", PROC_CAPTURE_STDOUT, &e);
    proc_write(&p, "hello\n", 6, &e);
    close(p.in_fd);
    p.in_fd = -1;
    len = 0;
    while ((r = (int)read(p.out_fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    proc_wait(&p, &st, &e);
    proc_clear(&p);
    is_str(buf, "HELLO\n", "captured stdout");

    /* Ignored signals in the parent are reset in the child. */
    signal(SIGPIPE, SIG_IGN);
    proc_start(&p, "yes | head -c 1 >/dev/null; kill -PIPE $$", 0, &e);
    proc_wait(&p, &st, &e);
    proc_clear(&p);
    ok(st.how == PROC_SIGNALED && st.code == SIGPIPE,
       "SIG_IGN of SIGPIPE not inherited");
    signal(SIGPIPE, SIG_DFL);

    /* proc_kill(): no member of the command must see the end of its
     * input.  In this pipeline the second part writes FLAG only after an
     * end of file; killing just the shell, or closing the pipe first, would
     * let it. */
    snprintf(path, sizeof path, "%s/flag", tmpdir);
    snprintf(cmd, sizeof cmd, "cat | { cat >/dev/null; echo EOF > %s; }",
             path);
    proc_start(&p, cmd, PROC_NEW_PGRP, &e);
    proc_write(&p, "partial mail\n", 13, &e);
    usleep(100000);
    proc_kill(&p, 1000);
    proc_clear(&p);
    is_int(p.pid, -1, "kill: child reaped");
    usleep(200000);
    ok(access(path, F_OK) != 0,
       "kill: no part of the command saw the end of its input");

    /* A child that ignores SIGTERM gets SIGKILL after the grace time. */
    proc_start(&p, "trap '' TERM; cat >/dev/null; echo DONE > /dev/null",
               PROC_NEW_PGRP, &e);
    usleep(100000);
    proc_kill(&p, 200);
    proc_clear(&p);
    is_int(p.pid, -1, "kill: SIGTERM ignored, SIGKILL used");
    proc_kill(&p, 0);
    ok(1, "kill: no-op without a child");

    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
