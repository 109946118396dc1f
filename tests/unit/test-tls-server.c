/* tls_server.c: loading credentials (valid and invalid rows side by side)
 * and real handshakes over a socketpair against our own client layer
 * (tls.c) in a child process: data both ways, close_notify as end of
 * stream, a client that does not speak TLS, a silent client and the
 * timeout, a client that leaves mid-handshake.  The certificate is a
 * self-signed ECDSA one for "localhost", valid 2000-2120, embedded here
 * so the test needs no certtool. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "tap.h"
#include "tls.h"
#include "tls_server.h"
#include "transport.h"

static const char CERT_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBmDCCAT+gAwIBAgIUShrrppR+f2lS2gzLEqdCA19Rhb0wCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAxMJbG9jYWxob3N0MCAXDTAwMDEwMTAwMDAwMFoYDzIxMjAwMTAx\n"
    "MDAwMDAwWjAUMRIwEAYDVQQDEwlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAAQ/B9/ZaMFwdHBaJJLmejYG6TZPHaI0UYybE1cNnYzlEf8Yh3Chy537\n"
    "eiH17/yOFL+Hm4iX2dKhuMJFgibwA+j9o20wazAPBgNVHRMBAf8EBTADAQH/MBQG\n"
    "A1UdEQQNMAuCCWxvY2FsaG9zdDATBgNVHSUEDDAKBggrBgEFBQcDATAOBgNVHQ8B\n"
    "Af8EBAMCB4AwHQYDVR0OBBYEFCE0SzPINdxqSJCqGTijTqrOXdwoMAoGCCqGSM49\n"
    "BAMCA0cAMEQCIE8siXB7NJHEVbF2PCXhh5slYxp+aiEerYzcdM1jnHlgAiB74xgg\n"
    "/gG/wRR++ssygV2nOpbBHAdGZD9ZtuOjjoVawg==\n"
    "-----END CERTIFICATE-----\n";

static const char KEY_PEM[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIHQ98D4URXKqorDUd6TXE/5DEhOhAtlcyyLh2kJkuIFroAoGCCqGSM49\n"
    "AwEHoUQDQgAEPwff2WjBcHRwWiSS5no2Buk2Tx2iNFGMmxNXDZ2M5RH/GIdwocud\n"
    "+3oh9e/8jhS/h5uIl9nSobjCRYIm8APo/Q==\n"
    "-----END EC PRIVATE KEY-----\n";

static const char OTHER_KEY_PEM[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHgCAQEEIQDz65NMEXsFGEF5fjL1tAQzuDP/XeftxH0UKwOWWLz6QKAKBggqhkjO\n"
    "PQMBB6FEA0IABH5ybbkcBd/TyP4Ck6O3l7S0CL81c6ClYKgmsuBs3yQ8N5cNy1kJ\n"
    "RzEKiAVd05KYHBfPUwSq7vwXewujI+ayr9E=\n"
    "-----END EC PRIVATE KEY-----\n";

static char dir[] = "/tmp/test-tls-server.XXXXXX";
static char cert[256], key[256], other_key[256], garbage[256];

static void write_file(char *path, size_t size, const char *name,
                       const char *text)
{
    FILE *f;

    snprintf(path, size, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(99);
    }
}

static void test_new(void)
{
    char missing[300];
    static const struct {
        const char *name;
        const char *cert;       /* "C": cert, "G": garbage, "M": missing */
        const char *key;        /* "K": key, "O": other key, "M": missing */
        const char *prio;
        enum mp_err_kind kind;  /* MP_EOK: success */
        const char *says;       /* in the message */
    } rows[] = {
        { "certificate and key", "C", "K", NULL, MP_EOK, NULL },
        { "with a valid priority string", "C", "K", "NORMAL:-VERS-TLS1.3",
          MP_EOK, NULL },
        { "certificate missing", "M", "K", NULL, MP_ENOINPUT, "missing" },
        { "key missing", "C", "M", NULL, MP_ENOINPUT, "missing" },
        { "key of another certificate", "C", "O", NULL, MP_ECONFIG,
          "does not belong" },
        { "certificate file without a certificate", "G", "K", NULL,
          MP_ECONFIG, "garbage" },
        { "invalid priority string", "C", "K", "NORMAL:+BOGUS",
          MP_ECONFIG, "BOGUS" },
    };

    snprintf(missing, sizeof missing, "%s/missing.pem", dir);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct tls_server *srv = (struct tls_server *)1;
        struct mp_err e;
        const char *c = rows[i].cert[0] == 'C' ? cert
                        : rows[i].cert[0] == 'G' ? garbage : missing;
        const char *k = rows[i].key[0] == 'K' ? key
                        : rows[i].key[0] == 'O' ? other_key : missing;
        int r;

        err_init(&e);
        r = tls_server_new(c, k, rows[i].prio, &srv, &e);
        if (rows[i].kind == MP_EOK) {
            ok(r == 0 && srv != NULL, "new: %s", rows[i].name);
        } else {
            ok(r == -1 && srv == NULL && e.kind == rows[i].kind
               && strstr(e.msg, rows[i].says) != NULL,
               "new: %s fails (%s)", rows[i].name, e.msg);
        }
        tls_server_free(&srv);
        ok(srv == NULL, "free: %s", rows[i].name);
    }
}

enum client_mode {
    CLIENT_TALK,        /* handshake, "hello", expect "world", close */
    CLIENT_PLAIN,       /* a POP3 command in the clear */
    CLIENT_SILENT,      /* connect and say nothing */
    CLIENT_LEAVE,       /* connect and close at once */
    CLIENT_CUT,         /* half a ClientHello, then close */
};

/* The client side, in a child: exits 0 when it saw what it expected. */
static void client(int fd, enum client_mode mode)
{
    struct transport t;
    struct tls_params p;
    struct mp_err e;
    char buf[64];
    size_t got = 0;

    err_init(&e);
    switch (mode) {
    case CLIENT_PLAIN:
        if (write(fd, "USER u\r\n", 8) != 8)
            _exit(2);
        /* Wait until the server gives up on us. */
        while (read(fd, buf, sizeof buf) > 0)
            ;
        _exit(0);
    case CLIENT_SILENT:
        while (read(fd, buf, sizeof buf) > 0)
            ;
        _exit(0);
    case CLIENT_LEAVE:
        _exit(0);
    case CLIENT_CUT:
        if (write(fd, "\x16\x03\x01\x00\x80\x01", 6) != 6)
            _exit(2);
        _exit(0);
    case CLIENT_TALK:
        break;
    }
    transport_plain_init(&t, fd, fd, 10);
    memset(&p, 0, sizeof p);
    p.host = "localhost";
    p.trust_file = cert;
    p.certcheck = true;
    if (tls_start(&t, &p, &e) != 0) {
        fprintf(stderr, "client: %s\n", e.msg);
        _exit(3);
    }
    if (transport_write(&t, "hello\r\n", 7, &e) != 0)
        _exit(4);
    while (got < 7) {
        ssize_t n = transport_read(&t, buf + got, sizeof buf - got, &e);
        if (n <= 0)
            _exit(5);
        got += (size_t)n;
    }
    if (got != 7 || memcmp(buf, "world\r\n", 7) != 0)
        _exit(6);
    transport_close(&t);
    _exit(0);
}

static pid_t spawn(enum client_mode mode, int *server_fd_r)
{
    int sv[2];
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        perror("socketpair");
        exit(99);
    }
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(99);
    }
    if (pid == 0) {
        close(sv[0]);
        client(sv[1], mode);
    }
    close(sv[1]);
    *server_fd_r = sv[0];
    return pid;
}

static int child_status(pid_t pid)
{
    int st;

    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_sessions(void)
{
    struct tls_server *srv = NULL;
    struct transport t;
    struct mp_err e;
    char buf[64], desc[64];
    size_t got = 0;
    ssize_t n;
    int fd, r;
    pid_t pid;
    double t0;

    err_init(&e);
    if (tls_server_new(cert, key, NULL, &srv, &e) != 0) {
        printf("# %s\n", e.msg);
        exit(99);
    }

    /* a whole session */
    pid = spawn(CLIENT_TALK, &fd);
    transport_plain_init(&t, fd, fd, 10);
    ok(!tls_server_active(&t), "plain before the handshake");
    r = tls_server_start(&t, srv, &e);
    ok(r == 0, "handshake with our client (%s)", r ? e.msg : "ok");
    ok(tls_server_active(&t) && strcmp(t.ops->name, "tls") == 0,
       "the transport is TLS now");
    tls_server_describe(&t, desc, sizeof desc);
    ok(strncmp(desc, "TLS1.", 5) == 0, "describe: %s", desc);
    while (r == 0 && got < 7) {
        n = transport_read(&t, buf + got, sizeof buf - got, &e);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    is_mem(buf, got, "hello\r\n", 7, "read through TLS");
    ok(transport_write(&t, "world\r\n", 7, &e) == 0, "write through TLS");
    n = transport_read(&t, buf, sizeof buf, &e);
    is_int(n, 0, "close_notify is the end of the stream");
    transport_close(&t);
    is_int(child_status(pid), 0, "the client saw our answer");

    /* a client in the clear */
    pid = spawn(CLIENT_PLAIN, &fd);
    transport_plain_init(&t, fd, fd, 10);
    r = tls_server_start(&t, srv, &e);
    ok(r == -1 && e.kind == MP_EPROTO, "plaintext client: MP_EPROTO (%s)",
       e.msg);
    ok(!tls_server_active(&t) && strcmp(t.ops->name, "plain") == 0,
       "plaintext client: the transport is still plain");
    transport_close(&t);
    is_int(child_status(pid), 0, "plaintext client ended");

    /* a silent client: the transport's timeout */
    pid = spawn(CLIENT_SILENT, &fd);
    transport_plain_init(&t, fd, fd, 1);
    t0 = now();
    r = tls_server_start(&t, srv, &e);
    ok(r == -1 && e.kind == MP_ETEMP && now() - t0 < 3,
       "silent client: MP_ETEMP after 1 s (%s, %.1f s)", e.msg, now() - t0);
    transport_close(&t);
    is_int(child_status(pid), 0, "silent client ended");

    /* gone before the hello: MP_EIO, as for a plain session */
    pid = spawn(CLIENT_LEAVE, &fd);
    transport_plain_init(&t, fd, fd, 10);
    r = tls_server_start(&t, srv, &e);
    ok(r == -1 && e.kind == MP_EIO, "client gone before its hello: MP_EIO "
       "(%s)", e.msg);
    transport_close(&t);
    is_int(child_status(pid), 0, "leaving client ended");

    /* half a hello, then gone: a broken handshake */
    pid = spawn(CLIENT_CUT, &fd);
    transport_plain_init(&t, fd, fd, 10);
    r = tls_server_start(&t, srv, &e);
    ok(r == -1 && (e.kind == MP_EIO || e.kind == MP_EPROTO),
       "client gone mid-hello: MP_EIO or MP_EPROTO (%s)", e.msg);
    transport_close(&t);
    is_int(child_status(pid), 0, "cutting client ended");

    tls_server_free(&srv);
    tls_server_free(&srv);
    ok(srv == NULL, "free twice is safe");
}

int main(void)
{
    char cmd[300];

    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    write_file(cert, sizeof cert, "cert.pem", CERT_PEM);
    write_file(key, sizeof key, "key.pem", KEY_PEM);
    write_file(other_key, sizeof other_key, "other.pem", OTHER_KEY_PEM);
    write_file(garbage, sizeof garbage, "garbage.pem", "no PEM here\n");
    plan(32);
    test_new();
    test_sessions();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", dir);
    return done_testing();
}
