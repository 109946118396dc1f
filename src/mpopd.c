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
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "gettext.h"
#include "log.h"
#include "net.h"
#include "pop3d.h"
#include "proc.h"
#include "strparse.h"
#include "transport.h"
#include "xalloc.h"
/* After log.h: <syslog.h> defines LOG_DEBUG as a macro, which would break
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
};

static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_chld;

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

static long long mono_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static unsigned auth_delay_ms(void *ctx)
{
    unsigned f = __atomic_load_n(&authgate->failures, __ATOMIC_SEQ_CST);
    long long last = __atomic_load_n(&authgate->last_failure,
                                     __ATOMIC_SEQ_CST);

    if (f > 0 && mono_sec() - last > AUTH_FORGET_SECONDS) {
        __atomic_store_n(&authgate->failures, 0, __ATOMIC_SEQ_CST);
        f = 0;
    }
    return pop3d_auth_delay_policy(f);
}

static void auth_failed(void *ctx)
{
    __atomic_store_n(&authgate->last_failure, mono_sec(), __ATOMIC_SEQ_CST);
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

static void on_term(int sig)
{
    got_term = 1;
    transport_interrupted = 1;
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
             "Each --auth option followed by a --maildir option defines one "
             "mailbox; at least\n"
             "one is required.\n"));
}

/* Reads the password of user from the output of `sh -c cmd`: the output
 * without its line end. */
static char *password_eval(const char *user, const char *cmd,
                           struct mp_err *e)
{
    struct proc p;
    struct proc_status st;
    char buf[PASSWORD_MAX + 2];
    size_t len = 0;
    char *pw;

    if (proc_start(&p, cmd, PROC_CAPTURE_STDOUT, e) != 0)
        return NULL;
    close(p.in_fd);
    p.in_fd = -1;
    for (;;) {
        ssize_t n = read(p.out_fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf - 1)
            break;
    }
    if (proc_wait(&p, &st, e) != 0) {
        proc_clear(&p);
        explicit_bzero(buf, sizeof buf);
        return NULL;
    }
    proc_clear(&p);
    if (!proc_status_ok(&st)) {
        char how[128];
        explicit_bzero(buf, sizeof buf);
        err_set(e, MP_ECONFIG, _("the password command for user %s failed "
                "(%s)"), user, proc_status_str(&st, how, sizeof how));
        return NULL;
    }
    if (len > PASSWORD_MAX) {
        explicit_bzero(buf, sizeof buf);
        err_set(e, MP_ECONFIG, _("the password command for user %s gave "
                "more than %d bytes"), user, PASSWORD_MAX);
        return NULL;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    if (len == 0 || memchr(buf, '\0', len) || strpbrk(buf, "\r\n")) {
        explicit_bzero(buf, sizeof buf);
        err_set(e, MP_ECONFIG, _("the password command for user %s gave "
                "no usable password"), user);
        return NULL;
    }
    pw = xstrdup(buf);
    explicit_bzero(buf, sizeof buf);
    return pw;
}

/* Asks for the password of user on the terminal, without echo. */
static char *password_prompt(const char *user, struct mp_err *e)
{
    struct termios old, quiet;
    char buf[PASSWORD_MAX + 2];
    bool restore = false;
    size_t len;
    char *pw = NULL;
    FILE *tty;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        err_set(e, MP_ECONFIG, _("no password command for user %s and no "
                "terminal to ask for the password"), user);
        return NULL;
    }
    tty = fdopen(fd, "r+");
    if (!tty) {
        close(fd);
        err_set_errno(e, MP_EOS, errno, _("cannot use the terminal"));
        return NULL;
    }
    fprintf(tty, _("password for mpopd user %s: "), user);
    fflush(tty);
    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    if (fgets(buf, sizeof buf, tty)) {
        len = strcspn(buf, "\r\n");
        buf[len] = '\0';
        if (len > 0 && len <= PASSWORD_MAX)
            pw = xstrdup(buf);
    }
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    fputc('\n', tty);
    fclose(tty);
    explicit_bzero(buf, sizeof buf);
    if (!pw)
        err_set(e, MP_ECONFIG, _("no password given for user %s"), user);
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
 * session ends).  So the sending side is shut down first, and what the
 * client still sends is read and dropped for a moment. */
static void linger_close(struct transport *t)
{
    if (t->fd >= 0 && t->fd == t->out_fd && shutdown(t->fd, SHUT_WR) == 0) {
        char buf[4096];
        size_t total = 0;
        struct pollfd pfd = { .fd = t->fd, .events = POLLIN };

        while (total < 256 * 1024 && !transport_interrupted
               && poll(&pfd, 1, 1000) > 0) {
            ssize_t n = read(t->fd, buf, sizeof buf);
            if (n <= 0)
                break;
            total += (size_t)n;
        }
    }
    transport_close(t);
}

static int run_session(int in_fd, int out_fd, int timeout,
                       const struct pop3d_config *base)
{
    struct session_ctx sc;
    struct pop3d_config cfg = *base;
    struct transport t;
    struct mp_err e;
    int ret;

    net_describe_peer(in_fd, sc.peer, sizeof sc.peer);
    cfg.ctx = &sc;
    err_init(&e);
    transport_plain_init(&t, in_fd, out_fd, timeout);
    mlog(LOG_INFO, _("%s: session started"), sc.peer);
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

static int serve(int lfd, int timeout, size_t max_sessions,
                 const struct pop3d_config *cfg)
{
    pid_t *kids = xcalloc(max_sessions, sizeof *kids);
    size_t active = 0;
    sigset_t block, none;
    struct sigaction sa;

    /* The signals are blocked except inside ppoll(), so a SIGTERM or
     * SIGCHLD can never slip in between the flag check and the wait. */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &none);
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);

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
            sigprocmask(SIG_SETMASK, &none, NULL);
            code = run_session(fd, fd, timeout, cfg);
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
    /* Sessions that end without QUIT delete nothing: stopping them is
     * safe. */
    for (size_t i = 0; i < max_sessions; i++)
        if (kids[i] > 0)
            kill(kids[i], SIGTERM);
    sigprocmask(SIG_SETMASK, &none, NULL);
    while (active > 0) {
        pid_t pid = waitpid(-1, NULL, 0);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            break;
        for (size_t i = 0; i < max_sessions; i++)
            if (kids[i] == pid) {
                kids[i] = 0;
                active--;
            }
    }
    mlog(LOG_INFO, _("terminated"));
    free(kids);
    return 0;
}

enum {
    OPT_VERSION = 256, OPT_HELP, OPT_INETD, OPT_INTERFACE, OPT_PORT,
    OPT_PORT_FILE, OPT_LOG, OPT_AUTH, OPT_MAILDIR, OPT_MAX_SESSIONS,
    OPT_TIMEOUT
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
        char *pw = opts[i].eval ? password_eval(opts[i].user, opts[i].eval,
                                                &e)
                                : password_prompt(opts[i].user, &e);
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
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        ret = run_session(0, 1, (int)timeout, &cfg);
    } else {
        int bound = 0;
        int lfd = listen_on(iface, (int)port, &bound, &e);

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
        ret = serve(lfd, (int)timeout, (size_t)max_sessions, &cfg);
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
    if (log_fd >= 0)
        close(log_fd);
    return ret;
}
