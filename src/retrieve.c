/* One account end to end.
 *
 * THE INVARIANT (every change to this file must keep it):
 *   - A mail is DELE'd only after its delivery committed AND the UIDLs file
 *     that records it is on stable storage.  Deliveries are committed with
 *     DELIVER_COMMIT_DEFER and made durable by one deliver_sync() per batch
 *     (not one fsync per mail); only then are the batch's UIDs added to the
 *     list and the list saved (durable_commit), and only then are the
 *     batch's DELE commands queued.
 *   - The server applies deletions only at QUIT.  QUIT is sent only on the
 *     success path, after the last batch was synced and the UIDLs saved,
 *     in one write with the last DELEs (pipelined: the server answers them
 *     first).  Every error path before that write closes the connection
 *     WITHOUT QUIT, so the server deletes nothing of this session (mails
 *     delivered before the error are recorded in the UIDLs file and are
 *     deleted by a later run, as old mails, when keep allows); a DELE
 *     refused in that last write leaves its mail on the server while the
 *     others go, all of them durable here.
 *   - After the first delivery, every exit path syncs what was committed
 *     and saves the UIDLs (exit_save()).
 *   - A mail is never half delivered: the engine aborts the sink when the
 *     connection fails or a signal arrives mid-RETR, and deliver_abort()
 *     removes the temporary file, truncates the mbox back, or drops the
 *     MDA's spool (an MDA is started only with the whole mail at hand; a
 *     signal while it runs lets it finish, within a bound: deliver_mda.c).
 *
 * Order of a retrieval session:
 *   1. delivery destination created (before connecting: a missing maildir
 *      costs no connection);
 *   2. session: connect (and TLS with tls_starttls off); then the UIDLs
 *      file is opened, locked and read, and a journal replayed, while the
 *      server prepares its greeting; greeting, CAPA, authentication, STAT,
 *      LIST, UIDL;
 *   3. the plan: per mail only_new, keep, killsize, skipsize, then the
 *      filter, first match wins; the TOP commands of all filter candidates
 *      are pipelined before any filter runs; mails below a size threshold,
 *      or all when the server has no TOP, are fetched whole and filtered on
 *      their header locally (one transfer instead of two);
 *   4. batches of RETR, all queued at once: a batch's sync point (sync,
 *      UIDLs save, its DELEs queued) comes when its last mail is in, while
 *      the next batch's RETRs are already in flight, so the stream never
 *      stops for it (on a slow link each stop cost a round trip);
 *   5. the last batch's DELEs, DELE of old mails (keep off / keep DURATION
 *      expired) and of killsize/filter deletions, and QUIT, in one write.
 *
 * CRASH SAFETY (SIGKILL at any instant: exactly once for maildir, exchange
 * and mbox; at least once, never a fragment, for mda).
 *   Per mail, in this order: deliver_open(); a PENDING journal record with
 *   the backend's token (deliver.h: the maildir/exchange file name that
 *   will be published, or the mbox identity and length before the mail);
 *   the writes; deliver_finish() (all bytes written, not yet published);
 *   a second PENDING record whose token also names the finished extent
 *   (file size, mbox end offset); deliver_commit() (publish: link into
 *   new/, rename to *.eml, unlock the mbox).  A DELIVER_ANNOUNCES backend
 *   (maildir) writes nothing before it holds a full buffer or the whole
 *   mail, and asks for the first record (announce()) just before it
 *   creates its file; a mail that fits its buffer is announced once,
 *   with its final token (name and size), and that record stands for
 *   both: one record per mail.  An mda has no token: a
 *   DELIVERED record follows its commit, and a kill between the two
 *   delivers that mail again (at least once).
 *   The next run replays the journal (journal.h) before connecting: for
 *   each UID not yet in the UIDLs list, the LAST token recorded is handed
 *   to deliver_check(), which looks at the destination itself: the file
 *   exists with that size -> delivered (synced first, as the run that
 *   committed it may have died before its batch's sync, and the UID is
 *   added: the mail is DELE'd as an old one); otherwise the
 *   leftovers are removed (tmp file; the mbox truncated back to its old
 *   length under its lock, unless another program's mail follows, which
 *   is an error for the user to repair) and the mail is fetched again.
 *
 * Why the journal records need no fsync of their own (one sync point per
 * batch stays the only one):
 *   - After a SIGKILL the kernel keeps everything: every write(), link()
 *     and rename() that returned is seen by the next run.  A token is
 *     written before the step it announces (PENDING before the first byte;
 *     the finished token before publishing), so every delivery that can
 *     have happened is named, and the destination decides.  No record is
 *     trusted on its own word: a record without its delivery is harmless.
 *   - After a power loss, any subset of the unsynced writes may be lost,
 *     in any order.  A record that survived without its mail: the check
 *     finds no file, or a file of the wrong size (torn; it is removed), or
 *     an mbox shorter than END (truncated back) -> fetched again.  A mail
 *     that survived without its record: delivered again (a duplicate, never
 *     a loss).  Nothing is lost because the server deletes only after
 *     deliver_sync() made the batch durable and the UIDLs file (written
 *     with fsync and rename) records it; the journal is not needed once
 *     that file is saved.  (The size check relies on the file system
 *     writing a file's data before its new size, as ext4 data=ordered,
 *     xfs and btrfs do.)
 *   - Limits: a mail reader that moves a maildir mail out of new/ and cur/,
 *     or rewrites the mbox, between the crash and the next run, makes the
 *     check answer "not delivered" (a duplicate); an exchange pickup
 *     service that already took the file likewise.
 * The journal is per account (host and user) beside the UIDLs file, so an
 * account sharing the UIDLs file never judges another's tokens. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "deliver.h"
#include "envelope.h"
#include "filter.h"
#include "gettext.h"
#include "journal.h"
#include "plan.h"
#include "pop3_client.h"
#include "retrieve.h"
#include "session.h"
#include "uidls.h"
#include "xalloc.h"

/* Mails up to this size are fetched whole and filtered locally: one RETR
 * is cheaper than TOP plus RETR for them. */
#define LOCAL_FILTER_MAX (16 * 1024)
/* A batch ends after this many mails or bytes: the sync point of a batch
 * bounds what a power loss can make us fetch twice.  With many mails on
 * the server a batch is at least an eighth of them: each sync point saves
 * the whole UIDLs list, and batches of a fixed size would make a big
 * first fetch quadratic (100,000 mails: 390 saves of up to 100,000 UIDs). */
#define BATCH_MAILS 256
#define BATCH_SHARE 8
#define BATCH_BYTES (64LL * 1024 * 1024)

struct mail {
    const char *uid;        /* into r->uids, NULL without UIDL */
    long long size;
    long long first_seen;   /* from the list, or now */
    bool seen;              /* in the UIDLs list */
    bool fetch;             /* RETR it */
    bool filter;            /* the filter decides */
    bool filter_local;      /* ... on the header of the RETR'd mail */
    bool discard;           /* the local filter said no */
    bool mark;              /* add to the UIDLs list */
    bool dele;              /* DELE it (delivered ones once durable) */
    bool delete_after;      /* keep allows DELE once delivered */
    bool delivered;         /* committed, maybe not yet durable */
    bool durable;           /* synced and recorded */
    bool dele_sent;
    bool batch_end;         /* the sync point follows this mail's RETR */
    bool last;              /* the last RETR: its DELEs go with QUIT */
    int why;                /* issue 9 log: 1 + enum retrieve_reason */
    char *hdr;              /* TOP reply */
    size_t hdrlen;
};

struct retr {
    const struct account *a;
    const struct retrieve_events *ev;
    struct session ses;
    bool ses_open;
    struct deliver *d;
    struct deliver_stream_hooks hooks;
    struct uidls *u;
    struct uidls_list *list;
    char *jpath;            /* the journal beside the UIDLs file */
    struct journal *j;      /* opened at its first record */
    bool want_j;            /* a fetch: records go to the journal */
    bool dirty;             /* the list changed since it was read/saved */
    bool sync_failed;       /* deliver_sync() failed: what it was to make
                             * durable never counts in this run (a later
                             * fsync succeeding proves nothing, and mbox's
                             * had nothing left to sync) */
    long long now;
    unsigned long n;
    unsigned long long total;
    unsigned long long *sizes;
    char **uids;
    struct mail *m;
    char *local_user;
    char *local_host;
    char *received;         /* the Received header made at ... */
    time_t received_at;     /* ... this second: it changes with the clock
                             * only, so it is made once a second, not once
                             * per mail */

    /* The mail being received (replies come in order: one at a time). */
    unsigned long cur;      /* msn */
    char last_tok[DELIVER_TOKEN_SZ];    /* the mail's last token recorded */
    struct deliver_stream st;
    struct buf hdr;         /* a TOP reply */
    bool shown;             /* mail_begin was reported */
    bool ending;            /* in sink_end() */
    long long size;         /* the size sink_begin was given */
    long long done;

    /* RETRs enter the engine's queue a window ahead (feed()), so DELEs
     * queued at a sync point go out next, not behind every RETR. */
    struct pop3_sink sink;
    unsigned long feed_next;    /* index of the next mail to consider */
    unsigned long queued;       /* RETRs queued so far */
    unsigned long answered;     /* RETR replies handled */
};

/* Failpoints of the crash matrix (journal_failpoint()): after
 * deliver_open, after each journal record, after each deliver_write, after
 * deliver_finish, after each commit, after each deliver_sync, after each
 * UIDLs save, after queueing DELEs, before QUIT. */

static long long test_now(void)
{
    const char *s = getenv("MPOP_TEST_NOW");

    if (s && *s)
        return strtoll(s, NULL, 10);
    return (long long)time(NULL);
}

static struct plan_mail plan_mail_of(const struct mail *m)
{
    struct plan_mail pm;

    pm.size = m->size;
    pm.seen = m->seen;
    pm.first_seen = m->first_seen;
    return pm;
}

static enum retrieve_reason reason_of(enum plan_reason why)
{
    return why == REASON_KILLSIZE ? RETRIEVE_REASON_KILLSIZE
         : why == REASON_SKIPSIZE ? RETRIEVE_REASON_SKIPSIZE
         : RETRIEVE_REASON_FILTER;
}

/* Carries out plan.c's decision d for mail msn as far as it is made before
 * the transfer: a mail to retrieve (or to filter) is fetched, and deleted
 * once durable if d says so. */
static void apply(struct retr *r, unsigned long msn, struct plan_decision d)
{
    struct mail *m = &r->m[msn - 1];
    enum retrieve_reason why = reason_of(d.reason);

    switch (d.action) {
    case PLAN_IGNORE:
    case PLAN_DELETE_OLD:
        m->dele = d.action == PLAN_DELETE_OLD;
        return;
    case PLAN_RETRIEVE:
    case PLAN_FILTER:
        m->fetch = true;
        m->delete_after = d.delete_after;
        return;
    case PLAN_DELETE:
    case PLAN_MARK:
        m->mark = true;
        m->dele = d.action == PLAN_DELETE;
        break;
    case PLAN_SKIP:
    case PLAN_ABORT:    /* not made here: filter errors end the account */
    default:
        break;
    }
    m->fetch = false;
    m->why = (int)why + 1;
    if (r->ev->decision)
        r->ev->decision(r->ev->ctx, msn, r->n, why,
                        d.action == PLAN_DELETE, d.action == PLAN_MARK);
}

/* The filter said res for mail msn. */
static void apply_filter(struct retr *r, unsigned long msn,
                         enum filter_result res)
{
    struct plan_mail pm = plan_mail_of(&r->m[msn - 1]);

    apply(r, msn, plan_after_filter(r->a, &pm, r->now,
                                    plan_filter_map((int)res)));
}

static int run_filter(struct retr *r, unsigned long msn, const char *hdr,
                      size_t len, enum filter_result *res_r,
                      struct mp_err *e)
{
    char from[ENVELOPE_FROM_MAX];
    size_t hl = envelope_header_len(hdr, len);

    if (hl == 0)
        hl = len;
    envelope_from(hdr, hl, from, sizeof from);
    return filter_run(r->a->filter, from, r->m[msn - 1].size, hdr, hl,
                      res_r, e);
}

/* ---- the RETR sink -------------------------------------------------- */

/* A PENDING record naming the delivery in progress (see the top). */
/* The journal is created with its first record: a run that delivers
 * nothing (a rescan) costs no file and no directory sync. */
static int journal_ready(struct retr *r, struct mp_err *e)
{
    if (!r->j && r->want_j && journal_open(r->jpath, &r->j, e) < 0)
        return -1;
    return 0;
}

static int journal_record(struct retr *r, const struct mail *m,
                          const char *tok, struct mp_err *e)
{
    if (!r->want_j || !m->uid || !tok)
        return 0;
    /* Recorded already (a backend that announced its final token). */
    if (strcmp(tok, r->last_tok) == 0)
        return 0;
    if (journal_ready(r, e) < 0)
        return -1;
    if (journal_append(r->j, JOURNAL_PENDING, r->list->host, r->list->user,
                       m->uid, m->first_seen, tok, e) < 0)
        return -1;
    {
        size_t n = strlen(tok);

        if (n >= sizeof r->last_tok)    /* tokens are at most 255 bytes */
            n = 0;
        memcpy(r->last_tok, tok, n);
        r->last_tok[n] = '\0';
    }
    journal_failpoint();
    return 0;
}

static int journal_token(struct retr *r, const struct mail *m,
                         struct mp_err *e)
{
    return journal_record(r, m, deliver_token(r->d), e);
}

/* deliver_msg_info.announce: a DELIVER_ANNOUNCES backend is about to
 * touch the destination (see the top: the token comes first). */
static int announce(void *arg, const char *token, struct mp_err *e)
{
    struct retr *r = arg;

    return journal_record(r, &r->m[r->cur - 1], token, e);
}

/* ---- the delivery stream's hooks (deliver.h) ---- */

/* The "retrieving" line of the mail being received, once its delivery is
 * open: as in mpop 1.4.18, a mail the filter skips or deletes shows only
 * its decision line, and a delivery that cannot be opened only its error. */
static void show_begin(struct retr *r)
{
    if (r->shown)
        return;
    r->shown = true;
    if (r->ev->mail_begin)
        r->ev->mail_begin(r->ev->ctx, r->cur, r->n, r->size);
    if (r->done > 0 && r->ev->mail_progress)
        r->ev->mail_progress(r->ev->ctx, r->done, r->size);
}

/* Received whole: 100%, even if the delivery fails now. */
static void show_complete(struct retr *r)
{
    if (r->ev->mail_progress)
        r->ev->mail_progress(r->ev->ctx, r->size > 0 ? r->size : 1,
                             r->size > 0 ? r->size : 1);
}

/* The header block is at hand: the local filter if any, then what the
 * destination is told about the mail. */
static int st_ready(void *arg, const char *hdr, size_t len,
                    struct deliver_msg_info *info, struct mp_err *e)
{
    struct retr *r = arg;
    struct mail *m = &r->m[r->cur - 1];

    if (m->filter_local) {
        enum filter_result res;

        if (run_filter(r, r->cur, hdr, len, &res, e) < 0)
            return -1;
        apply_filter(r, r->cur, res);
        if (res != FILTER_RETRIEVE) {
            m->discard = true;
            return 1;
        }
    }
    if (r->a->received_header) {
        time_t now = time(NULL);

        if (!r->received || now != r->received_at) {
            struct envelope_received rcv;

            memset(&rcv, 0, sizeof rcv);
            rcv.server_host = r->a->host ? r->a->host : r->a->socket_name;
            rcv.server_name = r->ses.server_name[0] ? r->ses.server_name
                                                    : NULL;
            rcv.server_ip = r->ses.server_ip[0] ? r->ses.server_ip : NULL;
            rcv.local_host = r->local_host;
            rcv.user = r->local_user;
            rcv.now = now;
            free(r->received);
            r->received = envelope_received(&rcv);
            r->received_at = now;
        }
        info->received = r->received;
    }
    info->announce = announce;
    info->announce_arg = r;
    r->last_tok[0] = '\0';
    return 0;
}

static int st_opened(void *arg, struct mp_err *e)
{
    struct retr *r = arg;

    show_begin(r);
    if (r->ending)
        show_complete(r);
    journal_failpoint();
    /* A DELIVER_ANNOUNCES backend records its token itself (announce()),
     * before its first byte reaches the destination. */
    if (!(deliver_flags(r->d) & DELIVER_ANNOUNCES)
        && journal_token(r, &r->m[r->cur - 1], e) < 0)
        return -1;
    return 0;
}

static void st_wrote(void *arg)
{
    (void)arg;
    journal_failpoint();
}

static int st_finished(void *arg, struct mp_err *e)
{
    struct retr *r = arg;

    journal_failpoint();
    return journal_token(r, &r->m[r->cur - 1], e);
}

/* ---- the RETR sink ---- */

static int sink_begin(void *ctx, unsigned long msn, long long size,
                      struct mp_err *e)
{
    struct retr *r = ctx;
    struct mail *m = &r->m[msn - 1];

    r->cur = msn;
    r->done = 0;
    r->shown = false;
    r->ending = false;
    r->size = size;
    m->discard = false;
    return deliver_stream_begin(&r->st, m->filter_local, m->size, e);
}

static int sink_data(void *ctx, const char *p, size_t n, struct mp_err *e)
{
    struct retr *r = ctx;

    r->done += (long long)n;
    /* 100% only once the mail is complete (our count has LF line ends,
     * the server's size CRLF). */
    if (r->shown && r->ev->mail_progress)
        r->ev->mail_progress(r->ev->ctx, r->size > 0 && r->done >= r->size
                             ? r->size - 1 : r->done, r->size);
    return deliver_stream_data(&r->st, p, n, e);
}

static int sink_end(void *ctx, struct mp_err *e)
{
    struct retr *r = ctx;
    struct mail *m = &r->m[r->cur - 1];
    bool dropped;

    r->ending = true;
    if (r->shown)
        show_complete(r);
    if (deliver_stream_end(&r->st, DELIVER_COMMIT_DEFER, &dropped, e) < 0)
        return -1;
    if (!dropped) {
        m->delivered = true;
        journal_failpoint();
        /* Without a token (mda) the delivery counts from this record on,
         * even if we are killed before the batch's UIDLs save. */
        if (!deliver_token(r->d) && r->want_j && m->uid) {
            if (journal_ready(r, e) < 0
                || journal_append(r->j, JOURNAL_DELIVERED, r->list->host,
                               r->list->user, m->uid, m->first_seen, NULL,
                               e) < 0)
                return -1;
            journal_failpoint();
        }
    }
    if (r->shown && r->ev->mail_end)
        r->ev->mail_end(r->ev->ctx, true);
    r->shown = false;
    return 0;
}

static void sink_abort(void *ctx)
{
    struct retr *r = ctx;

    deliver_stream_abort(&r->st);
    if (r->shown && r->ev->mail_end)
        r->ev->mail_end(r->ev->ctx, false);
    r->shown = false;
}

/* ---- the TOP sink: keep the header block ------------------------------ */

static int top_begin(void *ctx, unsigned long msn, long long size,
                     struct mp_err *e)
{
    struct retr *r = ctx;

    r->cur = msn;
    buf_reset(&r->hdr);
    return 0;
}

static int top_data(void *ctx, const char *p, size_t n, struct mp_err *e)
{
    struct retr *r = ctx;
    size_t room = DELIVER_HEADER_MAX - r->hdr.len;

    buf_append(&r->hdr, p, n < room ? n : room);
    return 0;
}

static int top_end(void *ctx, struct mp_err *e)
{
    struct retr *r = ctx;
    struct mail *m = &r->m[r->cur - 1];

    free(m->hdr);
    m->hdrlen = r->hdr.len;
    m->hdr = xmalloc(r->hdr.len + 1);
    if (r->hdr.len)
        memcpy(m->hdr, r->hdr.data, r->hdr.len);
    m->hdr[r->hdr.len] = '\0';
    return 0;
}

static void top_abort(void *ctx)
{
    (void)ctx;
}

static int sync_and_save(struct retr *r, struct mp_err *e);
static bool queue_deles(struct retr *r, bool final);
static void feed(struct retr *r);

static int on_reply(void *ctx, const struct pop3_job *job,
                    const struct pop3_status *st, struct mp_err *e)
{
    struct retr *r = ctx;

    if (st->kind == POP3_OK) {
        const struct mail *m = &r->m[job->msn - 1];

        /* A batch is in: its sync point, while the next batch streams.
         * Its DELEs are queued before more RETRs, so they travel with
         * the stream; the last batch's wait for QUIT (retrieve_account). */
        if (job->cmd != POP3_CMD_RETR)
            return 0;
        r->answered++;
        if (m->batch_end) {
            if (sync_and_save(r, e) < 0)
                return -1;
            if (!m->last)
                queue_deles(r, false);
        }
        feed(r);
        return 0;
    }
    switch (job->cmd) {
    case POP3_CMD_TOP:
        /* Some servers list TOP and refuse it for some mails: filter
         * that mail on its whole text instead. */
        r->m[job->msn - 1].filter_local = true;
        r->m[job->msn - 1].fetch = true;
        return 0;
    case POP3_CMD_RETR:
        pop3_status_error(r->ses.pop3, st, MP_EPROTO, e,
                          _("the POP3 server cannot send message %lu"),
                          job->msn);
        /* EX_PROTOCOL as in mpop 1.4.18, except for the temporary codes:
         * try again later (see the manual, "Switching"). */
        if (e->kind != MP_ETEMP)
            e->kind = MP_EPROTO;
        return -1;
    default:
        return pop3_status_error(r->ses.pop3, st, MP_EUNAVAIL, e,
                                 _("the POP3 server cannot delete message "
                                   "%lu"), job->msn);
    }
}

/* ---- UIDLs ------------------------------------------------------------ */

/* Records every mail marked so far and saves the file durably. */
static int save_uids(struct retr *r, struct mp_err *e)
{
    unsigned long i;

    if (!r->u || !r->list)
        return 0;
    for (i = 0; i < r->n; i++) {
        struct mail *m = &r->m[i];

        if (!m->mark || !m->uid || m->seen)
            continue;
        if (uidls_add(r->list, m->uid, r->now, e) < 0)
            return -1;
        m->seen = true;
        r->dirty = true;
    }
    if (!r->dirty)
        return 0;
    if (uidls_save(r->u, e) < 0)
        return -1;
    r->dirty = false;
    journal_failpoint();
    return 0;
}

/* Makes every committed delivery durable, then records it. */
static int sync_and_save(struct retr *r, struct mp_err *e)
{
    unsigned long i;
    bool any = false;

    for (i = 0; i < r->n; i++)
        if (r->m[i].delivered && !r->m[i].durable)
            any = true;
    if (any && !r->sync_failed) {
        if (deliver_sync(r->d, e) < 0) {
            r->sync_failed = true;
            return -1;
        }
        journal_failpoint();
        for (i = 0; i < r->n; i++) {
            struct mail *m = &r->m[i];

            if (m->delivered && !m->durable) {
                m->durable = true;
                m->mark = true;
                m->dele = m->delete_after;
            }
        }
    }
    return save_uids(r, e);
}

/* The error path: whatever happened, what was delivered is synced and
 * recorded.  The first error (in e) stays the one reported; a failure
 * here replaces it only when the first was not about local files.  After
 * a failed sync the mails it was for are neither recorded nor left in the
 * journal (whose replay would count them): the next run fetches them
 * again, a duplicate rather than a loss. */
static void exit_save(struct retr *r, struct mp_err *e)
{
    struct mp_err e2;

    err_init(&e2);
    if (sync_and_save(r, &e2) < 0) {
        if (e->kind == MP_EOK)
            *e = e2;
        return;     /* the journal still holds what was delivered */
    }
    journal_close(&r->j);
    /* No jpath: the session failed before the UIDLs file was opened.  No
     * list: it failed before the replay of an old journal was done (the
     * mbox locked, a check that failed), and that journal must wait for
     * the next run: it may name a fragment still to cut out. */
    if (r->want_j && r->jpath && r->list)
        journal_remove(r->jpath, &e2);
}

/* Queues DELE for every mail that may go now: delivered ones only once
 * durable (and recorded), the others (old mails, killsize, filter) when
 * final is true. */
static bool queue_deles(struct retr *r, bool final)
{
    unsigned long i;
    bool any = false;

    for (i = 0; i < r->n; i++) {
        struct mail *m = &r->m[i];
        struct pop3_job job;

        if (!m->dele || m->dele_sent)
            continue;
        if (m->delivered ? !m->durable : !final)
            continue;
        if (m->fetch && !m->delivered)
            continue;
        memset(&job, 0, sizeof job);
        job.cmd = POP3_CMD_DELE;
        job.msn = i + 1;
        job.size = -1;
        pop3_queue(r->ses.pop3, &job);
        m->dele_sent = true;
        any = true;
    }
    if (any)
        journal_failpoint();
    return any;
}

static int open_delivery(struct retr *r, struct mp_err *e)
{
    const char *name = account_delivery_name(r->a->delivery);
    const struct deliver_ops *ops = name ? deliver_lookup(name) : NULL;

    if (!ops)
        return err_set(e, MP_ECONFIG, _("account %s: no delivery "
                                        "information"), r->a->id);
    static const struct deliver_stream_hooks hooks = {
        .ready = st_ready, .opened = st_opened, .wrote = st_wrote,
        .finished = st_finished,
    };

    if (deliver_new(ops, r->a->delivery_args, &r->d, e) < 0)
        return -1;
    r->hooks = hooks;
    r->hooks.arg = r;
    deliver_stream_init(&r->st, r->d, &r->hooks);
    return 0;
}

/* journal_pending_fn: the destination decides (see the top). */
static int replay_check(void *ctx, const char *host, const char *user,
                        const char *uid, const char *token, bool *done_r,
                        struct mp_err *e)
{
    struct retr *r = ctx;

    (void)host;
    (void)user;
    (void)uid;
    return deliver_check(r->d, token, done_r, e);
}

static int open_uidls(struct retr *r, struct mp_err *e)
{
    const char *host = r->a->host ? r->a->host : r->a->socket_name;
    const char *user = r->a->user ? r->a->user : "";
    char *path;
    size_t nev = 0;
    int rc;

    if (uidls_check_names(host, user, e) < 0)
        return -1;
    path = account_uidls_path(r->a);
    rc = uidls_open(path, r->now, &r->u, e);
    r->jpath = journal_path_account(path, host, user);
    free(path);
    if (rc < 0)
        return -1;
    if (r->a->keep == KEEP_DURATION)
        r->u->format = UIDLS_FORMAT_TIMES;
    /* A journal left by a killed run: its deliveries count, once the
     * destination confirmed them.  Only a fetch (which has the destination
     * at hand) resolves it; otherwise it waits for the next fetch. */
    if (r->d && journal_replay(r->jpath, r->u, replay_check, r, &nev,
                               e) < 0)
        return -1;
    if (nev > 0) {
        if (uidls_save(r->u, e) < 0 || journal_remove(r->jpath, e) < 0)
            return -1;
    }
    r->list = uidls_get(r->u, host, user, true);
    return 0;
}

static int open_uidls_cb(void *ctx, struct mp_err *e)
{
    return open_uidls(ctx, e);
}

/* STAT, LIST, UIDL, and what is new. */
static int list_mails(struct retr *r, struct mp_err *e)
{
    struct retrieve_status st;
    unsigned long i;
    int rc;

    /* STAT, LIST and UIDL in one round trip when pipelining. */
    rc = pop3_listing(r->ses.pop3, true, &r->n, &r->total, &r->sizes,
                      &r->uids, e);
    if (rc < 0) {
        r->n = 0;   /* the error paths walk r->m[0 .. r->n) */
        return -1;
    }
    r->m = xcalloc(r->n ? r->n : 1, sizeof *r->m);
    if (r->n > 0 && !r->uids && r->a->only_new)
        return err_set(e, MP_EUNAVAIL,
                       _("the POP3 server does not support UIDL, which "
                         "only_new needs; set only_new off to fetch every "
                         "mail"));
    memset(&st, 0, sizeof st);
    for (i = 0; i < r->n; i++) {
        struct mail *m = &r->m[i];
        const struct uidls_entry *ent;

        m->size = (long long)r->sizes[i];
        m->first_seen = r->now;
        if (r->uids) {
            m->uid = r->uids[i];
            ent = r->list ? uidls_find(r->list, m->uid) : NULL;
            if (ent) {
                m->seen = true;
                m->first_seen = ent->first_seen;
            }
        }
        if (!m->seen) {
            st.nnew++;
            st.newsize += (unsigned long long)m->size;
        }
    }
    /* Forget the UIDs of mails that are gone from the server. */
    if (r->uids && r->list) {
        size_t before = uidls_count(r->list);

        uidls_retain(r->list, (const char *const *)r->uids, r->n);
        if (uidls_count(r->list) != before)
            r->dirty = true;
    }
    st.host = r->a->host ? r->a->host : r->a->socket_name;
    st.user = r->a->user ? r->a->user : "";
    st.nmsgs = r->n;
    st.total = r->total;
    if (r->ev->status)
        r->ev->status(r->ev->ctx, &st);
    return 0;
}

/* The chain (plan.c): only_new, keep, killsize, skipsize, filter. */
static void plan(struct retr *r, bool have_top)
{
    unsigned long i;

    for (i = 0; i < r->n; i++) {
        struct mail *m = &r->m[i];
        struct plan_mail pm = plan_mail_of(m);
        struct plan_decision d = plan_decide(r->a, &pm, r->now);

        apply(r, i + 1, d);
        if (d.action == PLAN_FILTER) {
            m->filter = true;
            m->filter_local = !have_top || m->size <= LOCAL_FILTER_MAX;
        }
    }
}

/* TOP n 0 for every filter candidate (pipelined), then the filters. */
static int run_filters(struct retr *r, struct mp_err *e)
{
    struct pop3_sink sink = { r, top_begin, top_data, top_end, top_abort };
    unsigned long i;
    bool any = false;

    for (i = 0; i < r->n; i++) {
        struct mail *m = &r->m[i];
        struct pop3_job job;

        if (!m->filter || m->filter_local)
            continue;
        memset(&job, 0, sizeof job);
        job.cmd = POP3_CMD_TOP;
        job.msn = i + 1;
        job.size = m->size;
        job.sink = &sink;
        pop3_queue(r->ses.pop3, &job);
        any = true;
    }
    if (!any)
        return 0;
    if (pop3_run(r->ses.pop3, on_reply, r, e) < 0)
        return -1;
    for (i = 0; i < r->n; i++) {
        struct mail *m = &r->m[i];
        enum filter_result res;

        if (!m->filter || m->filter_local || !m->hdr)
            continue;
        if (run_filter(r, i + 1, m->hdr, m->hdrlen, &res, e) < 0)
            return -1;
        apply_filter(r, i + 1, res);
        free(m->hdr);
        m->hdr = NULL;
    }
    return 0;
}

/* RETRs in the engine's queue or in flight: more than the pipelining
 * window holds (POP3_WINDOW_BYTES: about 370 RETRs), so the window never
 * runs dry, yet few enough that a DELE queued at a sync point is sent
 * soon, and that 100,000 mails do not make 100,000 queued jobs. */
#define FEED_AHEAD 512

/* Tops up the engine's queue with the next RETRs (from on_reply() too). */
static void feed(struct retr *r)
{
    while (r->feed_next < r->n && r->queued - r->answered < FEED_AHEAD) {
        struct mail *m = &r->m[r->feed_next++];
        struct pop3_job job;

        if (!m->fetch)
            continue;
        memset(&job, 0, sizeof job);
        job.cmd = POP3_CMD_RETR;
        job.msn = r->feed_next;
        job.size = m->size;
        job.sink = &r->sink;
        pop3_queue(r->ses.pop3, &job);
        r->queued++;
    }
}

/* The RETRs in batches, each made durable and recorded before its DELEs
 * (on_reply() does that when a batch's last mail is in), all in one run
 * of the engine: the stream never stops for a sync point. */
static int fetch_all(struct retr *r, struct mp_err *e)
{
    static const struct pop3_sink sink = { NULL, sink_begin, sink_data,
                                           sink_end, sink_abort };
    unsigned long i, count = 0, last = 0, max = BATCH_MAILS;
    long long bytes = 0;
    bool any = false;

    if (r->n / BATCH_SHARE > max)
        max = r->n / BATCH_SHARE;
    for (i = 0; i < r->n; i++) {
        struct mail *m = &r->m[i];

        if (!m->fetch)
            continue;
        any = true;
        last = i;
        if (++count >= max || (bytes += m->size) >= BATCH_BYTES) {
            m->batch_end = true;
            count = 0;
            bytes = 0;
        }
    }
    if (!any)
        return 0;
    r->m[last].batch_end = true;
    r->m[last].last = true;
    r->sink = sink;
    r->sink.ctx = r;
    r->feed_next = 0;
    feed(r);
    return pop3_run(r->ses.pop3, on_reply, r, e);
}

/* ---- issue 9: the per-mail log hook ----------------------------------
 * Only reports; changes nothing.  quit: the session ended with QUIT, so
 * the DELEs sent took effect. */
static void report_mails(struct retr *r, bool quit)
{
    unsigned long i;

    if (!r->ev->mail_done || !r->m)
        return;
    for (i = 0; i < r->n; i++) {
        const struct mail *m = &r->m[i];
        struct retrieve_mail_log ml;

        memset(&ml, 0, sizeof ml);
        ml.msn = i + 1;
        ml.uid = m->uid;
        ml.size = m->size;
        ml.deleted = quit && m->dele_sent;
        if (m->delivered)
            ml.outcome = RETRIEVE_DELIVERED;
        else if (m->why == (int)RETRIEVE_REASON_KILLSIZE + 1)
            ml.outcome = RETRIEVE_KILLED;
        else if (m->why == (int)RETRIEVE_REASON_FILTER + 1)
            ml.outcome = RETRIEVE_FILTERED;
        else if (ml.deleted)
            ml.outcome = RETRIEVE_DELETED;
        else
            ml.outcome = RETRIEVE_SKIPPED;
        r->ev->mail_done(r->ev->ctx, &ml);
    }
}

static void retr_clear(struct retr *r)
{
    unsigned long i;

    if (r->m)
        for (i = 0; i < r->n; i++)
            free(r->m[i].hdr);
    free(r->m);
    free(r->sizes);
    if (r->uids)
        pop3_uids_free(&r->uids, r->n);
    deliver_stream_clear(&r->st);
    deliver_free(&r->d);
    journal_close(&r->j);
    free(r->jpath);
    uidls_close(&r->u);
    buf_clear(&r->hdr);
    free(r->local_user);
    free(r->local_host);
    free(r->received);
}

int retrieve_account(const struct account *a, enum retrieve_action action,
                     const struct retrieve_events *ev, struct mp_err *e)
{
    static const struct retrieve_events none;
    struct retr r;
    struct mp_err e2;
    int rc = -1;

    memset(&r, 0, sizeof r);
    r.a = a;
    r.ev = ev ? ev : &none;
    r.now = test_now();
    buf_init(&r.hdr, DELIVER_HEADER_MAX);
    journal_failpoint_init();
    err_init(&e2);

    if (action == RETRIEVE_FETCH) {
        if (open_delivery(&r, e) < 0)
            goto out;
        r.local_user = envelope_local_user();
        r.local_host = envelope_local_host();
    }
    /* The UIDLs file is read (and a journal replayed) while the server
     * prepares its greeting: see step 2 at the top. */
    r.want_j = action == RETRIEVE_FETCH;
    if (session_open_meanwhile(&r.ses, a, action == RETRIEVE_AUTH
                               ? SESSION_AUTH : SESSION_LISTING,
                               action != RETRIEVE_AUTH ? open_uidls_cb
                               : NULL, &r, e) < 0)
        goto out;
    r.ses_open = true;
    if (action == RETRIEVE_AUTH)
        goto quit;
    if (list_mails(&r, e) < 0)
        goto out;
    if (action == RETRIEVE_STATUS)
        goto quit;

    plan(&r, (pop3_caps(r.ses.pop3)->flags & POP3_CAP_TOP) != 0);
    if (run_filters(&r, e) < 0)
        goto out;
    if (fetch_all(&r, e) < 0)
        goto out;
    /* Everything delivered is durable and recorded: the last save, then
     * the remaining deletions and QUIT together, in one write (the
     * server answers them in order and removes the mails only at QUIT;
     * every mail deleted there is durable here). */
    if (save_uids(&r, e) < 0)
        goto out;
    journal_failpoint();
    if (r.want_j) {
        journal_close(&r.j);
        /* Also a journal that replay resolved and nothing reopened. */
        if (journal_remove(r.jpath, e) < 0)
            goto out;
    }
    if (queue_deles(&r, true)) {
        struct pop3_job job;

        memset(&job, 0, sizeof job);
        job.cmd = POP3_CMD_QUIT;
        job.size = -1;
        pop3_queue(r.ses.pop3, &job);
        if (pop3_run(r.ses.pop3, on_reply, &r, e) < 0)
            goto out;
    }
quit:
    r.ses_open = false;
    if (session_close(&r.ses, true, e) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0 && action == RETRIEVE_FETCH)
        exit_save(&r, e);
    if (r.ses_open)
        session_close(&r.ses, false, &e2);
    if (action == RETRIEVE_FETCH)
        report_mails(&r, rc == 0);
    retr_clear(&r);
    return rc;
}
