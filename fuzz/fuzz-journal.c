/* Fuzz target: the delivery journal (journal_replay) folded into a UIDLs
 * set.  journal_replay reads a file, so each input is written to a file in
 * a private temporary directory first.
 *
 * Input layout: byte 0 holds flags; the rest is the journal file.  With
 * bit 0 set, the harness rewrites the last field of every line after the
 * first into the right FNV-1a checksum of the bytes before its space, so
 * that the fuzzer gets past the checksum into the record parser.  Bit 1
 * makes the pending callback fail (the replay must then fail cleanly).
 *
 * Checks: an error leaves a message; on success every UID in the set is
 * valid, the set serialises, and replaying the same journal a second time
 * changes nothing (journal.h promises that). */
#include "config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fuzz.h"
#include "journal.h"
#include "uidls.h"

static char dir[64];
static char path[128];

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

/* Rewrites the checksum field of each record line; returns the new
 * length.  out must hold len + 9 * (number of lines) bytes. */
static size_t fix_checksums(const char *in, size_t len, char *out)
{
    size_t o = 0, i = 0, lineno = 0;

    while (i < len) {
        const char *nl = memchr(in + i, '\n', len - i);
        size_t ll = nl ? (size_t)(nl - (in + i)) : len - i;
        const char *sp = NULL;
        size_t k;

        lineno++;
        for (k = ll; k > 0; k--) {
            if (in[i + k - 1] == ' ') {
                sp = in + i + k - 1;
                break;
            }
        }
        if (lineno > 1 && sp && nl) {
            size_t before = (size_t)(sp - (in + i));
            memcpy(out + o, in + i, before + 1);
            o += before + 1;
            o += (size_t)sprintf(out + o, "%08lx",
                                 fnv1a(in + i, before));
        } else {
            memcpy(out + o, in + i, ll);
            o += ll;
        }
        if (nl)
            out[o++] = '\n';
        i += ll + (nl != NULL);
    }
    return o;
}

struct pend {
    bool fail;
    unsigned long calls;
};

static int pending(void *ctx, const char *host, const char *user,
                   const char *uid, const char *token, bool *done_r,
                   struct mp_err *e)
{
    struct pend *p = ctx;

    p->calls++;
    FUZZ_CHECK(host && user && uid && token);
    FUZZ_CHECK(uidls_valid_uid(uid, strlen(uid)));
    FUZZ_CHECK(strlen(token) >= 1 && strlen(token) <= JOURNAL_TOKEN_MAX);
    if (p->fail)
        return err_set(e, MP_EIO, "fuzz: pending check failed");
    *done_r = (unsigned char)token[0] & 1;
    return 0;
}

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");

    if (!tmp || strlen(tmp) > 40)
        tmp = "/tmp";
    snprintf(dir, sizeof dir, "%s/fuzz-journal-XXXXXX", tmp);
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/uidls.journal", dir);
    atexit(cleanup);
    return 0;
}

static void write_file(const char *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    FUZZ_CHECK(fd >= 0);
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        FUZZ_CHECK(w > 0);
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

static char *snapshot(struct uidls *u, size_t *len_r)
{
    struct mp_err e;
    char *s;

    err_init(&e);
    s = uidls_serialize(u, len_r, &e);
    FUZZ_CHECK(s != NULL);  /* journal_replay checked the names */
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct uidls *u;
    struct mp_err e;
    struct pend pd;
    const char *in;
    char *fixed = NULL, *s1, *s2;
    size_t len, n1, n2, nev = 0, nev2 = 0, i;
    int r;

    if (size < 1)
        return 0;
    in = (const char *)data + 1;
    len = size - 1;
    if (data[0] & 1) {
        size_t lines = 1;
        for (i = 0; i < len; i++)
            lines += in[i] == '\n';
        fixed = malloc(len + 9 * lines + 1);
        FUZZ_CHECK(fixed != NULL);
        len = fix_checksums(in, len, fixed);
        in = fixed;
    }
    write_file(in, len);

    u = uidls_new(UIDLS_FORMAT_TIMES);
    pd.fail = data[0] & 2;
    pd.calls = 0;
    err_init(&e);
    r = journal_replay(path, u, pending, &pd, &nev, &e);
    if (r != 0) {
        FUZZ_CHECK(e.kind != MP_EOK && e.msg[0] != '\0');
        goto out;
    }
    FUZZ_CHECK(!pd.fail || pd.calls == 0);
    for (i = 0; i < u->nlists; i++) {
        const struct uidls_entry *v;
        size_t n, j;

        v = uidls_entries(u->lists[i], &n);
        for (j = 0; j < n; j++)
            FUZZ_CHECK(uidls_valid_uid(v[j].uid, strlen(v[j].uid)));
    }
    s1 = snapshot(u, &n1);
    err_init(&e);
    FUZZ_CHECK(journal_replay(path, u, pending, &pd, &nev2, &e) == 0);
    FUZZ_CHECK(nev2 == nev);
    s2 = snapshot(u, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(s1, s2, n1) == 0);
    free(s1);
    free(s2);
out:
    uidls_close(&u);
    free(fixed);
    return 0;
}
