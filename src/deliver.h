/* Delivery of one mail at a time to a destination, streamed: open, write
 * chunks, then commit or abort.  Backends: "mda", "maildir", "mbox",
 * "exchange", each in deliver_<name>.c behind struct deliver_ops.
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
 * mbox truncates the file back to its old length, mda stops the command
 * (SIGTERM, then SIGKILL) before closing its input, so it never sees the
 * end of a fragment.  After a failed write or commit, call deliver_abort().
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
 * command's; deliver_sync() is a no-op there.
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

struct deliver_ops {
    const char *name;
    unsigned flags;             /* enum deliver_flags */
    /* arg: the command or path from `delivery NAME ARG`, ~ already
     * expanded.  Checks what can be checked early (maildir exists). */
    int (*create)(const char *arg, void **ctx_r, struct mp_err *e);
    /* Optional: overrides DELIVER_WANTS_FROM per destination. */
    bool (*needs_from)(const void *ctx);
    /* On failure the wrapper calls abort(), which must therefore undo a
     * half-done open (and be a no-op when nothing is open). */
    int (*open)(void *ctx, const struct deliver_msg_info *info,
                struct mp_err *e);
    int (*write)(void *ctx, const char *p, size_t n, struct mp_err *e);
    /* Optional: completes the mail's bytes (flushes the converter, ends
     * the last line, the mbox's blank line; fsync unless
     * DELIVER_COMMIT_DEFER) without publishing it yet.  commit() then only
     * publishes.  Without it, commit() does everything. */
    int (*finish)(void *ctx, unsigned cflags, struct mp_err *e);
    int (*commit)(void *ctx, unsigned cflags, struct mp_err *e);
    void (*abort)(void *ctx);
    /* Optional: see deliver_token() and deliver_check(). */
    const char *(*token)(const void *ctx);
    int (*check)(void *ctx, const char *token, bool *done_r,
                 struct mp_err *e);
    int (*sync)(void *ctx, struct mp_err *e);
    void (*free)(void *ctx);
};

extern const struct deliver_ops deliver_mda_ops;
extern const struct deliver_ops deliver_maildir_ops;
extern const struct deliver_ops deliver_mbox_ops;
extern const struct deliver_ops deliver_exchange_ops;

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
const struct deliver_ops *deliver_get_ops(const struct deliver *d);
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
const char *deliver_token(const struct deliver *d);
int deliver_check(struct deliver *d, const char *token, bool *done_r,
                  struct mp_err *e);
/* Makes every mail committed with DELIVER_COMMIT_DEFER durable.  Call it
 * between mails (not while one is open). */
int deliver_sync(struct deliver *d, struct mp_err *e);
/* Aborts an open mail, then frees.  NULL-safe; sets *dp to NULL.  Mails
 * committed with DEFER and not synced stay delivered but not durable. */
void deliver_free(struct deliver **dp);

/* ---- for backends ------------------------------------------------------
 * A streaming line-end converter and MBOXRD quoter with a fixed output
 * buffer (memory stays flat whatever the mail size).  Output goes to
 * emit(arg, p, n, e), which returns 0 or -1. */
#define DELIVER_LINES_BUFSZ 65536

typedef int deliver_emit_fn(void *arg, const char *p, size_t n,
                            struct mp_err *e);

struct deliver_lines {
    deliver_emit_fn *emit;
    void *arg;
    bool crlf;          /* write CRLF, else LF */
    bool mboxrd;        /* quote ^>*From  */
    bool bol;           /* at the beginning of a line */
    bool cr;            /* a CR waits for the next byte */
    size_t gt;          /* '>'s held at the beginning of a line */
    size_t from;        /* bytes of "From " matched after them */
    bool holding;       /* gt/from describe held bytes */
    size_t n;
    char buf[DELIVER_LINES_BUFSZ];
};

void deliver_lines_init(struct deliver_lines *l, bool crlf, bool mboxrd,
                        deliver_emit_fn *emit, void *arg);
int deliver_lines_write(struct deliver_lines *l, const char *p, size_t n,
                        struct mp_err *e);
/* Writes raw bytes (no conversion), after what is buffered. */
int deliver_lines_raw(struct deliver_lines *l, const char *p, size_t n,
                      struct mp_err *e);
/* Ends the last line if needed and flushes everything to emit. */
int deliver_lines_finish(struct deliver_lines *l, struct mp_err *e);
/* Ends the last line if needed, without the final flush: afterwards
 * l->n bytes wait, and deliver_lines_finish() writes them. */
int deliver_lines_end(struct deliver_lines *l, struct mp_err *e);

/* write(2) of all n bytes to fd, retrying on EINTR; MP_EIO naming `what`
 * on failure (ENOSPC and EDQUOT included). */
int deliver_write_fd(int fd, const char *p, size_t n, const char *what,
                     struct mp_err *e);

/* A file being written by a file backend (maildir, exchange): the fd, its
 * temporary path, the converter, and the final paths of mails committed
 * with DELIVER_COMMIT_DEFER that are not yet synced. */
struct deliver_file {
    int fd;                     /* -1 when no mail is open */
    char *path;                 /* the temporary file, owned */
    struct deliver_lines lines;
    char **pending;             /* owned paths awaiting deliver_sync */
    size_t npending, apending;
    long long written;          /* bytes written to fd for this mail */
    bool finished;              /* deliver_file_finish() done */
    /* Lazy files (deliver_file_begin_lazy()): made by create() at the
     * first write; final_size is the mail's size when create() is called
     * by deliver_file_finish() with the whole mail buffered, else -1. */
    int (*create)(void *arg, int *fd_r, char **path_r, struct mp_err *e);
    void *create_arg;
    long long final_size;
};

void deliver_file_init(struct deliver_file *f);
/* Starts a mail in fd (created by the caller), taking ownership of path;
 * writes info->received through the converter. */
int deliver_file_begin(struct deliver_file *f, int fd, char *path, bool crlf,
                       const struct deliver_msg_info *info, struct mp_err *e);
/* The same, but the file does not exist yet: create(create_arg, &fd,
 * &path, e) makes it (and takes ownership of nothing) when the converter
 * first has bytes to write, at the latest in deliver_file_finish(). */
int deliver_file_begin_lazy(struct deliver_file *f, bool crlf,
                            const struct deliver_msg_info *info,
                            int (*create)(void *arg, int *fd_r,
                                          char **path_r, struct mp_err *e),
                            void *create_arg, struct mp_err *e);
/* Ends the last line, flushes, fsyncs (unless DELIVER_COMMIT_DEFER) and
 * closes the fd.  f->path stays for the caller to publish. */
int deliver_file_finish(struct deliver_file *f, unsigned cflags,
                        struct mp_err *e);
/* Publishes the finished temporary file as exactly `final` (no other
 * name: the journal names it): link() then unlink of the temporary file,
 * or rename() where the file system has no hard links.  A taken name is
 * an error (MP_EIO), never overwritten.  Frees f->path. */
int deliver_file_publish(struct deliver_file *f, const char *final,
                         struct mp_err *e);
/* Room for a token and its NUL (tokens are at most 255 bytes). */
#define DELIVER_TOKEN_SZ 256
/* Sets tok to "PFX/NAME", or to "" (no token) when it would not fit or
 * holds anything but printable ASCII without spaces. */
void deliver_token_make(char tok[DELIVER_TOKEN_SZ], const char *pfx,
                        const char *name);
/* Appends "/NUMBER" to a token made above (or leaves it "" when it would
 * not fit). */
void deliver_token_add(char tok[DELIVER_TOKEN_SZ], long long n);
/* Splits "PFX/A[/B[/C...]]" into at most max fields after PFX, each
 * NUL-terminated in buf (size DELIVER_TOKEN_SZ).  Returns the number of
 * fields, or -1 when token does not start with PFX/ or a field is empty,
 * ".", "..", or there are more than max. */
int deliver_token_split(const char *token, const char *pfx, char *buf,
                        char **fields, int max);
/* A token field as a number >= 0, or -1 when it is not one. */
long long deliver_token_num(const char *field);
/* Remembers final (taking ownership) until deliver_file_sync(). */
void deliver_file_defer(struct deliver_file *f, char *final);
/* Closes and unlinks the temporary file.  No-op when nothing is open. */
void deliver_file_discard(struct deliver_file *f);
/* Makes the deferred files and their directory dir durable. */
int deliver_file_sync(struct deliver_file *f, const char *dir,
                      struct mp_err *e);
void deliver_file_clear(struct deliver_file *f);

#endif
