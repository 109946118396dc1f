/* Child processes: `sh -c CMD` with its standard input on a pipe (and,
 * optionally, its standard output on another), writes that never raise
 * SIGPIPE, and a decoded exit status.  Used by the filter, the mda delivery
 * and any other command the user configures.
 *
 * Safety rule for MDAs: closing a child's standard input tells it "this is
 * the whole mail", and most MDAs then deliver what they got.  To give up on
 * a mail, call proc_kill(): it stops the child (SIGTERM, then SIGKILL) and
 * reaps it BEFORE closing the pipe, so a fragment is never delivered. */
#ifndef MPOP_PROC_H
#define MPOP_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

enum proc_flags {
    PROC_CAPTURE_STDOUT = 1 << 0,  /* stdout on a pipe: read proc.out_fd */
    /* The child leads its own process group and proc_kill() signals the
     * whole group, so `sh -c 'a | b'` cannot leave a writer behind.  Not for
     * commands that need the terminal (a password prompt would stop with
     * SIGTTIN). */
    PROC_NEW_PGRP = 1 << 1,
    /* The command gets a guardian (implies PROC_NEW_PGRP), so that it
     * never sees the end of its input unless proc_wait() said so: not
     * even when this process is killed with SIGKILL.  See below. */
    PROC_GUARDIAN = 1 << 2
};

/* The guardian (PROC_GUARDIAN).  PR_SET_PDEATHSIG alone cannot protect an
 * MDA: when a process dies, the kernel closes its descriptors before it
 * signals its children, so the MDA may read end-of-file (and deliver a
 * fragment) first.  Instead proc_start() forks a small guardian process
 * that forks the command itself and keeps its own copy of the write end
 * of the command's input pipe, so the command cannot see end-of-file while
 * the guardian lives.  The guardian blocks reading a control socket from
 * us:
 *   - proc_wait() sends "c" (all input written): the guardian closes its
 *     copy, we close ours, the command reads end-of-file and ends; the
 *     guardian reaps it and sends us its wait status;
 *   - proc_kill() sends "k" and the grace time: the guardian sends SIGTERM
 *     to the command's process group, then SIGKILL after the grace time,
 *     reaps it, and only then lets its copy go;
 *   - end-of-file on the control socket without a message (we died, even
 *     by SIGKILL, at any instant): the guardian SIGKILLs the whole process
 *     group at once, reaps the command, and only then exits (closing its
 *     copy).  A SIGKILLed process never returns to user space, so the
 *     command cannot act on the end-of-file that follows.
 * The guardian ignores SIGINT, SIGTERM, SIGHUP and SIGPIPE (a ^C on the
 * terminal reaches us, and we decide), and closes every descriptor it
 * does not need. */

struct proc {
    pid_t pid;          /* -1 when no child is running */
    int in_fd;          /* write end of the child's stdin, -1 once closed */
    int out_fd;         /* read end of its stdout, -1 unless captured */
    bool pgrp;          /* PROC_NEW_PGRP was given */
    int ctl_fd;         /* PROC_GUARDIAN: our end of the control socket;
                           pid is then the guardian's */
    int back_fd;        /* PROC_GUARDIAN: the command's status comes here */
    char *cmd;          /* a copy of the command, for messages */
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

/* Writes all n bytes to the child's stdin, retrying on EINTR and short
 * writes.  A child that exited or closed its input gives EPIPE here, never
 * a SIGPIPE for the caller.  Returns 0, or -1 with errno set (EPIPE ...)
 * and e filled (MP_EIO).  The child keeps running either way. */
int proc_write(struct proc *p, const void *buf, size_t n, struct mp_err *e);

/* Closes the child's stdin (and out_fd), waits for it to end and fills
 * *st.  Returns 0 whatever the exit status (the caller judges it), -1 with
 * MP_EOS if waitpid failed. */
int proc_wait(struct proc *p, struct proc_status *st, struct mp_err *e);

/* Stops the child without letting it see the end of its input: SIGTERM (to
 * its process group with PROC_NEW_PGRP), up to grace_ms milliseconds for it
 * to end, then SIGKILL; reaps it; only then closes the pipes.  Safe to call
 * on a struct proc that has no child (pid == -1).  Never fails. */
void proc_kill(struct proc *p, int grace_ms);

/* Releases what proc_start() allocated (after proc_wait or proc_kill). */
void proc_clear(struct proc *p);

/* true for an exit with code 0. */
bool proc_status_ok(const struct proc_status *st);

/* A translated description: "exit code 3", "killed by signal 9 (Killed)".
 * Returns out (size outsz, always NUL-terminated). */
char *proc_status_str(const struct proc_status *st, char *out, size_t outsz);

#endif
