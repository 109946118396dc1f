/* An append-only journal beside the UIDLs file ("<uidls>.journal") that
 * makes each delivery count the moment it happens, without rewriting the
 * UIDLs file per mail.  After a crash (even SIGKILL), the next run replays
 * it into the UIDLs lists, saves them, and removes the journal, so that no
 * mail that was delivered is delivered again.
 *
 * Protocol for the caller (retrieve.c), with the UIDLs file locked:
 *   1. journal_replay() any journal left by an earlier run; if it held
 *      events, uidls_save() and then journal_remove().
 *   2. journal_open(); for each mail: optionally JOURNAL_PENDING with a
 *      token naming the delivery (e.g. the maildir file name) just before
 *      the delivery commits, then JOURNAL_DELIVERED right after it
 *      committed (also for mails marked as retrieved without delivery).
 *   3. journal_sync() before any DELE that relies on those records (one
 *      sync per batch, not per mail).
 *   4. JOURNAL_DELETED only after the server confirmed QUIT (the deletions
 *      happened); before that a deleted mail may come back.
 *   5. At the end: uidls_save(), then journal_remove().
 * Each record is written with one write() call as soon as it is appended,
 * so a killed process loses none (the page cache keeps it); only
 * journal_sync() makes them survive a power loss.
 *
 * Format: a first line "mpop journal 1", then one line per event:
 *   "TYPE FIRST_SEEN HOST USER UID TOKEN CHECK"
 * TYPE is D (delivered), X (deleted) or P (pending); TOKEN is "-" when
 * there is none; CHECK is the FNV-1a hash of everything before it, 8 hex
 * digits.  A last line without its newline (a torn write) and lines of NUL
 * bytes (blocks lost in a power failure) are ignored; any other bad line
 * is an error naming FILE:LINE (MP_EDATA).  Other errors: MP_EIO,
 * MP_ECANTCREAT, naming the file. */
#ifndef MPOP_JOURNAL_H
#define MPOP_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "uidls.h"

#define JOURNAL_TOKEN_MAX 255
#define JOURNAL_FILE_MAX (256UL * 1024 * 1024)

enum journal_event {
    JOURNAL_DELIVERED = 'D',
    JOURNAL_DELETED = 'X',
    JOURNAL_PENDING = 'P'
};

struct journal;

/* "<uidls_path>.journal"; the caller frees. */
char *journal_path(const char *uidls_path);
/* The journal of one account: "<uidls_path>.journal-XXXXXXXX", the hex
 * FNV-1a hash of host, a NUL and user.  Several accounts may share a UIDLs
 * file; each resolves only its own journal's tokens.  The caller frees. */
char *journal_path_account(const char *uidls_path, const char *host,
                           const char *user);

/* Opens (creating with mode 0600) the journal for appending; a new or
 * empty file gets its first line, and its directory is synced.  The caller
 * closes with journal_close(). */
int journal_open(const char *path, struct journal **j_r, struct mp_err *e);

/* Appends one event.  token may be NULL (none); it must be 1..255
 * printable characters without spaces.  host and user as for
 * uidls_check_names(), uid as for uidls_valid_uid(); invalid ones are
 * refused (MP_EDATA) before anything is written. */
int journal_append(struct journal *j, enum journal_event ev,
                   const char *host, const char *user, const char *uid,
                   long long first_seen, const char *token,
                   struct mp_err *e);

/* fdatasync() of the journal: every event appended so far is durable. */
int journal_sync(struct journal *j, struct mp_err *e);

/* Closes (without syncing) and frees.  NULL-safe; sets *j to NULL. */
void journal_close(struct journal **j);

/* For a PENDING event that no DELIVERED event followed: decides whether
 * that delivery did complete (e.g. the token's file exists in the
 * maildir).  Sets *done_r; returns 0, or -1 with e filled to stop the
 * replay. */
typedef int (*journal_pending_fn)(void *ctx, const char *host,
                                  const char *user, const char *uid,
                                  const char *token, bool *done_r,
                                  struct mp_err *e);

/* Folds the journal at path into u: DELIVERED adds the UID (keeping the
 * earlier first-seen time), DELETED removes it; for each UID with PENDING
 * events that is not in the list afterwards, the token of its LAST
 * PENDING event (a later token supersedes an earlier one of the same
 * delivery) is passed to pending (when not NULL), in journal order, and
 * the UID is added when it says done.  Replaying twice gives the same result.  A
 * missing file is an empty journal.  *nevents_r (may be NULL) gets the
 * number of events read. */
int journal_replay(const char *path, struct uidls *u,
                   journal_pending_fn pending, void *ctx,
                   size_t *nevents_r, struct mp_err *e);

/* Removes the journal and syncs its directory.  A missing file is fine. */
int journal_remove(const char *path, struct mp_err *e);

/* The crash matrix's test hook: with MPOP_TEST_KILL_AT=N in the
 * environment, the Nth journal_failpoint() after journal_failpoint_init()
 * SIGKILLs the process.  Retrieval and movemail call it after each step
 * that the journal must survive (see their comments). */
void journal_failpoint_init(void);
void journal_failpoint(void);

#endif
