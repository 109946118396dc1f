/* LD_PRELOAD shim for the Courier pop3d interop test, which runs Courier
 * unpacked, unprivileged and without its system configuration:
 *
 * - Courier's login programs reach authdaemond at a socket path compiled
 *   into libcourierauth (/run/courier/authdaemon/socket, built from
 *   immediates by the compiler, so a copy of the library cannot be
 *   patched); connect() sends them to $MPOP_TEST_AUTHSOCK instead.
 * - For STLS, courierpop3login starts couriertls as the system user
 *   "courier" (getpwnam("courier"), then setuid); the test has no such
 *   user, so getpwnam() of a missing user returns the current one.
 *
 * Everything else goes to the real functions. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    static int (*real)(int, const struct sockaddr *, socklen_t);
    const char *to = getenv("MPOP_TEST_AUTHSOCK");
    struct sockaddr_un un;

    if (!real)
        real = (int (*)(int, const struct sockaddr *, socklen_t))
               dlsym(RTLD_NEXT, "connect");
    if (to && sa && sa->sa_family == AF_UNIX
        && len > offsetof(struct sockaddr_un, sun_path)
        && strstr(((const struct sockaddr_un *)sa)->sun_path,
                  "/courier/") != NULL
        && strlen(to) < sizeof un.sun_path) {
        memset(&un, 0, sizeof un);
        un.sun_family = AF_UNIX;
        strcpy(un.sun_path, to);
        return real(fd, (const struct sockaddr *)&un, sizeof un);
    }
    return real(fd, sa, len);
}

struct passwd *getpwnam(const char *name)
{
    static struct passwd *(*real)(const char *);
    struct passwd *pw;

    if (!real)
        real = (struct passwd *(*)(const char *))dlsym(RTLD_NEXT,
                                                       "getpwnam");
    pw = real(name);
    return pw ? pw : getpwuid(getuid());
}
