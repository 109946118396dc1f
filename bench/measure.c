/* measure: run a command and print what it cost (benchmarks only).
 *
 *     measure LIMIT OUTFILE CMD [ARG...]
 *
 * Runs CMD with stdin from /dev/null and stdout and stderr into OUTFILE,
 * kills it after LIMIT seconds, and prints one line
 *     WALL USER SYS MAXRSS_KIB EXIT
 * where USER, SYS and MAXRSS are the child's own figures from wait4 (plus
 * those of its waited-for children).  A small C program on purpose: Linux
 * carries the peak RSS of the process image a child replaces with exec into
 * the child's figure, so a launcher written in Python or bash would report
 * its own size for a client smaller than itself.  EXIT is the exit status,
 * or 128 + the signal number.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    if (child > 0) {
        kill(child, SIGKILL);
    }
}

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    struct rusage ru;
    int status, fd, code;
    unsigned limit;

    if (argc < 4) {
        fprintf(stderr, "usage: measure LIMIT OUTFILE CMD [ARG...]\n");
        return 2;
    }
    limit = (unsigned)strtoul(argv[1], NULL, 10);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    child = fork();
    if (child < 0) {
        perror("fork");
        return 2;
    }
    if (child == 0) {
        fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            _exit(127);
        }
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        fd = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 0);
            close(fd);
        }
        execvp(argv[3], argv + 3);
        fprintf(stderr, "measure: %s: %s\n", argv[3], strerror(errno));
        _exit(127);
    }
    signal(SIGALRM, on_alarm);
    if (limit > 0) {
        alarm(limit);
    }
    while (wait4(child, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("wait4");
            return 2;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    code = WIFEXITED(status) ? WEXITSTATUS(status)
                             : 128 + WTERMSIG(status);
    printf("%.4f %.4f %.4f %ld %d\n",
           (double)(t1.tv_sec - t0.tv_sec)
               + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
           ru.ru_maxrss, code);
    return 0;
}
