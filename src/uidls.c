/* The UIDLs file; see uidls.h for the format and the contract. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "durable.h"
#include "gettext.h"
#include "lock.h"
#include "uidls.h"
#include "xalloc.h"

/* Additions are appended unsorted; once this many are pending, a lookup
 * sorts them in (one O(n) merge per batch keeps 2000 additions to a
 * 100,000-entry list cheap). */
#define TAIL_MAX 64

bool uidls_valid_uid(const char *s, size_t len)
{
    size_t i;

    if (len < 1 || len > UIDLS_UID_MAX)
        return false;
    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

int uidls_check_names(const char *host, const char *user, struct mp_err *e)
{
    if (!valid_name(host))
        return err_set(e, MP_ECONFIG,
                       _("host name '%s' cannot be stored in the UIDLs "
                         "file (empty, or contains a space or control "
                         "character)"), host ? host : "");
    if (!valid_name(user))
        return err_set(e, MP_ECONFIG,
                       _("user name '%s' cannot be stored in the UIDLs "
                         "file (empty, or contains a space or control "
                         "character); set the user command"),
                       user ? user : "");
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct uidls_entry *x = a, *y = b;

    return strcmp(x->uid, y->uid);
}

/* Sorts the pending additions into the sorted part, merges duplicates (an
 * addition revives a removed entry; the earlier first-seen time wins) and
 * drops removed entries. */
static void normalize(struct uidls_list *l)
{
    struct uidls_entry *out;
    size_t i, j, k;

    if (l->nsorted == l->n && l->ndead == 0)
        return;
    qsort(l->v + l->nsorted, l->n - l->nsorted, sizeof(*l->v), entry_cmp);
    out = xreallocarray(NULL, l->n ? l->n : 1, sizeof(*out));
    i = 0;
    j = l->nsorted;
    k = 0;
    while (i < l->nsorted || j < l->n) {
        struct uidls_entry cur;
        int c;

        if (i >= l->nsorted)
            c = 1;
        else if (j >= l->n)
            c = -1;
        else
            c = strcmp(l->v[i].uid, l->v[j].uid);
        cur = c <= 0 ? l->v[i++] : l->v[j++];
        if (c == 0) {
            /* The same UID on both sides: the addition is live. */
            struct uidls_entry *add = &l->v[j++];
            if (cur.dead || add->first_seen < cur.first_seen)
                cur.first_seen = add->first_seen;
            cur.dead = false;
            free(add->uid);
        }
        if (k > 0 && strcmp(out[k - 1].uid, cur.uid) == 0) {
            /* Duplicates among additions (or in the file). */
            if (!cur.dead && (out[k - 1].dead
                              || cur.first_seen < out[k - 1].first_seen))
                out[k - 1].first_seen = cur.first_seen;
            out[k - 1].dead = out[k - 1].dead && cur.dead;
            free(cur.uid);
            continue;
        }
        out[k++] = cur;
    }
    /* Drop removed entries. */
    j = 0;
    for (i = 0; i < k; i++) {
        if (out[i].dead)
            free(out[i].uid);
        else
            out[j++] = out[i];
    }
    free(l->v);
    l->v = out;
    l->n = l->nsorted = j;
    l->alloc = k ? k : 1;
    l->ndead = 0;
}

static struct uidls_entry *find_sorted(struct uidls_list *l, const char *uid)
{
    struct uidls_entry key;

    key.uid = (char *)uid;
    return bsearch(&key, l->v, l->nsorted, sizeof(*l->v), entry_cmp);
}

const struct uidls_entry *uidls_find(struct uidls_list *l, const char *uid)
{
    struct uidls_entry *en, *best = NULL;
    size_t i;

    if (l->n - l->nsorted > TAIL_MAX)
        normalize(l);
    en = find_sorted(l, uid);
    if (en && !en->dead)
        best = en;
    for (i = l->nsorted; i < l->n; i++)
        if (strcmp(l->v[i].uid, uid) == 0
            && (!best || l->v[i].first_seen < best->first_seen))
            best = &l->v[i];
    return best;
}

static void push(struct uidls_list *l, char *uid, long long first_seen)
{
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? l->alloc * 2 : 16;
        l->v = xreallocarray(l->v, l->alloc, sizeof(*l->v));
    }
    l->v[l->n].uid = uid;
    l->v[l->n].first_seen = first_seen;
    l->v[l->n].dead = false;
    l->n++;
}

int uidls_add(struct uidls_list *l, const char *uid, long long first_seen,
              struct mp_err *e)
{
    size_t len = strlen(uid);

    if (!uidls_valid_uid(uid, len))
        return err_set(e, MP_EDATA, _("invalid UID '%.*s'"),
                       len > UIDLS_UID_MAX ? UIDLS_UID_MAX : (int)len, uid);
    push(l, xstrndup(uid, len), first_seen);
    if (l->n - l->nsorted > TAIL_MAX)
        normalize(l);
    return 0;
}

bool uidls_remove(struct uidls_list *l, const char *uid)
{
    struct uidls_entry *en;

    if (l->n != l->nsorted)
        normalize(l);
    en = find_sorted(l, uid);
    if (!en || en->dead)
        return false;
    en->dead = true;
    l->ndead++;
    return true;
}

static int pstrcmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void uidls_retain(struct uidls_list *l, const char *const *uids, size_t n)
{
    const char **keep;
    size_t i;

    normalize(l);
    keep = xreallocarray(NULL, n ? n : 1, sizeof(*keep));
    memcpy(keep, uids, n * sizeof(*keep));
    qsort(keep, n, sizeof(*keep), pstrcmp);
    for (i = 0; i < l->n; i++) {
        const char *key = l->v[i].uid;
        if (!bsearch(&key, keep, n, sizeof(*keep), pstrcmp)) {
            l->v[i].dead = true;
            l->ndead++;
        }
    }
    free(keep);
    normalize(l);
}

size_t uidls_count(struct uidls_list *l)
{
    normalize(l);
    return l->n;
}

const struct uidls_entry *uidls_entries(struct uidls_list *l, size_t *n_r)
{
    normalize(l);
    *n_r = l->n;
    return l->v;
}

static struct uidls_list *list_new(const char *host, const char *user)
{
    struct uidls_list *l = xcalloc(1, sizeof(*l));

    l->host = xstrdup(host ? host : "");
    l->user = xstrdup(user ? user : "");
    return l;
}

static void list_free(struct uidls_list *l)
{
    size_t i;

    if (!l)
        return;
    for (i = 0; i < l->n; i++)
        free(l->v[i].uid);
    free(l->v);
    free(l->host);
    free(l->user);
    free(l);
}

struct uidls *uidls_new(enum uidls_format format)
{
    struct uidls *u = xcalloc(1, sizeof(*u));

    u->fd = -1;
    u->format = format;
    return u;
}

struct uidls_list *uidls_get(struct uidls *u, const char *host,
                             const char *user, bool create)
{
    size_t i;

    if (!host)
        host = "";
    if (!user)
        user = "";
    for (i = 0; i < u->nlists; i++)
        if (strcmp(u->lists[i]->host, host) == 0
            && strcmp(u->lists[i]->user, user) == 0)
            return u->lists[i];
    if (!create)
        return NULL;
    u->lists = xreallocarray(u->lists, u->nlists + 1, sizeof(*u->lists));
    u->lists[u->nlists] = list_new(host, user);
    return u->lists[u->nlists++];
}

void uidls_close(struct uidls **up)
{
    struct uidls *u;
    size_t i;

    if (!up || !*up)
        return;
    u = *up;
    if (u->fd >= 0) {
        lock_release(u->fd);
        close(u->fd);
    }
    for (i = 0; i < u->nlists; i++)
        list_free(u->lists[i]);
    free(u->lists);
    free(u->path);
    free(u);
    *up = NULL;
}

/* ---- reading ---- */

struct parser {
    const char *name;
    unsigned long lineno;
    struct mp_err *e;
};

static int perr(struct parser *p, const char *what)
{
    return err_set(p->e, MP_EDATA, "%s:%lu: %s", p->name, p->lineno, what);
}

static int too_few(struct parser *p, const struct uidls_list *l)
{
    return err_set(p->e, MP_EDATA,
                   _("%s:%lu: too few UIDs for user %s, host %s"),
                   p->name, p->lineno, l->user, l->host);
}

/* Parses a decimal number of at most 18 digits (no sign). */
static int parse_num(const char *s, size_t len, long long *out)
{
    long long v = 0;
    size_t i;

    if (len < 1 || len > 18)
        return -1;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* " N HOST USER" */
static int parse_header(struct parser *p, const char *s, size_t len,
                        long long *n_r, char **host_r, char **user_r)
{
    const char *end = s + len, *q, *h;

    s++;    /* the leading space */
    for (q = s; q < end && *q != ' '; q++)
        ;
    if (parse_num(s, (size_t)(q - s), n_r) != 0 || *n_r < 1 || q >= end)
        return perr(p, _("invalid number of UIDs"));
    h = q + 1;
    for (q = h; q < end && *q != ' '; q++)
        ;
    if (q == h || q >= end)
        return perr(p, _("invalid or missing host name"));
    s = q + 1;
    if (s >= end || memchr(s, ' ', (size_t)(end - s)))
        return perr(p, _("invalid or missing user name"));
    *host_r = xstrndup(h, (size_t)(q - h));
    *user_r = xstrndup(s, (size_t)(end - s));
    if (!valid_name(*host_r) || !valid_name(*user_r)) {
        free(*host_r);
        free(*user_r);
        return perr(p, _("control character in host or user name"));
    }
    return 0;
}

/* "UID" or "UID SECONDS" */
static int parse_uid_line(struct parser *p, const char *s, size_t len,
                          size_t *uidlen_r, long long *t_r, bool *has_t)
{
    const char *sp = memchr(s, ' ', len);
    size_t ulen = sp ? (size_t)(sp - s) : len;

    if (ulen > UIDLS_UID_MAX)
        return perr(p, _("UID longer than 70 characters (RFC 1939)"));
    if (!uidls_valid_uid(s, ulen))
        return perr(p, _("invalid UID (empty, or a control or non-ASCII "
                         "character)"));
    *uidlen_r = ulen;
    *has_t = sp != NULL;
    if (sp && parse_num(sp + 1, len - ulen - 1, t_r) != 0)
        return perr(p, _("invalid time after the UID"));
    return 0;
}

int uidls_parse(const char *data, size_t len, const char *name,
                long long now, struct uidls **u_r, struct mp_err *e)
{
    struct parser p = { name, 0, e };
    struct uidls *u = uidls_new(UIDLS_FORMAT_PLAIN);
    struct uidls_list *cur = NULL;
    const char *s = data, *end = data + len;
    long long want = 0, got = 0;
    bool comments = true, any_times = false;

    *u_r = NULL;
    if (memchr(data, '\0', len)) {
        /* Find its line for the message. */
        const char *z = memchr(data, '\0', len);
        const char *q;
        p.lineno = 1;
        for (q = data; q < z; q++)
            p.lineno += *q == '\n';
        perr(&p, _("NUL byte"));
        goto fail;
    }
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t ll = nl ? (size_t)(nl - s) : (size_t)(end - s);

        p.lineno++;
        if (comments && ll > 0 && s[0] == '#')
            goto next;
        comments = false;
        if (!cur) {
            char *host, *user;
            if (ll == 0)
                goto next;  /* tolerate blank lines between lists */
            if (s[0] != ' ') {
                perr(&p, _("UID without a list"));
                goto fail;
            }
            if (parse_header(&p, s, ll, &want, &host, &user) != 0)
                goto fail;
            cur = uidls_get(u, host, user, true);
            free(host);
            free(user);
            got = 0;
        } else {
            size_t ulen;
            long long t = now;
            bool has_t;
            if (ll > 0 && s[0] == ' ') {
                too_few(&p, cur);
                goto fail;
            }
            if (parse_uid_line(&p, s, ll, &ulen, &t, &has_t) != 0)
                goto fail;
            any_times |= has_t;
            push(cur, xstrndup(s, ulen), t);
            if (++got == want)
                cur = NULL;
        }
next:
        if (!nl)
            break;
        s = nl + 1;
    }
    if (cur) {
        too_few(&p, cur);
        goto fail;
    }
    {
        size_t i;
        for (i = 0; i < u->nlists; i++)
            normalize(u->lists[i]);
    }
    /* Keep what we found, so that an older mpop can still read the file;
     * the caller switches to the times format for keep DURATION. */
    u->format = any_times ? UIDLS_FORMAT_TIMES : UIDLS_FORMAT_PLAIN;
    *u_r = u;
    return 0;
fail:
    uidls_close(&u);
    return -1;
}

/* Reads all of fd (from offset 0), at most UIDLS_FILE_MAX bytes. */
static int read_all(int fd, const char *name, char **data_r, size_t *len_r,
                    struct mp_err *e)
{
    struct stat st;
    size_t alloc, len = 0;
    char *data;

    if (fstat(fd, &st) != 0)
        return err_set_errno(e, MP_EIO, errno, "%s", name);
    if ((unsigned long long)st.st_size > UIDLS_FILE_MAX)
        return err_set(e, MP_EDATA, _("%s: file too large (more than %lu "
                                      "MiB)"), name,
                       UIDLS_FILE_MAX / (1024 * 1024));
    alloc = (size_t)st.st_size + 1;
    data = xmalloc(alloc);
    for (;;) {
        ssize_t r;
        if (len == alloc) {
            if (alloc > UIDLS_FILE_MAX) {
                free(data);
                return err_set(e, MP_EDATA, _("%s: file too large"), name);
            }
            alloc *= 2;
            data = xrealloc(data, alloc);
        }
        r = pread(fd, data + len, alloc - len, (off_t)len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            free(data);
            return err_set_errno(e, MP_EIO, errno, _("%s: cannot read"),
                                 name);
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *data_r = data;
    *len_r = len;
    return 0;
}

int uidls_open(const char *path, long long now, struct uidls **u_r,
               struct mp_err *e)
{
    int fd = -1, tries;
    char *data = NULL;
    size_t len;
    struct uidls *u;

    *u_r = NULL;
    if (durable_mkdirs_parent(path, e) != 0)
        return -1;
    /* The file may be replaced (renamed over) by the process that held the
     * lock while we waited; then our lock is on a dead inode: start over. */
    for (tries = 0; ; tries++) {
        struct stat a, b;

        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return err_set_errno(e, MP_ECANTCREAT, errno,
                                 _("cannot open %s"), path);
        if (lock_file(fd, path, true, UIDLS_LOCK_TIMEOUT, e) != 0) {
            close(fd);
            return -1;
        }
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0
            && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            break;
        close(fd);
        if (tries >= 100)
            return err_set(e, MP_EIO, _("cannot lock %s: it keeps being "
                                        "replaced"), path);
    }
    if (read_all(fd, path, &data, &len, e) != 0) {
        close(fd);
        return -1;
    }
    if (uidls_parse(data, len, path, now, &u, e) != 0) {
        free(data);
        close(fd);
        return -1;
    }
    free(data);
    u->path = xstrdup(path);
    u->fd = fd;
    *u_r = u;
    return 0;
}

/* ---- writing ---- */

char *uidls_serialize(struct uidls *u, size_t *len_r, struct mp_err *e)
{
    struct buf b;
    size_t i, j;
    int r = 0;

    buf_init(&b, (size_t)UIDLS_FILE_MAX);
    r |= buf_printf(&b, "# This UIDLs file was written by %s %s.\n"
                    "# Each line \" N HOST USER\" starts a list of N UIDs "
                    "of mails already\n"
                    "# retrieved from USER at HOST; the UIDs follow in "
                    "ascending order,\n"
                    "# one per line.\n",
                    PACKAGE_NAME, PACKAGE_VERSION);
    if (u->format == UIDLS_FORMAT_TIMES)
        r |= buf_append_str(&b, "# After each UID: the time it was first "
                            "seen, in seconds since 1970.\n");
    for (i = 0; i < u->nlists && r == 0; i++) {
        struct uidls_list *l = u->lists[i];
        size_t n;
        const struct uidls_entry *v = uidls_entries(l, &n);

        if (n == 0)
            continue;
        if (uidls_check_names(l->host, l->user, e) != 0) {
            buf_clear(&b);
            e->kind = MP_EDATA;
            return NULL;
        }
        r |= buf_printf(&b, " %zu %s %s\n", n, l->host, l->user);
        for (j = 0; j < n && r == 0; j++) {
            r |= buf_append_str(&b, v[j].uid);
            if (u->format == UIDLS_FORMAT_TIMES)
                r |= buf_printf(&b, " %lld\n", v[j].first_seen);
            else
                r |= buf_append(&b, "\n", 1);
        }
    }
    if (r != 0) {
        buf_clear(&b);
        err_set(e, MP_EDATA, _("%s: UIDLs too large to write"),
                u->path ? u->path : "UIDLs");
        return NULL;
    }
    *len_r = b.len;
    return buf_steal(&b);
}

int uidls_save(struct uidls *u, struct mp_err *e)
{
    struct durable_file df;
    struct stat st;
    mode_t mode = 0600;
    size_t len;
    char *text;

    if (!u->path || u->fd < 0)
        return err_set(e, MP_ESOFTWARE, "uidls_save without a file");
    text = uidls_serialize(u, &len, e);
    if (!text)
        return -1;
    if (fstat(u->fd, &st) == 0)
        mode = st.st_mode & 07777;
    if (durable_open(&df, u->path, mode, e) != 0) {
        free(text);
        return -1;
    }
    /* Lock the new file before it gets its name, so that the lock passes
     * from the old file to the new one without a gap. */
    if (lock_file(df.fd, df.tmppath, true, 0, e) != 0
        || durable_write(&df, text, len, e) != 0) {
        free(text);
        durable_abort(&df);
        return -1;
    }
    free(text);
    if (durable_commit(&df, true, e) != 0)
        return -1;
    close(u->fd);       /* the old inode: its lock no longer matters */
    u->fd = df.fd;
    free(df.path);
    return 0;
}
