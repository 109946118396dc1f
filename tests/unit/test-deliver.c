/* deliver: every backend into a temporary folder.  Visibility only after
 * commit, nothing left after abort, mbox byte for byte (MBOXRD, CRLF to LF,
 * separator line, truncation on abort), mda exit status, exchange CRLF
 * files, the line converter at every split point, and flat memory for a
 * 50 MiB mail. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver_backend.h"
#include "tap.h"

static char tmp[] = "/tmp/test-deliver.XXXXXX";

/* tmp/rel in one of four static buffers. */
static char *path_of(const char *rel)
{
    static char p[4][512];
    static int k;
    char *r = p[k++ % 4];

    snprintf(r, 512, "%s/%s", tmp, rel);
    return r;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    *len = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    p[*len] = '\0';
    fclose(f);
    return p;
}

/* Number of entries in dir (without . and ..); the first one's path goes
 * to first (if not NULL). */
static int count(const char *dir, char *first, size_t firstsz)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n++ == 0 && first)
            snprintf(first, firstsz, "%s/%s", dir, de->d_name);
    }
    closedir(d);
    return n;
}

/* ---- line converter ---- */

struct sink {
    char *p;
    size_t n, a;
};

static int sink_emit(void *arg, const char *p, size_t n, struct mp_err *e)
{
    struct sink *s = arg;

    if (s->n + n > s->a) {
        s->a = (s->n + n) * 2;
        s->p = realloc(s->p, s->a);
    }
    memcpy(s->p + s->n, p, n);
    s->n += n;
    return 0;
}

static const struct {
    const char *name;
    bool crlf, mboxrd;
    const char *in, *want;
} line_cases[] = {
    { "CRLF to LF", false, false, "a\r\nb\r\n", "a\nb\n" },
    { "LF stays", false, false, "a\nb\n", "a\nb\n" },
    { "lone CR stays", false, false, "a\rb\r\n", "a\rb\n" },
    { "last line ended", false, false, "a\r\nb", "a\nb\n" },
    { "trailing CR", false, false, "a\r", "a\r\n" },
    { "empty", false, false, "", "" },
    { "LF to CRLF", true, false, "a\nb\r\nc", "a\r\nb\r\nc\r\n" },
    { "mboxrd From", false, true, "From x\r\n", ">From x\n" },
    { "mboxrd >From", false, true, ">From x\n>>From y\n",
      ">>From x\n>>>From y\n" },
    { "mboxrd not at line start", false, true, "a From x\n",
      "a From x\n" },
    { "mboxrd From without space", false, true, "From\nFromage\n>From:\n",
      "From\nFromage\n>From:\n" },
    { "mboxrd only >", false, true, ">>\n>\n", ">>\n>\n" },
    { "mboxrd prefix at the end", false, true, "x\n>>Fro", "x\n>>Fro\n" },
    { "mboxrd lower case", false, true, "from x\n", "from x\n" },
    { "mboxrd CRLF in the middle", false, true, "Fr\r\nFrom \r\n",
      "Fr\n>From \n" },
};

static void test_lines(void)
{
    size_t i, split;
    struct mp_err e;
    struct deliver_lines *l = malloc(sizeof *l);

    for (i = 0; i < sizeof line_cases / sizeof line_cases[0]; i++) {
        const char *in = line_cases[i].in;
        size_t n = strlen(in);
        bool all = true;

        for (split = 0; split <= n; split++) {
            struct sink s = { NULL, 0, 0 };
            deliver_lines_init(l, line_cases[i].crlf, line_cases[i].mboxrd,
                               sink_emit, &s);
            deliver_lines_write(l, in, split, &e);
            deliver_lines_write(l, in + split, n - split, &e);
            deliver_lines_finish(l, &e);
            if (s.n != strlen(line_cases[i].want)
                || (s.n && memcmp(s.p, line_cases[i].want, s.n) != 0))
                all = false;
            free(s.p);
        }
        {
            /* one byte at a time */
            struct sink s = { NULL, 0, 0 };
            size_t k;
            deliver_lines_init(l, line_cases[i].crlf, line_cases[i].mboxrd,
                               sink_emit, &s);
            for (k = 0; k < n; k++)
                deliver_lines_write(l, in + k, 1, &e);
            deliver_lines_finish(l, &e);
            if (s.n != strlen(line_cases[i].want)
                || (s.n && memcmp(s.p, line_cases[i].want, s.n) != 0))
                all = false;
            free(s.p);
        }
        ok(all, "lines: %s, at every split point and byte by byte",
           line_cases[i].name);
    }
    free(l);
}

/* ---- backends ---- */

static const char mail_crlf[] =
    "Return-Path: <joe@example.org>\r\n"
    "Subject: test\r\n"
    "\r\n"
    "From the start\r\n"
    ">From quoted\r\n"
    "..dot\r\n"
    "last line";

static const char received[] =
    "Received: from h (n [192.0.2.1])\n\tby me (mpop-x) with POP3\n"
    "\tfor <u>; Sat, 05 Dec 2026 03:04:05 +0000\n";

static int deliver_one(struct deliver *d, const char *from, const char *m,
                       size_t chunk, bool commit, unsigned cflags,
                       struct mp_err *e)
{
    struct deliver_msg_info info = {
        .envelope_from = from, .received = received, .size = -1,
        .now = 1796439845
    };
    size_t n = strlen(m), i;

    if (deliver_open(d, &info, e) != 0)
        return -1;
    for (i = 0; i < n; i += chunk)
        if (deliver_write(d, m + i, n - i < chunk ? n - i : chunk, e) != 0) {
            deliver_abort(d);
            return -1;
        }
    if (!commit) {
        deliver_abort(d);
        return 0;
    }
    if (deliver_commit(d, cflags, e) != 0) {
        deliver_abort(d);
        return -1;
    }
    return 0;
}

static const char mail_lf_body[] =
    "Return-Path: <joe@example.org>\n"
    "Subject: test\n"
    "\n"
    "From the start\n"
    ">From quoted\n"
    "..dot\n"
    "last line\n";

static void test_maildir(void)
{
    struct deliver *d = NULL;
    struct mp_err e;
    char md[512], first[600], *data;
    size_t len;
    char want[1024];

    snprintf(md, sizeof md, "%s", path_of("md"));
    err_init(&e);
    is_int(deliver_new(&deliver_maildir_ops, md, &d, &e), -1,
           "maildir: missing maildir is an error");
    is_int(e.kind, MP_ECANTCREAT, "maildir: ... MP_ECANTCREAT");
    ok(d == NULL && access(md, F_OK) != 0, "maildir: never created");
    mkdir(md, 0700);
    mkdir(path_of("md/tmp"), 0700);
    mkdir(path_of("md/new"), 0700);
    mkdir(path_of("md/cur"), 0700);
    is_int(deliver_new(deliver_lookup("maildir"), md, &d, &e), 0,
           "maildir: new");
    ok(!deliver_needs_from(d), "maildir: no envelope sender needed");

    /* open + write: only tmp/ has a file */
    {
        struct deliver_msg_info info = { .received = received, .size = -1 };
        deliver_open(d, &info, &e);
        deliver_write(d, mail_crlf, 20, &e);
        /* A mail that fits the converter's buffer makes its file only
         * when it is finished (announced once, with its size). */
        is_int(count(path_of("md/tmp"), NULL, 0), 0,
               "maildir: no file yet while a small mail is buffered");
        is_int(count(path_of("md/new"), NULL, 0), 0,
               "maildir: nothing in new/ before commit");
        deliver_write(d, mail_crlf + 20, strlen(mail_crlf) - 20, &e);
        is_int(deliver_finish(d, 0, &e), 0, "maildir: finish");
        is_int(count(path_of("md/tmp"), NULL, 0), 1,
               "maildir: file in tmp/ once finished");
        is_int(count(path_of("md/new"), NULL, 0), 0,
               "maildir: nothing in new/ before commit (finished)");
        is_int(deliver_commit(d, 0, &e), 0, "maildir: commit");
    }
    is_int(count(path_of("md/tmp"), NULL, 0), 0,
           "maildir: tmp/ empty after commit");
    is_int(count(path_of("md/new"), first, sizeof first), 1,
           "maildir: one mail in new/");
    data = slurp(first, &len);
    snprintf(want, sizeof want, "%s%s", received, mail_lf_body);
    is_mem(data, len, want, strlen(want),
           "maildir: Received header, LF line ends, no From quoting");
    free(data);
    {
        const char *b = strrchr(first, '/') + 1;
        char host[256];
        gethostname(host, sizeof host);
        ok(strchr(b, '.') && strstr(b, ".M") && strstr(b, "P")
           && strstr(b, "Q") && strstr(b, host),
           "maildir: name like SECONDS.MusecPpidQn.host: %s", b);
    }

    /* abort */
    is_int(deliver_one(d, NULL, mail_crlf, 7, false, 0, &e), 0,
           "maildir: write then abort");
    is_int(count(path_of("md/tmp"), NULL, 0), 0,
           "maildir: abort leaves nothing in tmp/");
    is_int(count(path_of("md/new"), NULL, 0), 1,
           "maildir: abort adds nothing to new/");

    /* deferred durability */
    ok(deliver_one(d, NULL, mail_crlf, 5, true, DELIVER_COMMIT_DEFER, &e)
       == 0 && deliver_one(d, NULL, mail_crlf, 5, true,
                           DELIVER_COMMIT_DEFER, &e) == 0,
       "maildir: two deferred commits");
    is_int(count(path_of("md/new"), NULL, 0), 3,
           "maildir: deferred mails are visible");
    is_int(deliver_sync(d, &e), 0, "maildir: one sync for the batch");
    is_int(deliver_sync(d, &e), 0, "maildir: sync with nothing pending");
    deliver_free(&d);
    ok(d == NULL, "maildir: free sets NULL");
    deliver_free(&d);
}

static void test_mbox(void)
{
    struct deliver *d = NULL;
    struct mp_err e;
    char mb[512], *data;
    size_t len, chunk;
    struct stat st;
    static const char want[] =
        "From joe@example.org Sat Dec  5 03:04:05 2026\n"
        "Received: from h (n [192.0.2.1])\n\tby me (mpop-x) with POP3\n"
        "\tfor <u>; Sat, 05 Dec 2026 03:04:05 +0000\n"
        "Return-Path: <joe@example.org>\n"
        "Subject: test\n"
        "\n"
        ">From the start\n"
        ">>From quoted\n"
        "..dot\n"
        "last line\n"
        "\n"
        "From MAILER-DAEMON Sat Dec  5 03:04:05 2026\n"
        "Received: from h (n [192.0.2.1])\n\tby me (mpop-x) with POP3\n"
        "\tfor <u>; Sat, 05 Dec 2026 03:04:05 +0000\n"
        "Subject: two\n"
        "\n"
        "body\n"
        "\n";

    snprintf(mb, sizeof mb, "%s", path_of("mbox"));
    err_init(&e);
    is_int(deliver_new(deliver_lookup("mbox"), mb, &d, &e), 0, "mbox: new");
    ok(deliver_needs_from(d), "mbox: needs the envelope sender");
    is_int(deliver_one(d, "joe@example.org", mail_crlf, 3, true, 0, &e), 0,
           "mbox: first mail, 3-byte chunks");
    is_int(deliver_one(d, NULL, "Subject: two\n\nbody\n", 100, true, 0, &e),
           0, "mbox: second mail, LF input");
    data = slurp(mb, &len);
    is_mem(data, len, want, strlen(want),
           "mbox: byte for byte (From_ line, MBOXRD, LF, separator)");
    free(data);

    /* Every chunk size gives the same bytes. */
    {
        bool same = true;
        for (chunk = 1; chunk <= strlen(mail_crlf); chunk++) {
            unlink(mb);
            deliver_one(d, "joe@example.org", mail_crlf, chunk, true,
                        DELIVER_COMMIT_DEFER, &e);
            deliver_one(d, NULL, "Subject: two\r\n\r\nbody\r\n", chunk, true,
                        DELIVER_COMMIT_DEFER, &e);
            deliver_sync(d, &e);
            data = slurp(mb, &len);
            if (len != strlen(want) || memcmp(data, want, len) != 0)
                same = false;
            free(data);
        }
        ok(same, "mbox: same bytes for every chunk size (deferred sync)");
    }

    /* Abort after a partial write truncates back. */
    stat(mb, &st);
    {
        struct deliver_msg_info info = { .envelope_from = "x@y" };
        struct stat st2;
        deliver_open(d, &info, &e);
        deliver_write(d, mail_crlf, 30, &e);
        deliver_abort(d);
        stat(mb, &st2);
        is_int((long long)st2.st_size, (long long)st.st_size,
               "mbox: abort after a small partial mail");
    }
    data = slurp(mb, &len);
    is_mem(data, len, want, strlen(want),
           "mbox: abort truncates back to the old length");
    free(data);
    deliver_free(&d);

    /* Large partial (flushed to disk) then abort. */
    is_int(deliver_new(deliver_lookup("mbox"), mb, &d, &e), 0, "mbox: again");
    {
        static char big[200000];
        struct deliver_msg_info info = { .envelope_from = "x@y" };
        struct stat st2;
        memset(big, 'z', sizeof big);
        big[sizeof big - 1] = '\0';
        deliver_open(d, &info, &e);
        deliver_write(d, big, sizeof big - 1, &e);
        stat(mb, &st2);
        ok(st2.st_size > (off_t)strlen(want), "mbox: 200 KB on disk");
        deliver_free(&d);   /* free aborts the open mail */
        stat(mb, &st2);
        is_int((long long)st2.st_size, (long long)strlen(want),
               "mbox: free of an open mail truncates back");
    }

    /* Locked by someone else: MP_ETEMP after the timeout is too slow for a
     * unit test; a directory as the mbox is an error at open. */
    is_int(deliver_new(deliver_lookup("mbox"), tmp, &d, &e), 0,
           "mbox: new on a directory");
    is_int(deliver_one(d, NULL, "a\n", 1, true, 0, &e), -1,
           "mbox: a directory cannot be opened");
    ok(e.kind == MP_ECANTCREAT, "mbox: ... MP_ECANTCREAT: %s", e.msg);
    deliver_free(&d);
}

static void test_mda(void)
{
    struct deliver *d = NULL;
    struct mp_err e;
    char cmd[1024], *data, want[1024];
    size_t len;

    err_init(&e);
    snprintf(cmd, sizeof cmd, "cat > %s/mda.%%F", tmp);
    is_int(deliver_new(deliver_lookup("mda"), cmd, &d, &e), 0, "mda: new");
    ok(deliver_needs_from(d), "mda: %%F needs the envelope sender");
    is_int(deliver_one(d, "joe@example.org", mail_crlf, 4, true, 0, &e), 0,
           "mda: cat > FILE");
    data = slurp(path_of("mda.joe@example.org"), &len);
    snprintf(want, sizeof want, "%s%s", received, mail_lf_body);
    is_mem(data, len, want, strlen(want),
           "mda: %%F replaced, Received first, LF line ends");
    free(data);
    deliver_free(&d);

    is_int(deliver_new(deliver_lookup("mda"), "cat >/dev/null; exit 3", &d,
                       &e), 0, "mda: new failing");
    ok(!deliver_needs_from(d), "mda: no %%F, no envelope sender needed");
    is_int(deliver_one(d, NULL, mail_crlf, 100, true, 0, &e), -1,
           "mda: exit 3 fails");
    ok(e.kind == MP_EDELIVERY && strstr(e.msg, "exit code 3")
       && strstr(e.msg, "exit 3"), "mda: error quotes status: %s", e.msg);
    deliver_free(&d);

    is_int(deliver_new(deliver_lookup("mda"), "kill -9 $$", &d, &e), 0,
           "mda: new killed");
    is_int(deliver_one(d, NULL, mail_crlf, 100, true, 0, &e), -1,
           "mda: killed by a signal fails");
    ok(strstr(e.msg, "signal 9") != NULL, "mda: names the signal: %s",
       e.msg);
    deliver_free(&d);

    /* abort: the command never sees the end of its input */
    snprintf(cmd, sizeof cmd, "cat > %s/frag && touch %s/delivered", tmp,
             tmp);
    deliver_new(deliver_lookup("mda"), cmd, &d, &e);
    is_int(deliver_one(d, NULL, mail_crlf, 10, false, 0, &e), 0,
           "mda: write then abort");
    usleep(100000);
    ok(access(path_of("delivered"), F_OK) != 0,
       "mda: abort does not deliver the fragment");
    deliver_free(&d);

    is_int(deliver_new(deliver_lookup("mda"), "", &d, &e), -1,
           "mda: empty command rejected");
}

static void test_exchange(void)
{
    struct deliver *d = NULL;
    struct mp_err e;
    char ex[512], first[600], *data;
    size_t len;
    static const char want[] =
        "Received: from h (n [192.0.2.1])\r\n\tby me (mpop-x) with POP3\r\n"
        "\tfor <u>; Sat, 05 Dec 2026 03:04:05 +0000\r\n"
        "Subject: x\r\n\r\nFrom a\r\nb\r\n";

    snprintf(ex, sizeof ex, "%s", path_of("ex"));
    err_init(&e);
    is_int(deliver_new(deliver_lookup("exchange"), ex, &d, &e), -1,
           "exchange: missing directory");
    mkdir(ex, 0700);
    is_int(deliver_new(deliver_lookup("exchange"), ex, &d, &e), 0,
           "exchange: new");
    is_int(deliver_one(d, NULL, "Subject: x\n\nFrom a\nb", 3, false, 0, &e),
           0, "exchange: abort");
    is_int(count(ex, NULL, 0), 0, "exchange: abort leaves nothing");
    {
        struct deliver_msg_info info = { .received = received };
        deliver_open(d, &info, &e);
        deliver_write(d, "Subject: x\n\nFrom a\nb", 5, &e);
        count(ex, first, sizeof first);
        ok(strstr(first, ".eml.tmp") != NULL,
           "exchange: while writing the name is *.eml.tmp");
        deliver_write(d, "Subject: x\n\nFrom a\nb" + 5, 15, &e);
        is_int(deliver_commit(d, 0, &e), 0, "exchange: commit");
    }
    is_int(count(ex, first, sizeof first), 1, "exchange: one file");
    {
        const char *b = strrchr(first, '/') + 1;
        ok(strncmp(b, "mpop-", 5) == 0 && strlen(b) > 4
           && strcmp(b + strlen(b) - 4, ".eml") == 0 && strstr(b, "-M")
           && !strstr(b, ".tmp"),
           "exchange: named mpop-SECONDS-M...-HOST.eml: %s", b);
    }
    data = slurp(first, &len);
    is_mem(data, len, want, strlen(want), "exchange: CRLF, no quoting");
    free(data);
    deliver_free(&d);
}

/* A file size limit makes write() fail with EFBIG, as ENOSPC would: the
 * error is MP_EIO naming the file, and abort leaves nothing behind. */
static void test_full(void)
{
    static char big[300000];
    struct deliver *d = NULL;
    struct mp_err e;
    struct rlimit old, lim;
    char mb[512];
    struct stat st;
    int r;

    memset(big, 'q', sizeof big);
    big[sizeof big - 1] = '\0';
    snprintf(mb, sizeof mb, "%s", path_of("full.mbox"));
    err_init(&e);
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 100000;

    deliver_new(deliver_lookup("mbox"), mb, &d, &e);
    deliver_one(d, NULL, "Subject: first\n\nok\n", 100, true, 0, &e);
    stat(mb, &st);
    setrlimit(RLIMIT_FSIZE, &lim);
    r = deliver_one(d, NULL, big, 65536, true, 0, &e);
    setrlimit(RLIMIT_FSIZE, &old);
    is_int(r, -1, "full: mbox write fails");
    ok(e.kind == MP_EIO && strstr(e.msg, "full.mbox"),
       "full: MP_EIO naming the file: %s", e.msg);
    {
        struct stat st2;
        stat(mb, &st2);
        is_int((long long)st2.st_size, (long long)st.st_size,
               "full: mbox truncated back to the previous mail");
    }
    deliver_free(&d);

    deliver_new(deliver_lookup("maildir"), path_of("md"), &d, &e);
    setrlimit(RLIMIT_FSIZE, &lim);
    r = deliver_one(d, NULL, big, 65536, true, 0, &e);
    setrlimit(RLIMIT_FSIZE, &old);
    is_int(r, -1, "full: maildir write fails");
    is_int(count(path_of("md/tmp"), NULL, 0), 0,
           "full: nothing left in tmp/");
    is_int(count(path_of("md/new"), NULL, 0), 3, "full: nothing new");
    deliver_free(&d);
    signal(SIGXFSZ, SIG_DFL);

    /* An MDA that exits 0 without reading the mail did not deliver it. */
    deliver_new(deliver_lookup("mda"), "exit 0", &d, &e);
    r = deliver_one(d, NULL, big, 65536, true, 0, &e);
    is_int(r, -1, "mda: exit 0 without reading a large mail is a failure");
    ok(strstr(e.msg, "exit 0") != NULL, "mda: ... names it: %s", e.msg);
    deliver_free(&d);
}

/* The delivery stream aborts a mail whose begin or end failed: the pop3
 * engine calls a sink's abort only after its data failed (pop3_client.h),
 * so a mail left open there stayed in the mbox, locked, while the rest of
 * the window was read, and until after retrieve.c removed the journal
 * that named it (a SIGKILL then left the fragment for good). */
static int fail_opened(void *arg, struct mp_err *e)
{
    (void)arg;
    return err_set(e, MP_EIO, "journal full");
}

static void test_stream_fail(void)
{
    static const char mail[] = "From: a@b\nSubject: s\n\nbody\n";
    struct deliver_stream_hooks h = { .opened = fail_opened };
    struct deliver_stream s;
    struct deliver *d = NULL;
    struct mp_err e;
    struct rlimit old, lim;
    struct stat st;
    char mb[512];
    bool dropped;
    int r;

    snprintf(mb, sizeof mb, "%s", path_of("stream.mbox"));
    err_init(&e);
    deliver_new(deliver_lookup("mbox"), mb, &d, &e);
    deliver_one(d, NULL, "Subject: first\n\nok\n", 100, true, 0, &e);
    stat(mb, &st);

    /* end: the mail fits the converter's buffer, so its bytes reach the
     * file only in finish, where the file size limit stops them. */
    deliver_stream_init(&s, d, NULL);
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 20;
    r = deliver_stream_begin(&s, false, -1, &e);
    r |= deliver_stream_data(&s, mail, strlen(mail), &e);
    setrlimit(RLIMIT_FSIZE, &lim);
    is_int(deliver_stream_end(&s, DELIVER_COMMIT_DEFER, &dropped, &e), -1,
           "stream: end fails in finish (file size limit)");
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    is_int(r, 0, "stream: begin and data were fine");
    {
        struct stat st2;
        stat(mb, &st2);
        is_int((long long)st2.st_size, (long long)st.st_size,
               "stream: a failed end leaves no fragment, without an abort");
    }
    ok(!s.opened, "stream: ... and the mail is no longer open");
    deliver_stream_clear(&s);

    deliver_free(&d);

    /* begin: the opened hook (the journal record) fails after the open
     * (a maildir opens at begin: it needs no envelope sender). */
    deliver_new(deliver_lookup("maildir"), path_of("md"), &d, &e);
    deliver_stream_init(&s, d, &h);
    is_int(deliver_stream_begin(&s, false, -1, &e), -1,
           "stream: begin fails in its opened hook");
    ok(!s.opened, "stream: ... and the mail is no longer open");
    deliver_stream_clear(&s);
    deliver_stream_init(&s, d, NULL);
    is_int(deliver_stream_begin(&s, false, -1, &e), 0,
           "stream: the next mail opens (%s)", e.msg);
    deliver_stream_abort(&s);
    deliver_stream_clear(&s);
    deliver_free(&d);
}

static long maxrss_kb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_big(void)
{
    struct deliver *d = NULL;
    struct mp_err e;
    struct deliver_msg_info info = { .envelope_from = "big@x" };
    char *chunk = malloc(65536), mb[512];
    long before, after;
    struct stat st;
    size_t i, total = 50u << 20;
    int r = 0;

    snprintf(mb, sizeof mb, "%s", path_of("big.mbox"));
    for (i = 0; i < 65536; i++)
        chunk[i] = (i % 64 == 63) ? '\n' : (i % 64 == 0 ? 'F' : 'x');
    memcpy(chunk, "From ", 5);
    err_init(&e);
    before = maxrss_kb();
    deliver_new(deliver_lookup("mbox"), mb, &d, &e);
    r |= deliver_open(d, &info, &e);
    for (i = 0; i < total; i += 65536)
        r |= deliver_write(d, chunk, 65536, &e);
    r |= deliver_commit(d, DELIVER_COMMIT_DEFER, &e);
    r |= deliver_sync(d, &e);
    deliver_free(&d);
    after = maxrss_kb();
    is_int(r, 0, "big: 50 MiB mail delivered to an mbox");
    stat(mb, &st);
    ok(st.st_size > (off_t)total, "big: file holds it (%lld bytes)",
       (long long)st.st_size);
    ok(after - before < 4096, "big: memory flat (max RSS grew %ld KiB)",
       after - before);
    unlink(mb);

    /* The same through an MDA: spooled to an unnamed file, then fed from
     * it; memory stays flat, the MDA gets every byte. */
    before = maxrss_kb();
    snprintf(mb, sizeof mb, "wc -c >%s", path_of("big.count"));
    deliver_new(deliver_lookup("mda"), mb, &d, &e);
    r = deliver_open(d, &info, &e);
    for (i = 0; i < total; i += 65536)
        r |= deliver_write(d, chunk, 65536, &e);
    r |= deliver_commit(d, 0, &e);
    deliver_free(&d);
    after = maxrss_kb();
    is_int(r, 0, "big: 50 MiB mail through an MDA");
    {
        size_t len;
        char *n = slurp(path_of("big.count"), &len);

        if (n)
            n[strcspn(n, "\n")] = '\0';
        ok(n && strtoull(n, NULL, 10) == total,
           "big: the MDA read all of it (%s bytes)", n ? n : "no");
        free(n);
    }
    ok(after - before < 4096,
       "big: MDA: memory flat (max RSS grew %ld KiB)", after - before);
    free(chunk);
}

/* DELIVER_ANNOUNCES (maildir): the token is announced before the file
 * exists; a small mail once with its size, a big one at the first full
 * buffer (name only), then the caller records the final token. */
struct ann {
    int n;
    char tok[2][DELIVER_TOKEN_SZ];
    int tmp_at_call;
};

static int ann_fn(void *arg, const char *token, struct mp_err *e)
{
    struct ann *a = arg;

    (void)e;
    if (a->n < 2)
        snprintf(a->tok[a->n], sizeof a->tok[0], "%s", token);
    a->n++;
    a->tmp_at_call = count(path_of("mda/tmp"), NULL, 0);
    return 0;
}

static int ann_fail(void *arg, const char *token, struct mp_err *e)
{
    (void)arg;
    (void)token;
    return err_set(e, MP_EIO, "journal full");
}

static void test_maildir_announce(void)
{
    struct deliver *d = NULL;
    struct mp_err e;
    struct ann a;
    struct deliver_msg_info info;
    char want[DELIVER_TOKEN_SZ + 32], *big;
    size_t i, bigsz = 3 * DELIVER_LINES_BUFSZ / 2;

    err_init(&e);
    mkdir(path_of("mda"), 0700);
    mkdir(path_of("mda/tmp"), 0700);
    mkdir(path_of("mda/new"), 0700);
    mkdir(path_of("mda/cur"), 0700);
    is_int(deliver_new(&deliver_maildir_ops, path_of("mda"), &d, &e), 0,
           "announce: new");
    ok(deliver_maildir_ops.flags & DELIVER_ANNOUNCES,
       "announce: maildir announces");

    /* small mail: one announce, with the size, before the file exists */
    memset(&a, 0, sizeof a);
    a.tmp_at_call = -1;
    memset(&info, 0, sizeof info);
    info.size = -1;
    info.announce = ann_fn;
    info.announce_arg = &a;
    is_int(deliver_open(d, &info, &e), 0, "announce: open");
    is_int(a.n, 0, "announce: nothing announced at open");
    deliver_write(d, "a\r\nb\r\n", 6, &e);
    is_int(deliver_finish(d, DELIVER_COMMIT_DEFER, &e), 0,
           "announce: finish");
    is_int(a.n, 1, "announce: small mail announced once");
    is_int(a.tmp_at_call, 0, "announce: before its file was made");
    snprintf(want, sizeof want, "%s", deliver_token(d));
    is_str(a.tok[0], want, "announce: the final token (name and size)");
    ok(strlen(want) > 4 && strcmp(want + strlen(want) - 2, "/4") == 0,
       "announce: token ends with the size: %s", want);
    is_int(deliver_commit(d, DELIVER_COMMIT_DEFER, &e), 0,
           "announce: commit");

    /* big mail: announced (name only) at the first full buffer */
    big = malloc(bigsz);
    for (i = 0; i < bigsz; i++)
        big[i] = (i % 64 == 63) ? '\n' : 'x';
    memset(&a, 0, sizeof a);
    a.tmp_at_call = -1;
    is_int(deliver_open(d, &info, &e), 0, "announce: open big");
    deliver_write(d, big, bigsz, &e);
    is_int(a.n, 1, "announce: big mail announced at the first flush");
    is_int(a.tmp_at_call, 0, "announce: big: before its file was made");
    is_int(count(path_of("mda/tmp"), NULL, 0), 1,
           "announce: big: its file exists after the flush");
    ok(strchr(a.tok[0] + 3, '/') == NULL,
       "announce: big: the first token names the file only: %s", a.tok[0]);
    is_int(deliver_finish(d, DELIVER_COMMIT_DEFER, &e), 0,
           "announce: finish big");
    is_int(a.n, 1, "announce: finish announces nothing more");
    snprintf(want, sizeof want, "%s/%zu", a.tok[0], bigsz);
    is_str(deliver_token(d), want, "announce: big: final token");
    is_int(deliver_commit(d, DELIVER_COMMIT_DEFER, &e), 0,
           "announce: commit big");
    free(big);

    /* a failing announce aborts the mail, leaving nothing */
    info.announce = ann_fail;
    is_int(deliver_open(d, &info, &e), 0, "announce: open (failing)");
    deliver_write(d, "a\r\n", 3, &e);
    is_int(deliver_finish(d, 0, &e), -1, "announce: failure fails finish");
    deliver_abort(d);
    is_int(count(path_of("mda/tmp"), NULL, 0), 0,
           "announce: failure: nothing in tmp/");
    is_int(count(path_of("mda/new"), NULL, 0), 2,
           "announce: failure: nothing more in new/");
    is_int(deliver_sync(d, &e), 0, "announce: sync");
    deliver_free(&d);
}

int main(void)
{
    char cmd[600];

    if (!mkdtemp(tmp))
        return 1;
    /* An MDA's big mails are spooled in $XDG_STATE_HOME/mpop. */
    setenv("XDG_STATE_HOME", path_of("state"), 1);
    ok(deliver_lookup("mda") == &deliver_mda_ops
       && deliver_lookup("maildir") == &deliver_maildir_ops
       && deliver_lookup("mbox") == &deliver_mbox_ops
       && deliver_lookup("exchange") == &deliver_exchange_ops,
       "lookup: every backend by name");
    ok(deliver_lookup("MBOX") == NULL && deliver_lookup("") == NULL
       && deliver_lookup("mh") == NULL, "lookup: unknown names");
    ok(deliver_mbox_ops.flags & DELIVER_MBOXRD
       && deliver_exchange_ops.flags & DELIVER_CRLF
       && !(deliver_maildir_ops.flags & DELIVER_CRLF), "flags");
    test_lines();
    test_maildir();
    test_maildir_announce();
    test_mbox();
    test_mda();
    test_exchange();
    test_full();
    test_stream_fail();
    test_big();
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
