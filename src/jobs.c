#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "gettext.h"
#include "jobs.h"
#include "transport.h"
#include "xalloc.h"

/* A side result bigger than this is cut (the JSON of one account). */
#define SIDE_MAX (512u * 1024 * 1024)

enum job_state { JOB_WAITING, JOB_RUNNING, JOB_FINISHED, JOB_SHOWN };

struct job {
    enum job_state st;
    pid_t pid;
    FILE *out, *err, *side;
    int rc;
};

static bool share_key(const struct jobs_item *a, const struct jobs_item *b)
{
    size_t i, k;

    for (i = 0; i < JOBS_KEYS; i++)
        for (k = 0; k < JOBS_KEYS; k++)
            if (a->keys[i] && b->keys[k]
                && strcmp(a->keys[i], b->keys[k]) == 0)
                return true;
    return false;
}

/* Job i may start when no earlier job that shares a key is unfinished:
 * accounts on one file run in the given order, one at a time. */
static bool may_start(const struct jobs_item *items, const struct job *jobs,
                      size_t i)
{
    size_t k;

    for (k = 0; k < i; k++)
        if ((jobs[k].st == JOB_WAITING || jobs[k].st == JOB_RUNNING)
            && share_key(&items[k], &items[i]))
            return false;
    return true;
}

static void close_files(struct job *j)
{
    if (j->out)
        fclose(j->out);
    if (j->err)
        fclose(j->err);
    if (j->side)
        fclose(j->side);
    j->out = j->err = j->side = NULL;
}

static int start(struct job *j, size_t i, jobs_run_fn *run, void *arg)
{
    int rc;

    j->out = tmpfile();
    j->err = tmpfile();
    j->side = tmpfile();
    if (!j->out || !j->err || !j->side)
        return -1;
    fflush(stdout);
    fflush(stderr);
    j->pid = fork();
    if (j->pid < 0)
        return -1;
    if (j->pid == 0) {
        if (dup2(fileno(j->out), STDOUT_FILENO) < 0
            || dup2(fileno(j->err), STDERR_FILENO) < 0)
            _exit(EX_OSERR);
        rc = run(i, fileno(j->side), arg);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    j->st = JOB_RUNNING;
    return 0;
}

static void copy_out(FILE *f, int fd)
{
    char b[65536];
    ssize_t n, w;
    size_t off;

    if (!f || lseek(fileno(f), 0, SEEK_SET) < 0)
        return;
    while ((n = read(fileno(f), b, sizeof b)) > 0) {
        for (off = 0; off < (size_t)n; off += (size_t)w) {
            w = write(fd, b + off, (size_t)n - off);
            if (w < 0 && errno == EINTR) {
                w = 0;
                continue;
            }
            if (w <= 0)
                return;
        }
    }
}

static char *read_side(FILE *f, size_t *len_r)
{
    char b[65536], *s = NULL;
    size_t len = 0;
    ssize_t n;

    *len_r = 0;
    if (!f || lseek(fileno(f), 0, SEEK_SET) < 0)
        return NULL;
    while ((n = read(fileno(f), b, sizeof b)) > 0 && len < SIDE_MAX) {
        s = xrealloc(s, len + (size_t)n + 1);
        memcpy(s + len, b, (size_t)n);
        len += (size_t)n;
    }
    if (s)
        s[len] = '\0';
    *len_r = len;
    return s;
}

static int status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);

        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
            return EX_TEMPFAIL;
    }
    return EX_SOFTWARE;
}

int jobs_run(const struct jobs_item *items, size_t n, unsigned njobs,
             jobs_run_fn *run, jobs_done_fn *done, void *arg,
             struct mp_err *e)
{
    struct job *jobs = xcalloc(n ? n : 1, sizeof *jobs);
    size_t i, shown = 0, running = 0;
    bool killed = false;
    int rc = 0;

    if (njobs < 1)
        njobs = 1;
    while (shown < n) {
        for (i = shown; i < n && running < njobs; i++) {
            if (jobs[i].st != JOB_WAITING || !may_start(items, jobs, i))
                continue;
            if (transport_interrupted) {
                jobs[i].st = JOB_FINISHED;
                jobs[i].rc = EX_TEMPFAIL;
                continue;
            }
            if (start(&jobs[i], i, run, arg) < 0) {
                if (rc == 0)
                    err_set_errno(e, MP_EOS, errno,
                                  _("cannot start a parallel job"));
                rc = -1;
                close_files(&jobs[i]);
                jobs[i].st = JOB_FINISHED;
                jobs[i].rc = EX_OSERR;
                continue;
            }
            running++;
        }
        while (shown < n && jobs[shown].st == JOB_FINISHED) {
            struct job *j = &jobs[shown];
            size_t slen;
            char *side;

            fflush(stdout);
            fflush(stderr);
            copy_out(j->out, STDOUT_FILENO);
            copy_out(j->err, STDERR_FILENO);
            side = read_side(j->side, &slen);
            close_files(j);
            j->st = JOB_SHOWN;
            if (done)
                done(shown, j->rc, side, slen, arg);
            free(side);
            shown++;
        }
        if (running > 0) {
            int status;
            pid_t pid = waitpid(-1, &status, 0);

            if (pid < 0) {
                if (errno == EINTR && transport_interrupted && !killed) {
                    for (i = 0; i < n; i++)
                        if (jobs[i].st == JOB_RUNNING)
                            kill(jobs[i].pid, SIGTERM);
                    killed = true;
                } else if (errno == ECHILD) {
                    break;      /* cannot happen: ours are running */
                }
                continue;
            }
            for (i = 0; i < n; i++) {
                if (jobs[i].st == JOB_RUNNING && jobs[i].pid == pid) {
                    jobs[i].st = JOB_FINISHED;
                    jobs[i].rc = status_code(status);
                    running--;
                    break;
                }
            }
        } else if (shown < n && jobs[shown].st == JOB_WAITING
                   && !may_start(items, jobs, shown)) {
            break;      /* cannot happen: nothing runs that it waits for */
        }
    }
    for (i = 0; i < n; i++)
        close_files(&jobs[i]);
    free(jobs);
    return rc;
}
