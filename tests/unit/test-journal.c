/* Tests of journal.c: append and replay, idempotence, pending deliveries,
 * a torn last record, lost (NUL) blocks, garbage and bad checksums with
 * FILE:LINE, refused records, and a process killed while appending. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "tap.h"
#include "xalloc.h"

static char dir[] = "/tmp/test-journal.XXXXXX";
static char *jpath;

static void raw_append(const char *p, size_t n)
{
    int fd = open(jpath, O_WRONLY | O_APPEND | O_CREAT, 0600);

    if (fd < 0 || write(fd, p, n) != (ssize_t)n)
        printf("# raw_append failed\n");
    if (fd >= 0)
        close(fd);
}

static off_t file_size(void)
{
    struct stat st;

    return stat(jpath, &st) == 0 ? st.st_size : -1;
}

/* Replays into a new set; returns it (NULL on error, e filled). */
static struct uidls *replay(journal_pending_fn fn, size_t *n, struct mp_err *e)
{
    struct uidls *u = uidls_new(UIDLS_FORMAT_TIMES);

    err_init(e);
    if (journal_replay(jpath, u, fn, NULL, n, e) != 0)
        uidls_close(&u);
    return u;
}

static bool has(struct uidls *u, const char *uid, long long t)
{
    struct uidls_list *l = u ? uidls_get(u, "h", "joe", false) : NULL;
    const struct uidls_entry *en = l ? uidls_find(l, uid) : NULL;

    return en && (t < 0 || en->first_seen == t);
}

static int calls;

static int pending_cb(void *ctx, const char *host, const char *user,
                      const char *uid, const char *token, bool *done_r,
                      struct mp_err *e)
{
    calls++;
    *done_r = strcmp(token, "file-c") == 0;
    return 0;
}

static int pending_fail(void *ctx, const char *host, const char *user,
                        const char *uid, const char *token, bool *done_r,
                        struct mp_err *e)
{
    return err_set(e, MP_EIO, "maildir unreadable");
}

static void test_basic(void)
{
    struct journal *j = NULL;
    struct mp_err e;
    struct uidls *u;
    size_t n = 99;

    err_init(&e);
    u = replay(NULL, &n, &e);
    ok(u && n == 0, "missing journal: no events");
    uidls_close(&u);

    ok(journal_open(jpath, &j, &e) == 0, "open: %s", e.msg);
    if (!j)
        return;
    ok(journal_append(j, JOURNAL_DELIVERED, "h", "joe", "a", 100, NULL,
                      &e) == 0, "append D a");
    journal_append(j, JOURNAL_DELIVERED, "h", "joe", "b", 200, NULL, &e);
    journal_append(j, JOURNAL_DELIVERED, "h", "joe", "b", 150, NULL, &e);
    journal_append(j, JOURNAL_DELETED, "h", "joe", "a", 0, NULL, &e);
    journal_append(j, JOURNAL_PENDING, "h", "joe", "c", 300, "file-c", &e);
    journal_append(j, JOURNAL_PENDING, "h", "joe", "d", 400, "file-d", &e);
    journal_append(j, JOURNAL_PENDING, "h", "joe", "e", 500, "file-e", &e);
    journal_append(j, JOURNAL_DELIVERED, "h", "joe", "e", 500, "file-e", &e);
    journal_append(j, JOURNAL_DELIVERED, "other", "ann", "z", 7, NULL, &e);
    ok(journal_sync(j, &e) == 0, "sync");
    {
        off_t before = file_size();
        ok(journal_append(j, JOURNAL_DELIVERED, "h", "joe", "bad uid", 1,
                          NULL, &e) == -1 && e.kind == MP_EDATA,
           "UID with a space refused");
        ok(journal_append(j, JOURNAL_DELIVERED, "h", "", "x", 1, NULL, &e)
           == -1 && e.kind == MP_EDATA, "empty user refused");
        ok(journal_append(j, JOURNAL_PENDING, "h", "joe", "x", 1, "a b", &e)
           == -1, "token with a space refused");
        ok(journal_append(j, JOURNAL_PENDING, "h", "joe", "x", 1, "-", &e)
           == -1, "token '-' refused");
        is_int(file_size(), before, "refused records write nothing");
    }
    journal_close(&j);
    ok(j == NULL, "close sets NULL");

    calls = 0;
    u = replay(pending_cb, &n, &e);
    ok(u != NULL, "replay: %s", e.msg);
    is_int((long long)n, 9, "nine events");
    ok(!has(u, "a", -1), "a delivered then deleted");
    ok(has(u, "b", 150), "b: earliest time kept");
    ok(has(u, "c", 300), "c pending, callback says delivered");
    ok(!has(u, "d", -1), "d pending, callback says not delivered");
    ok(has(u, "e", 500), "e pending then delivered");
    is_int(calls, 2, "callback asked for c and d only");
    ok(u && uidls_get(u, "other", "ann", false)
       && uidls_find(uidls_get(u, "other", "ann", false), "z"),
       "second list");
    /* Replaying again into the same set changes nothing. */
    if (u) {
        ok(journal_replay(jpath, u, pending_cb, NULL, &n, &e) == 0
           && has(u, "b", 150) && !has(u, "a", -1)
           && uidls_count(uidls_get(u, "h", "joe", false)) == 3,
           "replay is idempotent");
    }
    uidls_close(&u);

    u = replay(NULL, &n, &e);
    ok(u && !has(u, "c", -1) && has(u, "e", -1),
       "without a callback, pending deliveries are not counted");
    uidls_close(&u);
    u = replay(pending_fail, &n, &e);
    ok(u == NULL && strstr(e.msg, "maildir unreadable"),
       "callback error stops the replay");

    /* A torn last record and lost blocks are ignored. */
    raw_append("D 1 h joe torn", 14);
    u = replay(NULL, &n, &e);
    ok(u && n == 9 && !has(u, "torn", -1), "torn last record ignored");
    uidls_close(&u);
    ok(journal_remove(jpath, &e) == 0 && file_size() == -1, "remove");
    ok(journal_remove(jpath, &e) == 0, "remove a missing journal");
}

static void write_good(int n)
{
    struct journal *j = NULL;
    struct mp_err e;
    char uid[32];
    int i;

    err_init(&e);
    journal_remove(jpath, &e);
    if (journal_open(jpath, &j, &e) != 0)
        return;
    for (i = 0; i < n; i++) {
        snprintf(uid, sizeof(uid), "u%d", i);
        journal_append(j, JOURNAL_DELIVERED, "h", "joe", uid, i, NULL, &e);
    }
    journal_close(&j);
}

static void test_damage(void)
{
    struct mp_err e;
    struct uidls *u;
    size_t n;
    char zeros[512];
    char *want;

    /* A block of NULs between records (a lost page) is skipped. */
    write_good(2);
    memset(zeros, 0, sizeof(zeros));
    zeros[sizeof(zeros) - 1] = '\n';
    raw_append(zeros, sizeof(zeros));
    {
        struct journal *j = NULL;
        err_init(&e);
        journal_open(jpath, &j, &e);
        if (j)
            journal_append(j, JOURNAL_DELIVERED, "h", "joe", "after", 9,
                           NULL, &e);
        journal_close(&j);
    }
    u = replay(NULL, &n, &e);
    ok(u && n == 3 && has(u, "u1", 1) && has(u, "after", 9),
       "NUL block skipped: %s", e.msg);
    uidls_close(&u);
    /* NULs at the very end without a newline: torn. */
    raw_append(zeros, 100);
    u = replay(NULL, &n, &e);
    ok(u && n == 3, "trailing NULs ignored");
    uidls_close(&u);

    /* Garbage in the middle: an error naming the line. */
    write_good(2);
    raw_append("hello world\n", 12);
    raw_append("D 5 h joe x 6 00000000\n", 23);
    u = replay(NULL, &n, &e);
    want = xasprintf("%s:4: corrupt journal record", jpath);
    ok(u == NULL && strstr(e.msg, want) && e.kind == MP_EDATA,
       "garbage line: %s", e.msg);
    free(want);

    /* A bad checksum. */
    write_good(3);
    {
        /* Flip one character of the second record: "u1" -> "v1". */
        int fd = open(jpath, O_RDWR);
        char buf[4096];
        ssize_t r = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
        char *p = r > 0 ? strstr(buf, " u1 ") : NULL;
        if (p) {
            p[1] = 'v';
            if (pwrite(fd, buf, (size_t)r, 0) != r)
                printf("# pwrite failed\n");
        }
        if (fd >= 0)
            close(fd);
    }
    u = replay(NULL, &n, &e);
    want = xasprintf("%s:3: corrupt journal record", jpath);
    ok(u == NULL && strstr(e.msg, want), "bad checksum: %s", e.msg);
    free(want);

    /* Not a journal. */
    journal_remove(jpath, &e);
    raw_append("something else\n", 15);
    u = replay(NULL, &n, &e);
    want = xasprintf("%s:1: not an mpop journal", jpath);
    ok(u == NULL && strstr(e.msg, want), "bad first line: %s", e.msg);
    free(want);

    /* A torn first line: nothing happened yet. */
    journal_remove(jpath, &e);
    raw_append("mpop jo", 7);
    u = replay(NULL, &n, &e);
    ok(u && n == 0, "torn first line: empty journal");
    uidls_close(&u);

    /* Records that parse but carry bad fields. */
    {
        static const char *const lines[] = {
            "D 1 h joe",                        /* too few fields */
            "Q 1 h joe a - ",                   /* unknown type */
            "D x h joe a - ",                   /* bad time */
            "D 1 h joe a - 1234567",            /* short check */
            "D 1 h joe a - 12345678 extra",     /* too many fields */
            "D 1 h  a - 12345678",              /* empty field */
        };
        size_t i;
        for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
            journal_remove(jpath, &e);
            raw_append("mpop journal 1\n", 15);
            raw_append(lines[i], strlen(lines[i]));
            raw_append("\n", 1);
            u = replay(NULL, &n, &e);
            ok(u == NULL && strstr(e.msg, ":2: corrupt"),
               "bad record %zu: %s", i, e.msg);
            uidls_close(&u);
        }
    }
    journal_remove(jpath, &e);
}

/* A child appends records as fast as it can and is killed at a random
 * moment: every record it finished is replayed, in order, without error. */
static void test_killed(void)
{
    int round, good = 0;
    size_t last = 0;

    for (round = 0; round < 20; round++) {
        struct mp_err e;
        pid_t pid;
        int st;
        struct uidls *u;
        size_t n, i, prefix = 0;
        struct timespec ts = { 0, (round % 10) * 1000000L + 200000L };

        err_init(&e);
        journal_remove(jpath, &e);
        pid = fork();
        if (pid == 0) {
            struct journal *j = NULL;
            char uid[32];
            if (journal_open(jpath, &j, &e) != 0)
                _exit(1);
            for (i = 0; ; i++) {
                snprintf(uid, sizeof(uid), "u%zu", i);
                journal_append(j, JOURNAL_DELIVERED, "h", "joe", uid,
                               (long long)i, NULL, &e);
                if (i == 1000000)
                    raise(SIGKILL);
            }
        }
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        u = replay(NULL, &n, &e);
        if (u) {
            char uid[32];
            for (i = 0; i < n; i++) {
                snprintf(uid, sizeof(uid), "u%zu", i);
                prefix += has(u, uid, (long long)i);
            }
        }
        last = n;
        good += u && prefix == n
                && uidls_count(uidls_get(u, "h", "joe", true)) == n;
        uidls_close(&u);
    }
    is_int(good, 20, "20 killed writers: every finished record replayed");
    printf("# the last writer got %zu records out\n", last);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    jpath = xasprintf("%s/joe_at_h.journal", dir);
    {
        char *p = journal_path("/x/joe_at_h");
        is_str(p, "/x/joe_at_h.journal", "journal_path");
        free(p);
    }
    test_basic();
    test_damage();
    test_killed();
    {
        char *cmd = xasprintf("rm -rf '%s'", dir);
        if (system(cmd) != 0)
            printf("# cleanup failed\n");
        free(cmd);
    }
    free(jpath);
    return done_testing();
}
