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

/* A list is kept in three sorted-or-small runs so that lookups stay
 * O(log n) while mails are added one by one:
 *   v[0..nsorted)     the main run, sorted;
 *   v[nsorted..nmid)  the middle run, sorted, at most ~n/16 entries;
 *   v[nmid..n)        recent additions, unsorted, at most SMALL_MAX.
 * A UID appears at most once in the whole array (live or removed), so
 * merging never meets duplicates.  Full sorting and compaction happen on
 * load and before writing: O(n log n) per session. */
#define SMALL_MAX 64

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

/* Sorts everything, merges duplicates (only a file can hold them: the
 * earliest time wins, a live copy beats a removed one) and drops removed
 * entries. */
static void compact(struct uidls_list *l)
{
    size_t i, k = 0;

    if (l->nsorted == l->n && l->ndead == 0)
        return;
    /* A file we wrote is in order already (and a server's UIDs often
     * are): one pass instead of a sort. */
    for (i = 1; i < l->n; i++)
        if (strcmp(l->v[i - 1].uid, l->v[i].uid) > 0)
            break;
    if (i < l->n)
        qsort(l->v, l->n, sizeof(*l->v), entry_cmp);
    for (i = 0; i < l->n; i++) {
        struct uidls_entry *cur = &l->v[i];
        if (k > 0 && strcmp(l->v[k - 1].uid, cur->uid) == 0) {
            struct uidls_entry *prev = &l->v[k - 1];
            if (!cur->dead && (prev->dead
                               || cur->first_seen < prev->first_seen))
                prev->first_seen = cur->first_seen;
            prev->dead = prev->dead && cur->dead;
            continue;
        }
        l->v[k++] = *cur;
    }
    l->n = k;
    k = 0;
    for (i = 0; i < l->n; i++) {
        if (!l->v[i].dead)      /* a dead UID's string stays in the pool */
            l->v[k++] = l->v[i];
    }
    l->n = l->nsorted = l->nmid = k;
    l->ndead = 0;
}

/* Merges the sorted runs v[lo..mid) and v[mid..hi) in place (through a
 * temporary copy of the first run). */
static void merge_runs(struct uidls_entry *v, size_t lo, size_t mid,
                       size_t hi)
{
    size_t na = mid - lo, i = 0, j = mid, k = lo;
    struct uidls_entry *a;

    if (na == 0 || mid == hi)
        return;
    a = xreallocarray(NULL, na, sizeof(*a));
    memcpy(a, v + lo, na * sizeof(*a));
    while (i < na && j < hi)
        v[k++] = strcmp(a[i].uid, v[j].uid) <= 0 ? a[i++] : v[j++];
    while (i < na)
        v[k++] = a[i++];
    free(a);
}

/* Moves the small run into the middle run, and the middle run into the
 * main run once it has grown to a sixteenth of it. */
static void settle(struct uidls_list *l)
{
    size_t nmid;

    if (l->n - l->nmid > 1)
        qsort(l->v + l->nmid, l->n - l->nmid, sizeof(*l->v), entry_cmp);
    merge_runs(l->v, l->nsorted, l->nmid, l->n);
    l->nmid = l->n;
    nmid = l->nmid - l->nsorted;
    if (nmid > SMALL_MAX && nmid > l->nsorted / 16) {
        merge_runs(l->v, 0, l->nsorted, l->nmid);
        l->nsorted = l->nmid;
    }
}

static struct uidls_entry *find_any(struct uidls_list *l, const char *uid)
{
    struct uidls_entry key, *en;
    size_t i;

    if (!l->v)
        return NULL;
    /* Servers list their mails in a steady order, mostly the order of
     * the list: the entry after the last one found comes first. */
    if (l->hint < l->nsorted && strcmp(l->v[l->hint].uid, uid) == 0) {
        en = &l->v[l->hint++];
        return en;
    }
    key.uid = (char *)uid;
    en = bsearch(&key, l->v, l->nsorted, sizeof(*l->v), entry_cmp);
    if (en) {
        l->hint = (size_t)(en - l->v) + 1;
        return en;
    }
    if (l->nmid > l->nsorted)
        en = bsearch(&key, l->v + l->nsorted, l->nmid - l->nsorted,
                     sizeof(*l->v), entry_cmp);
    for (i = l->nmid; !en && i < l->n; i++)
        if (strcmp(l->v[i].uid, uid) == 0)
            en = &l->v[i];
    return en;
}

const struct uidls_entry *uidls_find(struct uidls_list *l, const char *uid)
{
    const struct uidls_entry *en = find_any(l, uid);

    return en && !en->dead ? en : NULL;
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
    struct uidls_entry *en;

    if (!uidls_valid_uid(uid, len))
        return err_set(e, MP_EDATA, _("invalid UID '%.*s'"),
                       len > UIDLS_UID_MAX ? UIDLS_UID_MAX : (int)len, uid);
    en = find_any(l, uid);
    if (en && en->dead) {
        en->dead = false;
        en->first_seen = first_seen;
        l->ndead--;
    } else if (en) {
        if (first_seen < en->first_seen)
            en->first_seen = first_seen;
    } else {
        /* UIDs that come in ascending order (as many servers give them)
         * extend the main run directly. */
        bool last = l->nsorted == l->n
                    && (l->n == 0 || strcmp(l->v[l->n - 1].uid, uid) < 0);

        push(l, strpool_dup(&l->pool, uid, len), first_seen);
        if (last)
            l->nsorted = l->nmid = l->n;
        else if (l->n - l->nmid > SMALL_MAX)
            settle(l);
    }
    return 0;
}

bool uidls_remove(struct uidls_list *l, const char *uid)
{
    struct uidls_entry *en = find_any(l, uid);

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
    size_t i, j;

    compact(l);
    keep = xreallocarray(NULL, n ? n : 1, sizeof(*keep));
    if (n > 0)
        memcpy(keep, uids, n * sizeof(*keep));
    /* Servers mostly list their UIDs in ascending order: then one pass
     * checks it and no sort is needed. */
    for (i = 1; i < n; i++)
        if (strcmp(keep[i - 1], keep[i]) >= 0)
            break;
    if (i < n)
        qsort(keep, n, sizeof(*keep), pstrcmp);
    /* Both sorted: one merging walk. */
    for (i = 0, j = 0; i < l->n; i++) {
        const char *key = l->v[i].uid;
        int c = 1;

        while (j < n && (c = strcmp(keep[j], key)) < 0)
            j++;
        if (j == n || c != 0) {
            l->v[i].dead = true;
            l->ndead++;
        }
    }
    free(keep);
    compact(l);
}

size_t uidls_count(struct uidls_list *l)
{
    return l->n - l->ndead;
}

const struct uidls_entry *uidls_entries(struct uidls_list *l, size_t *n_r)
{
    compact(l);
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
    if (!l)
        return;
    strpool_clear(&l->pool);
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
            char *host = NULL, *user = NULL;
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
            size_t ulen = 0;
            long long t = now;
            bool has_t;
            if (ll > 0 && s[0] == ' ') {
                too_few(&p, cur);
                goto fail;
            }
            if (parse_uid_line(&p, s, ll, &ulen, &t, &has_t) != 0)
                goto fail;
            any_times |= has_t;
            push(cur, strpool_dup(&cur->pool, s, ulen), t);
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
            compact(u->lists[i]);
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
    size_t len = 0;
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
            /* One append per line, no printf: this runs for every UID
             * at every save. */
            char line[UIDLS_UID_MAX + 32];
            size_t ul = strlen(v[j].uid), o, k = 0;

            if (ul > UIDLS_UID_MAX) {   /* uidls_add() refuses them */
                r = -1;
                break;
            }
            memcpy(line, v[j].uid, ul);
            o = ul;
            if (u->format == UIDLS_FORMAT_TIMES) {
                char d[24];
                unsigned long long t;
                bool neg = v[j].first_seen < 0;

                t = neg ? 0 - (unsigned long long)v[j].first_seen
                        : (unsigned long long)v[j].first_seen;
                do {
                    d[k++] = (char)('0' + t % 10);
                    t /= 10;
                } while (t > 0);
                line[o++] = ' ';
                if (neg)
                    line[o++] = '-';
                while (k > 0)
                    line[o++] = d[--k];
            }
            line[o++] = '\n';
            r |= buf_append(&b, line, o);
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
