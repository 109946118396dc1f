#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net.h"
#include "socks5.h"
#include "tap.h"

#define B(...) (const unsigned char[]){ __VA_ARGS__ }

static void test_parse_table(void)
{
    static unsigned char dom255[4 + 1 + 255 + 2];
    const struct {
        const char *name;
        const unsigned char *p;
        size_t len;
        int ret;
        size_t need;    /* checked when ret >= 0 */
        int rep;        /* checked when ret < 0 */
    } rows[] = {
        { "empty", B(0), 0, 1, 2, 0 },
        { "version only", B(5), 1, 1, 2, 0 },
        { "SOCKS4 version", B(4), 1, -1, 0, -1 },
        { "HTTP reply", B('H', 'T', 'T', 'P'), 4, -1, 0, -1 },
        { "success, no ATYP yet", B(5, 0), 2, 1, 5, 0 },
        { "success, RSV only", B(5, 0, 0), 3, 1, 5, 0 },
        { "IPv4, address missing", B(5, 0, 0, 1), 4, 1, 10, 0 },
        { "IPv4, port cut", B(5, 0, 0, 1, 127, 0, 0, 1, 0), 9, 1, 10, 0 },
        { "IPv4 complete", B(5, 0, 0, 1, 127, 0, 0, 1, 0, 80), 10, 0, 10,
          0 },
        { "IPv4 and greeting after", B(5, 0, 0, 1, 1, 2, 3, 4, 0, 80, '+',
          'O'), 12, 0, 10, 0 },
        { "nonzero RSV ignored", B(5, 0, 7, 1, 1, 2, 3, 4, 0, 80), 10, 0,
          10, 0 },
        { "IPv6, address missing", B(5, 0, 0, 4), 4, 1, 22, 0 },
        { "IPv6 complete", B(5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
          0, 0, 0, 0, 1, 0, 110), 22, 0, 22, 0 },
        { "domain, length missing", B(5, 0, 0, 3), 4, 1, 5, 0 },
        { "domain, name missing", B(5, 0, 0, 3, 5), 5, 1, 12, 0 },
        { "domain complete", B(5, 0, 0, 3, 5, 'a', '.', 'o', 'r', 'g', 0,
          110), 12, 0, 12, 0 },
        { "empty domain", B(5, 0, 0, 3, 0, 0, 110), 7, 0, 7, 0 },
        { "ATYP 2", B(5, 0, 0, 2, 0, 0, 0, 0, 0, 0), 10, -1, 0, -1 },
        { "ATYP 0", B(5, 0, 0, 0), 4, -1, 0, -1 },
        { "ATYP 255", B(5, 0, 0, 255), 4, -1, 0, -1 },
        { "general failure", B(5, 1), 2, -1, 0, 1 },
        { "not allowed", B(5, 2, 0, 1, 0, 0, 0, 0, 0, 0), 10, -1, 0, 2 },
        { "network unreachable", B(5, 3), 2, -1, 0, 3 },
        { "host unreachable", B(5, 4), 2, -1, 0, 4 },
        { "refused", B(5, 5, 0, 1, 0, 0, 0, 0, 0, 0), 10, -1, 0, 5 },
        { "TTL expired", B(5, 6), 2, -1, 0, 6 },
        { "command not supported", B(5, 7), 2, -1, 0, 7 },
        { "address type not supported", B(5, 8), 2, -1, 0, 8 },
        { "unknown code", B(5, 0xf0), 2, -1, 0, 0xf0 },
        { "bad version and code", B(0, 5), 2, -1, 0, -1 },
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t need = 999;
        int rep = 999;
        const char *why = NULL;
        /* An exact-size copy so sanitizers catch any overread. */
        unsigned char *p = malloc(rows[i].len ? rows[i].len : 1);
        memcpy(p, rows[i].p, rows[i].len);
        int ret = socks5_parse_reply(p, rows[i].len, &need, &rep, &why);
        free(p);
        if (rows[i].ret >= 0)
            ok(ret == rows[i].ret && need == rows[i].need,
               "%s: returns %d, need %zu (got %d, %zu)", rows[i].name,
               rows[i].ret, rows[i].need, ret, need);
        else
            ok(ret == -1 && rep == rows[i].rep && why != NULL,
               "%s: fails, rep %d (got %d, rep %d: %s)", rows[i].name,
               rows[i].rep, ret, rep, why ? why : "(no reason)");
    }

    memset(dom255, 'a', sizeof dom255);
    memcpy(dom255, B(5, 0, 0, 3, 255), 5);
    size_t need;
    ok(socks5_parse_reply(dom255, 5, &need, NULL, NULL) == 1 && need == 262,
       "255-byte domain: need 262");
    ok(socks5_parse_reply(dom255, 262, &need, NULL, NULL) == 0
       && need == 262, "255-byte domain complete");
    ok(strstr(socks5_rep_reason(5), "refused") != NULL,
       "reason of 5 says refused");
    ok(strstr(socks5_rep_reason(200), "unknown") != NULL,
       "reason of 200 says unknown");
}

/* Random replies and every prefix of them: the invariants hold and
 * nothing reads past len (run under ASan/valgrind). */
static void test_parse_random(void)
{
    unsigned int seed = 12345;
    bool good = true;

    for (int iter = 0; iter < 20000 && good; iter++) {
        unsigned char tmp[300];
        size_t len = (seed = seed * 1103515245 + 12345) % sizeof tmp;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245 + 12345;
            tmp[i] = (unsigned char)(seed >> 16);
        }
        /* Bias towards valid headers so deep paths are reached. */
        if (len > 0 && iter % 2)
            tmp[0] = 5;
        if (len > 1 && iter % 4 == 1)
            tmp[1] = 0;
        if (len > 3 && iter % 8 == 1)
            tmp[3] = (unsigned char)(1 + (iter / 8) % 4);
        for (size_t n = 0; n <= len && good; n++) {
            unsigned char *p = malloc(n ? n : 1);
            size_t need = 0;
            memcpy(p, tmp, n);
            int ret = socks5_parse_reply(p, n, &need, NULL, NULL);
            free(p);
            if ((ret == 1 && need <= n) || (ret == 0 && need > n)
                || (ret == 0 && need > 4 + 256 + 2))
                good = false;
        }
    }
    ok(good, "random replies: need > len when incomplete, <= len when "
       "complete");
}

/* A tiny SOCKS5 proxy on the other end of a socketpair, in a child. */
struct scenario {
    const char *name;
    const char *host;
    int port;
    const unsigned char *method;    /* the method reply; NULL: stay silent */
    size_t method_len;
    const unsigned char *request;   /* expected CONNECT request */
    size_t request_len;
    const unsigned char *reply;
    size_t reply_len;
    int ret;
    enum mp_err_kind kind;
    const char *msg_part;           /* in the error message */
};

static const char greeting[] = "+OK ready\r\n";

static int read_full(int fd, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void proxy_child(int fd, const struct scenario *s)
{
    unsigned char buf[600];

    if (read_full(fd, buf, 3) < 0 || memcmp(buf, B(5, 1, 0), 3) != 0)
        _exit(2);
    if (!s->method) {
        sleep(5);
        _exit(0);
    }
    if (write(fd, s->method, s->method_len) != (ssize_t)s->method_len)
        _exit(3);
    if (!s->request) {
        _exit(0);
    }
    if (read_full(fd, buf, s->request_len) < 0
        || memcmp(buf, s->request, s->request_len) != 0)
        _exit(4);
    /* Reply and greeting in one write: the client must not read past the
     * reply.  A failure reply (or a cut one) comes alone. */
    size_t n = s->reply_len;
    memcpy(buf, s->reply, n);
    if (s->ret == 0) {
        memcpy(buf + n, greeting, sizeof greeting - 1);
        n += sizeof greeting - 1;
    }
    if (write(fd, buf, n) < 0)
        _exit(5);
    _exit(0);
}

#define REQ_HEAD 5, 1, 0
#define POP_EXAMPLE 3, 15, 'p', 'o', 'p', '.', 'e', 'x', 'a', 'm', 'p', \
    'l', 'e', '.', 'o', 'r', 'g'

static const struct scenario scenarios[] = {
    { "domain name sent, IPv4 bound address", "pop.example.org", 110,
      B(5, 0), 2, B(REQ_HEAD, POP_EXAMPLE, 0, 110), 22,
      B(5, 0, 0, 1, 10, 0, 0, 1, 4, 0), 10, 0, MP_EOK, NULL },
    { "domain bound address", "pop.example.org", 995,
      B(5, 0), 2, B(REQ_HEAD, POP_EXAMPLE, 995 >> 8, 995 & 255), 22,
      B(5, 0, 0, 3, 3, 'a', '.', 'b', 0, 1), 10, 0, MP_EOK, NULL },
    { "IPv6 bound address", "pop.example.org", 110,
      B(5, 0), 2, B(REQ_HEAD, POP_EXAMPLE, 0, 110), 22,
      B(5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1),
      22, 0, MP_EOK, NULL },
    { "IPv4 literal sent as ATYP 1", "192.0.2.7", 110,
      B(5, 0), 2, B(REQ_HEAD, 1, 192, 0, 2, 7, 0, 110), 10,
      B(5, 0, 0, 1, 0, 0, 0, 0, 0, 0), 10, 0, MP_EOK, NULL },
    { "IPv6 literal sent as ATYP 4", "2001:db8::1", 110,
      B(5, 0), 2, B(REQ_HEAD, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, 0, 1, 0, 110), 22,
      B(5, 0, 0, 1, 0, 0, 0, 0, 0, 0), 10, 0, MP_EOK, NULL },
    { "onion name goes to the proxy", "abcdefghij.onion", 110,
      B(5, 0), 2, B(REQ_HEAD, 3, 16, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h',
                    'i', 'j', '.', 'o', 'n', 'i', 'o', 'n', 0, 110), 23,
      B(5, 0, 0, 1, 0, 0, 0, 0, 0, 0), 10, 0, MP_EOK, NULL },
    { "authentication required", "pop.example.org", 110,
      B(5, 0xff), 2, NULL, 0, NULL, 0, -1, MP_EUNAVAIL, "authentication" },
    { "method not offered", "pop.example.org", 110,
      B(5, 2), 2, NULL, 0, NULL, 0, -1, MP_EPROTO, "method" },
    { "not SOCKS5", "pop.example.org", 110,
      B(4, 0), 2, NULL, 0, NULL, 0, -1, MP_EPROTO, "SOCKS5" },
    { "refused", "pop.example.org", 110,
      B(5, 0), 2, B(REQ_HEAD, POP_EXAMPLE, 0, 110), 22,
      B(5, 5, 0, 1, 0, 0, 0, 0, 0, 0), 10, -1, MP_EUNAVAIL, "refused" },
    { "host unreachable", "pop.example.org", 110,
      B(5, 0), 2, B(REQ_HEAD, POP_EXAMPLE, 0, 110), 22,
      B(5, 4, 0, 1, 0, 0, 0, 0, 0, 0), 10, -1, MP_EUNAVAIL, "unreachable" },
    { "TTL expired", "pop.example.org", 110,
      B(5, 0), 2, B(REQ_HEAD, POP_EXAMPLE, 0, 110), 22,
      B(5, 6, 0, 1, 0, 0, 0, 0, 0, 0), 10, -1, MP_ETEMP, "TTL" },
    { "bad address type", "pop.example.org", 110,
      B(5, 0), 2, B(REQ_HEAD, POP_EXAMPLE, 0, 110), 22,
      B(5, 0, 0, 9, 0, 0, 0, 0, 0, 0), 10, -1, MP_EPROTO, "address type" },
    { "reply cut", "pop.example.org", 110,
      B(5, 0), 2, B(REQ_HEAD, POP_EXAMPLE, 0, 110), 22,
      B(5, 0, 0, 1, 0), 5, -1, MP_EPROTO, NULL },
    { "silent proxy times out", "pop.example.org", 110,
      NULL, 0, NULL, 0, NULL, 0, -1, MP_ETEMP, "timed out" },
};

static void test_handshakes(void)
{
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const struct scenario *s = &scenarios[i];
        struct mp_err e;
        int sv[2], status, ret;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
            abort();
        pid = fork();
        if (pid == 0) {
            close(sv[0]);
            proxy_child(sv[1], s);
        }
        close(sv[1]);
        err_init(&e);
        ret = socks5_connect(sv[0], s->host, s->port, 1, &e);
        if (s->ret == 0) {
            char buf[64];
            ssize_t n;
            size_t got = 0;
            ok(ret == 0, "%s: handshake succeeds %s", s->name, e.msg);
            while ((n = read(sv[0], buf + got, sizeof buf - got)) > 0)
                got += (size_t)n;
            is_mem(buf, got, greeting, sizeof greeting - 1,
                   "%s: the server's bytes are left intact", s->name);
        } else {
            ok(ret == -1 && e.kind == s->kind
               && (!s->msg_part || strstr(e.msg, s->msg_part))
               && strstr(e.msg, s->host),
               "%s: fails with kind %d (%d: %s)", s->name, s->kind, e.kind,
               e.msg);
        }
        close(sv[0]);
        if (!s->method)
            kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
        if (s->method)
            ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "%s: the proxy saw the expected request (exit %d)", s->name,
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }

    struct mp_err e;
    char longname[300];
    memset(longname, 'a', sizeof longname);
    longname[256] = '\0';
    err_init(&e);
    ok(socks5_connect(-1, longname, 110, 1, &e) == -1
       && e.kind == MP_ECONFIG, "256-byte host name: MP_ECONFIG");
}

/* net_connect through a proxy on a loopback listener: the name of the
 * target never resolves locally (nonexistent.invalid would fail), and an
 * IDN goes to the proxy in ASCII. */
static void test_via_net(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t sl = sizeof sin;
    struct net_target t = { 0 };
    struct mp_err e;
    int lfd, fd = -1, status;
    pid_t pid;
    static const unsigned char req[] = {
        REQ_HEAD, 3, 25, 'x', 'n', '-', '-', 'b', 'c', 'h', 'e', 'r', '-',
        'k', 'v', 'a', '.', 'n', 'o', 'n', 'e', 'x', 'i', 's', 't', 'e',
        'n', 't', 0, 110
    };
    const struct scenario s = {
        "via net_connect", NULL, 0, B(5, 0), 2, req, sizeof req,
        B(5, 0, 0, 1, 0, 0, 0, 0, 0, 0), 10, 0, MP_EOK, NULL
    };

    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0
        || listen(lfd, 5) < 0)
        abort();
    getsockname(lfd, (struct sockaddr *)&sin, &sl);
    pid = fork();
    if (pid == 0) {
        int afd = accept(lfd, NULL, NULL);
        if (afd < 0)
            _exit(6);
        proxy_child(afd, &s);
    }
    t.host = "b\xc3\xbc" "cher.nonexistent";
    t.port = 110;
    t.proxy_host = "127.0.0.1";
    t.proxy_port = ntohs(sin.sin_port);
    t.timeout = 2;
    err_init(&e);
#ifdef HAVE_LIBIDN
    char trace[128];
    ok(net_connect(&t, &fd, trace, sizeof trace, &e) == 0,
       "net_connect through the proxy %s", e.msg);
    char buf[64];
    ssize_t n;
    size_t got = 0;
    while (fd >= 0 && (n = read(fd, buf + got, sizeof buf - got)) > 0)
        got += (size_t)n;
    is_mem(buf, got, greeting, sizeof greeting - 1,
           "greeting through the proxy");
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "the proxy got the ASCII name (exit %d)",
       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
#else
    ok(1, "# SKIP no libidn2");
    ok(1, "# SKIP no libidn2");
    ok(1, "# SKIP no libidn2");
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
#endif
    if (fd >= 0)
        close(fd);

    /* The proxy is not there. */
    close(lfd);
    err_init(&e);
    fd = -1;
    ok(net_connect(&t, &fd, NULL, 0, &e) == -1 && e.kind == MP_ETEMP
       && strstr(e.msg, "proxy"), "no proxy listening: MP_ETEMP (%s)",
       e.msg);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_parse_table();
    test_parse_random();
    test_handshakes();
    test_via_net();
    return done_testing();
}
