#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "pop3d_store.h"
#include "tap.h"

static void test_uid(void)
{
    static const struct {
        const char *name;
        const char *want;   /* NULL: a 40-digit SHA-1 hex */
    } rows[] = {
        { "1000.M1P2Q3.host", "1000.M1P2Q3.host" },
        { "1000.M1P2Q3.host:2,S", "1000.M1P2Q3.host" },
        { "1000.M1P2Q3.host:2,:x", "1000.M1P2Q3.host" },
        { "a", "a" },
        { "with space", NULL },
        { ":2,S", NULL },
        { "tab\there", NULL },
        { "caf\xc3\xa9", NULL },
    };
    char uid[POP3D_UID_MAX + 1];
    char name70[71], name71[72];

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ok(pop3d_store_uid(rows[i].name, uid) == 0, "uid of row %zu", i);
        if (rows[i].want) {
            is_str(uid, rows[i].want, "uid of row %zu kept", i);
        } else {
            ok(strlen(uid) == 40 && strspn(uid, "0123456789abcdef") == 40,
               "uid of row %zu hashed", i);
        }
    }
    memset(name70, 'x', 70);
    name70[70] = '\0';
    pop3d_store_uid(name70, uid);
    is_str(uid, name70, "70 characters are kept");
    memset(name71, 'x', 71);
    name71[71] = '\0';
    pop3d_store_uid(name71, uid);
    ok(strlen(uid) == 40, "71 characters are hashed");
    /* SHA-1 of "ab c" (sha1sum), the unique name without the flags. */
    pop3d_store_uid("ab c:2,S", uid);
    is_str(uid, "2538e3298b3a42f99a5551f5c49921935e63b7c6",
           "hashed uid is the SHA-1 hex");
    {
        char again[POP3D_UID_MAX + 1];
        pop3d_store_uid("ab c:2,T", again);
        is_str(uid, again, "hashed uid ignores the flags");
    }
}

static uint64_t size_split(const char *p, size_t n, size_t split)
{
    bool cr = false;
    int last = -1;
    uint64_t size = 0;

    size = pop3d_store_size_chunk(size, p, split, &cr, &last);
    size = pop3d_store_size_chunk(size, p + split, n - split, &cr, &last);
    return pop3d_store_size_end(size, last);
}

static void test_size(void)
{
    static const struct {
        const char *in;
        uint64_t want;
    } rows[] = {
        { "", 0 },
        { "a\n", 3 },
        { "a\r\n", 3 },
        { "a", 3 },
        { "a\r", 4 },
        { "\n\n", 4 },
        { "a\r\r\n", 4 },
        { "a\nb\r\nc", 9 },
        { "Subject: x\n\nhello\n", 21 },
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t n = strlen(rows[i].in);
        bool all = true;
        /* Every split point must give the same size. */
        for (size_t k = 0; k <= n; k++)
            if (size_split(rows[i].in, n, k) != rows[i].want)
                all = false;
        ok(all, "size of row %zu is %llu at every split", i,
           (unsigned long long)rows[i].want);
    }
}

static void put(const char *dir, const char *name, const char *data)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    fputs(data, f);
    fclose(f);
}

static void test_open(void)
{
    char dir[] = "/tmp/test-pop3d-store.XXXXXX";
    char path[4096], outside[4096];
    struct pop3d_store s, s2;
    struct mp_err e;

    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/md", dir);
    mkdir(path, 0700);
    err_init(&e);
    ok(pop3d_store_open(&s, path, &e) == -1 && e.kind == MP_ENOINPUT,
       "a maildir without new/ and cur/ fails");
    snprintf(path, sizeof path, "%s/md/new", dir);
    mkdir(path, 0700);
    put(path, "2.b.host", "second\n");
    snprintf(path, sizeof path, "%s/md/cur", dir);
    mkdir(path, 0700);
    put(path, "1.a.host:2,S", "first\n");
    snprintf(outside, sizeof outside, "%s/outside", dir);
    put(dir, "outside", "secret\n");
    snprintf(path, sizeof path, "%s/md/new/3.c.host", dir);
    symlink(outside, path);
    snprintf(path, sizeof path, "%s/md/new/4.d.host", dir);
    mkfifo(path, 0600);
    snprintf(path, sizeof path, "%s/md/cur/1.a.host:2,T", dir);
    put(dir, "md/cur/1.a.host:2,T", "duplicate\n");
    snprintf(path, sizeof path, "%s/md", dir);

    ok(pop3d_store_open(&s, path, &e) == 0, "open");
    is_int((long long)s.count, 2, "symlink and FIFO skipped, duplicate UID "
           "served once");
    {
        struct pop3d_mail *m1 = pop3d_store_get(&s, 1);
        struct pop3d_mail *m2 = pop3d_store_get(&s, 2);
        ok(m1 && m2 && strcmp(m1->uid, m2->uid) != 0, "distinct UIDs");
        ok(pop3d_store_get(&s, 0) == NULL && pop3d_store_get(&s, 3) == NULL,
           "msn out of range");
    }
    err_init(&e);
    ok(pop3d_store_open(&s2, path, &e) == -1 && e.kind == MP_ETEMP,
       "a second open is refused (in use)");
    pop3d_store_get(&s, 1)->deleted = true;
    {
        size_t count;
        uint64_t size;
        pop3d_store_stat(&s, &count, &size);
        ok(count == 1, "stat counts the mails not deleted");
    }
    ok(pop3d_store_commit(&s, &e) == 0, "commit");
    pop3d_store_close(&s);
    pop3d_store_close(&s);
    ok(pop3d_store_open(&s, path, &e) == 0 && s.count == 1,
       "the deleted mail is gone, the lock released");
    pop3d_store_close(&s);
    ok(access(outside, F_OK) == 0, "the symlink target is untouched");

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0)
        ok(0, "cleanup");
}

int main(void)
{
    test_uid();
    test_size();
    test_open();
    return done_testing();
}
