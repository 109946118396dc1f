#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "gettext.h"
#include "keyring.h"
#include "log.h"
#include "logfile.h"
#include "monotime.h"
#include "mpopd_opts.h"
#include "net.h"
#include "pop3d.h"
#include "secret.h"
#include "tls_server.h"
#include "transport.h"
#include "xalloc.h"

#ifndef LOCALEDIR
# define LOCALEDIR "/usr/share/locale"
#endif

/* The shared authentication failure count is forgotten after this many
 * seconds without a failure. */
#define AUTH_FORGET_SECONDS 300
/* The longest password a passwordeval command or the prompt may give. */
#define PASSWORD_MAX 1024
/* How long a session that ended may spend on its goodbye: close_notify,
 * and reading what the client still sends so our last reply is not lost
 * to a reset. */
#define LINGER_MS 2000
/* How long the listener waits, after SIGTERM, for its sessions to end
 * before it kills them. */
#define TERM_GRACE_MS 5000

/* --log: shared with mpop's --log (logfile.c). */
static struct logfile mlog;

/* The authentication failure record shared by the listener's sessions.
 * Sessions are forked processes, so the record lives in an anonymous
 * MAP_SHARED page created before the first fork: every child sees the
 * same memory, no file is created and no pipe to the parent is needed.
 * Updates use atomic builtins; a lost update under a race only changes a
 * delay by one step.  In --inetd mode each session is its own process
 * started by inetd, so the record (then private) covers that session
 * only. */
struct authgate {
    unsigned failures;
    long long last_failure;     /* CLOCK_MONOTONIC seconds */
};

static struct authgate *authgate;

struct session_ctx {
    char peer[128];
    const struct tls_server *tls;
};

static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_chld;
/* The connection of this process's session (-1 in the listener).  A
 * SIGTERM shuts it down from the handler: every wait of the session on it
 * then returns at once, wherever the signal came (before a poll(), in a
 * blocked write, in the TLS handshake), without a check of a flag that
 * could race with the start of the wait. */
static volatile sig_atomic_t session_in_fd = -1;
static volatile sig_atomic_t session_out_fd = -1;

static unsigned auth_delay_ms(void *ctx)
{
    unsigned f = __atomic_load_n(&authgate->failures, __ATOMIC_SEQ_CST);
    long long last = __atomic_load_n(&authgate->last_failure,
                                     __ATOMIC_SEQ_CST);

    if (f > 0 && monotime_ms() / 1000 - last > AUTH_FORGET_SECONDS) {
        __atomic_store_n(&authgate->failures, 0, __ATOMIC_SEQ_CST);
        f = 0;
    }
    return pop3d_auth_delay_policy(f);
}

static void auth_failed(void *ctx)
{
    __atomic_store_n(&authgate->last_failure, monotime_ms() / 1000, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&authgate->failures, 1, __ATOMIC_SEQ_CST);
}

static void session_log(void *ctx, enum pop3d_log_prio prio,
                        const char *msg)
{
    struct session_ctx *sc = ctx;
    enum logfile_prio p = prio == POP3D_LOG_INFO ? LOGFILE_INFO
        : prio == POP3D_LOG_WARN ? LOGFILE_WARNING : LOGFILE_ERR;

    logfile_line(&mlog, p, "%s: %s", sc->peer, msg);
}

/* Makes fd useless to the session: a socket is shut down both ways (the
 * client sees the end of the stream); a pipe (--inetd) is replaced by
 * /dev/null, so that a read sees its end and a write goes nowhere.  Only
 * async-signal-safe calls. */
static void wake_fd(int fd)
{
    if (fd < 0)
        return;
    if (shutdown(fd, SHUT_RDWR) != 0 && errno == ENOTSOCK) {
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul >= 0) {
            dup2(nul, fd);
            close(nul);
        }
    }
}

static void on_term(int sig)
{
    int saved = errno;

    got_term = 1;
    transport_interrupted = 1;
    wake_fd(session_in_fd);
    if (session_out_fd != session_in_fd)
        wake_fd(session_out_fd);
    errno = saved;
}

static void on_chld(int sig)
{
    got_chld = 1;
}

static void print_version(void)
{
    printf(_("%s version %s\n"), "mpopd", PACKAGE_VERSION);
    printf(_("A minimal POP3 server that serves local maildirs.\n"
             "This is free software; there is NO WARRANTY, to the extent "
             "permitted by law.\n"));
}

static void print_help(void)
{
    printf(_("Usage: mpopd [option...]\n"
             "Options:\n"
             "  --version              print version\n"
             "  --help                 print help\n"
             "  --inetd                serve one POP3 session on "
             "stdin/stdout\n"
             "  --interface=IP         listen on IP instead of 127.0.0.1\n"
             "  --port=NUMBER          listen on port NUMBER instead of "
             "1100 (0: any free port)\n"
             "  --port-file=FILE       write the port listened on to FILE\n"
             "  --log=none|syslog|FILE log nothing (default), log to "
             "syslog, or log to FILE\n"
             "  --auth=USER[,PASSWORDEVAL]\n"
             "                         require this user name; the password "
             "is the output of\n"
             "                         the PASSWORDEVAL command, else it is "
             "asked for at start\n"
             "  --maildir=DIR          serve the maildir DIR as the mailbox "
             "of the last --auth\n"
             "  --max-sessions=N       at most N concurrent sessions "
             "(default 16)\n"
             "  --timeout=SECONDS      close idle sessions after SECONDS "
             "(default 600)\n"
             "  --tls-cert=FILE        the TLS certificate chain (PEM); "
             "with --tls-key, STLS\n"
             "                         is offered, and USER and PASS are "
             "refused until TLS is on\n"
             "  --tls-key=FILE         the private key of --tls-cert "
             "(PEM)\n"
             "  --tls-implicit         start TLS at once on every "
             "connection (as on port 995)\n"
             "                         instead of offering STLS\n"
             "Each --auth option followed by a --maildir option defines one "
             "mailbox; at least\n"
             "one is required.\n"));
}

/* The password of user from `sh -c cmd` (see secret_eval).  In --inetd
 * mode fds 0 and 2 may be the client's connection: the command gets
 * /dev/null there instead, so it can neither read the client's bytes nor
 * write to the client. */
static char *password_eval(const char *user, const char *cmd, bool inetd,
                           struct mp_err *e)
{
    int saved[2] = { -1, -1 };
    static const int fds[2] = { 0, 2 };
    char *pw = NULL;
    int r;

    if (inetd) {
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (nul < 0) {
            err_set_errno(e, MP_EOS, errno, _("cannot open %s"),
                          "/dev/null");
            return NULL;
        }
        for (int i = 0; i < 2; i++) {
            saved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
            if (saved[i] >= 0)
                dup2(nul, fds[i]);
        }
        close(nul);
    }
    r = secret_eval(cmd, &pw, e);
    for (int i = 0; i < 2; i++)
        if (saved[i] >= 0) {
            dup2(saved[i], fds[i]);
            close(saved[i]);
        }
    if (r != 0) {
        err_prefix(e, _("the password command for user %s: "), user);
        return NULL;
    }
    return pw;
}

/* The password of user for one --auth option: from its command, else from
 * the key ring, else asked for on the terminal.  The key ring entry is the
 * original mpopd's: host "localhost", service pop3, this user, e.g.
 *     secret-tool store --label=mpopd host localhost service pop3 user U */
static char *password_get(const char *user, const char *cmd, bool inetd,
                          struct mp_err *e)
{
    char *pw = NULL;
    int r;

    if (cmd) {
        pw = password_eval(user, cmd, inetd, e);
    } else if ((r = keyring_lookup("localhost", user, &pw, e)) != 0) {
        if (r < 0)
            return NULL;
    } else {
        char *prompt = xasprintf(_("password for mpopd user %s: "), user);

        r = secret_prompt(prompt, &pw, e);
        free(prompt);
        if (r != 0) {
            err_prefix(e, _("no password for mpopd user %s: "), user);
            return NULL;
        }
    }
    if (!pw)
        return NULL;
    /* USER/PASS carry one line of at most POP3D_CMD_LINE_MAX bytes. */
    if (pw[0] == '\0' || strlen(pw) > PASSWORD_MAX || strpbrk(pw, "\r\n")) {
        xfree_secret(&pw);
        err_set(e, MP_ECONFIG, _("the password for user %s is empty, "
                "longer than %d bytes or more than one line"), user,
                PASSWORD_MAX);
        return NULL;
    }
    return pw;
}

/* The listening socket on interface:port. */
static int listen_on(const char *iface, int port, int *port_r,
                     struct mp_err *e)
{
    struct addrinfo hints, *res = NULL;
    char portstr[16];
    int fd = -1, one = 1, r;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    snprintf(portstr, sizeof portstr, "%d", port);
    r = getaddrinfo(iface, portstr, &hints, &res);
    if (r != 0)
        return err_set(e, MP_EUSAGE, _("invalid interface address %s: %s"),
                       iface, gai_strerror(r));
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err_set_errno(e, MP_EOS, errno, _("cannot create a socket"));
        goto fail;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        err_set_errno(e, MP_EOS, errno, _("cannot listen on %s port %d"),
                      iface, port);
        goto fail;
    }
    if (listen(fd, 64) != 0) {
        err_set_errno(e, MP_EOS, errno, _("cannot listen on %s port %d"),
                      iface, port);
        goto fail;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
        err_set_errno(e, MP_EOS, errno, _("cannot listen on %s port %d"),
                      iface, port);
        goto fail;
    }
    *port_r = ntohs(ss.ss_family == AF_INET6
                    ? ((struct sockaddr_in6 *)&ss)->sin6_port
                    : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(res);
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return -1;
}

/* Writes the port to file atomically (temp file, rename), so a test that
 * polls for the file never reads half of it. */
static int write_port_file(const char *file, int port, struct mp_err *e)
{
    char *tmp = xasprintf("%s.tmp%ld", file, (long)getpid());
    FILE *f = fopen(tmp, "w");

    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0) {
        int saved = errno;
        if (f)
            unlink(tmp);
        free(tmp);
        return err_set_errno(e, MP_ECANTCREAT, saved, _("cannot write %s"),
                             file);
    }
    if (rename(tmp, file) != 0) {
        int saved = errno;
        unlink(tmp);
        free(tmp);
        return err_set_errno(e, MP_ECANTCREAT, saved, _("cannot write %s"),
                             file);
    }
    free(tmp);
    return 0;
}

/* Closing a socket that still holds unread input sends a reset, and the
 * client may then lose our last reply (the -ERR that explains why the
 * session ends).  So TLS says close_notify, the sending side is shut down,
 * and what the client still sends is read and dropped, for at most
 * LINGER_MS in all: a client that keeps sending cannot keep the process. */
static void linger_close(struct transport *t)
{
    long long deadline = monotime_ms() + LINGER_MS;

    if (t->timeout_ms <= 0 || t->timeout_ms > LINGER_MS)
        t->timeout_ms = LINGER_MS;
    if (t->ops && t->ops->close) {
        /* close_notify (TLS) while the fd still writes; transport_close
         * below then only closes the fds. */
        t->ops->close(t);
        t->ops = NULL;
    }
    if (t->fd >= 0 && t->fd == t->out_fd && !transport_interrupted
        && shutdown(t->fd, SHUT_WR) == 0) {
        char buf[4096];
        struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
        long long left;

        while (!transport_interrupted
               && (left = deadline - monotime_ms()) > 0
               && poll(&pfd, 1, (int)left) > 0) {
            ssize_t n = read(t->fd, buf, sizeof buf);
            if (n <= 0)
                break;
        }
    }
    transport_close(t);
}

static int session_starttls(void *ctx, struct transport *t, struct mp_err *e)
{
    struct session_ctx *sc = ctx;
    char desc[128];

    if (tls_server_start(t, sc->tls, e) != 0)
        return -1;
    logfile_line(&mlog, LOGFILE_INFO, _("%s: TLS started (%s)"), sc->peer,
                 tls_server_describe(t, desc, sizeof desc));
    return 0;
}

/* One session on in_fd/out_fd.  tls: the server's credentials, or NULL;
 * implicit: the handshake comes first (else STLS is offered). */
static int run_session(int in_fd, int out_fd, int timeout,
                       const struct pop3d_config *base,
                       const struct tls_server *tls, bool implicit)
{
    struct session_ctx sc;
    struct pop3d_config cfg = *base;
    struct transport t;
    struct mp_err e;
    int ret;

    net_describe_peer(in_fd, sc.peer, sizeof sc.peer);
    sc.tls = tls;
    cfg.ctx = &sc;
    err_init(&e);
    transport_plain_init(&t, in_fd, out_fd, timeout);
    logfile_line(&mlog, LOGFILE_INFO, _("%s: session started"), sc.peer);
    if (tls && implicit) {
        char desc[128];

        if (tls_server_start(&t, tls, &e) != 0) {
            logfile_line(&mlog, e.kind == MP_EIO || e.kind == MP_ESIGNAL
                         ? LOGFILE_INFO : LOGFILE_NOTICE,
                         _("%s: session ended: %s"), sc.peer, e.msg);
            transport_close(&t);
            return err_exitcode(e.kind);
        }
        logfile_line(&mlog, LOGFILE_INFO, _("%s: TLS started (%s)"),
                     sc.peer, tls_server_describe(&t, desc, sizeof desc));
        cfg.secure = true;
    } else if (tls) {
        cfg.starttls = session_starttls;
    }
    ret = pop3d_session(&t, &cfg, &e);
    if (ret != 0)
        logfile_line(&mlog, e.kind == MP_EIO ? LOGFILE_INFO
                     : LOGFILE_NOTICE, _("%s: session ended: %s"), sc.peer,
                     e.msg);
    else
        logfile_line(&mlog, LOGFILE_INFO, _("%s: session ended"), sc.peer);
    linger_close(&t);
    return ret == 0 ? 0 : err_exitcode(e.kind);
}

static void reap(pid_t *kids, size_t max, size_t *active)
{
    pid_t pid;

    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
        for (size_t i = 0; i < max; i++)
            if (kids[i] == pid) {
                kids[i] = 0;
                (*active)--;
                break;
            }
}

/* Ends the sessions after the listener's SIGTERM: each gets SIGTERM
 * (its handler shuts its connection down, so it ends at once whatever it
 * was waiting for); those still running after TERM_GRACE_MS are killed.
 * Sessions that end without QUIT delete nothing, so this is safe. */
static void end_sessions(pid_t *kids, size_t max, size_t *active)
{
    long long deadline = monotime_ms() + TERM_GRACE_MS;
    bool killed = false;

    for (size_t i = 0; i < max; i++)
        if (kids[i] > 0)
            kill(kids[i], SIGTERM);
    while (*active > 0) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);

        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            break;
        if (pid == 0) {
            struct timespec ts = { 0, 20 * 1000000L };

            if (!killed && monotime_ms() >= deadline) {
                for (size_t i = 0; i < max; i++)
                    if (kids[i] > 0)
                        kill(kids[i], SIGKILL);
                logfile_line(&mlog, LOGFILE_WARNING, _("sessions did not "
                             "end in time: killed"));
                killed = true;
            }
            nanosleep(&ts, NULL);
            continue;
        }
        for (size_t i = 0; i < max; i++)
            if (kids[i] == pid) {
                kids[i] = 0;
                (*active)--;
            }
    }
}

/* The listener's signals: SIGTERM, SIGINT and SIGHUP end it, SIGCHLD
 * reaps sessions.  They are blocked from here on except inside serve()'s
 * ppoll(), so none can slip in between the flag check and the wait, and a
 * SIGTERM that comes before serve() runs (say, right after the port file
 * appeared) waits for it instead of killing the process uncleanly.
 * *unblocked_r is the mask to wait with. */
static void listener_signals(sigset_t *unblocked_r)
{
    sigset_t block;
    struct sigaction sa;

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, unblocked_r);
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
}

static int serve(int lfd, int timeout, size_t max_sessions,
                 const struct pop3d_config *cfg,
                 const struct tls_server *tls, bool implicit,
                 const sigset_t *unblocked)
{
    pid_t *kids = xcalloc(max_sessions, sizeof *kids);
    size_t active = 0;
    sigset_t none = *unblocked;
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    while (!got_term) {
        struct pollfd pfd = { .fd = lfd, .events = POLLIN };
        int fd;
        pid_t pid;

        if (got_chld) {
            got_chld = 0;
            reap(kids, max_sessions, &active);
        }
        if (ppoll(&pfd, 1, NULL, &none) < 0) {
            if (errno == EINTR)
                continue;
            logfile_line(&mlog, LOGFILE_ERR, _("cannot wait for "
                         "connections: %s"), strerror(errno));
            break;
        }
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        if (got_term) {
            close(fd);
            break;
        }
        /* Replies go out in whole batches (pop3d.c flushes when no
         * command waits): Nagle's rule would only hold one back for a
         * round trip behind the previous batch's unacknowledged tail. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 },
                         sizeof(int));
        if (got_chld) {
            got_chld = 0;
            reap(kids, max_sessions, &active);
        }
        if (active >= max_sessions) {
            static const char busy[] = "-ERR [SYS/TEMP] too many sessions\r\n";
            char peer[128];
            if (send(fd, busy, sizeof busy - 1, MSG_DONTWAIT | MSG_NOSIGNAL)
                < 0) {
                /* The client is gone already. */
            }
            logfile_line(&mlog, LOGFILE_WARNING, _("%s: refused: too many "
                         "sessions"), net_describe_peer(fd, peer, sizeof peer));
            close(fd);
            continue;
        }
        pid = fork();
        if (pid < 0) {
            logfile_line(&mlog, LOGFILE_ERR, _("cannot fork: %s"),
                         strerror(errno));
            close(fd);
            continue;
        }
        if (pid == 0) {
            int code;
            close(lfd);
            sa.sa_handler = SIG_DFL;
            sigaction(SIGCHLD, &sa, NULL);
            /* Before the signals are unblocked: a SIGTERM the listener
             * sent already is pending and must find the fd. */
            session_in_fd = session_out_fd = fd;
            sigprocmask(SIG_SETMASK, &none, NULL);
            code = run_session(fd, fd, timeout, cfg, tls, implicit);
            _exit(code);
        }
        close(fd);
        for (size_t i = 0; i < max_sessions; i++)
            if (kids[i] == 0) {
                kids[i] = pid;
                break;
            }
        active++;
    }
    close(lfd);
    sigprocmask(SIG_SETMASK, &none, NULL);
    end_sessions(kids, max_sessions, &active);
    logfile_line(&mlog, LOGFILE_INFO, _("terminated"));
    free(kids);
    return 0;
}

static int fail(const struct mp_err *e)
{
    log_error("%s", e->msg);
    return err_exitcode(e->kind);
}

/* Everything the sessions share, made before the first one starts: the
 * TLS credentials (a bad file is reported now, not per connection), the
 * log, the passwords (asked for once), the shared authentication failure
 * record.  *boxes_r is filled as far as it got, also on error. */
static int prepare(const struct mpopd_opts *o, struct tls_server **tls_r,
                   struct pop3d_mailbox **boxes_r, struct pop3d_config *cfg,
                   struct mp_err *e)
{
    struct pop3d_mailbox *boxes;

    if (o->tls_cert
        && tls_server_new(o->tls_cert, o->tls_key, NULL, tls_r, e) != 0)
        return -1;
    if (logfile_open(&mlog, o->log, "mpopd", e) != 0)
        return -1;
    boxes = *boxes_r = xcalloc(o->nboxes, sizeof *boxes);
    for (size_t i = 0; i < o->nboxes; i++) {
        char *pw = password_get(o->boxes[i].user, o->boxes[i].eval,
                                o->inetd, e);
        if (!pw)
            return -1;
        boxes[i].user = o->boxes[i].user;
        boxes[i].password = pw;
        boxes[i].maildir = o->boxes[i].maildir;
    }
    authgate = mmap(NULL, sizeof *authgate, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (authgate == MAP_FAILED)
        return err_set(e, MP_EOS, _("cannot allocate shared memory: %s"),
                       strerror(errno));
    memset(authgate, 0, sizeof *authgate);
    memset(cfg, 0, sizeof *cfg);
    cfg->boxes = boxes;
    cfg->nboxes = o->nboxes;
    cfg->auth_delay_ms = auth_delay_ms;
    cfg->auth_failed = auth_failed;
    cfg->log = session_log;
    return 0;
}

/* --inetd: one session on stdin/stdout. */
static int run_inetd(const struct mpopd_opts *o,
                     const struct pop3d_config *cfg,
                     const struct tls_server *tls)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    session_in_fd = 0;
    session_out_fd = 1;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return run_session(0, 1, o->timeout, cfg, tls, o->tls_implicit);
}

static int run_listener(const struct mpopd_opts *o,
                        const struct pop3d_config *cfg,
                        const struct tls_server *tls, struct mp_err *e)
{
    int bound = 0, lfd, ret;
    sigset_t unblocked;

    listener_signals(&unblocked);
    lfd = listen_on(o->interface, o->port, &bound, e);
    if (lfd < 0)
        return fail(e);
    if (o->port_file && write_port_file(o->port_file, bound, e) != 0) {
        close(lfd);
        return fail(e);
    }
    logfile_line(&mlog, LOGFILE_INFO, _("listening on %s port %d"),
                 o->interface, bound);
    ret = serve(lfd, o->timeout, o->max_sessions, cfg, tls, o->tls_implicit,
                &unblocked);
    if (o->port_file)
        unlink(o->port_file);
    return ret;
}

int main(int argc, char *argv[])
{
    struct mpopd_opts o;
    struct tls_server *tls = NULL;
    struct pop3d_mailbox *boxes = NULL;
    struct pop3d_config cfg;
    struct mp_err e;
    int ret = EXIT_SUCCESS;

    setlocale(LC_ALL, "");
    bindtextdomain(PACKAGE, LOCALEDIR);
    textdomain(PACKAGE);
    log_set_progname("mpopd");
    err_init(&e);

    if (mpopd_opts_parse(&o, argc, argv, &e) != 0)
        ret = fail(&e);
    else if (o.mode == MPOPD_VERSION)
        print_version();
    else if (o.mode == MPOPD_HELP)
        print_help();
    else if (prepare(&o, &tls, &boxes, &cfg, &e) != 0)
        ret = fail(&e);
    else {
        /* A client that goes away must not kill us with SIGPIPE (in
         * --inetd mode fd 1 may be a pipe). */
        signal(SIGPIPE, SIG_IGN);
        ret = o.inetd ? run_inetd(&o, &cfg, tls)
                      : run_listener(&o, &cfg, tls, &e);
    }

    for (size_t i = 0; boxes && i < o.nboxes; i++) {
        char *pw = (char *)boxes[i].password;
        xfree_secret(&pw);
    }
    free(boxes);
    mpopd_opts_clear(&o);
    tls_server_free(&tls);
    logfile_close(&mlog);
    return ret;
}
