#!/usr/bin/env python3
"""Helpers for the benchmark scripts (see bench/README).

    (measuring a client is bench/measure.c's job: see there why)
    benchlib.py gen DIR COUNT SIZE [FIRST]
        write COUNT mails of exactly SIZE bytes (LF line ends, as a maildir
        holds them) into DIR/new, named so dovecot trusts their size (S=).
    benchlib.py genbig FILE SIZE
        one mail of SIZE bytes, written in 1 MiB steps.
    benchlib.py warm PORT USER PASS [tls]
        one POP3 session with STAT, UIDL and LIST, so the server's index is
        built before anything is timed.
    benchlib.py retr PORT USER PASS [WINDOW]
        a minimal pipelining client: STAT, then RETR of every mail with at
        most WINDOW commands in flight; checks every reply, prints
        "MAILS BYTES SECONDS" (seconds from the first RETR to the last byte).
    benchlib.py login PORT USER PASS REPS
        the start of a session, REPS times: connect, greeting, USER, PASS,
        STAT; prints the median in milliseconds.
    benchlib.py concurrent PORT COUNT PREFIX PASS
        open COUNT sessions at once as users PREFIX1..PREFIXCOUNT, log all
        in, hold them all open, then STAT/UIDL/RETR 1/QUIT on each; prints
        "OK ERRORS SECONDS" and the first error.
    benchlib.py floor burst|turns HOST PORT USER PASS COUNT [tls]
        the floor of a fetch on a slow link: fetch and delete COUNT mails
        and print the seconds from connect to the end of QUIT's reply.
        "burst" sends every command at once right after connecting (the
        link's physics: connection and transfer only); "turns" waits for
        the turns a POP3 client cannot avoid: greeting, CAPA, USER+PASS,
        UIDL, then all RETRs at once, then all DELEs with QUIT.  "tls":
        implicit TLS, certificate not checked.
    benchlib.py ir CALLGRIND_OUT
        print the total instruction count (Ir) of a callgrind output file.
    benchlib.py median X...
        print the median of the numbers.
"""

import os
import resource
import socket
import sys
import time


def body_lines(size, seed):
    """Text lines of 72 characters, some starting with dots and 'From '."""
    line = ("%08d " % seed + "abcdefghijklmnopqrstuvwxyz0123456789" * 2)[:71]
    return line + "\n"


def one_mail(n, size):
    head = ("Return-Path: <sender%d@example.org>\n"
            "From: Sender %d <sender%d@example.org>\n"
            "To: tester@example.org\n"
            "Subject: benchmark mail %d\n"
            "Message-ID: <bench.%d@example.org>\n"
            "Date: Tue, 24 Nov 2026 12:00:00 +0000\n\n" % (n, n, n, n, n))
    out = [head]
    left = size - len(head)
    line = body_lines(size, n)
    k = 0
    while left > len(line):
        # every 16th line starts with a dot: dot-stuffing gets exercised
        cur = ("." + line[1:]) if k % 16 == 15 else line
        out.append(cur)
        left -= len(cur)
        k += 1
    if left > 0:
        out.append("x" * (left - 1) + "\n" if left > 1 else "\n")
    data = "".join(out).encode()
    assert len(data) == size, (len(data), size)
    return data


def gen(d, count, size, first=1):
    os.makedirs(os.path.join(d, "new"), exist_ok=True)
    os.makedirs(os.path.join(d, "cur"), exist_ok=True)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    for n in range(first, first + count):
        data = one_mail(n, size)
        name = "1700000000.M%dP%d.bench,S=%d" % (n, os.getpid(), size)
        with open(os.path.join(d, "new", name), "wb") as f:
            f.write(data)


def genbig(path, size):
    head = (b"From: big@example.org\nTo: tester@example.org\n"
            b"Subject: big mail\nMessage-ID: <big@example.org>\n\n")
    line = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 2)[:71] + b"\n"
    chunk = line * ((1 << 20) // len(line))
    with open(path, "wb") as f:
        f.write(head)
        left = size - len(head)
        while left > len(chunk):
            f.write(chunk)
            left -= len(chunk)
        f.write(b"x" * (left - 1) + b"\n")


class Pop3:
    def __init__(self, port, timeout=120, host="127.0.0.1", tls=False):
        self.s = socket.create_connection((host, port), timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.s = ctx.wrap_socket(self.s)
        self.buf = b""

    def send(self, data):
        """Send, then acknowledge the reply's first segment at once, as a
        client does that waits for it (see transport.c: a server's second
        small write waits under Nagle's rule for that ACK)."""
        self.s.sendall(data)
        if hasattr(socket, "TCP_QUICKACK"):
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise OSError("connection closed")
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def ok(self, what):
        ln = self.line()
        if not ln.startswith(b"+OK"):
            raise OSError("%s: %r" % (what, ln[:100]))
        return ln

    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        return self.ok(c.split()[0])

    def multi(self):
        """Skip a multi-line body; return its size in bytes."""
        n = 0
        while len(self.buf) < 3:
            d = self.s.recv(65536)
            if not d:
                raise OSError("connection closed in a body")
            self.buf += d
        if self.buf.startswith(b".\r\n"):
            self.buf = self.buf[3:]
            return 0
        while True:
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                n += i
                self.buf = self.buf[i + 5:]
                return n
            keep = max(0, len(self.buf) - 4)
            n += keep
            self.buf = self.buf[keep:]
            d = self.s.recv(262144)
            if not d:
                raise OSError("connection closed in a body")
            self.buf += d

    def login(self, user, pw):
        self.ok("greeting")
        self.cmd("USER " + user)
        self.cmd("PASS " + pw)

    def close(self):
        try:
            self.cmd("QUIT")
        finally:
            self.s.close()


def warm(port, user, pw, tls=False):
    p = Pop3(port, tls=tls)
    p.login(user, pw)
    p.cmd("STAT")
    p.cmd("UIDL")
    p.multi()
    p.cmd("LIST")
    p.multi()
    p.close()


def retr(port, user, pw, window=64):
    p = Pop3(port)
    p.login(user, pw)
    n = int(p.cmd("STAT").split()[1])
    t0 = time.monotonic()
    sent = done = total = 0
    # A body starts right after its "+OK" line; the body search above runs
    # on the same buffer, so read status line, then body, in order.
    while done < n:
        burst = []
        while sent < n and sent - done < window:
            sent += 1
            burst.append(b"RETR %d\r\n" % sent)
        if burst:
            p.s.sendall(b"".join(burst))
        p.ok("RETR %d" % (done + 1))
        total += p.multi()
        done += 1
    secs = time.monotonic() - t0
    p.close()
    print("%d %d %.4f" % (n, total, secs))


def floor(mode, host, port, user, pw, n, tls):
    t0 = time.monotonic()
    p = Pop3(port, 120, host, tls)
    retr = b"".join(b"RETR %d\r\n" % i for i in range(1, n + 1))
    dele = b"".join(b"DELE %d\r\n" % i for i in range(1, n + 1))
    login = ("USER %s\r\nPASS %s\r\n" % (user, pw)).encode()
    if mode == "burst":
        p.s.sendall(login + b"STAT\r\n" + retr + dele + b"QUIT\r\n")
        p.ok("greeting")
        p.ok("USER")
        p.ok("PASS")
    else:
        p.ok("greeting")
        p.send(b"CAPA\r\n")
        p.ok("CAPA")
        p.multi()
        p.send(login + b"STAT\r\nUIDL\r\n")
        p.ok("USER")
        p.ok("PASS")
    p.ok("STAT")
    if mode != "burst":
        p.ok("UIDL")
        p.multi()
        p.send(retr)
    for i in range(n):
        p.ok("RETR")
        p.multi()
    if mode != "burst":
        p.send(dele + b"QUIT\r\n")
    for i in range(n):
        p.ok("DELE")
    p.ok("QUIT")
    p.s.close()
    print("%.4f" % (time.monotonic() - t0))


def login(port, user, pw, reps):
    times = []
    tries = 0
    while len(times) < reps:
        t = time.monotonic()
        p = Pop3(port)
        try:
            p.login(user, pw)
        except OSError as e:
            # mpopd: the previous session's process may still hold the
            # mailbox for a moment after its QUIT
            tries += 1
            if "IN-USE" not in str(e) or tries > 100:
                raise
            p.s.close()
            time.sleep(0.02)
            continue
        p.cmd("STAT")
        times.append(time.monotonic() - t)
        p.close()
    times.sort()
    print("%.1f" % (times[len(times) // 2] * 1000))


def concurrent(port, count, prefix, pw):
    t0 = time.monotonic()
    conns, errors, first = [], 0, ""
    for i in range(1, count + 1):
        try:
            p = Pop3(port, 30)
            p.login("%s%d" % (prefix, i), pw)
            conns.append(p)
        except OSError as e:
            errors += 1
            first = first or "login %d: %s" % (i, e)
    ok = 0
    for p in conns:        # all sessions are open now
        try:
            p.cmd("STAT")
            p.cmd("UIDL")
            p.multi()
            p.cmd("RETR 1")
            p.multi()
            p.close()
            ok += 1
        except OSError as e:
            errors += 1
            first = first or str(e)
    print("%d %d %.3f %s" % (ok, errors, time.monotonic() - t0, first))


def ir(path):
    total = None
    with open(path) as f:
        for ln in f:
            if ln.startswith("summary:") or ln.startswith("totals:"):
                total = int(ln.split()[1])
    print(total if total is not None else "NA")


def median(xs):
    xs = sorted(float(x) for x in xs)
    n = len(xs)
    m = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    print("%.4f" % m)


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    c = a[0]
    if c == "gen":
        gen(a[1], int(a[2]), int(a[3]), int(a[4]) if len(a) > 4 else 1)
    elif c == "genbig":
        genbig(a[1], int(a[2]))
    elif c == "warm":
        warm(int(a[1]), a[2], a[3], len(a) > 4 and a[4] == "tls")
    elif c == "retr":
        retr(int(a[1]), a[2], a[3], int(a[4]) if len(a) > 4 else 64)
    elif c == "login":
        login(int(a[1]), a[2], a[3], int(a[4]))
    elif c == "concurrent":
        concurrent(int(a[1]), int(a[2]), a[3], a[4])
    elif c == "floor":
        floor(a[1], a[2], int(a[3]), a[4], a[5], int(a[6]),
              len(a) > 7 and a[7] == "tls")
    elif c == "ir":
        ir(a[1])
    elif c == "median":
        median(a[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
