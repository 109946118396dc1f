#!/usr/bin/env python3
"""Delaying TCP proxy on loopback: adds a fixed one-way delay to every byte.

    delay-proxy.py --listen-port-file=F --target=PORT [--delay-ms=25]
                   [--stats=FILE] [--trace=FILE]
    delay-proxy.py --selftest [--delay-ms=25]

Every chunk read from either side is held for DELAY ms and then written to
the other side, in order.  A chunk read at t leaves at t + DELAY whatever
comes after it, so pipelined commands are not serialised: the link behaves
like a wire with a round-trip time of 2 * DELAY and (almost) unlimited
bandwidth.  Opening the upstream connection is delayed by DELAY too, so
"connect + greeting" costs one round trip, as the first flight of a session.

Round trips, per connection (appended to --stats as one line at close):
a round trip starts with the connection itself and with every chunk the
client sends after it has received something new from the server and has
been silent for at least half a round trip, i.e. each time the client had to
wait for an answer before it could go on.  A client that streams commands
while answers stream back is not charged for the answers it did not wait
for.  The line also holds the bytes each way and the connection's lifetime.
"""

import argparse
import collections
import os
import socket
import sys
import threading
import time


class Link:
    """One direction: a reader thread queues chunks, a writer sends them."""

    def __init__(self, src, dst, delay, on_read, on_sent, limit=64 << 20):
        self.src, self.dst, self.delay = src, dst, delay
        self.on_read, self.on_sent = on_read, on_sent
        self.q = collections.deque()
        self.cv = threading.Condition()
        self.queued = 0
        self.limit = limit
        self.bytes = 0
        self.rt = threading.Thread(target=self.reader, daemon=True)
        self.wt = threading.Thread(target=self.writer, daemon=True)

    def start(self):
        self.rt.start()
        self.wt.start()

    def reader(self):
        while True:
            try:
                data = self.src.recv(262144)
            except OSError:
                data = b""
            now = time.monotonic()
            if data:
                self.on_read(now, data)
            with self.cv:
                # Bounded memory: a slow receiver stalls the sender.
                while self.queued > self.limit:
                    self.cv.wait()
                self.q.append((now + self.delay, data))
                self.queued += len(data)
                self.cv.notify_all()
            if not data:
                return

    def writer(self):
        while True:
            with self.cv:
                while not self.q:
                    self.cv.wait()
                due, data = self.q.popleft()
                self.queued -= len(data)
                self.cv.notify_all()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if not data:
                try:
                    self.dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            # Count the delivery before it happens: the peer may answer
            # before sendall returns to this thread.
            self.on_sent(time.monotonic())
            try:
                self.dst.sendall(data)
            except OSError:
                # Peer gone: drain so the reader never blocks on the limit.
                with self.cv:
                    self.limit = 1 << 62
                    self.cv.notify_all()
                continue
            self.bytes += len(data)


class Conn:
    def __init__(self, client, target, delay, stats, rtt, trace=None):
        self.client, self.target, self.delay = client, target, delay
        self.trace = trace
        self.stats, self.rtt = stats, rtt
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.rounds = 1            # the connection (SYN) is the first flight
        self.last_c = self.start   # time of the client's last chunk
        self.got_new = False       # server data delivered since then

    def client_read(self, now, data=b""):
        with self.lock:
            if self.got_new and now - self.last_c >= self.rtt / 2:
                self.rounds += 1
                if self.trace:
                    with open(self.trace, "a") as f:
                        f.write("round %d at %.3f s: %r\n" % (
                            self.rounds, now - self.start, data[:60]))
            self.got_new = False
            self.last_c = now

    def server_sent(self, now):
        with self.lock:
            self.got_new = True

    def run(self):
        time.sleep(self.delay)
        try:
            server = socket.create_connection(("127.0.0.1", self.target))
        except OSError as e:
            print("delay-proxy: upstream: %s" % e, file=sys.stderr)
            self.client.close()
            return
        for s in (self.client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        up = Link(self.client, server, self.delay, self.client_read,
                  lambda t: None)
        down = Link(server, self.client, self.delay, lambda t, d=b"": None,
                    self.server_sent)
        up.start()
        down.start()
        for t in (up.rt, up.wt, down.rt, down.wt):
            t.join()
        for s in (self.client, server):
            s.close()
        if self.stats:
            line = "rounds %d up %d down %d seconds %.3f\n" % (
                self.rounds, up.bytes, down.bytes,
                time.monotonic() - self.start)
            with open(self.stats, "a") as f:
                f.write(line)


def serve(args):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.listen_port))
    ls.listen(128)
    if args.listen_port_file:
        tmp = args.listen_port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % ls.getsockname()[1])
        os.rename(tmp, args.listen_port_file)
    delay = args.delay_ms / 1000.0
    while True:
        c, _ = ls.accept()
        conn = Conn(c, args.target, delay, args.stats, 2 * delay,
                    args.trace)
        threading.Thread(target=conn.run, daemon=True).start()


def selftest(args):
    """Echo server behind the proxy: ping-pong RTT and pipelining."""
    es = socket.socket()
    es.bind(("127.0.0.1", 0))
    es.listen(8)

    def echo():
        while True:
            c, _ = es.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.close()

    threading.Thread(target=echo, daemon=True).start()
    pf = "/tmp/delay-proxy-selftest.%d" % os.getpid()
    sf = pf + ".stats"
    a = argparse.Namespace(listen_port=0, listen_port_file=pf,
                           target=es.getsockname()[1],
                           delay_ms=args.delay_ms, stats=sf, trace=None)
    threading.Thread(target=serve, args=(a,), daemon=True).start()
    while not os.path.exists(pf):
        time.sleep(0.01)
    port = int(open(pf).read())
    os.unlink(pf)
    rtt = 2 * args.delay_ms / 1000.0

    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for i in range(10):
        t = time.monotonic()
        s.sendall(b"ping %d\n" % i)
        got = b""
        while not got.endswith(b"\n"):
            got += s.recv(100)
        times.append(time.monotonic() - t)
    times.sort()
    ping = times[len(times) // 2]
    # Pipelining: 10 messages 2 ms apart must all come back about one RTT
    # after each was sent, not one RTT after the previous answer.
    t = time.monotonic()
    for i in range(10):
        s.sendall(b"pipe %d\n" % i)
        time.sleep(0.002)
    got = b""
    while got.count(b"\n") < 10:
        got += s.recv(1000)
    pipe = time.monotonic() - t
    s.close()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not (
            os.path.exists(sf) and open(sf).read()):
        time.sleep(0.01)
    stats = open(sf).read().strip() if os.path.exists(sf) else ""
    if os.path.exists(sf):
        os.unlink(sf)
    rounds = int(stats.split()[1]) if stats else -1
    ok_ping = abs(ping - rtt) < 0.010
    ok_pipe = pipe < rtt + 0.020 + 0.010 * 2
    # connect (the first ping rides on it: no greeting to wait for), 9 more
    # pings, 1 pipelined burst whose later sends do not wait
    ok_rounds = rounds == 11
    print("delay-proxy self-test: ping-pong %.1f ms (want %.0f), "
          "10 pipelined in %.1f ms (want < %.0f), rounds %d (want 11) %s"
          % (ping * 1000, rtt * 1000, pipe * 1000, (rtt + 0.040) * 1000,
             rounds, "OK" if ok_ping and ok_pipe and ok_rounds else "FAILED"))
    return 0 if ok_ping and ok_pipe and ok_rounds else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen-port", type=int, default=0)
    p.add_argument("--listen-port-file")
    p.add_argument("--target", type=int)
    p.add_argument("--delay-ms", type=float, default=25.0)
    p.add_argument("--stats")
    p.add_argument("--trace", help="append each round's time and the "
                   "start of the client's chunk to this file")
    p.add_argument("--selftest", action="store_true")
    args = p.parse_args()
    if args.selftest:
        sys.exit(selftest(args))
    if not args.target:
        p.error("--target is required")
    serve(args)


if __name__ == "__main__":
    main()
