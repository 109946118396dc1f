#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "deliver.h"
#include "durable.h"
#include "envelope.h"
#include "gettext.h"
#include "journal.h"
#include "movemail.h"
#include "paths.h"
#include "pop3_client.h"
#include "session.h"
#include "strparse.h"
#include "xalloc.h"

bool movemail_invoked(int argc, char **argv)
{
    const char *base;
    int i;

    if (argc > 0 && argv[0]) {
        base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        if (strcmp(base, "mpop-movemail") == 0)
            return true;
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--movemail") == 0)
            return true;
    }
    return false;
}

int movemail_parse_args(struct movemail_opts *o, int argc, char **argv,
                        struct mp_err *e)
{
    enum { MM_HELP = 256, MM_VERSION, MM_TLS, MM_MOVEMAIL, MM_EMACS,
           MM_FILE };
    static const struct option lo[] = {
        { "preserve", no_argument, NULL, 'p' },
        { "reverse", no_argument, NULL, 'r' },
        { "tls", no_argument, NULL, MM_TLS },
        { "emacs", no_argument, NULL, MM_EMACS },
        { "file", required_argument, NULL, MM_FILE },
        { "movemail", no_argument, NULL, MM_MOVEMAIL },
        { "help", no_argument, NULL, MM_HELP },
        { "version", no_argument, NULL, MM_VERSION },
        { NULL, 0, NULL, 0 }
    };
    int r, rest;

    memset(o, 0, sizeof *o);
    optind = 0;
    opterr = 0;
    while ((r = getopt_long(argc, argv, "+pr", lo, NULL)) != -1) {
        switch (r) {
        case 'p':
            o->preserve = true;
            break;
        case 'r':
            o->reverse = true;
            break;
        case MM_TLS:
            o->tls = true;
            break;
        case MM_MOVEMAIL:
            break;
        case MM_EMACS:
            o->emacs = true;
            break;
        case MM_FILE:
            o->conffile = optarg;
            break;
        case MM_HELP:
            o->help = true;
            break;
        case MM_VERSION:
            o->version = true;
            break;
        default:
            if (optopt == MM_FILE)
                return err_set(e, MP_EUSAGE,
                               _("option '%s' requires an argument"),
                               argv[optind - 1]);
            if (optopt > 0 && optopt < 256)
                return err_set(e, MP_EUSAGE, _("invalid option '-%c'"),
                               optopt);
            return err_set(e, MP_EUSAGE, _("unrecognized option '%s'"),
                           argv[optind - 1]);
        }
    }
    if (o->help || o->version)
        return 0;
    rest = argc - optind;
    if (rest < 2 || rest > 3)
        return err_set(e, MP_EUSAGE,
                       _("movemail needs a source, a destination file and "
                         "optionally a password"));
    o->source = argv[optind];
    o->dest = argv[optind + 1];
    o->password = rest == 3 ? argv[optind + 2] : NULL;
    return 0;
}

/* A copy of p[0..n) with %XX decoded; NULL when an escape is broken or
 * decodes to NUL. */
static char *pct_decode(const char *p, size_t n)
{
    char *out = xmalloc(n + 1);

    if (str_pct_decode(p, n, false, out) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* "HOST[:PORT]" or "[IPV6][:PORT]" into s->host and s->port. */
static int parse_hostport(const char *p, struct movemail_source *s)
{
    const char *colon, *end;
    unsigned long long port;

    if (*p == '[') {
        end = strchr(p, ']');
        if (!end || end == p + 1)
            return -1;
        s->host = xstrndup(p + 1, (size_t)(end - p - 1));
        colon = end[1] == ':' ? end + 1 : NULL;
        if (!colon && end[1])
            return -1;
    } else {
        colon = strchr(p, ':');
        end = colon ? colon : p + strlen(p);
        if (end == p)
            return -1;
        s->host = xstrndup(p, (size_t)(end - p));
    }
    if (colon) {
        if (str_to_ull(colon + 1, 1, 65535, &port) < 0)
            return -1;
        s->port = (int)port;
    }
    return 0;
}

/* RFC 2384 §3: ";AUTH=*" (any), ";AUTH=+APOP", or a SASL mechanism;
 * also "USER" for USER/PASS.  p[0..n) is what follows the ';'. */
static int parse_auth(const char *p, size_t n, struct movemail_source *s)
{
    char *m;
    size_t i;

    if (n <= 5 || strncasecmp(p, "auth=", 5) != 0)
        return -1;
    m = pct_decode(p + 5, n - 5);
    if (!m)
        return -1;
    for (i = 0; m[i]; i++)
        m[i] = (char)tolower((unsigned char)m[i]);
    if (strcmp(m, "*") == 0) {
        free(m);
        return 0;
    }
    if (strcmp(m, "+apop") == 0) {
        free(m);
        m = xstrdup("apop");
    }
    for (i = 0; conf_auth_methods[i]; i++)
        if (strcmp(m, conf_auth_methods[i]) == 0)
            break;
    if (!conf_auth_methods[i]) {
        free(m);
        return -1;
    }
    free(s->auth);
    s->auth = m;
    return 0;
}

int movemail_parse_source(const char *src, const char *mailhost, bool tls,
                          struct movemail_source *s, struct mp_err *e)
{
    const char *p, *at, *colon;

    memset(s, 0, sizeof *s);
    if (strncmp(src, "po:", 3) == 0) {
        p = src + 3;
        colon = strchr(p, ':');
        s->user = xstrndup(p, colon ? (size_t)(colon - p) : strlen(p));
        if (!*s->user)
            goto bad;
        if (colon) {
            if (parse_hostport(colon + 1, s) < 0)
                goto bad;
        } else {
            if (!mailhost || !*mailhost) {
                movemail_source_clear(s);
                return err_set(e, MP_EUSAGE,
                               _("source %s names no host, and MAILHOST "
                                 "is not set"), src);
            }
            /* MAILHOST may name a port too: "HOST:PORT". */
            if (parse_hostport(mailhost, s) < 0)
                goto bad;
        }
        s->tls = s->starttls = tls;
        return 0;
    }
    if (strncmp(src, "pop://", 6) == 0) {
        p = src + 6;
        s->tls = s->starttls = tls;
    } else if (strncmp(src, "pops://", 7) == 0) {
        p = src + 7;
        s->tls = true;
        s->starttls = false;
    } else {
        goto bad;
    }
    /* The last '@' ends the user information: a user name may hold an
     * unencoded '@' (pop://joe@example.org@pop.example.org). */
    at = strrchr(p, '@');
    if (!at || at == p)
        goto bad;
    colon = memchr(p, ':', (size_t)(at - p));
    {
        size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
        const char *semi = memchr(p, ';', ulen);

        if (semi) {
            if (parse_auth(semi + 1, ulen - (size_t)(semi + 1 - p), s) < 0)
                goto bad;
            ulen = (size_t)(semi - p);
        }
        s->user = pct_decode(p, ulen);
    }
    if (!s->user || !*s->user)
        goto bad;
    if (colon) {
        s->pass = pct_decode(colon + 1, (size_t)(at - colon - 1));
        if (!s->pass)
            goto bad;
    }
    {
        /* A trailing '/' (an empty path) is allowed. */
        size_t n = strlen(at + 1);
        char *hp = xstrdup(at + 1);
        int r;

        if (n > 0 && hp[n - 1] == '/')
            hp[n - 1] = '\0';
        r = parse_hostport(hp, s);
        free(hp);
        if (r < 0)
            goto bad;
    }
    return 0;
bad:
    movemail_source_clear(s);
    return err_set(e, MP_EUSAGE,
                   _("invalid source %s (expected pop://USER@HOST[:PORT], "
                     "pops://USER@HOST[:PORT] or po:USER[:HOST[:PORT]])"),
                   src);
}

void movemail_source_clear(struct movemail_source *s)
{
    free(s->user);
    xfree_secret(&s->pass);
    free(s->host);
    free(s->auth);
    memset(s, 0, sizeof *s);
}

/* ---- the transfer ----------------------------------------------------- */

/* ---- the journal --------------------------------------------------------
 * movemail keeps no UIDLs, but it keeps a journal while it appends, so that
 * a SIGKILL or a power loss never leaves a fragment in DESTFILE: the file
 * $XDG_STATE_HOME/mpop/movemail.journal-HASH (HASH of DESTFILE's path)
 * gets the mbox token (deliver.h: the file's identity and its length
 * before the mail) before each mail's first byte, and the finished token
 * once the mail is complete.  Once every mail is synced, the journal is
 * removed (and that removal synced) before the first DELE.  A run that
 * finds a journal hands its last token to deliver_check(), which cuts a
 * fragment of that mail out of DESTFILE (or finds the mail complete); the
 * mails before it are complete, and still on the server (no DELE was sent
 * while the journal existed), so they come again: at least once, never a
 * fragment, nothing lost.  Failpoints (journal_failpoint()): after each
 * record, write, commit, the sync, the journal's removal, the DELEs. */

struct mm {
    struct session ses;
    struct deliver *d;
    struct deliver_stream st;
    char *jpath;
    int jfd;            /* -1 until the first record */
};

static char *mm_journal_path(const char *dest)
{
    char *state = paths_xdg_state("mpop"), *base, *abs = NULL, *p;
    char cwd[4096];

    if (dest[0] != '/' && getcwd(cwd, sizeof cwd))
        abs = paths_join(cwd, dest);
    base = paths_join(state, "movemail");
    p = journal_path_account(base, abs ? abs : dest, "");
    free(base);
    free(abs);
    free(state);
    return p;
}

/* deliver_stream_hooks.opened and .finished: the token first. */
static int mm_record(void *arg, struct mp_err *e)
{
    struct mm *m = arg;
    const char *tok = deliver_token(m->d);
    char *line;
    ssize_t w;
    int r;

    if (!tok || !*tok)
        return 0;
    if (m->jfd < 0) {
        char *dir = paths_xdg_state("mpop");

        r = durable_mkdirs(dir, 0700, e);
        free(dir);
        if (r < 0)
            return -1;
        m->jfd = open(m->jpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
                      | O_NOFOLLOW, 0600);
        if (m->jfd < 0)
            return err_set_errno(e, MP_ECANTCREAT, errno,
                                 _("cannot create %s"), m->jpath);
    }
    /* One write(): a killed process loses none of it. */
    line = xasprintf("%s\n", tok);
    do
        w = write(m->jfd, line, strlen(line));
    while (w < 0 && errno == EINTR);
    r = w == (ssize_t)strlen(line) ? 0 : -1;
    free(line);
    if (r < 0)
        return err_set_errno(e, MP_EIO, w < 0 ? errno : ENOSPC,
                             _("cannot write to %s"), m->jpath);
    journal_failpoint();
    return 0;
}

static void mm_wrote(void *arg)
{
    (void)arg;
    journal_failpoint();
}

/* Removes the journal, durably. */
static int mm_journal_remove(struct mm *m, struct mp_err *e)
{
    if (unlink(m->jpath) != 0 && errno != ENOENT)
        return err_set_errno(e, MP_EIO, errno, _("cannot remove %s"),
                             m->jpath);
    if (durable_sync_parent(m->jpath, e) < 0)
        return -1;
    journal_failpoint();
    return 0;
}

/* Every mail appended is synced: the journal is not needed any more, and
 * must be gone for good before a DELE. */
static int mm_journal_done(struct mm *m, struct mp_err *e)
{
    if (m->jfd < 0)
        return 0;
    close(m->jfd);
    m->jfd = -1;
    return mm_journal_remove(m, e);
}

/* A journal left by a killed run: its last token decides. */
static int mm_replay(struct mm *m, struct mp_err *e)
{
    char buf[2 * DELIVER_TOKEN_SZ + 2], *end, *last;
    struct stat st;
    ssize_t n;
    bool done;
    int fd = open(m->jpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return errno == ENOENT ? 0
            : err_set_errno(e, MP_EIO, errno, _("cannot open %s"), m->jpath);
    /* Only the end matters: the last complete line. */
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof buf - 1)
        lseek(fd, st.st_size - (off_t)(sizeof buf - 1), SEEK_SET);
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return err_set_errno(e, MP_EIO, errno, _("cannot read %s"),
                             m->jpath);
    buf[n] = '\0';
    end = strrchr(buf, '\n');
    if (end) {
        *end = '\0';
        last = strrchr(buf, '\n');
        last = last ? last + 1 : buf;
        if (*last && deliver_check(m->d, last, &done, e) < 0)
            return -1;
    }
    return mm_journal_remove(m, e);
}

static int mm_begin(void *ctx, unsigned long msn, long long size,
                    struct mp_err *e)
{
    struct mm *m = ctx;

    (void)msn;
    return deliver_stream_begin(&m->st, false, size, e);
}

static int mm_data(void *ctx, const char *p, size_t n, struct mp_err *e)
{
    struct mm *m = ctx;

    return deliver_stream_data(&m->st, p, n, e);
}

static int mm_end(void *ctx, struct mp_err *e)
{
    struct mm *m = ctx;
    bool dropped;

    return deliver_stream_end(&m->st, DELIVER_COMMIT_DEFER, &dropped, e);
}

static void mm_abort(void *ctx)
{
    struct mm *m = ctx;

    deliver_stream_abort(&m->st);
}

static int mm_reply(void *ctx, const struct pop3_job *job,
                    const struct pop3_status *st, struct mp_err *e)
{
    struct mm *m = ctx;

    if (st->kind == POP3_OK)
        return 0;
    if (job->cmd == POP3_CMD_RETR)
        return pop3_status_error(m->ses.pop3, st, MP_EUNAVAIL, e,
                                 _("the POP3 server cannot send message "
                                   "%lu"), job->msn);
    return pop3_status_error(m->ses.pop3, st, MP_EUNAVAIL, e,
                             _("the POP3 server cannot delete message %lu"),
                             job->msn);
}

/* The user's own account for this host and user, or NULL: the first in
 * the configuration file whose host (without regard to case) and user
 * are those of the source.  A missing file is no error; a broken one is. */
static int config_account(const struct movemail_source *s,
                          const struct movemail_opts *o,
                          struct account **out, struct mp_err *e)
{
    struct account_list all = { NULL, 0 };
    char *path = o->conffile ? xstrdup(o->conffile) : conf_default_path();
    size_t i;
    int rc = 0;

    *out = NULL;
    if (conf_load_file(path, &all, e) < 0) {
        if (e->kind == MP_ENOINPUT && !o->conffile)
            err_init(e);
        else
            rc = -1;
        free(path);
        return rc;
    }
    for (i = 0; i < all.n; i++) {
        const struct account *c = all.v[i];

        if (c->host && c->user && strcasecmp(c->host, s->host) == 0
            && strcmp(c->user, s->user) == 0) {
            *out = account_copy(c, NULL);
            break;
        }
    }
    account_list_clear(&all);
    free(path);
    return 0;
}

/* The account to fetch with: the source's host, user and TLS mode over
 * the matching configuration account (see config_account) or over the
 * defaults.  pops:// always means implicit TLS; pop:// and po: keep a
 * configured account's TLS settings (its user asked for them; pop:// is
 * all Rmail's older form can say) and mean plain POP3 otherwise. */
static int make_account(const struct movemail_source *s,
                        const struct movemail_opts *o, struct account **out,
                        struct mp_err *e)
{
    struct account *a;
    bool configured;

    if (config_account(s, o, &a, e) < 0)
        return -1;
    configured = a != NULL;
    if (!a)
        a = account_new("movemail");
    free(a->host);
    a->host = xstrdup(s->host);
    if (s->port)
        a->port = s->port;
    else if (configured && s->tls && !s->starttls
             && !(a->tls && !a->tls_starttls))
        a->port = 0;    /* the account's port is not its pops:// port */
    free(a->user);
    a->user = xstrdup(s->user);
    if (s->pass || o->password) {
        xfree_secret(&a->password);
        a->password = xstrdup(s->pass ? s->pass : o->password);
    }
    if (s->auth) {
        free(a->auth);
        a->auth = xstrdup(s->auth);
    }
    if (!configured || (s->tls && !s->starttls) || o->tls) {
        a->tls = s->tls;
        a->tls_starttls = s->starttls;
    }
    a->received_header = false;
    a->delivery = DELIVERY_MBOX;
    free(a->delivery_args);
    a->delivery_args = xstrdup(o->dest);
    *out = a;
    return 0;
}

int movemail_run(const struct movemail_opts *o, struct mp_err *e)
{
    struct pop3_sink sink = { NULL, mm_begin, mm_data, mm_end, mm_abort };
    struct movemail_source s;
    struct account *a = NULL;
    struct mm m;
    struct mp_err e2;
    unsigned long n = 0, i;
    unsigned long long total, *sizes = NULL;
    bool ses_open = false;
    int rc = -1;

    static const struct deliver_stream_hooks hooks = {
        .opened = mm_record, .wrote = mm_wrote, .finished = mm_record,
    };
    struct deliver_stream_hooks h = hooks;

    memset(&m, 0, sizeof m);
    m.jfd = -1;
    h.arg = &m;
    err_init(&e2);
    journal_failpoint_init();
    sink.ctx = &m;
    if (movemail_parse_source(o->source, getenv("MAILHOST"), o->tls, &s,
                              e) < 0)
        goto out;
    if (make_account(&s, o, &a, e) < 0)
        goto out;
    if (deliver_new(deliver_lookup("mbox"), o->dest, &m.d, e) < 0)
        goto out;
    m.jpath = mm_journal_path(o->dest);
    if (mm_replay(&m, e) < 0)
        goto out;
    deliver_stream_init(&m.st, m.d, &h);
    if (session_open(&m.ses, a, SESSION_AUTH, e) < 0)
        goto out;
    ses_open = true;
    if (pop3_stat(m.ses.pop3, &n, &total, e) < 0
        || (n > 0 && pop3_list_all(m.ses.pop3, n, &sizes, e) < 0))
        goto out;
    for (i = 0; i < n; i++) {
        struct pop3_job job;
        unsigned long msn = o->reverse ? n - i : i + 1;

        memset(&job, 0, sizeof job);
        job.cmd = POP3_CMD_RETR;
        job.msn = msn;
        job.size = (long long)sizes[msn - 1];
        job.sink = &sink;
        pop3_queue(m.ses.pop3, &job);
    }
    if (n > 0 && pop3_run(m.ses.pop3, mm_reply, &m, e) < 0)
        goto out;
    /* Every mail is in DESTFILE for good before the first DELE. */
    if (n > 0 && deliver_sync(m.d, e) < 0)
        goto out;
    if (n > 0)
        journal_failpoint();
    if (mm_journal_done(&m, e) < 0)
        goto out;
    if (!o->preserve && n > 0) {
        for (i = 0; i < n; i++) {
            struct pop3_job job;

            memset(&job, 0, sizeof job);
            job.cmd = POP3_CMD_DELE;
            job.msn = i + 1;
            job.size = -1;
            pop3_queue(m.ses.pop3, &job);
        }
        if (pop3_run(m.ses.pop3, mm_reply, &m, e) < 0)
            goto out;
        journal_failpoint();
    }
    ses_open = false;
    if (session_close(&m.ses, true, e) < 0)
        goto out;
    rc = 0;
out:
    if (ses_open)
        session_close(&m.ses, false, &e2);
    deliver_stream_clear(&m.st);    /* a mail in progress is cut back */
    /* Keep what arrived; then the journal has done its work. */
    if (rc < 0 && m.d && deliver_sync(m.d, &e2) == 0)
        mm_journal_done(&m, &e2);
    if (m.jfd >= 0)
        close(m.jfd);
    free(m.jpath);
    deliver_free(&m.d);
    free(sizes);
    account_free(&a);
    movemail_source_clear(&s);
    return rc;
}
