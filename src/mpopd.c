#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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
#include "monotime.h"
#include "net.h"
#include "pop3d.h"
#include "secret.h"
#include "strparse.h"
#include "tls_server.h"
#include "transport.h"
#include "xalloc.h"
/* After log.h: <syslog.h> defines LOGLEVEL_DEBUG as a macro, which would break
 * log.h's enum constant of the same name. */
#include <syslog.h>

#ifndef LOCALEDIR
# define LOCALEDIR "/usr/share/locale"
#endif

#define DEFAULT_INTERFACE "127.0.0.1"
#define DEFAULT_PORT 1100
#define DEFAULT_MAX_SESSIONS 16
#define MAX_MAX_SESSIONS 1024
/* RFC 1939 §3: an autologout timer of at least 10 minutes. */
#define DEFAULT_TIMEOUT 600
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

enum log_mode { LOGM_NONE, LOGM_SYSLOG, LOGM_FILE };

static enum log_mode log_mode = LOGM_NONE;
static int log_fd = -1;

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

static void mlog(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void mlog(int prio, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;

    if (log_mode == LOGM_NONE)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_mode == LOGM_SYSLOG) {
        syslog(prio, "%s", msg);
    } else {
        char line[2048];
        char stamp[64];
        time_t now = time(NULL);
        struct tm tm;
        int n;

        localtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        n = snprintf(line, sizeof line, "%s mpopd[%ld]: %s\n", stamp,
                     (long)getpid(), msg);
        if (n > 0) {
            if ((size_t)n >= sizeof line)
                n = (int)sizeof line - 1;
            /* One write() on an O_APPEND fd: lines of concurrent sessions
             * do not mix. */
            if (write(log_fd, line, (size_t)n) < 0) {
                /* Nowhere left to report it. */
            }
        }
    }
}

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
    int p = prio == POP3D_LOG_INFO ? LOG_INFO
            : prio == POP3D_LOG_WARN ? LOG_WARNING : LOG_ERR;

    mlog(p, "%s: %s", sc->peer, msg);
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
    mlog(LOG_INFO, _("%s: TLS started (%s)"), sc->peer,
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
    mlog(LOG_INFO, _("%s: session started"), sc.peer);
    if (tls && implicit) {
        char desc[128];

        if (tls_server_start(&t, tls, &e) != 0) {
            mlog(e.kind == MP_EIO || e.kind == MP_ESIGNAL ? LOG_INFO
                 : LOG_NOTICE, _("%s: session ended: %s"), sc.peer, e.msg);
            transport_close(&t);
            return err_exitcode(e.kind);
        }
        mlog(LOG_INFO, _("%s: TLS started (%s)"), sc.peer,
             tls_server_describe(&t, desc, sizeof desc));
        cfg.secure = true;
    } else if (tls) {
        cfg.starttls = session_starttls;
    }
    ret = pop3d_session(&t, &cfg, &e);
    if (ret != 0)
        mlog(e.kind == MP_EIO ? LOG_INFO : LOG_NOTICE,
             _("%s: session ended: %s"), sc.peer, e.msg);
    else
        mlog(LOG_INFO, _("%s: session ended"), sc.peer);
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
                mlog(LOG_WARNING, _("sessions did not end in time: "
                     "killed"));
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
            mlog(LOG_ERR, _("cannot wait for connections: %s"),
                 strerror(errno));
            break;
        }
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        if (got_term) {
            close(fd);
            break;
        }
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
            mlog(LOG_WARNING, _("%s: refused: too many sessions"),
                 net_describe_peer(fd, peer, sizeof peer));
            close(fd);
            continue;
        }
        pid = fork();
        if (pid < 0) {
            mlog(LOG_ERR, _("cannot fork: %s"), strerror(errno));
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
    mlog(LOG_INFO, _("terminated"));
    free(kids);
    return 0;
}

enum {
    OPT_VERSION = 256, OPT_HELP, OPT_INETD, OPT_INTERFACE, OPT_PORT,
    OPT_PORT_FILE, OPT_LOG, OPT_AUTH, OPT_MAILDIR, OPT_MAX_SESSIONS,
    OPT_TIMEOUT, OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_IMPLICIT
};

static const struct option options[] = {
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, OPT_HELP },
    { "inetd", no_argument, NULL, OPT_INETD },
    { "interface", required_argument, NULL, OPT_INTERFACE },
    { "port", required_argument, NULL, OPT_PORT },
    { "port-file", required_argument, NULL, OPT_PORT_FILE },
    { "log", required_argument, NULL, OPT_LOG },
    { "auth", required_argument, NULL, OPT_AUTH },
    { "maildir", required_argument, NULL, OPT_MAILDIR },
    { "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
    { "tls-key", required_argument, NULL, OPT_TLS_KEY },
    /* New beyond the original mpopd, which has no TLS.  --tls-cert and
     * --tls-key alone offer RFC 2595 STLS on a plain connection and refuse
     * USER/PASS until TLS is on, so that no password ever travels in the
     * clear; --tls-implicit starts TLS at once instead (port 995 style, as
     * Mailpit's --pop3-tls-cert/--pop3-tls-key do).  The names are those
     * doc/mpopd.1 and the manual give. */
    { "tls-implicit", no_argument, NULL, OPT_TLS_IMPLICIT },
    { NULL, 0, NULL, 0 }
};

struct box_opt {
    char *user;
    char *eval;         /* NULL: prompt */
    char *maildir;
};

int main(int argc, char *argv[])
{
    bool inetd = false;
    const char *iface = DEFAULT_INTERFACE;
    unsigned long long port = DEFAULT_PORT, max_sessions =
        DEFAULT_MAX_SESSIONS, timeout = DEFAULT_TIMEOUT;
    const char *port_file = NULL, *log_arg = "none";
    const char *tls_cert = NULL, *tls_key = NULL;
    bool implicit = false;
    struct tls_server *tls = NULL;
    struct box_opt *opts = NULL;
    size_t nopts = 0;
    bool pending_auth = false;
    struct pop3d_mailbox *boxes = NULL;
    struct pop3d_config cfg;
    struct mp_err e;
    int c, ret = EXIT_SUCCESS;

    setlocale(LC_ALL, "");
    bindtextdomain(PACKAGE, LOCALEDIR);
    textdomain(PACKAGE);
    log_set_progname("mpopd");
    err_init(&e);

    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case OPT_VERSION:
            print_version();
            return EXIT_SUCCESS;
        case OPT_HELP:
            print_help();
            return EXIT_SUCCESS;
        case OPT_INETD:
            inetd = true;
            break;
        case OPT_INTERFACE:
            iface = optarg;
            break;
        case OPT_PORT:
            if (str_to_ull(optarg, 0, 65535, &port) != 0) {
                log_error(_("invalid argument %s for %s"), optarg,
                          "--port");
                ret = err_exitcode(MP_EUSAGE);
                goto out;
            }
            break;
        case OPT_PORT_FILE:
            port_file = optarg;
            break;
        case OPT_LOG:
            log_arg = optarg;
            break;
        case OPT_MAX_SESSIONS:
            if (str_to_ull(optarg, 1, MAX_MAX_SESSIONS, &max_sessions)
                != 0) {
                log_error(_("invalid argument %s for %s"), optarg,
                          "--max-sessions");
                ret = err_exitcode(MP_EUSAGE);
                goto out;
            }
            break;
        case OPT_TIMEOUT:
            if (str_to_ull(optarg, 1, 86400, &timeout) != 0) {
                log_error(_("invalid argument %s for %s"), optarg,
                          "--timeout");
                ret = err_exitcode(MP_EUSAGE);
                goto out;
            }
            break;
        case OPT_TLS_CERT:
            tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            tls_key = optarg;
            break;
        case OPT_TLS_IMPLICIT:
            implicit = true;
            break;
        case OPT_AUTH: {
            const char *comma = strchr(optarg, ',');
            struct box_opt *b;

            if (pending_auth) {
                log_error(_("--auth=%s must be followed by --maildir"),
                          opts[nopts - 1].user);
                ret = err_exitcode(MP_EUSAGE);
                goto out;
            }
            if (comma == optarg || optarg[0] == '\0') {
                log_error(_("invalid argument %s for %s"), optarg,
                          "--auth");
                ret = err_exitcode(MP_EUSAGE);
                goto out;
            }
            opts = xreallocarray(opts, nopts + 1, sizeof *opts);
            b = &opts[nopts++];
            b->user = comma ? xstrndup(optarg, (size_t)(comma - optarg))
                            : xstrdup(optarg);
            b->eval = comma && comma[1] ? xstrdup(comma + 1) : NULL;
            b->maildir = NULL;
            for (size_t i = 0; i + 1 < nopts; i++)
                if (strcmp(opts[i].user, b->user) == 0) {
                    log_error(_("user %s is defined twice"), b->user);
                    ret = err_exitcode(MP_EUSAGE);
                    goto out;
                }
            pending_auth = true;
            break;
        }
        case OPT_MAILDIR:
            if (!pending_auth) {
                log_error(_("--maildir=%s must follow an --auth option"),
                          optarg);
                ret = err_exitcode(MP_EUSAGE);
                goto out;
            }
            opts[nopts - 1].maildir = xstrdup(optarg);
            pending_auth = false;
            break;
        default:
            log_error(_("use --help for a list of options"));
            ret = err_exitcode(MP_EUSAGE);
            goto out;
        }
    }
    if (optind < argc) {
        log_error(_("unexpected argument %s"), argv[optind]);
        ret = err_exitcode(MP_EUSAGE);
        goto out;
    }
    if (pending_auth) {
        log_error(_("--auth=%s must be followed by --maildir"),
                  opts[nopts - 1].user);
        ret = err_exitcode(MP_EUSAGE);
        goto out;
    }
    if (nopts == 0) {
        log_error(_("at least one pair of --auth and --maildir is "
                    "required"));
        ret = err_exitcode(MP_EUSAGE);
        goto out;
    }
    if (!tls_cert != !tls_key) {
        log_error(_("--tls-cert and --tls-key must be given together"));
        ret = err_exitcode(MP_EUSAGE);
        goto out;
    }
    if (implicit && !tls_cert) {
        log_error(_("%s needs --tls-cert and --tls-key"), "--tls-implicit");
        ret = err_exitcode(MP_EUSAGE);
        goto out;
    }
    /* Before any fork: every session shares the loaded credentials, and
     * a bad file is reported at start, not per connection. */
    if (tls_cert && tls_server_new(tls_cert, tls_key, NULL, &tls, &e)
        != 0) {
        log_error("%s", e.msg);
        ret = err_exitcode(e.kind);
        goto out;
    }

    if (strcmp(log_arg, "none") == 0) {
        log_mode = LOGM_NONE;
    } else if (strcmp(log_arg, "syslog") == 0) {
        log_mode = LOGM_SYSLOG;
        openlog("mpopd", LOG_PID, LOG_MAIL);
    } else {
        log_fd = open(log_arg, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC
                      | O_NOCTTY, 0600);
        if (log_fd < 0) {
            log_error(_("cannot open log file %s: %s"), log_arg,
                      strerror(errno));
            ret = err_exitcode(MP_ECANTCREAT);
            goto out;
        }
        log_mode = LOGM_FILE;
    }

    /* Passwords are obtained once, at start-up. */
    boxes = xcalloc(nopts, sizeof *boxes);
    for (size_t i = 0; i < nopts; i++) {
        char *pw = password_get(opts[i].user, opts[i].eval, inetd, &e);
        if (!pw) {
            log_error("%s", e.msg);
            ret = err_exitcode(e.kind);
            goto out;
        }
        boxes[i].user = opts[i].user;
        boxes[i].password = pw;
        boxes[i].maildir = opts[i].maildir;
    }

    authgate = mmap(NULL, sizeof *authgate, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (authgate == MAP_FAILED) {
        log_error(_("cannot allocate shared memory: %s"), strerror(errno));
        ret = err_exitcode(MP_EOS);
        goto out;
    }
    memset(authgate, 0, sizeof *authgate);

    memset(&cfg, 0, sizeof cfg);
    cfg.boxes = boxes;
    cfg.nboxes = nopts;
    cfg.auth_delay_ms = auth_delay_ms;
    cfg.auth_failed = auth_failed;
    cfg.log = session_log;

    /* A client that goes away must not kill us with SIGPIPE (in --inetd
     * mode fd 1 may be a pipe). */
    signal(SIGPIPE, SIG_IGN);

    if (inetd) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sigemptyset(&sa.sa_mask);
        sa.sa_handler = on_term;
        session_in_fd = 0;
        session_out_fd = 1;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        ret = run_session(0, 1, (int)timeout, &cfg, tls, implicit);
    } else {
        int bound = 0, lfd;
        sigset_t unblocked;

        listener_signals(&unblocked);
        lfd = listen_on(iface, (int)port, &bound, &e);

        if (lfd < 0) {
            log_error("%s", e.msg);
            ret = err_exitcode(e.kind);
            goto out;
        }
        if (port_file && write_port_file(port_file, bound, &e) != 0) {
            log_error("%s", e.msg);
            close(lfd);
            ret = err_exitcode(e.kind);
            goto out;
        }
        mlog(LOG_INFO, _("listening on %s port %d"), iface, bound);
        ret = serve(lfd, (int)timeout, (size_t)max_sessions, &cfg, tls,
                    implicit, &unblocked);
        if (port_file)
            unlink(port_file);
    }

out:
    for (size_t i = 0; i < nopts; i++) {
        if (boxes) {
            char *pw = (char *)boxes[i].password;
            xfree_secret(&pw);
        }
        free(opts[i].user);
        free(opts[i].eval);
        free(opts[i].maildir);
    }
    free(boxes);
    free(opts);
    tls_server_free(&tls);
    if (log_fd >= 0)
        close(log_fd);
    return ret;
}
