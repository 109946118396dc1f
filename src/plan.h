/* The decision for one mail, as data: given the account's settings
 * (only_new, keep on/off/DURATION, killsize, skipsize, filter), the mail's
 * size, whether its UID was seen before and since when, and the time now,
 * plan_decide() says what to do and why.  Pure: it prints nothing, touches
 * no file and allocates nothing; the front end turns reasons into the
 * original's messages.
 *
 * Order (the original's): a mail already seen (only_new on) is not looked
 * at again, it is kept or deleted according to keep; otherwise the chain
 * killsize, skipsize, filter runs and the first match wins; a mail that
 * passes them all is retrieved.  A mail of exactly the limit's size
 * matches (size >= limit), as in the original mpop 1.4.18 (observed
 * 2026-11-24 against a scripted server), so `killsize 0` matches every
 * mail.
 *
 * keep: off deletes after delivery; on never deletes; DURATION deletes once
 * now - first_seen >= keep_seconds (a mail seen for the first time counts
 * as first seen now).  A mail "deleted" by killsize or by the filter under
 * keep (or before its duration is over) is marked as retrieved instead: so
 * `killsize 0` with `keep on` marks every mail as retrieved and deletes
 * none. */
#ifndef MPOP_PLAN_H
#define MPOP_PLAN_H

#include <stdbool.h>

#include "account.h"

enum plan_action {
    PLAN_RETRIEVE,      /* fetch and deliver; then DELE if delete_after */
    PLAN_FILTER,        /* fetch the headers, run the filter, then ask
                           plan_after_filter() */
    PLAN_SKIP,          /* leave it on the server, not marked as seen */
    PLAN_DELETE,        /* DELE without retrieving (killsize, filter 1) */
    PLAN_MARK,          /* would be deleted, but keep: mark as seen only */
    PLAN_DELETE_OLD,    /* retrieved in an earlier session: DELE it now */
    PLAN_IGNORE,        /* retrieved in an earlier session: leave it */
    PLAN_ABORT          /* filter error: stop this account, delete nothing */
};

enum plan_reason {
    REASON_NEW,         /* an ordinary mail to retrieve */
    REASON_SEEN,        /* retrieved before (only_new) */
    REASON_EXPIRED,     /* retrieved before, keep DURATION is over */
    REASON_KILLSIZE,
    REASON_SKIPSIZE,
    REASON_FILTER,      /* the filter decided (or must decide) */
    REASON_FILTER_ERROR /* the filter failed: exit >= 3 or a signal */
};

struct plan_mail {
    long long size;         /* as the server reported it (LIST) */
    bool seen;              /* its UID is in the UIDLs list */
    long long first_seen;   /* when it was first seen; ignored unless seen */
};

struct plan_decision {
    enum plan_action action;
    enum plan_reason reason;
    bool delete_after;      /* PLAN_RETRIEVE: DELE once delivered */
};

/* The decision for one mail at time `now` (seconds since the epoch). */
struct plan_decision plan_decide(const struct account *acc,
                                 const struct plan_mail *m, long long now);

/* The filter's exit status mapped to its verdict: 0 retrieve, 1 delete,
 * 2 skip, anything else (>= 3, negative for "killed by a signal") error. */
enum plan_filter_verdict {
    PLAN_FILTER_RETRIEVE = 0,
    PLAN_FILTER_DELETE = 1,
    PLAN_FILTER_SKIP = 2,
    PLAN_FILTER_ERROR = 3
};
enum plan_filter_verdict plan_filter_map(int exit_status);

/* The decision for a mail that got PLAN_FILTER, once the filter said v:
 * RETRIEVE (with delete_after as for any mail), DELETE or MARK (as for
 * killsize), SKIP, or ABORT. */
struct plan_decision plan_after_filter(const struct account *acc,
                                       const struct plan_mail *m,
                                       long long now,
                                       enum plan_filter_verdict v);

/* Whether the UID of a mail handled with this action is to be recorded as
 * seen once the action succeeded (RETRIEVE after its delivery committed,
 * DELETE, MARK, DELETE_OLD, IGNORE); SKIP, FILTER and ABORT record nothing. */
bool plan_marks_seen(enum plan_action a);

/* Whether the account needs the server's UIDs (UIDL): for only_new, and
 * for keep DURATION.  Without them, such an account is an error. */
bool plan_needs_uids(const struct account *acc);

/* Names for --debug output and tests ("retrieve", "killsize", ...). */
const char *plan_action_name(enum plan_action a);
const char *plan_reason_name(enum plan_reason r);

#endif
