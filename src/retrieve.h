/* One account end to end: connect and authenticate (session.h), list the
 * mails, decide per mail (only_new, keep, killsize, skipsize, filter),
 * deliver, remember the UIDs, delete.  Also the -s (status) and -A (auth
 * only) actions.  The ordering and the safety rules live here; see the
 * comment at the top of retrieve.c.
 *
 * Nothing here prints: what the user sees (the status block, per-mail
 * progress, skip and delete notes) is reported through struct
 * retrieve_events, which mpop.c implements.
 *
 * Test hooks (environment variables, for the script tests only):
 *   MPOP_TEST_NOW=SECONDS   the current time for keep DURATION and the
 *                           first-seen timestamps
 *   MPOP_TEST_KILL_AT=N     SIGKILL this process at the Nth durable step
 *                           (see retrieve.c, "failpoints") */
#ifndef MPOP_RETRIEVE_H
#define MPOP_RETRIEVE_H

#include <stdbool.h>

#include "account.h"
#include "err.h"

enum retrieve_action {
    RETRIEVE_FETCH = 0,     /* fetch and deliver */
    RETRIEVE_STATUS,        /* -s: count and size of mails, how many new */
    RETRIEVE_AUTH           /* -A: authenticate and quit */
};

/* Why a mail is skipped or deleted without being retrieved. */
enum retrieve_reason {
    RETRIEVE_REASON_KILLSIZE,
    RETRIEVE_REASON_SKIPSIZE,
    RETRIEVE_REASON_FILTER
};

struct retrieve_status {
    const char *host;       /* as configured */
    const char *user;
    unsigned long nmsgs;    /* on the server */
    unsigned long long total;
    unsigned long nnew;     /* not in the UIDLs list (all without UIDL) */
    unsigned long long newsize;
};

/* What became of one mail, for the log (issue 9). */
enum retrieve_outcome {
    RETRIEVE_DELIVERED,     /* delivered (and deleted, see below) */
    RETRIEVE_SKIPPED,       /* left on the server: seen before, skipsize,
                               kept, or not reached because of an error */
    RETRIEVE_DELETED,       /* an old mail deleted without fetching */
    RETRIEVE_KILLED,        /* killsize */
    RETRIEVE_FILTERED       /* the filter said skip or delete */
};

struct retrieve_mail_log {
    unsigned long msn;
    const char *uid;        /* NULL when the server has no UIDL */
    long long size;         /* the server's size */
    enum retrieve_outcome outcome;
    bool deleted;           /* DELE sent and the session ended with QUIT */
};

/* Callbacks; each may be NULL.  msn is 1-based, n the number of mails. */
struct retrieve_events {
    void *ctx;
    /* After the listing (fetch and -s). */
    void (*status)(void *ctx, const struct retrieve_status *st);
    /* A mail is skipped (deleted false) or deleted unretrieved.  keep is
     * true when a deletion was turned into a skip by `keep`. */
    void (*decision)(void *ctx, unsigned long msn, unsigned long n,
                     enum retrieve_reason reason, bool deleted, bool keep);
    /* A mail transfer starts, progresses (done bytes of size; size may be
     * -1) and ends (ok false: aborted). */
    void (*mail_begin)(void *ctx, unsigned long msn, unsigned long n,
                       long long size);
    void (*mail_progress)(void *ctx, long long done, long long size);
    void (*mail_end)(void *ctx, bool ok);
    /* For --log and --summary (issue 9): after a fetch, once per mail on
     * the server, in order, whatever the outcome of the session. */
    void (*mail_done)(void *ctx, const struct retrieve_mail_log *ml);
};

/* Runs action for account a (checked with account_check()).  Returns 0,
 * or -1 with e filled: session errors (see session.h), MP_EUNAVAIL when
 * the server has no UIDL and only_new is on, delivery errors (deliver.h;
 * ENOSPC and EDQUOT are MP_EIO), MP_EFILTER, UIDLs file errors (uidls.h),
 * MP_ESIGNAL when transport_interrupted was set.  Whatever the error, no
 * mail that was not durably delivered has been deleted, and every mail
 * delivered is recorded in the UIDLs file (unless saving it failed, which
 * is then the error reported). */
int retrieve_account(const struct account *a, enum retrieve_action action,
                     const struct retrieve_events *ev, struct mp_err *e);

#endif
