#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linereader.h"
#include "tap.h"
#include "transport.h"

/* The reader is fed by a real plain transport over a socketpair.  A thin
 * wrapper around the plain read writes the next chunk of the input into
 * the other end just before each read, so the reader sees exactly the
 * chunk boundaries a test asks for. */
static struct {
    int peer;
    const char *data;
    size_t len, pos;
    size_t split;       /* 0: no split; else first chunk ends here */
    bool bytewise;
    int reads;
} feed;

static const struct transport_ops *plain_ops;

static ssize_t feed_read(struct transport *t, void *buf, size_t n,
                         struct mp_err *e)
{
    feed.reads++;
    if (feed.pos < feed.len) {
        size_t chunk = feed.len - feed.pos;
        if (feed.bytewise)
            chunk = 1;
        else if (feed.split && feed.pos < feed.split)
            chunk = feed.split - feed.pos;
        if (write(feed.peer, feed.data + feed.pos, chunk) != (ssize_t)chunk)
            abort();
        feed.pos += chunk;
    }
    if (feed.pos == feed.len && feed.peer >= 0) {
        close(feed.peer);
        feed.peer = -1;
    }
    return plain_ops->read(t, buf, n, e);
}

static struct transport_ops feed_ops;

static void feed_start(struct transport *t, const char *data, size_t len,
                       size_t split, bool bytewise)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        abort();
    transport_plain_init(t, sv[0], sv[0], 5);
    plain_ops = t->ops;
    feed_ops = *plain_ops;
    feed_ops.read = feed_read;
    t->ops = &feed_ops;
    feed.peer = sv[1];
    feed.data = data;
    feed.len = len;
    feed.pos = 0;
    feed.split = split;
    feed.bytewise = bytewise;
    feed.reads = 0;
}

static void feed_stop(struct transport *t)
{
    transport_close(t);
    if (feed.peer >= 0)
        close(feed.peer);
    feed.peer = -1;
}

#define MAXLINES 4

struct row {
    const char *name;
    const char *in;
    size_t inlen;           /* 0: strlen(in) */
    size_t max_line;
    const char *lines[MAXLINES];
    enum mp_err_kind last;  /* the error after the last line */
};

/* Runs one row with one chunking; returns true when every line and the
 * final error are as expected, else describes the difference in why. */
static bool run_row(const struct row *w, size_t inlen, size_t split,
                    bool bytewise, char *why, size_t whysz)
{
    struct transport t;
    struct linereader r;
    struct mp_err e;
    bool good = true;
    int i;

    feed_start(&t, w->in, inlen, split, bytewise);
    linereader_init(&r, &t, w->max_line);
    err_init(&e);
    for (i = 0; i < MAXLINES && w->lines[i]; i++) {
        const char *line;
        size_t len;
        if (linereader_getline(&r, &line, &len, &e) < 0) {
            snprintf(why, whysz, "line %d: error %.200s", i, e.msg);
            good = false;
            break;
        }
        if (len != strlen(w->lines[i])
            || memcmp(line, w->lines[i], len) != 0 || line[len] != '\0') {
            snprintf(why, whysz, "line %d: got '%.*s'", i, (int)len, line);
            good = false;
            break;
        }
    }
    if (good) {
        const char *line;
        size_t len;
        err_init(&e);
        if (linereader_getline(&r, &line, &len, &e) == 0) {
            snprintf(why, whysz, "extra line '%.*s'", (int)len, line);
            good = false;
        } else if (e.kind != w->last) {
            snprintf(why, whysz, "final error %d (%.200s), want %d", e.kind,
                     e.msg, w->last);
            good = false;
        }
    }
    linereader_clear(&r);
    feed_stop(&t);
    return good;
}

static void test_table(void)
{
    static const struct row rows[] = {
        { "CRLF line", "+OK hello\r\n", 0, 512, { "+OK hello" }, MP_EIO },
        { "bare LF line", "+OK hello\n", 0, 512, { "+OK hello" }, MP_EIO },
        { "mixed line ends", "a\r\nb\nc\r\n", 0, 512, { "a", "b", "c" },
          MP_EIO },
        { "empty lines", "\r\n\n", 0, 512, { "", "" }, MP_EIO },
        { "CR inside a line stays", "a\rb\r\n", 0, 512, { "a\rb" },
          MP_EIO },
        { "CR CR LF keeps one CR", "ab\r\r\n", 0, 512, { "ab\r" },
          MP_EIO },
        { "EOF mid-line", "+OK\r\n-ERR trunc", 0, 512, { "+OK" },
          MP_EIO },
        { "EOF after CR", "+OK\r", 0, 512, { NULL }, MP_EIO },
        { "empty stream", "", 0, 512, { NULL }, MP_EIO },
        { "NUL byte", "+OK\r\na\0b\r\n", 11, 512, { "+OK" }, MP_EPROTO },
        { "NUL at line start", "\0\r\n", 3, 512, { NULL }, MP_EPROTO },
        { "NUL in CR position", "ab\0\n", 4, 512, { NULL }, MP_EPROTO },
        { "line of max_line with CRLF", "12345678\r\n", 0, 8,
          { "12345678" }, MP_EIO },
        { "line of max_line with LF", "12345678\n", 0, 8,
          { "12345678" }, MP_EIO },
        { "max_line + 1 with CRLF", "123456789\r\n", 0, 8, { NULL },
          MP_EPROTO },
        { "max_line + 1 with LF", "123456789\n", 0, 8, { NULL },
          MP_EPROTO },
        { "max_line + 1 incl. stray CR", "12345678\r\r\n", 0, 8, { NULL },
          MP_EPROTO },
        { "overlong after a good line", "ok\r\n1234567890123\r\n", 0, 8,
          { "ok" }, MP_EPROTO },
        { "overlong, no line end, no EOF needed", "1234567890123", 0, 8,
          { NULL }, MP_EPROTO },
        { "max_line 0 accepts empty lines", "\r\n\nx\r\n", 0, 0,
          { "", "" }, MP_EPROTO },
    };
    char why[256];

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *w = &rows[i];
        size_t len = w->inlen ? w->inlen : strlen(w->in);
        bool good;

        why[0] = '\0';
        good = run_row(w, len, 0, false, why, sizeof why);
        ok(good, "%s: in one chunk %s", w->name, why);
        why[0] = '\0';
        good = run_row(w, len, 0, true, why, sizeof why);
        ok(good, "%s: one byte at a time %s", w->name, why);
        why[0] = '\0';
        good = true;
        for (size_t k = 1; k < len && good; k++) {
            good = run_row(w, len, k, false, why, sizeof why);
            if (!good) {
                char tmp[320];
                snprintf(tmp, sizeof tmp, "(split at %zu: %s)", k, why);
                snprintf(why, sizeof why, "%.250s", tmp);
            }
        }
        ok(good, "%s: every split point %s", w->name, why);
    }
}

/* Lines far beyond the 16 KiB minimum buffer. */
static void test_big(void)
{
    static char in[40004];
    struct transport t;
    struct linereader r;
    struct mp_err e;
    const char *line;
    size_t len;
    int ret;

    memset(in, 'x', 20000);
    memcpy(in + 20000, "\r\nnext\r\n", 8);
    feed_start(&t, in, 20008, 7000, false);
    linereader_init(&r, &t, 20000);
    err_init(&e);
    ret = linereader_getline(&r, &line, &len, &e);
    ok(ret == 0 && len == 20000 && line[0] == 'x' && line[19999] == 'x'
       && line[20000] == '\0', "20000-byte line with max_line 20000");
    ret = linereader_getline(&r, &line, &len, &e);
    ok(ret == 0 && len == 4 && memcmp(line, "next", 4) == 0,
       "line after the big one");
    linereader_clear(&r);
    feed_stop(&t);

    memset(in, 'x', 20001);
    memcpy(in + 20001, "\r\n", 2);
    feed_start(&t, in, 20003, 0, false);
    linereader_init(&r, &t, 20000);
    err_init(&e);
    ret = linereader_getline(&r, &line, &len, &e);
    ok(ret == -1 && e.kind == MP_EPROTO, "20001-byte line with max 20000");
    linereader_clear(&r);
    feed_stop(&t);

    /* A peer sending without end must be stopped by the bound, after
     * reading no more than the buffer holds. */
    memset(in, 'y', sizeof in);
    feed_start(&t, in, sizeof in, 0, true);
    linereader_init(&r, &t, 100);
    err_init(&e);
    ret = linereader_getline(&r, &line, &len, &e);
    ok(ret == -1 && e.kind == MP_EPROTO, "endless line: protocol error");
    ok(feed.reads <= 103, "endless line: stopped after %d reads",
       feed.reads);
    linereader_clear(&r);
    feed_stop(&t);
}

static void test_peek(bool bytewise)
{
    static const char in[] = "+OK 5 octets\r\nbody\r\n.\r\n+OK next\r\n";
    const char *mode = bytewise ? "bytewise" : "one chunk";
    struct transport t;
    struct linereader r;
    struct mp_err e;
    const char *line, *p;
    size_t len, n;
    int reads;

    feed_start(&t, in, sizeof in - 1, 0, bytewise);
    linereader_init(&r, &t, 512);
    err_init(&e);
    ok(linereader_buffered(&r) == 0, "%s: nothing buffered at start", mode);
    ok(linereader_getline(&r, &line, &len, &e) == 0
       && strcmp(line, "+OK 5 octets") == 0, "%s: status line", mode);
    if (!bytewise)
        is_int(linereader_buffered(&r), 19, "%s: rest is buffered", mode);
    /* Collect the body with peek/consume, consuming 1 byte at a time when
     * the chunk is bigger, so the consume path is exercised. */
    char body[64];
    size_t got = 0;
    while (got < 9) {
        if (linereader_peek(&r, &p, &n, &e) < 0)
            break;
        ok(n > 0, "%s: peek gives bytes", mode);
        size_t take = n > 9 - got ? 9 - got : n;
        if (take > 1 && got == 0)
            take = 1;
        memcpy(body + got, p, take);
        linereader_consume(&r, take);
        got += take;
    }
    is_mem(body, got, "body\r\n.\r\n", 9, "%s: body via peek", mode);
    reads = feed.reads;
    if (!bytewise) {
        ok(linereader_peek(&r, &p, &n, &e) == 0 && n == 10
           && memcmp(p, "+OK next\r\n", 10) == 0,
           "%s: peek returns what is buffered", mode);
        is_int(feed.reads, reads, "%s: peek with data does not read", mode);
    }
    ok(linereader_getline(&r, &line, &len, &e) == 0
       && strcmp(line, "+OK next") == 0, "%s: line after body", mode);
    is_int(linereader_buffered(&r), 0, "%s: nothing left", mode);
    err_init(&e);
    ok(linereader_peek(&r, &p, &n, &e) == -1 && e.kind == MP_EIO,
       "%s: peek at end of stream is MP_EIO", mode);
    linereader_clear(&r);
    feed_stop(&t);
}

/* A separate writer process over a pipe, one byte per write, through the
 * plain transport's write on a pipe (no send()). */
static void test_pipe_writer(void)
{
    static const char in[] = "+OK a\r\n+OK b\n-ERR c\r\n";
    int pfd[2];
    pid_t pid;
    int status;

    if (pipe(pfd) < 0)
        abort();
    pid = fork();
    if (pid == 0) {
        struct transport w;
        struct mp_err e;
        close(pfd[0]);
        transport_plain_init(&w, -1, pfd[1], 5);
        for (size_t i = 0; i < sizeof in - 1; i++) {
            if (transport_write(&w, in + i, 1, &e) < 0)
                _exit(1);
            usleep(1000);
        }
        _exit(0);
    }
    close(pfd[1]);

    struct transport t;
    struct linereader r;
    struct mp_err e;
    const char *line;
    size_t len;
    static const char *want[] = { "+OK a", "+OK b", "-ERR c" };

    transport_plain_init(&t, pfd[0], pfd[0], 5);
    linereader_init(&r, &t, 512);
    err_init(&e);
    for (int i = 0; i < 3; i++) {
        ok(linereader_getline(&r, &line, &len, &e) == 0
           && strcmp(line, want[i]) == 0, "pipe writer: line %d", i);
    }
    ok(linereader_getline(&r, &line, &len, &e) == -1 && e.kind == MP_EIO
       && strstr(e.msg, "closed") != NULL,
       "pipe writer: EOF is 'closed the connection'");
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "pipe writer: transport_write on a pipe worked");
    linereader_clear(&r);
    transport_close(&t);
    ok(t.fd == -1, "transport_close resets fd");
    transport_close(&t);
    ok(t.fd == -1, "transport_close twice is harmless");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_table();
    test_big();
    test_peek(false);
    test_peek(true);
    test_pipe_writer();
    return done_testing();
}
