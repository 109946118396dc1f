/* --log and --summary=json (issue 9): what happened to each mail and each
 * account, for logs, notification hooks and monitoring.  Neither changes
 * the normal output.
 *
 * Log lines are key=value words (values with blanks, quotes or control
 * characters are quoted, bytes escaped as log_quote() does):
 *   account=ID uid=UID size=N action=delivered deleted=yes where=mbox:PATH
 *   account=ID host=H user=U mails=N delivered=N skipped=N deleted=N
 *       killed=N filtered=N bytes=N exit=N duration=S.sss
 * to syslog (facility mail, ident "mpop") or appended to a file, each line
 * with one write(2) so that parallel accounts (-j) never mix lines; in a
 * file each line starts with an ISO 8601 time and "mpop[PID]: ". */
#ifndef MPOP_RUNLOG_H
#define MPOP_RUNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "account.h"
#include "buf.h"
#include "err.h"
#include "logfile.h"
#include "retrieve.h"

/* One account's facts, for its log line and its JSON object. */
struct runlog_account {
    struct logfile *log;     /* borrowed; NULL: no log lines */
    char *id, *host, *user;
    char *where;            /* "maildir:PATH" ..., NULL without delivery */
    unsigned long mails, delivered, skipped, deleted, killed, filtered;
    unsigned long long bytes;   /* sizes of the delivered mails */
    long long start;        /* monotime_ms() */
    int exitcode;
    double duration;
    bool keep_mails;        /* remember each mail for the JSON object
                             * (runlog_account_begin() sets it; clear it
                             * when no JSON will be asked for) */
    struct buf json_mails;  /* each mail's facts (runlog.c's records), made
                             * into JSON by runlog_account_json() only */
};

/* Starts an account (the clock too).  log may be NULL. */
void runlog_account_begin(struct runlog_account *ra, struct logfile *log,
                          const struct account *a);
/* One mail (a retrieve_events.mail_done report): counts it, writes its log
 * line, remembers it for the JSON object. */
void runlog_mail(struct runlog_account *ra,
                 const struct retrieve_mail_log *ml);
/* The account is done with exitcode: writes its log line (when log was
 * given and is active). */
void runlog_account_end(struct runlog_account *ra, int exitcode);
/* The account's JSON object (UTF-8; invalid bytes become U+FFFD), a new
 * string the caller frees. */
char *runlog_account_json(const struct runlog_account *ra);
void runlog_account_clear(struct runlog_account *ra);

/* Appends s to b as a JSON string literal (with the quotes). */
void runlog_json_string(struct buf *b, const char *s);

/* The action word of an outcome: "delivered", "skipped", ... */
const char *runlog_outcome_name(enum retrieve_outcome o);

#endif
