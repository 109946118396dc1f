/* For authors of a delivery backend (deliver_<name>.c): the table of
 * operations the wrapper in deliver.c calls, and the kit the backends
 * share: a streaming line-end converter, whole writes, the temporary-file
 * life of the file backends, and journal tokens.  Callers use deliver.h
 * only; its contract (order of calls, commit as the only moment a mail is
 * delivered, tokens) binds every backend. */
#ifndef MPOP_DELIVER_BACKEND_H
#define MPOP_DELIVER_BACKEND_H

#include "deliver.h"

/* Every ctx is the backend's own, made by create() and released by
 * free(); the wrapper never looks inside.  What the wrapper passes in is
 * borrowed for the call: a backend copies what it keeps. */
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

extern const struct deliver_ops deliver_mda_ops;
extern const struct deliver_ops deliver_maildir_ops;
extern const struct deliver_ops deliver_mbox_ops;
extern const struct deliver_ops deliver_exchange_ops;

/* A streaming line-end converter and MBOXRD quoter with a fixed output
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
/* fsync() of the file at path and of its directory: deliver_check() makes
 * a mail it found durable before it counts (an interrupted run committed
 * it, maybe without its batch's sync, and the mail is DELE'd next). */
int deliver_sync_path(const char *path, struct mp_err *e);
/* Makes the deferred files and their directory dir durable. */
int deliver_file_sync(struct deliver_file *f, const char *dir,
                      struct mp_err *e);
void deliver_file_clear(struct deliver_file *f);

#endif
