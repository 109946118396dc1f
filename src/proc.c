#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gettext.h"
#include "monotime.h"
#include "proc.h"
#include "xalloc.h"

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n--)
        *v++ = 0;
}

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

/* In a forked child: becomes `sh -c cmd` with stdin from in0 when >= 0
 * (and stdout to out1 when >= 0). */
static void child_exec(int in0, int out1, bool pgrp, const char *cmd)
{
    if (pgrp)
        setpgid(0, 0);
    child_reset_signals();
    if (out1 >= 0 && move_fd(out1, 1) != 0)
        _exit(127);
    if (in0 >= 0 && move_fd(in0, 0) != 0)
        _exit(127);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
}

/* in_fd >= 0: the child's stdin (the caller keeps its copy); -1: a new
 * pipe, or the caller's stdin with PROC_STDIN_INHERIT. */
static int start(struct proc *p, const char *cmd, unsigned flags, int in_fd,
                 struct mp_err *e)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, saved;
    pid_t pid;

    p->pid = -1;
    p->in_fd = -1;
    p->out_fd = -1;
    p->pgrp = (flags & PROC_NEW_PGRP) != 0;
    p->cmd = NULL;

    if (in_fd >= 0)
        in[0] = in_fd;
    else if (!(flags & PROC_STDIN_INHERIT) && pipe2(in, O_CLOEXEC) != 0)
        return err_set_errno(e, MP_EOS, errno, _("cannot create a pipe"));
    if ((flags & PROC_CAPTURE_STDOUT) && pipe2(out, O_CLOEXEC) != 0) {
        saved = errno;
        if (in[1] >= 0) {
            close(in[0]);
            close(in[1]);
        }
        return err_set_errno(e, MP_EOS, saved, _("cannot create a pipe"));
    }
    fflush(NULL);
    pid = fork();
    if (pid == 0)
        child_exec(in[0], out[1], p->pgrp, cmd);
    saved = errno;
    if (in[1] >= 0)
        close(in[0]);   /* ours; a caller's in_fd stays the caller's */
    if (out[1] >= 0)
        close(out[1]);
    if (pid < 0) {
        if (in[1] >= 0)
            close(in[1]);
        if (out[0] >= 0)
            close(out[0]);
        return err_set_errno(e, MP_EOS, saved, _("cannot fork"));
    }
    if (p->pgrp)
        setpgid(pid, pid);  /* both sides: kill(-pid) works at once */
    p->pid = pid;
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->cmd = xstrdup(cmd);
    return 0;
}

int proc_start(struct proc *p, const char *cmd, unsigned flags,
               struct mp_err *e)
{
    return start(p, cmd, flags, -1, e);
}

int proc_start_fd(struct proc *p, const char *cmd, unsigned flags, int fd,
                  struct mp_err *e)
{
    return start(p, cmd, flags, fd, e);
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

static bool ended(pid_t pid);

/* Waits until the child pid ends (0) or *stop is set (1), without the race
 * of testing the flag and then blocking in waitpid(): the signals that set
 * it are blocked around the test, and ppoll() on a pidfd unblocks them
 * atomically.  -1 where there are no pidfds (Linux before 5.3, other
 * systems): then waitpid() is interrupted by the signal (our handlers have
 * no SA_RESTART), and one that lands just between the test and waitpid()
 * is seen only when the child ends. */
static int wait_or_stop(pid_t pid, volatile sig_atomic_t *stop)
{
#if defined(__linux__) && defined(SYS_pidfd_open)
    sigset_t blk, old;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0), r = -1;

    if (fd < 0)
        return -1;
    sigemptyset(&blk);
    sigaddset(&blk, SIGTERM);
    sigaddset(&blk, SIGINT);
    sigaddset(&blk, SIGHUP);
    sigprocmask(SIG_BLOCK, &blk, &old);
    for (;;) {
        struct pollfd pf = { fd, POLLIN, 0 };
        int n;

        if (*stop) {
            r = 1;
            break;
        }
        n = ppoll(&pf, 1, NULL, &old);
        if (n > 0) {
            r = 0;
            break;
        }
        if (n < 0 && errno != EINTR)
            break;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fd);
    return r;
#else
    (void)pid;
    (void)stop;
    return -1;
#endif
}

int proc_wait(struct proc *p, struct proc_status *st, struct mp_err *e)
{
    return proc_wait_bounded(p, NULL, 0, st, e) < 0 ? -1 : 0;
}

int proc_wait_bounded(struct proc *p, volatile sig_atomic_t *stop,
                      int bound_ms, struct proc_status *st, struct mp_err *e)
{
    int status;
    pid_t r;

    close_fd(&p->in_fd);
    close_fd(&p->out_fd);
    if (p->pid < 0)
        return err_set(e, MP_ESOFTWARE, _("no command is running"));
    /* Blocking until the child ends or a signal sets the flag; from then
     * on, a poll every 10 ms up to the bound. */
    r = 0;      /* not reaped yet */
    if (stop && wait_or_stop(p->pid, stop) == 0)
        stop = NULL;    /* the child ended: reap it below */
    while (!(stop && *stop)) {
        r = waitpid(p->pid, &status, 0);
        if (r >= 0 || errno != EINTR)
            break;
        r = 0;
    }
    if (r == 0) {
        long long deadline = monotime_ms() + bound_ms;

        while (!ended(p->pid)) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };

            if (monotime_ms() >= deadline)
                return 1;   /* still running: the caller stops it */
            nanosleep(&ts, NULL);
        }
        while ((r = waitpid(p->pid, &status, 0)) < 0 && errno == EINTR)
            ;
    }
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
    free(p->cmd);
    p->cmd = NULL;
}

int proc_capture(const char *cmd, size_t max, char **out_r, size_t *len_r,
                 bool *too_long_r, struct proc_status *st, struct mp_err *e)
{
    struct proc p;
    char chunk[4096];
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ssize_t n;
    int r;

    *out_r = NULL;
    *len_r = 0;
    *too_long_r = false;
    if (start(&p, cmd, PROC_CAPTURE_STDOUT | PROC_STDIN_INHERIT, -1, e) != 0)
        return -1;
    for (;;) {
        n = read(p.out_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        /* Read on past the cap so that the command never blocks on a full
         * pipe; what is beyond it is dropped and reported. */
        if (len + (size_t)n > max) {
            *too_long_r = true;
            continue;
        }
        if (len + (size_t)n + 1 > cap) {
            size_t ncap = cap ? cap : 256;
            char *nb;

            while (len + (size_t)n + 1 > ncap)
                ncap *= 2;
            /* Not realloc(): the old copy is wiped before it is freed. */
            nb = xmalloc(ncap);
            if (buf) {
                memcpy(nb, buf, len);
                wipe(buf, len);
                free(buf);
            }
            buf = nb;
            cap = ncap;
        }
        memcpy(buf + len, chunk, (size_t)n);
        len += (size_t)n;
    }
    wipe(chunk, sizeof chunk);
    r = proc_wait(&p, st, e);
    proc_clear(&p);
    if (r != 0) {
        if (buf)
            wipe(buf, len);
        free(buf);
        return -1;
    }
    if (!buf)
        buf = xcalloc(1, 1);
    buf[len] = '\0';
    *out_r = buf;
    *len_r = len;
    return 0;
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
