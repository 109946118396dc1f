/* Durable files: replace a file atomically (write a temporary file in the
 * same directory, fsync it, rename it over the target, fsync the
 * directory), fsync a directory, and create missing parent directories.
 *
 * After durable_commit() returns 0, the new content is on stable storage
 * under the target name; after a crash at any earlier instant, the target
 * holds its old content (or does not exist) and at worst a temporary file
 * "<target>.tmp.XXXXXX" is left behind (never a half-written target).
 *
 * Errors: -1 with MP_EIO (or MP_ECANTCREAT when a file or directory cannot
 * be created), the message naming the file and the system's reason. */
#ifndef MPOP_DURABLE_H
#define MPOP_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct durable_file {
    int fd;             /* the temporary file, open for writing; -1 if none */
    char *path;         /* the target (owned) */
    char *tmppath;      /* the temporary file (owned); NULL after commit */
};

/* Creates a new temporary file beside `path` (same directory, so that the
 * rename is atomic), with permissions `mode` (e.g. 0600), close-on-exec.
 * Fills df.  On error, df is left cleared (fd -1, NULL names). */
int durable_open(struct durable_file *df, const char *path, mode_t mode,
                 struct mp_err *e);

/* Writes all n bytes to the temporary file (retrying short writes and
 * EINTR).  ENOSPC and EDQUOT are reported as such in the message. */
int durable_write(struct durable_file *df, const void *p, size_t n,
                  struct mp_err *e);

/* fsync()s the temporary file, renames it to the target and fsync()s the
 * target's directory.  When keep_fd is true, df->fd stays open and now
 * refers to the target (useful to keep holding a lock taken on it);
 * otherwise it is closed.  On success df->tmppath is freed and NULL.  On
 * failure the temporary file is removed and df cleared as by
 * durable_abort(). */
int durable_commit(struct durable_file *df, bool keep_fd, struct mp_err *e);

/* Closes and removes the temporary file, frees the names, clears df.
 * NULL-safe and idempotent; a committed df is simply closed and cleared. */
void durable_abort(struct durable_file *df);

/* Convenience: replaces `path` with the len bytes at data, durably. */
int durable_write_file(const char *path, const void *data, size_t len,
                       mode_t mode, struct mp_err *e);

/* fsync() of the directory `dir`. */
int durable_sync_dir(const char *dir, struct mp_err *e);

/* fsync() of the directory that contains `path` ("." for a bare name). */
int durable_sync_parent(const char *path, struct mp_err *e);

/* mkdir -p: creates `dir` and any missing parents with `mode` (e.g. 0700).
 * Existing directories are left as they are.  An existing non-directory is
 * an error (MP_ECANTCREAT). */
int durable_mkdirs(const char *dir, mode_t mode, struct mp_err *e);

/* Creates the missing parent directories of the file `path` with mode
 * 0700, as the original mpop does for its UIDLs file. */
int durable_mkdirs_parent(const char *path, struct mp_err *e);

#endif
