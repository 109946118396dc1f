/* tunlink: a delaying IP link between two TUN devices (bench/latency.sh).
 *
 *     tunlink DELAY_MS NAME_A NAME_B READY_FILE [RATE_MBIT]
 *
 * Creates the TUN devices NAME_A and NAME_B (no packet information header)
 * and forwards every IP packet read from one to the other DELAY_MS later,
 * in order.  The caller moves the two devices into two network namespaces
 * and gives them addresses: the kernels' own TCP stacks then talk over a
 * link with a round-trip time of 2 * DELAY_MS, with their real slow start,
 * delayed ACKs, Nagle and window growth, which a proxy that ends TCP on
 * each side (bench/delay-proxy.py) cannot show.
 *
 * RATE_MBIT (default 0: unlimited) adds a bottleneck: a packet leaves no
 * earlier than the previous one plus its length at that rate.  Nothing is
 * dropped: the queue grows instead (at most QCAP packets each way).
 *
 * READY_FILE is written once both devices exist.  SIGTERM or SIGINT end
 * the program, which removes the devices (they are not persistent).
 * Linux only; needs CAP_NET_ADMIN.  TUNLINK_LOG=FILE: one line per TCP
 * packet (ms since start, direction, flags, seq, ack, window, payload).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define QCAP 65536
#define PKT 2048

struct slot {
    int64_t due;
    int len;
    unsigned char data[PKT];
};

struct queue {
    struct slot *s;
    size_t head, n;
    int64_t last_out;
};

static volatile sig_atomic_t stop;
static FILE *plog;          /* TUNLINK_LOG: one line per packet */
static int64_t t_start;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int tun_open(const char *name)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        perror("tunlink: /dev/net/tun");
        exit(1);
    }
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        fprintf(stderr, "tunlink: TUNSETIFF %s: %s\n", name,
                strerror(errno));
        exit(1);
    }
    return fd;
}

/* "T DIR LEN FLAGS seq=S ack=A win=W payload=P" for an IPv4 TCP packet
 * (DIR: > from the first device, < from the second). */
static struct queue *q_first;

static void log_packet(const struct queue *q, const unsigned char *p,
                       ssize_t n, int64_t t)
{
    int ihl, thl;
    if (n < 20 || (p[0] >> 4) != 4 || p[9] != 6)
        return;
    ihl = (p[0] & 15) * 4;
    if (n < ihl + 20)
        return;
    p += ihl;
    thl = (p[12] >> 4) * 4;
    fprintf(plog, "%.3f %c %zd %s%s%s%s%s seq=%u ack=%u win=%u payload=%zd\n",
            (double)(t - t_start) / 1e6, q == q_first ? '>' : '<', n,
            p[13] & 2 ? "S" : "", p[13] & 1 ? "F" : "",
            p[13] & 4 ? "R" : "", p[13] & 8 ? "P" : "",
            p[13] & 16 ? "." : "",
            (unsigned)p[4] << 24 | p[5] << 16 | p[6] << 8 | p[7],
            (unsigned)p[8] << 24 | p[9] << 16 | p[10] << 8 | p[11],
            (unsigned)(p[14] << 8 | p[15]), n - ihl - thl);
}

/* Read every packet waiting on FD into Q, stamped NOW + DELAY. */
static void take(int fd, struct queue *q, int64_t delay, int64_t ns_per_byte)
{
    for (;;) {
        struct slot *sl;
        ssize_t r;
        int64_t due;
        if (q->n == QCAP) {
            /* full: leave the rest in the device's queue */
            return;
        }
        sl = &q->s[(q->head + q->n) % QCAP];
        r = read(fd, sl->data, PKT);
        if (r <= 0)
            return;
        sl->len = (int)r;
        due = now_ns() + delay;
        if (plog)
            log_packet(q, sl->data, r, due - delay);
        if (ns_per_byte) {
            int64_t free_at = q->last_out + (int64_t)r * ns_per_byte;
            if (free_at > due)
                due = free_at;
            q->last_out = due;
        }
        sl->due = due;
        q->n++;
    }
}

/* Write the packets of Q that are due to FD; return the next due time. */
static int64_t give(int fd, struct queue *q)
{
    int64_t t = now_ns();
    while (q->n) {
        struct slot *sl = &q->s[q->head];
        if (sl->due > t)
            return sl->due;
        if (write(fd, sl->data, (size_t)sl->len) < 0 && errno != EINVAL &&
            errno != EIO)
            perror("tunlink: write");
        q->head = (q->head + 1) % QCAP;
        q->n--;
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct queue q[2];
    int fd[2], i;
    int64_t delay, ns_per_byte = 0;
    FILE *f;
    struct sigaction sa;

    if (argc < 5) {
        fprintf(stderr,
                "usage: tunlink DELAY_MS NAME_A NAME_B READY_FILE "
                "[RATE_MBIT]\n");
        return 2;
    }
    delay = (int64_t)(atof(argv[1]) * 1e6);
    if (argc > 5 && atof(argv[5]) > 0)
        ns_per_byte = (int64_t)(8e3 / atof(argv[5]));
    if (getenv("TUNLINK_LOG")) {
        plog = fopen(getenv("TUNLINK_LOG"), "w");
        if (!plog) {
            perror(getenv("TUNLINK_LOG"));
            return 1;
        }
        setvbuf(plog, NULL, _IOFBF, 1 << 20);
    }
    t_start = now_ns();
    q_first = &q[0];
    fd[0] = tun_open(argv[2]);
    fd[1] = tun_open(argv[3]);
    for (i = 0; i < 2; i++) {
        /* calloc of this size maps fresh pages: only the slots in use
           cost memory */
        q[i].s = calloc(QCAP, sizeof(struct slot));
        if (!q[i].s) {
            perror("tunlink");
            return 1;
        }
        q[i].head = q[i].n = 0;
        q[i].last_out = 0;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    f = fopen(argv[4], "w");
    if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
        perror(argv[4]);
        return 1;
    }
    while (!stop) {
        struct pollfd p[2];
        int64_t next = -1, t;
        int timeout;
        /* q[0]: read from A, written to B; q[1]: read from B, to A */
        for (i = 0; i < 2; i++) {
            t = give(fd[1 - i], &q[i]);
            if (t >= 0 && (next < 0 || t < next))
                next = t;
        }
        if (next < 0) {
            timeout = 1000;
        } else {
            /* poll rounds up to whole milliseconds: wait one less and
               spin the rest with a zero timeout */
            int64_t left = next - now_ns();
            timeout = left > 1500000 ? (int)(left / 1000000) - 1 : 0;
        }
        for (i = 0; i < 2; i++) {
            p[i].fd = fd[i];
            p[i].events = q[i].n < QCAP ? POLLIN : 0;
        }
        if (poll(p, 2, timeout) < 0) {
            if (errno == EINTR)
                continue;
            perror("tunlink: poll");
            return 1;
        }
        for (i = 0; i < 2; i++)
            if (p[i].revents & POLLIN)
                take(fd[i], &q[i], delay, ns_per_byte);
        if (timeout == 0 && !(p[0].revents | p[1].revents)) {
            /* less than 1.5 ms to the next packet: sleep in small steps */
            struct timespec ts = { 0, 100000 };
            nanosleep(&ts, NULL);
        }
    }
    if (plog)
        fclose(plog);
    return 0;
}
