/* fcntl() record locks on a whole file, with a timeout.  These are the
 * locks the original mpop takes on its UIDLs file and on mbox files, so
 * both programs exclude each other.
 *
 * POSIX fcntl locks belong to the process and are released when the
 * process closes ANY descriptor of the file: keep exactly one descriptor
 * of a locked file open per process.  A forked child does not inherit
 * them. */
#ifndef MPOP_LOCK_H
#define MPOP_LOCK_H

#include <stdbool.h>

#include "err.h"

/* Locks the open file fd (named `name` in messages) for writing
 * (exclusive) or reading (shared), trying again every few milliseconds for
 * up to timeout seconds (0: try once).  Errors: MP_EIO "cannot lock NAME
 * (tried for N seconds): another mpop process seems to hold it" on
 * timeout, MP_EIO with the system's reason on any other failure. */
int lock_file(int fd, const char *name, bool write, int timeout,
              struct mp_err *e);

/* Releases the lock (F_UNLCK).  Closing fd releases it too. */
void lock_release(int fd);

#endif
