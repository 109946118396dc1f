/* The UIDLs file: for each (host, user) pair, the UIDs of the mails that
 * were already retrieved (or otherwise dealt with), so that `only_new`
 * fetches each mail once.  Compatible with the original mpop's file.
 *
 * Format (a fact of the original, reproduced here):
 *   - Comment lines start with '#', and only before the first other line
 *     (a UID may itself start with '#').
 *   - A list starts with a line " N HOST USER" (a leading space, N >= 1,
 *     HOST and USER without spaces), followed by exactly N UID lines in
 *     ascending strcmp() order.
 *   - Plain format (mpop <= 1.4.22): each UID line is the UID alone.
 *   - Times format (keep DURATION): each UID line is "UID SECONDS", the
 *     time the UID was first seen, in seconds since the epoch.  UIDs never
 *     contain spaces (RFC 1939 §7: 0x21..0x7E), so the two cannot be
 *     confused; a file may even mix them.
 * UIDs are 1..70 printable characters (RFC 1939 §7); longer ones, control
 * characters and NUL bytes are format errors.
 *
 * The file is read and written whole.  uidls_open() takes an exclusive
 * fcntl lock on the UIDLs file itself (as the original does, so both
 * programs exclude each other) and holds it until uidls_close(); saves go
 * through a temporary file, fsync, rename and directory fsync, and the lock
 * moves to the new file without a gap.
 *
 * Errors: MP_EDATA "FILE:LINE: what" for a malformed file, MP_EIO for I/O
 * and lock failures (the message names the file), MP_ECANTCREAT when the
 * file or its directory cannot be created. */
#ifndef MPOP_UIDLS_H
#define MPOP_UIDLS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "xalloc.h"

#define UIDLS_UID_MAX 70            /* RFC 1939 §7 */
#define UIDLS_LOCK_TIMEOUT 10       /* seconds, as the original */
#define UIDLS_FILE_MAX (512UL * 1024 * 1024)  /* refuse larger files */

enum uidls_format {
    UIDLS_FORMAT_PLAIN = 0,     /* UID only: readable by every mpop */
    UIDLS_FORMAT_TIMES = 1      /* UID and first-seen time */
};

struct uidls_entry {
    char *uid;                  /* NUL-terminated, in its list's pool */
    long long first_seen;       /* seconds since the epoch */
    bool dead;                  /* removed; dropped at the next compaction */
};

/* One list.  Read it only through the functions below. */
struct uidls_list {
    char *host;
    char *user;
    struct uidls_entry *v;      /* runs: see uidls.c */
    size_t n, nsorted, nmid, alloc;
    size_t ndead;
    size_t hint;                /* where the next lookup looks first */
    struct strpool pool;        /* the UID strings (also those of removed
                                 * entries, until uidls_close()) */
};

struct uidls {
    char *path;                 /* NULL for an in-memory set */
    int fd;                     /* the locked file, -1 if none */
    enum uidls_format format;   /* as read; what uidls_save() writes */
    struct uidls_list **lists;
    size_t nlists;
};

/* Opens the UIDLs file `path` (missing parent directories are created with
 * mode 0700, a missing file is created empty with mode 0600), locks it
 * exclusively (waiting up to UIDLS_LOCK_TIMEOUT seconds) and reads it.
 * UIDs in the plain format get first_seen = now.  On success *u_r is a new
 * set the caller closes with uidls_close(). */
int uidls_open(const char *path, long long now, struct uidls **u_r,
               struct mp_err *e);

/* Parses len bytes (a whole file's contents) into a new in-memory set
 * (path NULL, fd -1); `name` is used in messages.  Pure apart from
 * allocation; for tests and the fuzzer. */
int uidls_parse(const char *data, size_t len, const char *name,
                long long now, struct uidls **u_r, struct mp_err *e);

/* A new empty in-memory set with the given format. */
struct uidls *uidls_new(enum uidls_format format);

/* The file contents for u in u->format, every list sorted; lists that are
 * empty are left out.  The caller frees the result; *len_r gets its length.
 * Errors: MP_EDATA when a host or user name cannot be stored (empty, or
 * holding a space or control character). */
char *uidls_serialize(struct uidls *u, size_t *len_r, struct mp_err *e);

/* Writes u back to its file atomically and durably (see durable.h) and
 * keeps the lock (now on the new file).  Requires a set from uidls_open(). */
int uidls_save(struct uidls *u, struct mp_err *e);

/* Releases the lock, closes the file and frees everything.  NULL-safe;
 * sets *u to NULL.  Unsaved changes are lost. */
void uidls_close(struct uidls **u);

/* The list for (host, user), or NULL when there is none and create is
 * false.  A NULL host or user counts as "".  The pointer stays valid until
 * uidls_close(). */
struct uidls_list *uidls_get(struct uidls *u, const char *host,
                             const char *user, bool create);

/* The live entry for uid, or NULL.  O(log n).  The pointer is valid until
 * the next change to l. */
const struct uidls_entry *uidls_find(struct uidls_list *l, const char *uid);

/* Marks uid as seen: adds it with first_seen, or, when it is there already,
 * keeps the earlier of the two times.  Returns -1 (MP_EDATA) for a UID
 * that is not 1..70 printable characters without spaces. */
int uidls_add(struct uidls_list *l, const char *uid, long long first_seen,
              struct mp_err *e);

/* Forgets uid (no-op when absent).  Returns true when it was there. */
bool uidls_remove(struct uidls_list *l, const char *uid);

/* Keeps only the UIDs that are among uids[0..n) (the server's current
 * list), forgetting those of mails that are gone.  O((n + size) log n). */
void uidls_retain(struct uidls_list *l, const char *const *uids, size_t n);

/* Number of live entries. */
size_t uidls_count(struct uidls_list *l);

/* Sorts and compacts l, then returns its live entries in ascending order
 * (*n_r of them).  Valid until the next change to l. */
const struct uidls_entry *uidls_entries(struct uidls_list *l, size_t *n_r);

/* Checks that host and user can be stored in the file: non-empty, no
 * space, no control character.  Call it before retrieving anything, so
 * that a save cannot fail for this reason after mails were delivered.
 * Errors: MP_ECONFIG naming the offending value. */
int uidls_check_names(const char *host, const char *user, struct mp_err *e);

/* Whether s (len bytes) is a valid UID: 1..UIDLS_UID_MAX bytes in
 * 0x21..0x7E. */
bool uidls_valid_uid(const char *s, size_t len);

#endif
