/* fcntl locks with a timeout; see lock.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gettext.h"
#include "lock.h"
#include "monotime.h"

int lock_file(int fd, const char *name, bool write, int timeout,
              struct mp_err *e)
{
    struct flock fl;
    long long deadline = monotime_ms() + 1000LL * (timeout > 0 ? timeout : 0);
    long delay_ms = 1;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = write ? F_WRLCK : F_RDLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;
    /* Polling with F_SETLK rather than blocking in F_SETLKW: a blocking
     * wait would need an alarm to time out, and the style forbids signal
     * tricks.  The delay grows to 100 ms, so a waiter costs nothing. */
    for (;;) {
        struct timespec ts;

        if (fcntl(fd, F_SETLK, &fl) == 0)
            return 0;
        if (errno != EACCES && errno != EAGAIN && errno != EINTR)
            return err_set_errno(e, MP_EIO, errno, _("cannot lock %s"), name);
        if (monotime_ms() >= deadline)
            break;
        ts.tv_sec = 0;
        ts.tv_nsec = delay_ms * 1000000L;
        nanosleep(&ts, NULL);
        if (delay_ms < 100)
            delay_ms *= 2;
    }
    return err_set(e, MP_EIO,
                   _("cannot lock %s (tried for %d seconds): another mpop "
                     "process seems to hold it"), name, timeout);
}

void lock_release(int fd)
{
    struct flock fl;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    (void)fcntl(fd, F_SETLK, &fl);
}
