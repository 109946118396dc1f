/* -j N: up to N accounts at once, each in a forked worker (issue 9).
 *
 * Each worker's standard output and standard error go to unlinked
 * temporary files; when worker i has finished and every worker before it
 * has been shown, its output is copied to our stdout and stderr, so the
 * blocks appear in the order the accounts were given.  A worker may also
 * write a "side" result (the --summary JSON) to a third file, handed back
 * to the caller.
 *
 * Conflicts: a job whose keys (the UIDLs file, the delivery target) match
 * a key of an earlier job does not start before that job has finished, so
 * accounts sharing a file run one after the other, in the given order,
 * and wait instead of failing on a lock. */
#ifndef MPOP_JOBS_H
#define MPOP_JOBS_H

#include <stddef.h>

#include "err.h"

#define JOBS_KEYS 2

struct jobs_item {
    const char *keys[JOBS_KEYS];    /* borrowed; NULL entries are unused */
};

/* Runs in the worker (a child process) with stdout/stderr redirected;
 * writes any side result to side_fd.  Returns the exit code. */
typedef int jobs_run_fn(size_t i, int side_fd, void *arg);

/* Called in the parent, in order i = 0, 1, ..., after job i's output was
 * copied out: its exit code, and the side result (side_len bytes, not
 * NUL-terminated; NULL when empty). */
typedef void jobs_done_fn(size_t i, int exitcode, const char *side,
                          size_t side_len, void *arg);

/* Runs n jobs, at most njobs (>= 1) at a time.  A worker that dies of a
 * signal counts as EX_SOFTWARE (EX_TEMPFAIL for SIGTERM/SIGINT/SIGHUP).
 * When transport_interrupted becomes set while waiting, the workers get
 * SIGTERM.  Returns 0, or -1 with e filled (MP_EOS) when a temporary file
 * or fork fails before any job could start; jobs that could not start
 * then are reported with EX_OSERR. */
int jobs_run(const struct jobs_item *items, size_t n, unsigned njobs,
             jobs_run_fn *run, jobs_done_fn *done, void *arg,
             struct mp_err *e);

#endif
