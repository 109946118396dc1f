/* The header filter (`filter CMD`): sh -c CMD with %F replaced by the
 * sanitised envelope sender and %S by the size the server gave, the header
 * block (with its empty line) on standard input, LF line ends as in mpop
 * 1.4.18.  Its exit code is the decision:
 *   0 retrieve, 1 delete, 2 skip;
 *   3 and more, or death by a signal, is an error that stops the account
 *   without deleting anything. */
#ifndef MPOP_FILTER_H
#define MPOP_FILTER_H

#include <stddef.h>

#include "err.h"

enum filter_result {
    FILTER_RETRIEVE = 0,
    FILTER_DELETE = 1,
    FILTER_SKIP = 2
};

/* cmd with every %F replaced by from and every %S by size (decimal; -1
 * gives "0").  from must be sanitised (envelope_from()): it is not quoted.
 * The caller frees. */
char *filter_expand(const char *cmd, const char *from, long long size);

/* Runs the filter on hdr[0..len) (CRLF or LF line ends; written with LF).
 * A filter that exits without reading all its input is not an error: only
 * its exit code counts.  Sets *res_r and returns 0 for exit codes 0, 1, 2.
 * Errors: MP_EFILTER naming the command and its status ("exit code 3",
 * "killed by signal 9 (Killed)"); MP_EOS when it cannot be started. */
int filter_run(const char *cmd, const char *from, long long size,
               const char *hdr, size_t len, enum filter_result *res_r,
               struct mp_err *e);

#endif
