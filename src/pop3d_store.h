/* The maildir as one mpopd session sees it (RFC 1939 §5: the maildrop is
 * fixed at login).
 *
 * - new/ and cur/ are scanned once, when the session opens the store; mails
 *   delivered later are not shown until the next session.  The mails are
 *   ordered by modification time, then name (delivery order).
 * - Nothing inside the maildir is followed through a symbolic link: entries
 *   are examined by their directory entry type (or with lstat, fstatat
 *   AT_SYMLINK_NOFOLLOW, where the file system gives none), everything but a
 *   regular file is skipped (symlinks, directories, FIFOs, devices), names
 *   starting with '.' are skipped, and a mail is opened with O_NOFOLLOW and
 *   checked again with fstat to be a regular file (the one lstat saw, if
 *   it ran).  The maildir path given by the administrator itself may be a
 *   symlink.
 * - The UID of a mail is its maildir unique name, the part of the file name
 *   before the first ':' (the flags of cur/ are not part of it, so a mail
 *   keeps its UID when a reader moves it from new/ to cur/).  RFC 1939 §7
 *   allows UIDs of 1 to 70 characters 0x21..0x7E; a unique name that is
 *   longer or holds any other byte is replaced by the 40 lowercase hex
 *   digits of its SHA-1 (GnuTLS gnutls_hash_fast), which is stable as well.
 *   Should two files share a UID, only the first is served.
 * - The size of a mail is the number of octets RETR sends before
 *   dot-stuffing (RFC 1939 LIST): each line ends in CRLF.  A line ends at
 *   LF; one CR before that LF belongs to the line end; a last line without
 *   LF gets a CRLF.  pop3d.c streams mails by exactly this rule.
 * - DELE only marks; the files are unlinked by pop3d_store_commit() in the
 *   UPDATE state, so a dropped connection deletes nothing.
 * - One session at a time: the store holds flock(LOCK_EX|LOCK_NB) on the
 *   maildir directory itself (no lock file is created in the maildir).  A
 *   second session gets MP_ETEMP, which the session answers with [IN-USE].
 */
#ifndef MPOP_POP3D_STORE_H
#define MPOP_POP3D_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* RFC 1939 §7: a UID is 1 to 70 characters. */
#define POP3D_UID_MAX 70
/* The most mails one session serves (bounds the scan's memory); the rest
 * wait for a later session. */
#define POP3D_STORE_MAX_MAILS 1000000

struct pop3d_mail {
    char *name;                 /* file name inside its sub-folder */
    int sub;                    /* 0: new/, 1: cur/ */
    char uid[POP3D_UID_MAX + 1];
    uint64_t size;              /* octets with CRLF line ends */
    bool deleted;
};

struct pop3d_store {
    int dir_fd;                 /* the maildir, locked; -1 when closed */
    int sub_fd[2];              /* new/ and cur/ */
    struct pop3d_mail *mails;   /* index msn - 1 */
    size_t count;
};

/* Opens dir (a maildir with new/ and cur/), takes the lock and scans it.
 * Errors (-1, e filled, s left closed):
 *   another session holds the lock: MP_ETEMP
 *   dir, new/ or cur/ missing or not a directory: MP_ENOINPUT
 *   reading failed: MP_EIO */
int pop3d_store_open(struct pop3d_store *s, const char *dir,
                     struct mp_err *e);

/* The mail with number msn, or NULL when there is none (msn 0 or above
 * count).  Deleted mails are returned too (check ->deleted). */
struct pop3d_mail *pop3d_store_get(struct pop3d_store *s, unsigned long msn);

/* Number and total size of the mails not marked deleted. */
void pop3d_store_stat(const struct pop3d_store *s, size_t *count_r,
                      uint64_t *size_r);

/* Unmarks all mails (RSET). */
void pop3d_store_rset(struct pop3d_store *s);

/* Opens mail msn for reading (O_NOFOLLOW, a regular file).  Returns the
 * fd (the caller closes it), or -1 with e filled: MP_EIO when the file is
 * gone, replaced by something else, or unreadable. */
int pop3d_store_open_mail(struct pop3d_store *s, unsigned long msn,
                          struct mp_err *e);

/* UPDATE: unlinks every mail marked deleted.  A file that is already gone
 * counts as removed.  Returns 0, or -1 with e filled (MP_EIO) when some
 * could not be removed (the others are). */
int pop3d_store_commit(struct pop3d_store *s, struct mp_err *e);

/* Releases the lock and the memory; deletes nothing.  NULL-safe, safe to
 * call twice and on a store whose open failed. */
void pop3d_store_close(struct pop3d_store *s);

/* Pure helpers, exposed for the tests: */

/* Writes the UID for a maildir file name (see above) into uid_r (size
 * POP3D_UID_MAX + 1).  Returns 0, or -1 when hashing failed. */
int pop3d_store_uid(const char *name, char *uid_r);

/* Adds the size contribution of a chunk of a file: *cr_r tells whether the
 * previous chunk ended in CR, *last_r is the last byte seen (or -1 before
 * the first).  The final size is pop3d_store_size_end(size, last). */
uint64_t pop3d_store_size_chunk(uint64_t size, const char *p, size_t n,
                                bool *cr_r, int *last_r);
uint64_t pop3d_store_size_end(uint64_t size, int last);

#endif
