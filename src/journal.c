/* The append-only delivery journal; see journal.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "gettext.h"
#include "journal.h"
#include "xalloc.h"

#define JOURNAL_MAGIC "mpop journal 1"

struct journal {
    int fd;
    char *path;
};

static unsigned long fnv1a(const char *p, size_t n)
{
    unsigned long h = 2166136261UL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h = (h * 16777619UL) & 0xffffffffUL;
    }
    return h;
}

char *journal_path(const char *uidls_path)
{
    return xasprintf("%s.journal", uidls_path);
}

char *journal_path_account(const char *uidls_path, const char *host,
                           const char *user)
{
    size_t hl = strlen(host), ul = strlen(user);
    char *k = xmalloc(hl + ul + 1);
    unsigned long h;

    memcpy(k, host, hl);
    k[hl] = '\0';
    memcpy(k + hl + 1, user, ul);
    h = fnv1a(k, hl + 1 + ul);
    free(k);
    return xasprintf("%s.journal-%08lx", uidls_path, h);
}

static int write_all(int fd, const char *p, size_t n, const char *name,
                     struct mp_err *e)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOSPC || errno == EDQUOT)
                return err_set_errno(e, MP_EIO, errno,
                                     _("%s: cannot write (disk full or "
                                       "quota exceeded)"), name);
            return err_set_errno(e, MP_EIO, errno, _("%s: cannot write"),
                                 name);
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int journal_open(const char *path, struct journal **j_r, struct mp_err *e)
{
    struct journal *j;
    struct stat st;
    int fd;

    *j_r = NULL;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set_errno(e, MP_ECANTCREAT, errno, _("cannot open %s"),
                             path);
    if (fstat(fd, &st) != 0) {
        int errnum = errno;
        close(fd);
        return err_set_errno(e, MP_EIO, errnum, "%s", path);
    }
    if (st.st_size == 0) {
        /* The name must survive a crash as well as the records. */
        if (write_all(fd, JOURNAL_MAGIC "\n", sizeof(JOURNAL_MAGIC), path,
                      e) != 0
            || durable_sync_parent(path, e) != 0) {
            close(fd);
            return -1;
        }
    }
    j = xcalloc(1, sizeof(*j));
    j->fd = fd;
    j->path = xstrdup(path);
    *j_r = j;
    return 0;
}

/* 1..JOURNAL_TOKEN_MAX printable characters, no space, and not "-". */
static bool valid_token(const char *t)
{
    size_t n = strlen(t), i;

    if (n < 1 || n > JOURNAL_TOKEN_MAX || strcmp(t, "-") == 0)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
            return false;
    return true;
}

/* Appends s (n bytes) at *o in line (room checked by the caller). */
static void put(char *line, size_t *o, const char *s, size_t n)
{
    memcpy(line + *o, s, n);
    *o += n;
}

int journal_append(struct journal *j, enum journal_event ev,
                   const char *host, const char *user, const char *uid,
                   long long first_seen, const char *token,
                   struct mp_err *e)
{
    static const char hex[] = "0123456789abcdef";
    char line[1024], digits[24];
    size_t hl, ul, idl, tl, o = 0, k = 0;
    unsigned long long t;
    unsigned long check;
    int i;

    if (ev != JOURNAL_DELIVERED && ev != JOURNAL_DELETED
        && ev != JOURNAL_PENDING)
        return err_set(e, MP_ESOFTWARE, "journal_append: bad event");
    if (uidls_check_names(host, user, e) != 0) {
        e->kind = MP_EDATA;
        return -1;
    }
    idl = strlen(uid);
    if (!uidls_valid_uid(uid, idl))
        return err_set(e, MP_EDATA, _("%s: invalid UID"), j->path);
    if (token && !valid_token(token))
        return err_set(e, MP_EDATA, _("%s: invalid token"), j->path);
    if (!token)
        token = "-";
    hl = strlen(host);
    ul = strlen(user);
    tl = strlen(token);
    t = first_seen < 0 ? 0 : (unsigned long long)first_seen;
    do {
        digits[k++] = (char)('0' + t % 10);
        t /= 10;
    } while (t > 0);
    /* "T SECONDS HOST USER UID TOKEN CHECK\n"; no printf: this runs
     * twice per mail. */
    if (2 + k + 1 + hl + 1 + ul + 1 + idl + 1 + tl + 11 > sizeof(line))
        return err_set(e, MP_EDATA, _("%s: record too long"), j->path);
    line[o++] = (char)ev;
    line[o++] = ' ';
    while (k > 0)
        line[o++] = digits[--k];
    line[o++] = ' ';
    put(line, &o, host, hl);
    line[o++] = ' ';
    put(line, &o, user, ul);
    line[o++] = ' ';
    put(line, &o, uid, idl);
    line[o++] = ' ';
    put(line, &o, token, tl);
    check = fnv1a(line, o);
    line[o++] = ' ';
    for (i = 7; i >= 0; i--)
        line[o++] = hex[(check >> (4 * i)) & 0xf];
    line[o++] = '\n';
    /* One write() per record: a killed process leaves a whole record or
     * (at worst, on a full disk) a torn last line that replay ignores. */
    return write_all(j->fd, line, o, j->path, e);
}

int journal_sync(struct journal *j, struct mp_err *e)
{
    if (fdatasync(j->fd) != 0)
        return err_set_errno(e, MP_EIO, errno, _("%s: cannot sync"),
                             j->path);
    return 0;
}

void journal_close(struct journal **jp)
{
    if (!jp || !*jp)
        return;
    close((*jp)->fd);
    free((*jp)->path);
    free(*jp);
    *jp = NULL;
}

int journal_remove(const char *path, struct mp_err *e)
{
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            return 0;
        return err_set_errno(e, MP_EIO, errno, _("cannot remove %s"), path);
    }
    return durable_sync_parent(path, e);
}

/* ---- replay ---- */

struct record {
    char type;
    long long first_seen;
    char *host, *user, *uid, *token;    /* point into a copy of the line */
};

/* Splits the line (len bytes, copied into buf) into its seven fields. */
static int parse_record(const char *line, size_t len, char *buf,
                        struct record *r)
{
    char *f[7], *s;
    size_t nf = 0, i;
    unsigned long check;

    if (len < 2 || len > 1000)
        return -1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (strlen(buf) != len)
        return -1;  /* a NUL inside */
    s = buf;
    while (nf < 7) {
        f[nf++] = s;
        s = strchr(s, ' ');
        if (!s)
            break;
        *s++ = '\0';
    }
    if (nf != 7 || s)
        return -1;
    for (i = 0; i < 7; i++)
        if (!*f[i])
            return -1;
    if (strlen(f[6]) != 8 || strspn(f[6], "0123456789abcdef") != 8)
        return -1;
    check = strtoul(f[6], NULL, 16);
    if (check != fnv1a(line, (size_t)(f[6] - buf - 1)))
        return -1;
    if (strlen(f[0]) != 1 || !strchr("DXP", f[0][0]))
        return -1;
    r->type = f[0][0];
    if (strspn(f[1], "0123456789") != strlen(f[1]) || strlen(f[1]) > 18)
        return -1;
    r->first_seen = strtoll(f[1], NULL, 10);
    r->host = f[2];
    r->user = f[3];
    r->uid = f[4];
    r->token = strcmp(f[5], "-") == 0 ? NULL : f[5];
    if (!uidls_valid_uid(r->uid, strlen(r->uid))
        || (r->token && !valid_token(r->token)))
        return -1;
    return 0;
}

static bool all_nul(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] != '\0')
            return false;
    return true;
}

struct pending {
    char *host, *user, *uid, *token;
    long long first_seen;
    size_t seq;         /* position in the journal */
};

/* By host, user, UID, then position. */
static int pending_cmp(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    int c = strcmp(x->host, y->host);

    if (c == 0)
        c = strcmp(x->user, y->user);
    if (c == 0)
        c = strcmp(x->uid, y->uid);
    if (c == 0)
        c = x->seq < y->seq ? -1 : x->seq > y->seq;
    return c;
}

/* Journal order. */
static int pending_seq_cmp(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void pending_free(struct pending *p)
{
    free(p->host);
    free(p->user);
    free(p->uid);
    free(p->token);
}

/* Keeps the last PENDING event of each UID, in journal order. */
static size_t pending_last(struct pending *pv, size_t np)
{
    size_t i, k = 0;

    if (np < 2)
        return np;
    qsort(pv, np, sizeof *pv, pending_cmp);
    for (i = 0; i < np; i++) {
        if (i + 1 < np && strcmp(pv[i].host, pv[i + 1].host) == 0
            && strcmp(pv[i].user, pv[i + 1].user) == 0
            && strcmp(pv[i].uid, pv[i + 1].uid) == 0) {
            pending_free(&pv[i]);
            continue;
        }
        pv[k++] = pv[i];
    }
    qsort(pv, k, sizeof *pv, pending_seq_cmp);
    return k;
}

static int read_file(const char *path, char **data_r, size_t *len_r,
                     struct mp_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    size_t len = 0;
    char *data;

    *data_r = NULL;
    *len_r = 0;
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return err_set_errno(e, MP_EIO, errno, _("cannot open %s"), path);
    }
    if (fstat(fd, &st) != 0 || (unsigned long long)st.st_size
                               > JOURNAL_FILE_MAX) {
        close(fd);
        return err_set(e, MP_EIO, _("%s: cannot read, or larger than %lu "
                                    "MiB"), path,
                       JOURNAL_FILE_MAX / (1024 * 1024));
    }
    data = xmalloc((size_t)st.st_size + 1);
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, data + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int errnum = errno;
            free(data);
            close(fd);
            return err_set_errno(e, MP_EIO, errnum, _("%s: cannot read"),
                                 path);
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    *data_r = data;
    *len_r = len;
    return 0;
}

int journal_replay(const char *path, struct uidls *u,
                   journal_pending_fn pending, void *ctx,
                   size_t *nevents_r, struct mp_err *e)
{
    char *data, *buf = NULL;
    const char *s, *end;
    size_t len, nevents = 0, np = 0, ap = 0, i;
    unsigned long lineno = 0;
    struct pending *pv = NULL;
    int ret = -1;

    if (nevents_r)
        *nevents_r = 0;
    if (read_file(path, &data, &len, e) != 0)
        return -1;
    if (!data)
        return 0;
    buf = xmalloc(1001);
    s = data;
    end = data + len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t ll;
        struct record r;
        struct uidls_list *l;

        lineno++;
        if (!nl)
            break;  /* torn last record: its write never completed */
        ll = (size_t)(nl - s);
        if (ll > 0 && all_nul(s, ll))
            goto next;  /* a block lost in a power failure */
        if (lineno == 1) {
            if (ll != strlen(JOURNAL_MAGIC)
                || memcmp(s, JOURNAL_MAGIC, ll) != 0) {
                err_set(e, MP_EDATA, _("%s:%lu: not an mpop journal; move "
                                       "it away to continue"),
                        path, lineno);
                goto out;
            }
            goto next;
        }
        if (parse_record(s, ll, buf, &r) != 0) {
            err_set(e, MP_EDATA, _("%s:%lu: corrupt journal record; check "
                                   "the mails delivered last, then remove "
                                   "the journal to continue"),
                    path, lineno);
            goto out;
        }
        if (uidls_check_names(r.host, r.user, e) != 0) {
            err_set(e, MP_EDATA, _("%s:%lu: corrupt journal record"), path,
                    lineno);
            goto out;
        }
        nevents++;
        if (r.type == JOURNAL_DELIVERED) {
            l = uidls_get(u, r.host, r.user, true);
            if (uidls_add(l, r.uid, r.first_seen, e) != 0)
                goto out;
        } else if (r.type == JOURNAL_DELETED) {
            l = uidls_get(u, r.host, r.user, false);
            if (l)
                uidls_remove(l, r.uid);
        } else if (r.token) {
            if (np == ap) {
                ap = ap ? 2 * ap : 16;
                pv = xreallocarray(pv, ap, sizeof(*pv));
            }
            pv[np].host = xstrdup(r.host);
            pv[np].user = xstrdup(r.user);
            pv[np].uid = xstrdup(r.uid);
            pv[np].token = xstrdup(r.token);
            pv[np].first_seen = r.first_seen;
            pv[np].seq = np;
            np++;
        }
next:
        s = nl + 1;
    }
    np = pending_last(pv, np);
    for (i = 0; i < np; i++) {
        struct uidls_list *l = uidls_get(u, pv[i].host, pv[i].user, true);
        bool done = false;

        if (uidls_find(l, pv[i].uid) || !pending)
            continue;
        if (pending(ctx, pv[i].host, pv[i].user, pv[i].uid, pv[i].token,
                    &done, e) != 0)
            goto out;
        if (done && uidls_add(l, pv[i].uid, pv[i].first_seen, e) != 0)
            goto out;
    }
    if (nevents_r)
        *nevents_r = nevents;
    ret = 0;
out:
    for (i = 0; i < np; i++)
        pending_free(&pv[i]);
    free(pv);
    free(buf);
    free(data);
    return ret;
}

static long failpoint_at = -1;
static long failpoint_n;

void journal_failpoint_init(void)
{
    const char *s = getenv("MPOP_TEST_KILL_AT");

    failpoint_n = 0;
    failpoint_at = s && *s ? strtol(s, NULL, 10) : -1;
}

void journal_failpoint(void)
{
    if (failpoint_at > 0 && ++failpoint_n == failpoint_at)
        raise(SIGKILL);
}
