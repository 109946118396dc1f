/* Child processes: the one way mpop runs `sh -c CMD`, with its standard
 * input on a pipe, on a descriptor of the caller's (a spool file), or
 * inherited, and optionally its standard output on another pipe; writes
 * that never raise SIGPIPE, and a decoded exit status.  Used by the
 * filter, the mda delivery, eval and passwordeval (proc_capture()).
 *
 * Safety rule for commands fed through a pipe (the filter): closing a
 * child's standard input tells it "this is all", so to give up call
 * proc_kill(): it stops the child (SIGTERM, then SIGKILL) and reaps it
 * BEFORE closing the pipe.  The mda delivery never feeds a pipe while the
 * MDA runs: it starts the MDA only with the whole mail at hand
 * (deliver_mda.c). */
#ifndef MPOP_PROC_H
#define MPOP_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <sys/types.h>

#include "err.h"

enum proc_flags {
    PROC_CAPTURE_STDOUT = 1 << 0,  /* stdout on a pipe: read proc.out_fd */
    /* The child leads its own process group and proc_kill() signals the
     * whole group, so `sh -c 'a | b'` cannot leave a writer behind.  Not for
     * commands that need the terminal (a password prompt would stop with
     * SIGTTIN). */
    PROC_NEW_PGRP = 1 << 1,
    /* The child's stdin is ours (a password command may ask on the
     * terminal); p->in_fd stays -1. */
    PROC_STDIN_INHERIT = 1 << 2
};

struct proc {
    pid_t pid;          /* -1 when no child is running */
    int in_fd;          /* write end of the child's stdin, -1 once closed */
    int out_fd;         /* read end of its stdout, -1 unless captured */
    bool pgrp;          /* PROC_NEW_PGRP was given */
    char *cmd;          /* a copy of the command, for messages (owned) */
};

enum proc_how { PROC_EXITED, PROC_SIGNALED };

struct proc_status {
    enum proc_how how;
    int code;           /* exit code, or signal number */
};

/* Starts `/bin/sh -c cmd`.  The child's stdin is a pipe (p->in_fd); its
 * stdout is a pipe (p->out_fd) with PROC_CAPTURE_STDOUT, else inherited;
 * stderr is inherited.  Signals ignored or blocked in the caller are reset
 * to their defaults in the child.  Errors: MP_EOS (pipe or fork failed).
 * On success the caller must end with proc_wait() or proc_kill(). */
int proc_start(struct proc *p, const char *cmd, unsigned flags,
               struct mp_err *e);

/* The same with the open descriptor fd as the child's stdin (a file, or
 * the read end of a pipe that already holds all the input): the caller
 * keeps and closes its own copy; p->in_fd stays -1. */
int proc_start_fd(struct proc *p, const char *cmd, unsigned flags, int fd,
                  struct mp_err *e);

/* Writes all n bytes to the child's stdin, retrying on EINTR and short
 * writes.  A child that exited or closed its input gives EPIPE here, never
 * a SIGPIPE for the caller.  Returns 0, or -1 with errno set (EPIPE ...)
 * and e filled (MP_EIO).  The child keeps running either way. */
int proc_write(struct proc *p, const void *buf, size_t n, struct mp_err *e);

/* Closes the child's stdin (and out_fd), waits for it to end and fills
 * *st.  Returns 0 whatever the exit status (the caller judges it), -1 with
 * MP_EOS if waitpid failed. */
int proc_wait(struct proc *p, struct proc_status *st, struct mp_err *e);

/* proc_wait() that keeps an eye on *stop (a signal handler's flag): once
 * it is set (before or during the wait), the child gets at most bound_ms
 * more milliseconds to end.  Returns 0 with *st filled, 1 when the bound
 * passed and the child still runs (stop it with proc_kill()), -1 as
 * proc_wait().  stop NULL: proc_wait(). */
int proc_wait_bounded(struct proc *p, volatile sig_atomic_t *stop,
                      int bound_ms, struct proc_status *st, struct mp_err *e);

/* Stops the child without letting it see the end of its input: SIGTERM (to
 * its process group with PROC_NEW_PGRP), up to grace_ms milliseconds for it
 * to end, then SIGKILL; reaps it; only then closes the pipes.  Safe to call
 * on a struct proc that has no child (pid == -1).  Never fails. */
void proc_kill(struct proc *p, int grace_ms);

/* Releases what proc_start() allocated (after proc_wait or proc_kill). */
void proc_clear(struct proc *p);

/* The one way to run a command for its output (eval in the configuration,
 * passwordeval): `sh -c cmd` with our stdin and stderr (`gpg -d` may ask
 * on the terminal), its stdout read to the end.  *out_r gets the first
 * max bytes, NUL-terminated (the caller frees it, and wipes it when it is
 * a secret), *len_r their count; more output is read and dropped and
 * *too_long_r set, so the command never blocks on a full pipe.  Copies left
 * behind by the growing buffer are wiped.  Returns 0 whatever the exit
 * status (*st: the caller judges it), -1 with MP_EOS when the command
 * cannot be started or waited for. */
int proc_capture(const char *cmd, size_t max, char **out_r, size_t *len_r,
                 bool *too_long_r, struct proc_status *st, struct mp_err *e);

/* true for an exit with code 0. */
bool proc_status_ok(const struct proc_status *st);

/* A translated description: "exit code 3", "killed by signal 9 (Killed)".
 * Returns out (size outsz, always NUL-terminated). */
char *proc_status_str(const struct proc_status *st, char *out, size_t outsz);

#endif
