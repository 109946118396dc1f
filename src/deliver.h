/* Delivery of one mail at a time to a destination, streamed: open, write
 * chunks, then commit or abort.  Backends: "mda", "maildir", "mbox",
 * "exchange", each in deliver_<name>.c behind struct deliver_ops.  This is
 * the callers' API; deliver_backend.h is for those who write a backend.
 *
 * Bytes in: the mail as the POP3 decoder hands it (dot-unstuffed), with
 * CRLF or bare LF line ends, in chunks split anywhere (even inside a CRLF
 * or a "From " prefix).  Bytes out (verified against mpop 1.4.18):
 *   - mda, maildir, mbox: LF line ends (CRLF becomes LF; a lone CR stays);
 *   - exchange: CRLF line ends (the pickup service wants RFC 5322 files);
 *   - every backend ends the mail with a line end if it lacked one;
 *   - mbox adds the "From SENDER DATE" line before and one empty line after
 *     each mail, and quotes body lines matching ^>*From  with one more '>'
 *     (MBOXRD);
 *   - the Received header, when given in info->received, comes first.
 *
 * Lifecycle and guarantees:
 *   deliver_new()              one destination (a maildir, a command ...)
 *   { deliver_open() deliver_write()* (deliver_commit() | deliver_abort()) }*
 *   deliver_sync()             when commits were deferred
 *   deliver_free()
 * commit is the only moment a mail becomes delivered.  After abort nothing a
 * user could see remains: maildir and exchange unlink their temporary file,
 * mbox truncates the file back to its old length, mda drops its spool (the
 * MDA is started only at commit, with the whole mail: deliver_mda.c).
 * After a failed write or commit, call deliver_abort().
 *
 * Durability: deliver_commit(d, 0, e) returns once the mail is on stable
 * storage (maildir: fsync of the file, link into new/, fsync of new/; mbox:
 * fsync).  With DELIVER_COMMIT_DEFER it returns once the mail is complete
 * and visible but maybe only in the page cache; one deliver_sync() later
 * makes every deferred mail durable at once (syncfs() on Linux, one fsync
 * per file elsewhere) - one sync point per session or batch instead of one
 * fsync per mail.  The caller must not let the server delete (QUIT after
 * DELE) any mail committed with DEFER before deliver_sync() returned 0.
 * The mda backend cannot promise anything: its durability is the
 * command's; deliver_sync() is a no-op there.  Its commit waits for the
 * command; after a signal (transport_interrupted) at most a bounded time,
 * then it stops it and fails with MP_ESIGNAL.
 *
 * Errors: MP_ECANTCREAT (maildir missing, mbox not creatable), MP_EIO
 * (write, fsync, ENOSPC, EDQUOT: the message names the file), MP_ETEMP
 * (mbox lock timeout), MP_EDELIVERY (the mda command failed: its exit
 * status is quoted), MP_EOS (fork, pipe). */
#ifndef MPOP_DELIVER_H
#define MPOP_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "envelope.h"
#include "err.h"

enum deliver_flags {
    /* open() uses info->envelope_from, so the caller must read the header
     * block before opening.  For mda only if the command contains %F: ask
     * deliver_needs_from(). */
    DELIVER_WANTS_FROM = 1 << 0,
    DELIVER_MBOXRD = 1 << 1,    /* the backend quotes ^>*From  lines */
    DELIVER_CRLF = 1 << 2,      /* it writes CRLF; otherwise LF */
    /* It calls info->announce (when set) with its token before the mail
     * first touches the destination, so the caller need not record the
     * token right after open(); see "crash recovery" below. */
    DELIVER_ANNOUNCES = 1 << 3
};

enum deliver_commit_flags {
    DELIVER_COMMIT_DEFER = 1 << 0   /* see "Durability" above */
};

struct deliver_msg_info {
    const char *envelope_from;  /* sanitised (envelope_from()); NULL means
                                   "MAILER-DAEMON" */
    const char *received;       /* NULL, or the Received header with LF
                                   line ends and a final LF
                                   (envelope_received()) */
    long long size;             /* the server's size, -1 if unknown */
    time_t now;                 /* for the From_ line; 0: time(NULL) */
    /* NULL, or called by a DELIVER_ANNOUNCES backend with the current
     * token (deliver_token()) before it first touches the destination for
     * this mail (and again if it has to take another name); a failure
     * aborts the mail.  The pointers are copied at open(). */
    int (*announce)(void *arg, const char *token, struct mp_err *e);
    void *announce_arg;
};

struct deliver_ops;      /* a backend: deliver_backend.h */

/* The backend called name ("mda", "maildir", "mbox", "exchange"), or
 * NULL. */
const struct deliver_ops *deliver_lookup(const char *name);

/* One destination.  Opaque; the wrapper checks the call order. */
struct deliver;

/* Errors as create() above; *d_r is NULL on failure. */
int deliver_new(const struct deliver_ops *ops, const char *arg,
                struct deliver **d_r, struct mp_err *e);
/* Whether open() needs info->envelope_from for this destination. */
bool deliver_needs_from(const struct deliver *d);
/* The backend's enum deliver_flags. */
unsigned deliver_flags(const struct deliver *d);
int deliver_open(struct deliver *d, const struct deliver_msg_info *info,
                 struct mp_err *e);
int deliver_write(struct deliver *d, const char *p, size_t n,
                  struct mp_err *e);
/* cflags: 0 or DELIVER_COMMIT_DEFER.  On failure the mail is not
 * delivered; call deliver_abort() to clean up. */
int deliver_commit(struct deliver *d, unsigned cflags, struct mp_err *e);
/* Optional, between the last deliver_write() and deliver_commit(): the
 * mail's bytes are complete (and, without DELIVER_COMMIT_DEFER, synced) but
 * not yet published; deliver_token() now names the finished mail.  Pass
 * the same cflags to deliver_commit().  On failure call deliver_abort(). */
int deliver_finish(struct deliver *d, unsigned cflags, struct mp_err *e);
/* NULL-safe; a no-op when no mail is open. */
void deliver_abort(struct deliver *d);

/* ---- crash recovery ----------------------------------------------------
 * deliver_token(): a short printable name (no spaces, at most 255 bytes)
 * for the mail in progress, valid from deliver_open() until the next
 * deliver_open() or deliver_free(); NULL when the backend has none (mda).
 * It changes once, at deliver_finish(), to also name the finished mail's
 * extent.  The caller writes it to its journal BEFORE deliver_commit()
 * (and before the first byte is written, right after deliver_open(), or,
 * for a DELIVER_ANNOUNCES backend, in info->announce), so that after a
 * SIGKILL at any instant, deliver_check() can tell from the destination
 * alone whether that delivery happened, and undo a fragment.  A
 * DELIVER_ANNOUNCES backend touches the destination only once it holds a
 * whole buffer or the whole mail: a mail that fits its buffer is announced
 * once, with its final token, and the caller need not record that token
 * again after deliver_finish() (one journal record per mail):
 *   maildir   "md/NAME" then "md/NAME/SIZE": the mail is published as
 *             exactly new/NAME (never another name); delivered when
 *             new/NAME (SIZE bytes) or cur/NAME:... exists; otherwise
 *             tmp/NAME is removed;
 *   exchange  "ex/NAME" then "ex/NAME/SIZE", NAME the final *.eml name;
 *             its temporary file is NAME.tmp;
 *   mbox      "mb/DEV/INO/OLD" then "mb/DEV/INO/OLD/END": the file's
 *             identity, its length before the mail, and after it (the
 *             blank separator line included).  See deliver_mbox.c for the
 *             rule that decides and truncates.
 * deliver_check(d, token, &done, e): *done is true when that delivery is
 * complete in this destination.  A token of another backend or destination
 * gives false and touches nothing.  Errors: MP_EIO, MP_ETEMP (mbox lock),
 * MP_EDATA (an mbox fragment that cannot be removed safely: the message
 * says what to do).  Call it before the first deliver_open(). */
/* Room for a token and its NUL (tokens are at most 255 bytes). */
#define DELIVER_TOKEN_SZ 256
const char *deliver_token(const struct deliver *d);
int deliver_check(struct deliver *d, const char *token, bool *done_r,
                  struct mp_err *e);
/* Makes every mail committed with DELIVER_COMMIT_DEFER durable.  Call it
 * between mails (not while one is open). */
int deliver_sync(struct deliver *d, struct mp_err *e);
/* Aborts an open mail, then frees.  NULL-safe; sets *dp to NULL.  Mails
 * committed with DEFER and not synced stay delivered but not durable. */
void deliver_free(struct deliver **dp);

/* ---- the delivery stream ---------------------------------------------
 * The one sequence every front end (retrieval, --mda, --movemail) uses to
 * deliver a mail that arrives in chunks: hold the header block when the
 * destination needs the envelope sender (deliver_needs_from()) or the
 * caller wants to see the header first (a filter), find the sender, open
 * the destination, write what was held, stream the rest, then finish and
 * commit, or abort.  At most DELIVER_HEADER_MAX bytes are held: a longer
 * header block is searched only in its first part (the envelope sender is
 * near the top anyway), so memory stays flat whatever the mail size. */
#define DELIVER_HEADER_MAX (256 * 1024)

/* What the caller adds to the sequence; every member may be NULL.  Each
 * hook returning int returns 0, or -1 with e set (the mail is aborted). */
struct deliver_stream_hooks {
    /* The header block is at hand (hdr[0..len), maybe cut at
     * DELIVER_HEADER_MAX; all of a mail shorter than its header block):
     * fill in info (received, announce ...; envelope_from when it is not
     * the header's), or return 1 to drop this mail unopened. */
    int (*ready)(void *arg, const char *hdr, size_t len,
                 struct deliver_msg_info *info, struct mp_err *e);
    int (*opened)(void *arg, struct mp_err *e);   /* after deliver_open() */
    void (*wrote)(void *arg);       /* after each deliver_write() */
    /* After deliver_finish(), before deliver_commit(). */
    int (*finished)(void *arg, struct mp_err *e);
    void *arg;
};

struct deliver_stream {
    struct deliver *d;                      /* borrowed */
    const struct deliver_stream_hooks *h;   /* borrowed; NULL: none */
    struct buf hdr;         /* the held header block */
    char from[ENVELOPE_FROM_MAX];   /* the envelope sender */
    bool hold;              /* still holding */
    bool opened;            /* deliver_open() done for this mail */
    bool dropped;           /* ready() said 1 */
    long long bytes;        /* bytes given to deliver_stream_data() */
    long long size;         /* the size given to deliver_stream_begin() */
};

/* d and h are borrowed for the stream's life. */
void deliver_stream_init(struct deliver_stream *s, struct deliver *d,
                         const struct deliver_stream_hooks *h);
/* Aborts an open mail and frees the held bytes.  NULL-safe. */
void deliver_stream_clear(struct deliver_stream *s);
/* Starts a mail of `size` bytes (-1: unknown, for info.size).  want_hdr:
 * the caller's ready() needs the header block even when the destination
 * does not.  Without either reason to hold, the destination is opened
 * now.  begin and end abort the mail themselves when they fail (a pop3
 * sink's abort follows only a failed data: pop3_client.h); after a failed
 * data call deliver_stream_abort(). */
int deliver_stream_begin(struct deliver_stream *s, bool want_hdr,
                         long long size, struct mp_err *e);
int deliver_stream_data(struct deliver_stream *s, const char *p, size_t n,
                        struct mp_err *e);
/* Completes the mail: opens the destination if the mail ended inside its
 * header block, finishes and commits it with cflags (deliver_commit()).
 * *dropped_r: ready() dropped it (nothing was delivered, 0 returned).  On
 * failure the mail is aborted already. */
int deliver_stream_end(struct deliver_stream *s, unsigned cflags,
                       bool *dropped_r, struct mp_err *e);
/* Nothing of the mail remains anywhere (deliver_abort()).  No-op when no
 * mail is open. */
void deliver_stream_abort(struct deliver_stream *s);

#endif
