#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gettext.h"
#include "proc.h"
#include "xalloc.h"

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Makes fd `to` a copy of `from`, without the close-on-exec flag. */
static int move_fd(int from, int to)
{
    if (from == to) {
        int fl = fcntl(to, F_GETFD);
        return fl < 0 ? -1 : fcntl(to, F_SETFD, fl & ~FD_CLOEXEC);
    }
    return dup2(from, to) < 0 ? -1 : 0;
}

static void child_reset_signals(void)
{
    sigset_t none;
    struct sigaction sa;
    int sig;

    /* SIG_IGN survives exec; a child whose SIGPIPE is ignored would loop on
     * EPIPE instead of dying, and one with SIGTERM ignored could not be
     * stopped by proc_kill(). */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (sig = 1; sig < NSIG; sig++) {
        struct sigaction old;
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            sigaction(sig, &sa, NULL);
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In a forked child: becomes `sh -c cmd` with stdin from in0 (and stdout
 * to out1 when >= 0). */
static void child_exec(int in0, int out1, bool pgrp, const char *cmd)
{
    if (pgrp)
        setpgid(0, 0);
    child_reset_signals();
    if (out1 >= 0 && move_fd(out1, 1) != 0)
        _exit(127);
    if (move_fd(in0, 0) != 0)
        _exit(127);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
}

/* Closes every descriptor >= 3 except the three kept (sorted here). */
static void close_others(int a, int b, int c)
{
#ifdef SYS_close_range
    int k[3] = { a, b, c }, i, j, lo = 3;

    for (i = 0; i < 3; i++)
        for (j = i + 1; j < 3; j++)
            if (k[j] < k[i]) {
                int t = k[i];
                k[i] = k[j];
                k[j] = t;
            }
    for (i = 0; i < 3; i++) {
        if (k[i] > lo)
            syscall(SYS_close_range, (unsigned)lo, (unsigned)k[i] - 1, 0U);
        if (k[i] + 1 > lo)
            lo = k[i] + 1;
    }
    syscall(SYS_close_range, (unsigned)lo, ~0U, 0U);
#else
    (void)a;
    (void)b;
    (void)c;
#endif
}

static void put_status(int fd, int status)
{
    ssize_t w;

    do
        w = write(fd, &status, sizeof status);
    while (w < 0 && errno == EINTR);
}

static void reap(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

/* Waits until pid (our child) has ended, without reaping it. */
static bool ended(pid_t pid);

/* The guardian process (see proc.h).  Never returns. */
static void guardian(int in[2], int out[2], int ctl, int back,
                     const char *cmd)
{
    struct sigaction sa;
    int status = 0, grace = 0, waited = 0;
    char c = 0;
    pid_t m;
    ssize_t n;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    m = fork();
    if (m == 0)
        child_exec(in[0], out[1], true, cmd);
    if (m < 0)
        _exit(127);     /* we see end-of-file on back: cannot start */
    setpgid(m, m);
    close(in[0]);
    if (out[1] >= 0)
        close(out[1]);
    close_others(in[1], ctl, back);
    do
        n = read(ctl, &c, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1 && c == 'c') {
        close(in[1]);
        reap(m, &status);
        put_status(back, status);
        _exit(0);
    }
    if (n == 1 && c == 'k') {
        do
            n = read(ctl, &grace, sizeof grace);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof grace)
            grace = 0;
        kill(-m, SIGTERM);
        while (!ended(m) && waited < grace) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
            waited += 10;
        }
    }
    /* Killed, or told to kill: the group dies before our copy of its
     * input is closed (at _exit). */
    kill(-m, SIGKILL);
    kill(m, SIGKILL);
    reap(m, &status);
    put_status(back, status);
    _exit(0);
}

static int start_guarded(struct proc *p, const char *cmd, int in[2],
                         int out[2], struct mp_err *e)
{
    int ctl[2], back[2], saved;
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) != 0)
        return err_set_errno(e, MP_EOS, errno, _("cannot create a pipe"));
    if (pipe2(back, O_CLOEXEC) != 0) {
        saved = errno;
        close(ctl[0]);
        close(ctl[1]);
        return err_set_errno(e, MP_EOS, saved, _("cannot create a pipe"));
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        close(ctl[1]);
        close(back[0]);
        guardian(in, out, ctl[0], back[1], cmd);
    }
    saved = errno;
    close(ctl[0]);
    close(back[1]);
    if (pid < 0) {
        close(ctl[1]);
        close(back[0]);
        return err_set_errno(e, MP_EOS, saved, _("cannot fork"));
    }
    p->pid = pid;
    p->ctl_fd = ctl[1];
    p->back_fd = back[0];
    return 0;
}

int proc_start(struct proc *p, const char *cmd, unsigned flags,
               struct mp_err *e)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 };
    pid_t pid;

    p->pid = -1;
    p->in_fd = -1;
    p->out_fd = -1;
    p->pgrp = (flags & (PROC_NEW_PGRP | PROC_GUARDIAN)) != 0;
    p->ctl_fd = -1;
    p->back_fd = -1;
    p->cmd = NULL;

    if (pipe2(in, O_CLOEXEC) != 0)
        return err_set_errno(e, MP_EOS, errno, _("cannot create a pipe"));
    if ((flags & PROC_CAPTURE_STDOUT) && pipe2(out, O_CLOEXEC) != 0) {
        int saved = errno;
        close(in[0]);
        close(in[1]);
        return err_set_errno(e, MP_EOS, saved, _("cannot create a pipe"));
    }
    if (flags & PROC_GUARDIAN) {
        if (start_guarded(p, cmd, in, out, e) != 0) {
            close(in[0]);
            close(in[1]);
            if (out[0] >= 0) {
                close(out[0]);
                close(out[1]);
            }
            return -1;
        }
        pid = p->pid;
    } else {
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
            int saved = errno;
            close(in[0]);
            close(in[1]);
            if (out[0] >= 0) {
                close(out[0]);
                close(out[1]);
            }
            return err_set_errno(e, MP_EOS, saved, _("cannot fork"));
        }
        if (pid == 0)
            child_exec(in[0], out[1], p->pgrp, cmd);
        if (p->pgrp)
            setpgid(pid, pid);  /* both sides: kill(-pid) works at once */
    }
    close(in[0]);
    if (out[1] >= 0)
        close(out[1]);
    p->pid = pid;
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->cmd = xstrdup(cmd);
    return 0;
}

int proc_write(struct proc *p, const void *buf, size_t n, struct mp_err *e)
{
    const char *c = buf;
    sigset_t pipeset, oldmask, pending;
    bool was_pending;
    int ret = 0, saved = 0;

    if (p->in_fd < 0) {
        errno = EPIPE;
        return err_set_errno(e, MP_EIO, EPIPE,
                             _("cannot write to command %s"),
                             p->cmd ? p->cmd : "");
    }
    /* Block SIGPIPE around the write instead of changing its disposition
     * (which belongs to the program); consume the one our own write raised,
     * but not one that was already pending for another reason. */
    sigemptyset(&pipeset);
    sigaddset(&pipeset, SIGPIPE);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipeset, &oldmask);
    while (n > 0) {
        ssize_t w = write(p->in_fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            saved = errno;
            ret = -1;
            break;
        }
        c += w;
        n -= (size_t)w;
    }
    if (ret != 0 && saved == EPIPE && !was_pending) {
        struct timespec zero = { 0, 0 };
        while (sigtimedwait(&pipeset, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    if (ret != 0) {
        err_set_errno(e, MP_EIO, saved, _("cannot write to command %s"),
                      p->cmd ? p->cmd : "");
        errno = saved;
    }
    return ret;
}

static void decode(int status, struct proc_status *st)
{
    if (WIFSIGNALED(status)) {
        st->how = PROC_SIGNALED;
        st->code = WTERMSIG(status);
    } else {
        st->how = PROC_EXITED;
        st->code = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
    }
}

/* Reads the command's wait status from the guardian and reaps it. */
static int guard_result(struct proc *p, int *status)
{
    size_t got = 0;
    int gst;

    while (got < sizeof *status) {
        ssize_t n = read(p->back_fd, (char *)status + got,
                         sizeof *status - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close_fd(&p->back_fd);
    reap(p->pid, &gst);
    p->pid = -1;
    return got == sizeof *status ? 0 : -1;
}

static void guard_send(struct proc *p, const void *msg, size_t n)
{
    while (send(p->ctl_fd, msg, n, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

int proc_wait(struct proc *p, struct proc_status *st, struct mp_err *e)
{
    int status;
    pid_t r;

    if (p->ctl_fd >= 0) {
        /* All input is written: now the end-of-file may come. */
        guard_send(p, "c", 1);
        close_fd(&p->ctl_fd);
        close_fd(&p->in_fd);
        close_fd(&p->out_fd);
        if (guard_result(p, &status) != 0)
            return err_set(e, MP_EOS, _("cannot wait for command %s"),
                           p->cmd ? p->cmd : "");
        decode(status, st);
        return 0;
    }
    close_fd(&p->in_fd);
    close_fd(&p->out_fd);
    if (p->pid < 0)
        return err_set(e, MP_ESOFTWARE, _("no command is running"));
    while ((r = waitpid(p->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        int saved = errno;
        p->pid = -1;
        return err_set_errno(e, MP_EOS, saved,
                             _("cannot wait for command %s"),
                             p->cmd ? p->cmd : "");
    }
    p->pid = -1;
    decode(status, st);
    return 0;
}

static void send_sig(const struct proc *p, int sig)
{
    if (p->pgrp && kill(-p->pid, sig) == 0)
        return;
    kill(p->pid, sig);
}

/* Waits until the child has ended, without reaping it: while it is a
 * zombie its pid, and so its process group id, cannot be reused. */
static bool ended(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno != EINTR;
    return si.si_pid == pid;
}

void proc_kill(struct proc *p, int grace_ms)
{
    int status, waited = 0;

    if (p->ctl_fd >= 0) {
        char msg[1 + sizeof grace_ms];

        msg[0] = 'k';
        memcpy(msg + 1, &grace_ms, sizeof grace_ms);
        guard_send(p, msg, sizeof msg);
        close_fd(&p->ctl_fd);
        guard_result(p, &status);   /* the command is gone now */
    }
    if (p->pid > 0) {
        send_sig(p, SIGTERM);
        while (!ended(p->pid)) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            if (waited >= grace_ms) {
                send_sig(p, SIGKILL);
                break;
            }
            nanosleep(&ts, NULL);
            waited += 10;
        }
        /* Anything left in the group (a pipeline's other members) must not
         * get an end of file either. */
        if (p->pgrp)
            kill(-p->pid, SIGKILL);
        while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
            ;
        p->pid = -1;
    }
    close_fd(&p->in_fd);
    close_fd(&p->out_fd);
}

void proc_clear(struct proc *p)
{
    close_fd(&p->in_fd);
    close_fd(&p->out_fd);
    close_fd(&p->ctl_fd);
    close_fd(&p->back_fd);
    free(p->cmd);
    p->cmd = NULL;
}

bool proc_status_ok(const struct proc_status *st)
{
    return st->how == PROC_EXITED && st->code == 0;
}

char *proc_status_str(const struct proc_status *st, char *out, size_t outsz)
{
    if (st->how == PROC_SIGNALED)
        snprintf(out, outsz, _("killed by signal %d (%s)"), st->code,
                 strsignal(st->code));
    else
        snprintf(out, outsz, _("exit code %d"), st->code);
    return out;
}
