/* Maildir primitives shared by the maildir and exchange deliveries and by
 * mpopd.  Nothing here creates a maildir: a missing one is an error, as in
 * mpop 1.4.18 ("The directory must exist").
 *
 * Unique names follow the maildir convention and mpop 1.4.18's layout:
 *   SECONDS.M<microseconds, 6 digits>P<pid>Q<counter>.<host>
 * e.g. "1795546938.M728651P13351Q1.vm", where the counter counts the names
 * made by this process and <host> has '/' and ':' written as \057 and \072.
 * The pid separates processes, the counter the names of one process, and a
 * creation that finds the name taken (O_EXCL, EEXIST) simply tries the next
 * one, so a collision can never overwrite a mail.  Publishing a finished
 * mail is deliver_file_publish() (deliver_backend.h): under exactly the name
 * its journal token records, never another. */
#ifndef MPOP_MAILDIR_H
#define MPOP_MAILDIR_H

#include <stdbool.h>

#include "err.h"

/* Checks that dir/tmp and dir/new are directories.  Errors: MP_ECANTCREAT
 * naming the missing one. */
int maildir_check(const char *dir, struct mp_err *e);

/* subdir may be NULL below: dir itself.
 * Creates a new empty file in `subdir` of dir (O_CREAT|O_EXCL, mode 0600,
 * close-on-exec) under a fresh unique name: prefix, then the name above
 * with `sep` ('.' for a maildir) between its parts, then suffix (the
 * exchange delivery uses "mpop-", '-', ".eml").
 * Returns the open fd and sets *path_r (the caller frees), or -1 with
 * MP_ECANTCREAT. */
int maildir_create(const char *dir, const char *subdir, const char *prefix,
                   char sep, const char *suffix, char **path_r,
                   struct mp_err *e);
/* The same, calling chosen(arg, NAME, e) with each name before the file
 * is created under it (to record the name first); when chosen() fails,
 * nothing is created and -1 is returned with its error. */
int maildir_create_cb(const char *dir, const char *subdir,
                      const char *prefix, char sep, const char *suffix,
                      int (*chosen)(void *arg, const char *name,
                                    struct mp_err *e),
                      void *arg, char **path_r, struct mp_err *e);

#endif
