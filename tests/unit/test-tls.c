/* The TLS layer against real gnutls-serv instances, with a CA and server
 * certificates that certtool makes at test time in a temporary folder:
 * a valid chain, expired, not yet valid, wrong host, self-signed, revoked
 * (with a CRL), must-staple without a staple, and a client certificate.
 * Skips (exit 77) when certtool or gnutls-serv is missing. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "net.h"
#include "session.h"
#include "tap.h"
#include "tls.h"
#include "transport.h"

static char dir[256];

/* ---- certificates ---- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int r;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    r = system(cmd);
    return (r != -1 && WIFEXITED(r)) ? WEXITSTATUS(r) : -1;
}

static void write_file(const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
}

#define SRV_NAMES \
    "dns_name = localhost\nip_address = 127.0.0.1\nip_address = ::1\n" \
    "tls_www_server\nencryption_key\nsigning_key\n"

static const struct {
    const char *name;       /* NAME.tmpl -> NAME.pem */
    const char *tmpl;
    bool self_signed;
    const char *args;       /* extra certtool arguments */
} certs[] = {
    { "server", "cn = localhost\n" SRV_NAMES "expiration_days = 30\n",
      false, NULL },
    { "expired", "cn = localhost\n" SRV_NAMES
      "activation_date = \"2000-01-01 00:00:00 UTC\"\n"
      "expiration_date = \"2001-01-01 00:00:00 UTC\"\n", false, NULL },
    { "notyet", "cn = localhost\n" SRV_NAMES
      "activation_date = \"2099-01-01 00:00:00 UTC\"\n"
      "expiration_date = \"2100-01-01 00:00:00 UTC\"\n", false, NULL },
    { "wronghost", "cn = wrong.invalid\ndns_name = wrong.invalid\n"
      "tls_www_server\nencryption_key\nsigning_key\n"
      "expiration_days = 30\n", false, NULL },
    { "selfsigned", "cn = localhost\n" SRV_NAMES "expiration_days = 30\n",
      true, NULL },
    { "revoked", "cn = localhost\n" SRV_NAMES "expiration_days = 30\n",
      false, NULL },
    /* RFC 7633: TLS feature status_request (5) = must-staple. */
    { "muststaple", "cn = localhost\n" SRV_NAMES "tls_feature = 5\n"
      "expiration_days = 30\n", false, NULL },
    { "client", "cn = mpop test client\ntls_www_client\nsigning_key\n"
      "expiration_days = 30\n", false, NULL },
    /* Signed with SHA-1: an insecure algorithm for GnuTLS since 3.6. */
    { "sha1", "cn = localhost\n" SRV_NAMES "expiration_days = 30\n",
      false, "--hash=SHA1" },
};

static int make_certs(void)
{
    char name[64];
    int serial = 1;

    write_file("ca.tmpl", "organization = mpop test suite\n"
               "cn = mpop test CA\nserial = 1\nca\ncert_signing_key\n"
               "crl_signing_key\nexpiration_days = 30\n");
    if (sh("cd '%s' && certtool --generate-privkey --key-type=ecdsa "
           "--outfile ca.key >>certtool.log 2>&1 && "
           "certtool --generate-privkey --key-type=ecdsa --outfile "
           "server.key >>certtool.log 2>&1 && "
           "certtool --generate-self-signed --load-privkey ca.key "
           "--template ca.tmpl --outfile ca.pem >>certtool.log 2>&1",
           dir) != 0)
        return -1;
    for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++) {
        char tmpl[1024];

        snprintf(tmpl, sizeof tmpl, "organization = mpop test suite\n"
                 "serial = %d\n%s", ++serial, certs[i].tmpl);
        snprintf(name, sizeof name, "%s.tmpl", certs[i].name);
        write_file(name, tmpl);
        if (certs[i].self_signed) {
            if (sh("cd '%s' && certtool --generate-self-signed --load-privkey "
                   "server.key --template %s.tmpl --outfile %s.pem "
                   ">>certtool.log 2>&1", dir, certs[i].name,
                   certs[i].name) != 0)
                return -1;
        } else if (sh("cd '%s' && certtool --generate-certificate "
                      "--load-privkey server.key --load-ca-certificate "
                      "ca.pem --load-ca-privkey ca.key --template %s.tmpl "
                      "%s --outfile %s.pem >>certtool.log 2>&1", dir,
                      certs[i].name, certs[i].args ? certs[i].args : "",
                      certs[i].name) != 0) {
            return -1;
        }
    }
    write_file("crl.tmpl", "crl_next_update = 30\ncrl_number = 1\n");
    return sh("cd '%s' && certtool --generate-crl --load-ca-privkey ca.key "
              "--load-ca-certificate ca.pem --load-certificate revoked.pem "
              "--template crl.tmpl --outfile crl.pem >>certtool.log 2>&1 "
              "&& cat server.pem ca.pem >chain.pem && certtool --to-p8 "
              "--load-privkey server.key --password=s3cret --outfile "
              "encrypted.key >>certtool.log 2>&1", dir) == 0 ? 0 : -1;
}

/* certtool's fingerprint of a PEM file as "AB:CD:..". */
static void fingerprint(const char *pem, const char *hash, char *out,
                        size_t outsz)
{
    char cmd[1024], hex[200] = "";
    size_t o = 0;
    FILE *p;

    snprintf(cmd, sizeof cmd, "certtool --fingerprint --hash=%s --infile "
             "'%s/%s' 2>/dev/null", hash, dir, pem);
    p = popen(cmd, "r");
    if (p) {
        if (!fgets(hex, sizeof hex, p))
            hex[0] = '\0';
        pclose(p);
    }
    out[0] = '\0';
    for (size_t i = 0; hex[i] && hex[i + 1] && hex[i] != '\n'; i += 2) {
        if (o + 4 > outsz)
            break;
        o += (size_t)snprintf(out + o, outsz - o, "%s%c%c", o ? ":" : "",
                              toupper((unsigned char)hex[i]),
                              toupper((unsigned char)hex[i + 1]));
    }
}

/* ---- servers ---- */

struct server {
    const char *name;
    const char *args;      /* extra gnutls-serv arguments (paths in dir) */
    int port;
    pid_t pid;
};

static int free_port(void)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0
        && getsockname(fd, (struct sockaddr *)&sin, &sl) == 0)
        port = ntohs(sin.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static bool port_open(int port)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok;

    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Starts gnutls-serv --echo on a free port; retries when the port was
 * taken in between. */
static int server_start(struct server *s)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char cmd[2048];
        pid_t pid;

        s->port = free_port();
        if (s->port == 0)
            continue;
        snprintf(cmd, sizeof cmd, "cd '%s' && exec gnutls-serv --echo -p %d "
                 "%s >>serv-%s.log 2>&1", dir, s->port, s->args, s->name);
        pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 100; i++) {
            struct timespec ts = { 0, 50 * 1000000L };

            if (waitpid(pid, NULL, WNOHANG) == pid)
                break;
            if (port_open(s->port)) {
                s->pid = pid;
                return 0;
            }
            nanosleep(&ts, NULL);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

static void server_stop(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

enum {
    S_VALID, S_EXPIRED, S_NOTYET, S_WRONGHOST, S_SELF, S_REVOKED,
    S_MUSTSTAPLE, S_CLIENTREQ, S_SNI, S_CHAIN, S_SHA1, S_COUNT
};

static struct server servers[S_COUNT] = {
    [S_VALID] = { "valid", "--x509certfile server.pem --x509keyfile "
                  "server.key", 0, 0 },
    [S_EXPIRED] = { "expired", "--x509certfile expired.pem --x509keyfile "
                    "server.key", 0, 0 },
    [S_NOTYET] = { "notyet", "--x509certfile notyet.pem --x509keyfile "
                   "server.key", 0, 0 },
    [S_WRONGHOST] = { "wronghost", "--x509certfile wronghost.pem "
                      "--x509keyfile server.key", 0, 0 },
    [S_SELF] = { "selfsigned", "--x509certfile selfsigned.pem "
                 "--x509keyfile server.key", 0, 0 },
    [S_REVOKED] = { "revoked", "--x509certfile revoked.pem --x509keyfile "
                    "server.key", 0, 0 },
    [S_MUSTSTAPLE] = { "muststaple", "--x509certfile muststaple.pem "
                       "--x509keyfile server.key", 0, 0 },
    [S_CLIENTREQ] = { "clientreq", "--x509certfile server.pem "
                      "--x509keyfile server.key --require-client-cert "
                      "--verify-client-cert --x509cafile ca.pem", 0, 0 },
    [S_SNI] = { "sni", "--x509certfile server.pem --x509keyfile "
                "server.key --sni-hostname=localhost --sni-hostname-fatal",
                0, 0 },
    [S_CHAIN] = { "chain", "--x509certfile chain.pem --x509keyfile "
                  "server.key", 0, 0 },
    [S_SHA1] = { "sha1", "--x509certfile sha1.pem --x509keyfile "
                 "server.key", 0, 0 },
};

/* ---- one connection ---- */

static char path_buf[8][512];
static int path_next;

/* A path in dir (a few may be live at once); "" and NULL stay. */
static const char *P(const char *name)
{
    char *b;

    if (!name || !*name || strcmp(name, "system") == 0)
        return name;
    b = path_buf[path_next++ % 8];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

/* MPOP_TEST_TIME_FACTOR (make check-valgrind sets it) stretches the
 * timeouts of ordinary exchanges: under valgrind, decrypting
 * encrypted.key (600,000 PBKDF2 rounds) alone takes many seconds. */
static int time_factor(void)
{
    const char *f = getenv("MPOP_TEST_TIME_FACTOR");
    int x = f ? atoi(f) : 1;

    return x > 0 && x < 1000 ? x : 1;
}

/* A TCP connection with exactly this I/O timeout. */
static int connect_exact(const char *host, int port, int timeout,
                         struct transport *t, struct mp_err *e)
{
    struct net_target nt;
    int fd;

    memset(&nt, 0, sizeof nt);
    nt.host = host;
    nt.port = port;
    nt.timeout = 5;
    if (net_connect(&nt, &fd, NULL, 0, e) < 0)
        return -1;
    transport_plain_init(t, fd, fd, timeout);
    return 0;
}

static int connect_to(const char *host, int port, int timeout,
                      struct transport *t, struct mp_err *e)
{
    return connect_exact(host, port, timeout * time_factor(), t, e);
}

/* A connection to 127.0.0.1:port that reaches the server only once the
 * client has sent its first byte: a forked relay connects then.  For an
 * encrypted client key, tls_start() first spends 600,000 PBKDF2 rounds
 * (many seconds under valgrind) decrypting it; gnutls-serv's handshake
 * timeout must not run meanwhile.  *relay_r: the relay, for
 * relay_end(). */
static int connect_lazy(int port, int timeout, struct transport *t,
                        pid_t *relay_r)
{
    int sv[2];
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        struct sockaddr_in sin;
        struct pollfd pf[2];
        char buf[16384];
        int up;

        close(sv[0]);
        pf[0].fd = sv[1];
        pf[0].events = POLLIN;
        if (poll(pf, 1, -1) < 0)
            _exit(1);
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_port = htons((unsigned short)port);
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        up = socket(AF_INET, SOCK_STREAM, 0);
        if (up < 0 || connect(up, (struct sockaddr *)&sin, sizeof sin) < 0)
            _exit(1);
        pf[1].fd = up;
        pf[1].events = POLLIN;
        for (;;) {
            int i;

            if (poll(pf, 2, -1) < 0)
                _exit(1);
            for (i = 0; i < 2; i++) {
                ssize_t n;

                if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                n = read(pf[i].fd, buf, sizeof buf);
                if (n <= 0
                    || write(pf[1 - i].fd, buf, (size_t)n) != n)
                    _exit(0);
            }
        }
    }
    close(sv[1]);
    transport_plain_init(t, sv[0], sv[0], timeout * time_factor());
    *relay_r = pid;
    return 0;
}

static void relay_end(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

static void base_params(struct tls_params *p, const char *host)
{
    memset(p, 0, sizeof *p);
    p->host = host;
    p->trust_file = P("ca.pem");
    p->certcheck = true;
    p->min_dh_prime_bits = -1;
}

/* Writes msg and reads it back from the echo server. */
static bool echo_round_trip(struct transport *t, const char *msg,
                            struct mp_err *e)
{
    char buf[256];
    size_t got = 0, n = strlen(msg);

    if (transport_write(t, msg, n, e) < 0)
        return false;
    while (got < n) {
        ssize_t r = transport_read(t, buf + got, sizeof buf - got, e);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return got == n && memcmp(buf, msg, n) == 0;
}

/* ---- the table ---- */

struct row {
    const char *name;
    int server;
    const char *host;
    int want_kind;             /* MP_EOK: success with an echo round trip */
    const char *want_msg;      /* substring of the message */
    const char *trust;         /* NULL: ca.pem; "" none; "system" */
    const char *crl;
    const char *fp;            /* "SHA256"/"SHA1": the server cert's */
    bool certcheck_off;
    const char *override;
    bool client_cert;
    const char *key;           /* client key; NULL: server.key */
    const char *pin;           /* what the PIN callback answers */
    const char *prio;
};

static char fp256[200], fp1[200], fpmd5[200], fpself[200];

#define OKAY .want_kind = MP_EOK
#define FAIL(kind, msg) .want_kind = (kind), .want_msg = (msg)

static const struct row rows[] = {
    { "valid chain, host localhost", S_VALID, "localhost", OKAY },
    { "valid chain (server sends CA too)", S_CHAIN, "localhost", OKAY },
    { "valid, IP literal checked against IP SAN", S_VALID, "127.0.0.1",
      OKAY },
    { "valid, with CRL that does not list it", S_VALID, "localhost",
      .crl = "crl.pem", OKAY },
    { "expired", S_EXPIRED, "localhost",
      FAIL(MP_ETLSCERT, "has expired") },
    { "not yet valid", S_NOTYET, "localhost",
      FAIL(MP_ETLSCERT, "is not yet valid") },
    { "wrong host", S_WRONGHOST, "localhost",
      FAIL(MP_ETLSCERT, "the certificate is not for the host name "
           "localhost") },
    { "self-signed", S_SELF, "localhost",
      FAIL(MP_ETLSCERT, "self-signed and not trusted") },
    { "revoked with CRL", S_REVOKED, "localhost", .crl = "crl.pem",
      FAIL(MP_ETLSCERT, "has been revoked") },
    { "revoked without CRL passes", S_REVOKED, "localhost", OKAY },
    { "must-staple without a staple", S_MUSTSTAPLE, "localhost",
      FAIL(MP_ETLSCERT, "(must-staple) but the server sent none") },
    { "signed with SHA-1", S_SHA1, "localhost",
      FAIL(MP_ETLSCERT, "uses an insecure algorithm") },
    { "host override to a wrong name", S_VALID, "localhost",
      .override = "wrong.invalid",
      FAIL(MP_ETLSCERT, "not for the host name wrong.invalid") },
    { "host override to the right name", S_WRONGHOST, "localhost",
      .override = "wrong.invalid", OKAY },
    { "system trust does not know the test CA", S_VALID, "localhost",
      .trust = "system", FAIL(MP_ETLSCERT, "issuer is unknown") },
    { "no trust at all", S_VALID, "localhost", .trust = "",
      FAIL(MP_ECONFIG, "tls_trust_file") },
    { "missing trust file", S_VALID, "localhost",
      .trust = "nonexistent.pem", FAIL(MP_ENOINPUT, "nonexistent.pem") },
    { "missing CRL file", S_VALID, "localhost", .crl = "nonexistent.crl",
      FAIL(MP_ENOINPUT, "nonexistent.crl") },
    { "malformed fingerprint", S_VALID, "localhost", .fp = "00:11",
      FAIL(MP_ECONFIG, "invalid tls_fingerprint 00:11") },
    { "SHA256 fingerprint right", S_VALID, "localhost", .trust = "",
      .fp = fp256, OKAY },
    { "SHA1 fingerprint right", S_VALID, "localhost", .trust = "",
      .fp = fp1, OKAY },
    { "MD5 fingerprint right", S_VALID, "localhost", .trust = "",
      .fp = fpmd5, OKAY },
    { "fingerprint overrides CA trust (self-signed)", S_SELF, "localhost",
      .fp = fpself, OKAY },
    { "fingerprint wrong", S_SELF, "localhost", .fp = fp256,
      FAIL(MP_ETLSCERT, "the certificate fingerprint does not match") },
    { "certcheck off accepts expired", S_EXPIRED, "localhost", .trust = "",
      .certcheck_off = true, OKAY },
    { "certcheck off overrides a wrong fingerprint", S_SELF, "localhost",
      .fp = fp256, .certcheck_off = true, OKAY },
    { "client certificate accepted", S_CLIENTREQ, "localhost",
      .client_cert = true, OKAY },
    { "client key encrypted, password from the PIN callback", S_CLIENTREQ,
      "localhost", .client_cert = true, .key = "encrypted.key",
      .pin = "s3cret", OKAY },
    { "client key encrypted, wrong password", S_CLIENTREQ, "localhost",
      .client_cert = true, .key = "encrypted.key", .pin = "wrong",
      FAIL(MP_ENOINPUT, "encrypted.key") },
    { "client key encrypted, no PIN callback", S_CLIENTREQ, "localhost",
      .client_cert = true, .key = "encrypted.key",
      FAIL(MP_ENOINPUT, "encrypted.key") },
    { "priority string error points at the bad part", S_VALID,
      "localhost", .prio = "NORMAL:+FOO:-BAR",
      FAIL(MP_ESOFTWARE, "position 8, at \"+FOO\"") },
    { "SNI localhost to a server that insists on it", S_SNI, "localhost",
      OKAY },
    { "TLS 1.2 forced by priorities", S_VALID, "localhost",
      .prio = "NORMAL:-VERS-TLS1.3", OKAY },
};

static int pin_cb(void *data, const char *label, char *pin, size_t pinsz)
{
    (void)label;
    snprintf(pin, pinsz, "%s", (const char *)data);
    return 0;
}

static void run_row(const struct row *r)
{
    struct transport t;
    struct tls_params p;
    struct mp_err e;
    pid_t relay = -1;
    int rc;

    err_init(&e);
    if (r->key && strcmp(r->host, "localhost") == 0) {
        if (connect_lazy(servers[r->server].port, 5, &t, &relay) < 0) {
            ok(0, "%s: relay: %s", r->name, strerror(errno));
            return;
        }
    } else if (connect_to(r->host, servers[r->server].port, 5, &t, &e) < 0) {
        ok(0, "%s: connect: %s", r->name, e.msg);
        return;
    }
    base_params(&p, r->host);
    if (r->trust)
        p.trust_file = P(r->trust);
    p.crl_file = P(r->crl);
    p.fingerprint = r->fp;
    p.certcheck = !r->certcheck_off;
    p.host_override = r->override;
    p.priorities = r->prio;
    if (r->client_cert) {
        p.cert_file = P("client.pem");
        p.key_file = P(r->key ? r->key : "server.key");
    }
    if (r->pin) {
        p.pin = pin_cb;
        p.pin_data = (void *)r->pin;
    }
    rc = tls_start(&t, &p, &e);
    if (r->want_kind == MP_EOK) {
        ok(rc == 0 && tls_active(&t), "%s: handshake", r->name);
        if (rc != 0)
            printf("#   %s\n", e.msg);
        if (!ok(rc == 0 && echo_round_trip(&t, "hello TLS\n", &e),
                "%s: echo round trip", r->name) && rc == 0)
            printf("#   %s\n", e.msg);
    } else {
        is_int(rc == 0 ? MP_EOK : (int)e.kind, r->want_kind, "%s: kind",
               r->name);
        ok(rc < 0 && strstr(e.msg, r->want_msg) != NULL
           && !tls_active(&t), "%s: message says why", r->name);
        if (rc < 0 && !strstr(e.msg, r->want_msg))
            printf("#   got: %s\n#   want: ...%s...\n", e.msg, r->want_msg);
        if (r->want_kind == MP_ETLSCERT)
            ok(rc < 0 && strstr(e.msg, "TLS certificate verification "
                                "failed: ") == e.msg,
               "%s: verification failure prefix", r->name);
    }
    transport_close(&t);
    relay_end(relay);
}

/* ---- other cases ---- */

static void test_client_cert_missing(void)
{
    struct transport t;
    struct tls_params p;
    struct mp_err e;
    int rc;
    bool through = false;

    err_init(&e);
    if (connect_to("localhost", servers[S_CLIENTREQ].port, 5, &t, &e) < 0) {
        ok(0, "client cert required: connect: %s", e.msg);
        return;
    }
    base_params(&p, "localhost");
    rc = tls_start(&t, &p, &e);
    /* TLS 1.3: the server's refusal may only arrive after our Finished,
     * i.e. on the first read. */
    if (rc == 0)
        through = echo_round_trip(&t, "hello\n", &e);
    ok(!through && e.kind != MP_EOK,
       "client certificate required but not sent: refused (%s)", e.msg);
    transport_close(&t);
}

static void test_channel_binding(const char *prio, const char *want_type,
                                 size_t want_len)
{
    struct transport t;
    struct tls_params p;
    struct mp_err e;
    const char *type = NULL;
    unsigned char *data = NULL, *data2 = NULL;
    size_t len = 0, len2 = 0;

    err_init(&e);
    if (connect_to("localhost", servers[S_VALID].port, 5, &t, &e) < 0
        || (base_params(&p, "localhost"), p.priorities = prio,
            tls_start(&t, &p, &e) < 0)) {
        ok(0, "channel binding %s: session: %s", want_type, e.msg);
        return;
    }
    ok(tls_channel_binding(&t, &type, &data, &len, &e) == 0,
       "channel binding %s: available", want_type);
    is_str(type, want_type, "channel binding type %s", want_type);
    is_int((long long)len, (long long)want_len,
           "channel binding %s: length", want_type);
    /* Stable within one session. */
    ok(tls_channel_binding(&t, &type, &data2, &len2, &e) == 0
       && len2 == len && data && memcmp(data, data2, len) == 0,
       "channel binding %s: same data twice", want_type);
    free(data);
    free(data2);
    transport_close(&t);
}

static void test_channel_binding_plain(void)
{
    struct transport t;
    struct mp_err e;
    const char *type;
    unsigned char *data = NULL;
    size_t len;
    int sv[2];

    err_init(&e);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    transport_plain_init(&t, sv[0], sv[0], 1);
    ok(tls_channel_binding(&t, &type, &data, &len, &e) < 0
       && e.kind == MP_ESOFTWARE && !tls_active(&t),
       "channel binding on a plain transport fails");
    transport_close(&t);
    close(sv[1]);
}

static void test_info(void)
{
    struct transport t;
    struct tls_params p;
    struct mp_err e;
    struct tls_info info;
    char *out = NULL, want[512];
    size_t outlen = 0;
    FILE *f;

    err_init(&e);
    if (connect_to("localhost", servers[S_VALID].port, 5, &t, &e) < 0
        || (base_params(&p, "localhost"), tls_start(&t, &p, &e) < 0)) {
        ok(0, "info: session: %s", e.msg);
        return;
    }
    ok(tls_info_get(&t, &info, &e) == 0 && info.have_cert, "info: got");
    ok(info.desc && strncmp(info.desc, "(TLS1.3)-(", 10) == 0,
       "info: session description %s", info.desc ? info.desc : "");
    is_str(info.subject, "O=mpop test suite,CN=localhost", "info: subject");
    is_str(info.issuer, "O=mpop test suite,CN=mpop test CA",
           "info: issuer");
    ok(info.expiration - info.activation > 29 * 86400
       && info.expiration - info.activation < 31 * 86400,
       "info: validity of 30 days");
    f = open_memstream(&out, &outlen);
    tls_info_print(&info, f);
    fclose(f);
    ok(strncmp(out, "TLS session parameters:\n    (TLS1.3)-", 37) == 0,
       "info print: session block");
    ok(strstr(out, "\nTLS certificate information:\n    Subject:\n"
              "        O=mpop test suite,CN=localhost\n    Issuer:\n"
              "        O=mpop test suite,CN=mpop test CA\n    Validity:\n"
              "        Activation time: ") != NULL,
       "info print: subject and issuer");
    snprintf(want, sizeof want, "\n    Fingerprints:\n        SHA256: %s\n"
             "        SHA1 (deprecated): %s\n", fp256, fp1);
    ok(strlen(out) > strlen(want)
       && strcmp(out + strlen(out) - strlen(want), want) == 0,
       "info print: fingerprints as certtool computes them, at the end");
    {
        /* "Expiration time: Www Mmm dd hh:mm:ss yyyy" */
        const char *x = strstr(out, "Expiration time: ");
        ok(x && strlen(x) > 41 && x[17 + 3] == ' ' && x[17 + 7] == ' '
           && x[17 + 10] == ' ' && x[17 + 13] == ':' && x[17 + 16] == ':'
           && x[17 + 19] == ' ' && x[17 + 24] == '\n',
           "info print: ctime layout of the times");
    }
    free(out);
    tls_info_clear(&info);
    ok(info.desc == NULL && info.subject == NULL, "info: cleared");
    transport_close(&t);
}

static void test_time_format(void)
{
    struct tls_info info;
    char *out = NULL;
    size_t outlen = 0;
    FILE *f;

    memset(&info, 0, sizeof info);
    info.desc = (char *)"(TLS1.2)-(evil\x1b[31m)";
    info.have_cert = true;
    info.subject = (char *)"CN=a\nb";
    info.issuer = (char *)"CN=x";
    info.activation = 946684800;    /* 2000-01-01 00:00:00 UTC */
    info.expiration = 978307200;    /* 2001-01-01 */
    setenv("TZ", "UTC", 1);
    tzset();
    f = open_memstream(&out, &outlen);
    tls_info_print(&info, f);
    fclose(f);
    ok(strstr(out, "        Activation time: Sat Jan  1 00:00:00 2000\n"
              "        Expiration time: Mon Jan  1 00:00:00 2001\n") != NULL,
       "info print: day padded with a space, as ctime()");
    ok(strstr(out, "    (TLS1.2)-(evil\\x1b[31m)\n") != NULL,
       "info print: escape in the description is quoted");
    ok(strstr(out, "        CN=a\\nb\n") != NULL,
       "info print: newline in a DN is quoted");
    ok(strstr(out, "SHA256: 00:00:") != NULL
       && strstr(out, "SHA1 (deprecated): 00:") != NULL,
       "info print: fingerprint lines");
    free(out);
}

/* A listener that accepts nothing: the handshake must time out by poll. */
static void test_timeout(void)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    struct transport t;
    struct tls_params p;
    struct mp_err e;
    struct timespec a, b;
    int lfd = socket(AF_INET, SOCK_STREAM, 0), rc;
    double secs;

    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(lfd, (struct sockaddr *)&sin, sizeof sin);
    listen(lfd, 5);
    getsockname(lfd, (struct sockaddr *)&sin, &sl);
    err_init(&e);
    if (connect_exact("127.0.0.1", ntohs(sin.sin_port), 1, &t, &e) < 0) {
        ok(0, "timeout: connect: %s", e.msg);
        close(lfd);
        return;
    }
    base_params(&p, "127.0.0.1");
    clock_gettime(CLOCK_MONOTONIC, &a);
    rc = tls_start(&t, &p, &e);
    clock_gettime(CLOCK_MONOTONIC, &b);
    secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    is_int(rc < 0 ? (int)e.kind : 0, MP_ETEMP,
           "handshake timeout: MP_ETEMP (%s)", e.msg);
    ok(secs > 0.8 && secs < 2.5, "handshake timeout after %.2f s", secs);
    ok(strstr(e.msg, "TLS handshake failed: ") == e.msg,
       "handshake timeout: message says where");
    transport_close(&t);
    close(lfd);
}

/* A plain POP3 server: TLS to it fails as a protocol error (EX_PROTOCOL,
 * as the original mpop). */
static void test_plain_server(void)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    struct transport t;
    struct tls_params p;
    struct mp_err e;
    int lfd = socket(AF_INET, SOCK_STREAM, 0), rc;
    pid_t pid;

    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(lfd, (struct sockaddr *)&sin, sizeof sin);
    listen(lfd, 5);
    getsockname(lfd, (struct sockaddr *)&sin, &sl);
    pid = fork();
    if (pid == 0) {
        int c = accept(lfd, NULL, NULL);
        char buf[512];

        if (write(c, "+OK POP3 ready\r\n", 16) < 0)
            _exit(1);
        while (read(c, buf, sizeof buf) > 0)
            ;
        _exit(0);
    }
    err_init(&e);
    if (connect_to("127.0.0.1", ntohs(sin.sin_port), 5, &t, &e) < 0) {
        ok(0, "plain server: connect: %s", e.msg);
    } else {
        base_params(&p, "127.0.0.1");
        rc = tls_start(&t, &p, &e);
        is_int(rc < 0 ? (int)e.kind : 0, MP_EPROTO,
               "TLS to a plain server: MP_EPROTO (%s)", e.msg);
        transport_close(&t);
    }
    close(lfd);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* A server that dies (no close_notify): end of stream, not an error. */
static void test_eof_without_close_notify(void)
{
    struct server s = { "dying", "--x509certfile server.pem --x509keyfile "
                        "server.key", 0, 0 };
    struct transport t;
    struct tls_params p;
    struct mp_err e;
    char buf[16];
    ssize_t r;

    err_init(&e);
    if (server_start(&s) < 0) {
        ok(0, "eof: server");
        return;
    }
    if (connect_to("localhost", s.port, 5, &t, &e) < 0
        || (base_params(&p, "localhost"), tls_start(&t, &p, &e) < 0)) {
        ok(0, "eof: session: %s", e.msg);
        server_stop(&s);
        return;
    }
    /* A round trip first: the server has then read all we sent, so its
     * death is a FIN, not a reset. */
    ok(echo_round_trip(&t, "before\n", &e), "eof: round trip first");
    kill(s.pid, SIGKILL);
    waitpid(s.pid, NULL, 0);
    s.pid = 0;
    r = transport_read(&t, buf, sizeof buf, &e);
    is_int(r, 0, "server gone without close_notify: end of stream (%s)",
           r < 0 ? e.msg : "");
    transport_close(&t);
}

static void test_fingerprint_parse(void)
{
    static const struct {
        const char *in;
        int want;
    } fps[] = {
        { "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", 16 },
        { "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33", 20 },
        { "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
          "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:fF", 32 },
        { "", -1 },
        { "00:11", -1 },
        { "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:f", -1 },
        { "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:", -1 },
        { "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:gg", -1 },
        { "0011:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00", -1 },
        { "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
          "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00", -1 },
        { " 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", -1 },
    };
    unsigned char out[32];

    for (size_t i = 0; i < sizeof fps / sizeof fps[0]; i++)
        is_int(tls_parse_fingerprint(fps[i].in, out), fps[i].want,
               "fingerprint \"%s\"", fps[i].in);
    tls_parse_fingerprint(fps[0].in, out);
    ok(out[0] == 0x00 && out[10] == 0xaa && out[15] == 0xff,
       "fingerprint bytes");
}

static void test_params_from_account(void)
{
    struct account *a = account_new("x");
    struct tls_params p;

    free(a->host);
    a->host = strdup("pop.example.org");
    a->tls_host_override = strdup("other.example.org");
    a->tls_fingerprint = strdup("00:11");
    a->tls_certcheck = false;
    a->tls_min_dh_prime_bits = 1024;
    session_tls_params(a, &p);
    ok(strcmp(p.host, "pop.example.org") == 0
       && strcmp(p.host_override, "other.example.org") == 0
       && strcmp(p.trust_file, "system") == 0
       && strcmp(p.fingerprint, "00:11") == 0 && !p.certcheck
       && p.min_dh_prime_bits == 1024 && p.pin == NULL,
       "params from account");
    ok(tls_insecure_warning(&p) != NULL, "certcheck off: a warning");
    p.certcheck = true;
    ok(tls_insecure_warning(&p) == NULL, "certcheck on: no warning");
    account_free(&a);
}

static bool have(const char *prog)
{
    return sh("command -v %s >/dev/null 2>&1", prog) == 0;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    struct mp_err e;
    int failed;

    signal(SIGPIPE, SIG_IGN);
    test_fingerprint_parse();
    test_params_from_account();
    test_time_format();
    test_channel_binding_plain();
    if (!have("certtool") || !have("gnutls-serv")) {
        printf("# certtool or gnutls-serv missing: skipping the rest\n");
        return done_testing();
    }
    snprintf(dir, sizeof dir, "%s/test-tls.XXXXXX", tmp && *tmp ? tmp
             : "/tmp");
    if (!mkdtemp(dir)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    err_init(&e);
    tls_lib_init(&e);
    if (!ok(make_certs() == 0, "certtool made the test certificates")) {
        printf("# see %s/certtool.log\n", dir);
        return done_testing();
    }
    fingerprint("server.pem", "sha256", fp256, sizeof fp256);
    fingerprint("server.pem", "sha1", fp1, sizeof fp1);
    fingerprint("server.pem", "md5", fpmd5, sizeof fpmd5);
    fingerprint("selfsigned.pem", "sha256", fpself, sizeof fpself);
    ok(strlen(fp256) == 95 && strlen(fp1) == 59 && strlen(fpmd5) == 47,
       "certtool fingerprints");
    for (int i = 0; i < S_COUNT; i++)
        if (!ok(server_start(&servers[i]) == 0, "gnutls-serv %s started",
                servers[i].name))
            goto out;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        run_row(&rows[i]);
    test_client_cert_missing();
    test_channel_binding(NULL, "tls-exporter", 32);
    test_channel_binding("NORMAL:-VERS-TLS1.3", "tls-unique", 12);
    test_info();
    test_timeout();
    test_plain_server();
    test_eof_without_close_notify();

out:
    for (int i = 0; i < S_COUNT; i++)
        server_stop(&servers[i]);
    tls_lib_deinit();
    failed = done_testing();
    if (!failed)
        sh("rm -rf '%s'", dir);
    else
        printf("# files kept in %s\n", dir);
    return failed;
}
