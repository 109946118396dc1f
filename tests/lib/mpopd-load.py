#!/usr/bin/env python3
"""mpopd under load, driven by tests/integration/mpopd-load.sh.

Starts $MPOPD on a free loopback port with NBOX users, each with a maildir
of known mails, and a session limit (LIMIT) below the number of client
workers (WORKERS).  WORKERS threads then run SESSIONS sessions between
them.  Each session follows a plan drawn from a seeded random generator:
read mails and check their bytes, delete and QUIT, delete and RSET, delete
and drop the connection (plainly, in a half-sent QUIT, in the middle of a
RETR), drop at some other point (before the greeting, within USER or PASS,
within a command), or send a wrong password and then the right one.

What is checked:
  - every answer is the one RFC 1939 and mpopd's manual promise; every
    RETR and TOP gives the mail's exact bytes;
  - the session limit holds: refused connections get
    "-ERR [SYS/TEMP] too many sessions" and are closed; the greeted
    sessions the clients hold at once, and the session processes the
    listener has at once (sampled from /proc), never exceed LIMIT;
  - a second session on a locked mailbox gets [IN-USE] (counted);
  - the authentication delay holds: each PASS is answered no sooner than
    the delay the policy gives for the failures already answered, and the
    right password still works after failures;
  - per mail: a mail is gone if and only if a session that DELEted it got
    "+OK bye" to its QUIT; every other mail is still there, byte for byte,
    both as mpopd serves it and on disk;
  - mpopd is alive afterwards and answers; it has as many fds as before the
    load and no session process lingers; SIGTERM ends it with status 0 and
    nothing (no sanitizer report) was written to its stderr.

Environment: MPOPD (the server), T (a temporary folder, removed by the
caller), MPOPD_LOAD_SEED (repeat a run), MPOPD_LOAD_SESSIONS.  Prints TAP.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MPOPD = os.environ["MPOPD"]
SEED = int(os.environ.get("MPOPD_LOAD_SEED")
           or random.SystemRandom().randrange(1, 1 << 31))
SESSIONS = int(os.environ.get("MPOPD_LOAD_SESSIONS") or 200)
WORKERS = 20
LIMIT = 10
NBOX = 6
MAILS_PER_BOX = 18
# Wrong-password sessions.  The delay mpopd applies is shared by all
# sessions and grows with every failure (pop3d_auth_delay_policy), and it
# applies to every PASS, so each failure slows all later logins: three
# failures keep the run short while still checking the first steps.
NBAD = 3
# Nothing in one run may take longer than this (a hung session fails the
# test instead of hanging it).
IO_TIMEOUT = 60
RETRY_DEADLINE = 120

PASSWORDS = ["pw%d-%d" % (b, SEED % 1000) for b in range(NBOX)]


def auth_delay_policy(failures):
    """The delay (seconds) mpopd applies before answering a PASS, after
    `failures` failed logins: src/pop3d.c pop3d_auth_delay_policy()."""
    if failures == 0:
        return 0.0
    if failures > 7:
        return 16.0
    return 0.25 * (1 << (failures - 1))


# ---- TAP -----------------------------------------------------------------

n_tests = 0
n_failed = 0
out_lock = threading.Lock()


def diag(msg):
    with out_lock:
        for line in str(msg).splitlines() or [""]:
            print("# " + line, flush=True)


def ok(cond, name, details=()):
    global n_tests, n_failed
    n_tests += 1
    with out_lock:
        print("%sok %d - %s" % ("" if cond else "not ", n_tests, name),
              flush=True)
    if not cond:
        n_failed += 1
        for d in list(details)[:15]:
            diag("  " + d)
    return cond


# ---- the mailboxes ---------------------------------------------------------

def crlf(b):
    """A mail as mpopd sends it: every line end CRLF, a final one added."""
    b = b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return b if b.endswith(b"\r\n") else b + b"\r\n"


# Maps any byte to a printable one: random text for the mails.
_ALPHABET = b"abcdefghijklmnopqrstuvwxyz .,;:-_=+*#0123456789ABCDEF"
TEXT = bytes(_ALPHABET[i % len(_ALPHABET)] for i in range(256))


def make_mail(rng, box, i, big):
    eol = rng.choice([b"\n", b"\r\n", None])   # None: mixed
    head = [b"From: load%d@example.org" % box,
            b"Subject: mail %d of box %d (seed %d)" % (i, box, SEED),
            b"Message-ID: <%d.%d.%d@load.example>" % (box, i, SEED), b""]
    body = []
    target = rng.randrange(700000, 1100000) if big else rng.randrange(0, 6000)
    size = 0
    while size < target:
        r = rng.random()
        if r < 0.08:
            line = b"." * rng.randrange(1, 4) + b"dot line"
        elif r < 0.1:
            line = b"."
        elif r < 0.15:
            line = b""
        else:
            line = rng.randbytes(rng.randrange(1, 120)).translate(TEXT)
        body.append(line)
        size += len(line) + 2
    out = b"".join(line + (eol or rng.choice([b"\n", b"\r\n"]))
                   for line in head + body)
    if rng.random() < 0.2:
        out = out.rstrip(b"\r\n")           # no final line end
    return out


class Mail:
    PRESENT, PENDING, DELETED, MAYBE = "present", "pending", "deleted", \
        "maybe"

    def __init__(self, box, uid, path, raw):
        self.box = box
        self.uid = uid
        self.path = path
        self.raw = raw
        self.wire = crlf(raw)
        self.big = len(raw) > 500000
        self.state = Mail.PRESENT
        self.dele_dropped = 0       # DELEs of sessions that ended otherwise


class Box:
    def __init__(self, index, user, password, maildir):
        self.index = index
        self.user = user
        self.password = password
        self.maildir = maildir
        self.mails = {}             # uid -> Mail
        self.lock = threading.Lock()


# ---- shared counters -------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.errors = []
        self.active = 0             # greeted sessions the clients hold
        self.max_active = 0
        self.refused = 0
        self.bad_refusals = []
        self.in_use = 0
        self.logins = 0
        self.retr_ok = 0
        self.top_ok = 0
        self.committed = 0          # sessions whose QUIT deleted mails
        self.rset = 0
        self.dele_dropped = 0       # sessions that DELEted and dropped
        self.drops = {}
        self.fails_sent = 0         # wrong passwords sent
        self.fails_seen = 0         # -ERR [AUTH] answers received
        self.relogin_ok = 0         # right password after a wrong one
        self.pass_checked = 0
        self.pass_delayed = 0       # PASS answers with a delay due
        self.delay_violations = []
        self.max_pass_time = 0.0
        self.kinds = {}

    def error(self, sess, msg):
        with self.lock:
            self.errors.append("session %d: %s" % (sess, msg))

    def enter(self):
        with self.lock:
            self.active += 1
            if self.active > self.max_active:
                self.max_active = self.active

    def leave(self):
        with self.lock:
            self.active -= 1

    def add(self, name, k=1):
        with self.lock:
            setattr(self, name, getattr(self, name) + k)


stats = Stats()


# ---- a client connection ---------------------------------------------------

class SessionError(Exception):
    pass


class Conn:
    def __init__(self, port, small_rcvbuf=False):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if small_rcvbuf:
            # A small window keeps mpopd blocked in the middle of a big
            # RETR when the client goes away.
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.s.settimeout(IO_TIMEOUT)
        self.s.connect(("127.0.0.1", port))
        self.buf = b""
        self.counted = False

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        d = self.s.recv(262144)
        if not d:
            raise SessionError("unexpected end of the connection")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def cmd(self, c):
        self.send(c.encode("latin-1") + b"\r\n")
        return self.line()

    def multi(self):
        """A multi-line body, dot-unstuffed, with CRLF line ends."""
        out = []
        start = 0
        while True:
            end = self.buf.find(b"\r\n", start)
            if end < 0:
                self._fill()
                continue
            line = self.buf[start:end]
            start = end + 2
            if line == b".":
                self.buf = self.buf[start:]
                return b"".join(out)
            if line.startswith(b"."):
                line = line[1:]
            out.append(line + b"\r\n")

    def read_some(self, n):
        """Reads about n bytes of whatever comes (a partial body)."""
        while len(self.buf) < n:
            self._fill()

    def eof(self):
        """True if the server closes the connection with nothing more."""
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return self.buf == b""
                self.buf += d
        except OSError:
            return self.buf == b""

    def close(self):
        if self.counted:
            self.counted = False
            stats.leave()
        self.s.close()


def connect(port, sess, small_rcvbuf=False, drop_at_once=False):
    """A connection past the greeting, retrying while the session limit
    refuses it.  drop_at_once: connect and close without reading (returns
    None)."""
    deadline = time.monotonic() + RETRY_DEADLINE
    rng = random.Random(SEED * 7919 + sess)
    while True:
        c = Conn(port, small_rcvbuf)
        if drop_at_once:
            c.close()
            return None
        g = c.line()
        if g.startswith("+OK"):
            c.counted = True
            stats.enter()
            return c
        if g == "-ERR [SYS/TEMP] too many sessions":
            closed = c.eof()
            with stats.lock:
                stats.refused += 1
                if not closed:
                    stats.bad_refusals.append("session %d: a refused "
                                              "connection stays open" % sess)
        else:
            with stats.lock:
                stats.bad_refusals.append("session %d: greeting %r"
                                          % (sess, g))
        c.close()
        if time.monotonic() > deadline:
            raise SessionError("refused for %d s" % RETRY_DEADLINE)
        time.sleep(rng.uniform(0.01, 0.05))


def timed_pass(c, sess, password, wrong):
    """Sends PASS and checks the answer came no sooner than the delay due
    for the failures answered before it was sent."""
    with stats.lock:
        seen = stats.fails_seen
        if wrong:
            stats.fails_sent += 1
    due = auth_delay_policy(seen)
    t0 = time.monotonic()
    r = c.cmd("PASS " + password)
    el = time.monotonic() - t0
    with stats.lock:
        if wrong and r.startswith("-ERR [AUTH]"):
            stats.fails_seen += 1
        stats.pass_checked += 1
        if due > 0:
            stats.pass_delayed += 1
        stats.max_pass_time = max(stats.max_pass_time, el)
        # 5 ms for the clock's and the sleep's granularity.
        if el < due - 0.005:
            stats.delay_violations.append(
                "session %d: PASS answered in %.3f s, %d failures seen, "
                "%.3f s due" % (sess, el, seen, due))
    return r


def login(c, box, sess, wrong=False):
    r = c.cmd("USER " + box.user)
    if r != "+OK send PASS":
        raise SessionError("USER: %r" % r)
    return timed_pass(c, sess, "wrong-" + box.password if wrong
                      else box.password, wrong)


def check_listing(c, box, sess, login_reply, rng):
    """After a login: UIDL (and sometimes LIST) against the model.  Returns
    [(msn, Mail)] of the mails the session sees."""
    parts = login_reply.split()
    # "+OK N messages (M octets)"
    if len(parts) != 5 or parts[2] != "messages":
        raise SessionError("login answer %r" % login_reply)
    count = int(parts[1])
    octets = int(parts[3].lstrip("("))
    r = c.cmd("UIDL")
    if not r.startswith("+OK"):
        raise SessionError("UIDL: %r" % r)
    seen = []
    for line in c.multi().decode("latin-1").split("\r\n")[:-1]:
        msn, uid = line.split(" ", 1)
        seen.append((int(msn), uid))
    with box.lock:
        uids = set(u for _, u in seen)
        for u in uids:
            if u not in box.mails:
                stats.error(sess, "UIDL lists an unknown mail %s" % u)
        for u, m in box.mails.items():
            if m.state == Mail.PRESENT and u not in uids:
                stats.error(sess, "mail %s (never deleted with QUIT) is "
                            "not listed" % u)
            if m.state == Mail.DELETED and u in uids:
                stats.error(sess, "mail %s (deleted with QUIT) is still "
                            "listed" % u)
        listed = [(msn, box.mails[u]) for msn, u in seen if u in box.mails]
    if count != len(seen):
        stats.error(sess, "login says %d mails, UIDL lists %d"
                    % (count, len(seen)))
    if octets != sum(len(m.wire) for _, m in listed):
        stats.error(sess, "login says %d octets, the mails have %d"
                    % (octets, sum(len(m.wire) for _, m in listed)))
    if rng.random() < 0.3:
        r = c.cmd("LIST")
        if r != "+OK %d messages (%d octets)" % (count, octets):
            stats.error(sess, "LIST: %r" % r)
        got = c.multi().decode("latin-1")
        want = "".join("%d %d\r\n" % (msn, len(m.wire)) for msn, m in listed)
        if got != want:
            stats.error(sess, "LIST sizes differ from the mails' sizes")
    return listed


def retr(c, sess, msn, mail, pipelined=False):
    if not pipelined:
        c.send(b"RETR %d\r\n" % msn)
    r = c.line()
    if r != "+OK %d octets" % len(mail.wire):
        raise SessionError("RETR %d: %r" % (msn, r))
    body = c.multi()
    if body != mail.wire:
        stats.error(sess, "RETR %d (%s): %d bytes differ from the mail's %d"
                    % (msn, mail.uid, len(body), len(mail.wire)))
    else:
        stats.add("retr_ok")


def quit_ok(c, sess, left):
    r = c.cmd("QUIT")
    want = "+OK bye (%d messages left)" % left
    if r != want:
        raise SessionError("QUIT: %r, not %r" % (r, want))
    # The session process ends once we close: no longer ours to count.
    c.close()


def dele(c, sess, victims):
    for msn, m in victims:
        r = c.cmd("DELE %d" % msn)
        if r != "+OK message %d deleted" % msn:
            raise SessionError("DELE %d: %r" % (msn, r))


def pick_victims(rng, listed, box):
    with box.lock:
        cand = [(msn, m) for msn, m in listed
                if not m.big and m.state == Mail.PRESENT]
    rng.shuffle(cand)
    return sorted(cand[:rng.randrange(1, 4)], key=lambda x: x[0])


KINDS = [("read", 30), ("dele_quit", 18), ("dele_rset", 5),
         ("dele_drop", 14), ("drop", 28), ("quit_nowait", 3)]
DROPS = ["before_greeting", "after_greeting", "mid_user", "after_user",
         "mid_pass", "after_login", "mid_command", "mid_retr",
         "pipelined_then_drop"]


def run_session(sess, kind, port, boxes):
    rng = random.Random(SEED * 1000003 + sess)
    box = boxes[rng.randrange(len(boxes))]
    drop = rng.choice(DROPS) if kind == "drop" else None
    with stats.lock:
        stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
        if drop:
            stats.drops[drop] = stats.drops.get(drop, 0) + 1
    small = drop == "mid_retr" or (kind == "dele_drop"
                                   and rng.random() < 0.4)
    c = connect(port, sess, small_rcvbuf=small,
                drop_at_once=drop == "before_greeting")
    if c is None:
        return
    try:
        if drop == "after_greeting":
            return
        if drop == "mid_user":
            c.send(b"USER " + box.user.encode()[:2])
            return
        if kind == "bad":
            r = login(c, box, sess, wrong=True)
            if r != "-ERR [AUTH] authentication failed":
                raise SessionError("wrong password answered %r" % r)
        if drop == "after_user":
            if c.cmd("USER " + box.user) != "+OK send PASS":
                raise SessionError("USER")
            return
        if drop == "mid_pass":
            if c.cmd("USER " + box.user) != "+OK send PASS":
                raise SessionError("USER")
            c.send(b"PASS " + box.password.encode())
            return
        r = login(c, box, sess)
        if r.startswith("-ERR [IN-USE]"):
            stats.add("in_use")
            if kind == "bad":
                stats.add("relogin_ok")
            if c.cmd("QUIT") != "+OK bye":
                raise SessionError("QUIT after [IN-USE]")
            return
        if not r.startswith("+OK"):
            raise SessionError("login: %r" % r)
        stats.add("logins")
        if kind == "bad":
            stats.add("relogin_ok")
        listed = check_listing(c, box, sess, r, rng)
        if drop == "after_login":
            return
        if drop == "mid_command":
            c.send(rng.choice([b"RET", b"DELE 1", b"QUIT", b"QU", b"LIST"]))
            return
        if drop in ("mid_retr", "pipelined_then_drop"):
            victims = pick_victims(rng, listed, box) if listed else []
            dele(c, sess, victims)
            big = [(msn, m) for msn, m in listed if m.big]
            if drop == "mid_retr" and big:
                c.send(b"RETR %d\r\n" % big[0][0])
                c.read_some(rng.randrange(1, 65536))
            else:
                c.send(b"NOOP\r\nLIST\r\nUIDL\r\n")
                c.read_some(rng.randrange(1, 64))
            with box.lock:
                for _, m in victims:
                    m.dele_dropped += 1
            if victims:
                stats.add("dele_dropped")
            return
        if kind in ("read", "bad"):
            targets = rng.sample(listed, min(len(listed), rng.randrange(1, 4)))
            if rng.random() < 0.4:
                # Pipelined: all the commands at once, answers in order.
                c.send(b"".join(b"RETR %d\r\n" % msn for msn, _ in targets))
                for msn, m in targets:
                    retr(c, sess, msn, m, pipelined=True)
            else:
                for msn, m in targets:
                    retr(c, sess, msn, m)
            if targets and rng.random() < 0.3:
                msn, m = targets[0]
                r = c.cmd("TOP %d 0" % msn)
                head = m.wire[:m.wire.index(b"\r\n\r\n") + 4]
                if r != "+OK top of message follows" or c.multi() != head:
                    stats.error(sess, "TOP %d 0 of %s" % (msn, m.uid))
                else:
                    stats.add("top_ok")
            quit_ok(c, sess, len(listed))
            return
        victims = pick_victims(rng, listed, box) if listed else []
        if kind == "dele_rset":
            dele(c, sess, victims)
            r = c.cmd("RSET")
            if not r.startswith("+OK %d messages" % len(listed)):
                raise SessionError("RSET: %r" % r)
            stats.add("rset")
            quit_ok(c, sess, len(listed))
            return
        if kind == "dele_drop":
            dele(c, sess, victims)
            if victims and rng.random() < 0.5:
                r = c.cmd("RETR %d" % victims[0][0])
                if not r.startswith("-ERR"):
                    raise SessionError("RETR of a deleted mail: %r" % r)
            how = rng.randrange(3)
            if how == 0:
                c.send(b"QUIT")                 # no line end
            elif how == 1:
                big = [(msn, m) for msn, m in listed if m.big]
                if big:
                    c.send(b"RETR %d\r\n" % big[0][0])
                    c.read_some(rng.randrange(1, 65536))
            with box.lock:
                for _, m in victims:
                    m.dele_dropped += 1
            stats.add("dele_dropped")
            return
        if kind in ("dele_quit", "quit_nowait"):
            if rng.random() < 0.5 and listed:
                msn, m = rng.choice(listed)
                retr(c, sess, msn, m)
            dele(c, sess, victims)
            with box.lock:
                for _, m in victims:
                    m.state = Mail.PENDING
            if kind == "quit_nowait":
                # QUIT sent, the answer not waited for: either outcome is
                # right, as long as it is all or nothing (checked at the
                # end on disk).
                c.send(b"QUIT\r\n")
                with box.lock:
                    for _, m in victims:
                        m.state = Mail.MAYBE
                return
            try:
                quit_ok(c, sess, len(listed) - len(victims))
            except Exception:
                with box.lock:
                    for _, m in victims:
                        m.state = Mail.MAYBE
                raise
            with box.lock:
                for _, m in victims:
                    m.state = Mail.DELETED
            if victims:
                stats.add("committed")
            return
        raise SessionError("unknown kind %s" % kind)
    except (SessionError, OSError, ValueError) as ex:
        stats.error(sess, "%s (%s%s)" % (ex, kind, "/" + drop if drop
                                          else ""))
    finally:
        c.close()


# ---- the server, watched from /proc ----------------------------------------

def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        pass
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                if int(st[st.rindex(")") + 2:].split()[1]) == pid:
                    kids.append(int(d))
            except (OSError, ValueError):
                pass
    return kids


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Monitor(threading.Thread):
    """Samples the number of session processes of the listener."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.max = 0
        self.samples = 0

    def run(self):
        while not self.stop.is_set():
            k = len(children(self.pid))
            self.max = max(self.max, k)
            self.samples += 1
            time.sleep(0.003)


def wait_no_children(pid, seconds):
    deadline = time.monotonic() + seconds
    while True:
        k = children(pid)
        if not k or time.monotonic() > deadline:
            return k
        time.sleep(0.02)


def drop_session(port, box):
    """Logs in to box, DELEtes every mail it lists and drops the
    connection without QUIT."""
    deadline = time.monotonic() + RETRY_DEADLINE
    while True:
        c = connect(port, 2 * 10 ** 6 + box.index)
        r = login(c, box, -1)
        if r.startswith("+OK"):
            break
        c.close()
        if not r.startswith("-ERR [IN-USE]") or time.monotonic() > deadline:
            raise SessionError("drop login: %r" % r)
        time.sleep(0.05)
    try:
        r = c.cmd("UIDL")
        if not r.startswith("+OK"):
            raise SessionError("drop UIDL: %r" % r)
        victims = []
        for line in c.multi().decode("latin-1").split("\r\n")[:-1]:
            msn, uid = line.split(" ", 1)
            if uid in box.mails:
                victims.append((int(msn), box.mails[uid]))
        dele(c, 2 * 10 ** 6 + box.index, victims)
        for _, m in victims:
            m.dele_dropped += 1
    finally:
        c.close()


def final_session(port, box):
    """A session that lists and reads every mail of box and QUITs."""
    deadline = time.monotonic() + RETRY_DEADLINE
    while True:
        c = connect(port, 10 ** 6 + box.index)
        r = login(c, box, -1)
        if r.startswith("+OK"):
            break
        c.close()
        if not r.startswith("-ERR [IN-USE]") or time.monotonic() > deadline:
            raise SessionError("final login: %r" % r)
        time.sleep(0.05)
    try:
        r = c.cmd("UIDL")
        if not r.startswith("+OK"):
            raise SessionError("final UIDL: %r" % r)
        got = {}
        for line in c.multi().decode("latin-1").split("\r\n")[:-1]:
            msn, uid = line.split(" ", 1)
            got[uid] = int(msn)
        bodies = {}
        for uid, msn in sorted(got.items(), key=lambda x: x[1]):
            c.send(b"RETR %d\r\n" % msn)
            r = c.line()
            if not r.startswith("+OK"):
                raise SessionError("final RETR: %r" % r)
            bodies[uid] = c.multi()
        r = c.cmd("QUIT")
        if not r.startswith("+OK bye"):
            raise SessionError("final QUIT: %r" % r)
        return bodies
    finally:
        c.close()


# ---- main -------------------------------------------------------------------

def on_signal(sig, frame):
    raise SystemExit(128 + sig)


def main():
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)
    base = os.environ.get("T") or None
    tmp = tempfile.mkdtemp(prefix="load-", dir=base)
    proc = None
    pidfile = os.path.join(base or tmp, "mpopd-load.pid")
    t_start = time.monotonic()
    diag("seed %d (MPOPD_LOAD_SEED=%d repeats this run): %d sessions, %d "
         "workers, --max-sessions=%d, %d mailboxes"
         % (SEED, SEED, SESSIONS, WORKERS, LIMIT, NBOX))
    try:
        # ---- mailboxes of known mails ---------------------------------
        rng = random.Random(SEED)
        boxes = []
        uniq = 0
        for b in range(NBOX):
            md = os.path.join(tmp, "box%d" % b)
            for sub in ("new", "cur", "tmp"):
                os.makedirs(os.path.join(md, sub))
            box = Box(b, "user%d" % b, PASSWORDS[b], md)
            for i in range(MAILS_PER_BOX):
                uniq += 1
                raw = make_mail(rng, b, i, big=(i == 0))
                uid = "%d.M%dP%d.load" % (1600000000 + uniq, uniq, b)
                if rng.random() < 0.5:
                    path = os.path.join(md, "new", uid)
                else:
                    path = os.path.join(md, "cur", uid + ":2,S")
                with open(path, "wb") as f:
                    f.write(raw)
                t = 1600000000 + uniq
                os.utime(path, (t, t))
                box.mails[uid] = Mail(box, uid, path, raw)
            boxes.append(box)

        # ---- the server --------------------------------------------------
        pf = os.path.join(tmp, "port")
        log = os.path.join(tmp, "mpopd.log")
        errlog = os.path.join(tmp, "mpopd.stderr")
        cmd = [MPOPD, "--port=0", "--port-file=" + pf, "--log=" + log,
               "--max-sessions=%d" % LIMIT, "--timeout=%d" % IO_TIMEOUT]
        for box in boxes:
            cmd += ["--auth=%s,echo %s" % (box.user, box.password),
                    "--maildir=" + box.maildir]
        with open(errlog, "wb") as ef:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                    stdout=ef, stderr=ef)
        with open(pidfile, "w") as f:
            f.write("%d\n" % proc.pid)
        for _ in range(1500):
            if os.path.exists(pf) or proc.poll() is not None:
                break
            time.sleep(0.02)
        if not ok(os.path.exists(pf), "mpopd listens (port file written)"):
            return
        with open(pf) as f:
            port = int(f.read())

        # A first session, so that whatever the listener allocates once
        # is allocated before the fds are counted.
        c = connect(port, -1)
        if c.cmd("QUIT") != "+OK bye":
            raise SessionError("warm-up QUIT")
        c.close()
        wait_no_children(proc.pid, 10)
        fds_before = nfds(proc.pid)

        # ---- the plans ----------------------------------------------------
        prng = random.Random(SEED + 1)
        names = [k for k, _ in KINDS]
        weights = [w for _, w in KINDS]
        plan = [prng.choices(names, weights)[0] for _ in range(SESSIONS)]
        # The wrong passwords: one in each part of the run, so that later
        # ones come after earlier ones were answered.
        for j in range(NBAD):
            lo = SESSIONS * j // NBAD
            hi = SESSIONS * (j + 1) // NBAD
            plan[prng.randrange(lo, max(lo + 1, hi - WORKERS))] = "bad"

        mon = Monitor(proc.pid)
        mon.start()
        nexti = [0]
        qlock = threading.Lock()

        def worker():
            while True:
                with qlock:
                    i = nexti[0]
                    nexti[0] += 1
                if i >= SESSIONS:
                    return
                try:
                    run_session(i, plan[i], port, boxes)
                except Exception as ex:   # a bug in the test or a refusal
                    stats.error(i, "%s: %s" % (type(ex).__name__, ex))

        t0 = time.monotonic()
        threads = [threading.Thread(target=worker, daemon=True)
                   for _ in range(WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(RETRY_DEADLINE + 2 * IO_TIMEOUT)
        hung = sum(1 for t in threads if t.is_alive())
        load_time = time.monotonic() - t0
        mon.stop.set()
        mon.join()

        diag("load: %.1f s; kinds %s; drops %s"
             % (load_time, sorted(stats.kinds.items()),
                sorted(stats.drops.items())))
        diag("%d logins, %d [IN-USE], %d refused (too many sessions), %d "
             "RETR and %d TOP checked, %d QUITs deleting, %d RSETs, %d "
             "DELE+drop" % (stats.logins, stats.in_use, stats.refused,
                            stats.retr_ok, stats.top_ok, stats.committed,
                            stats.rset, stats.dele_dropped))
        diag("PASS: %d answers timed, %d with a delay due, slowest %.2f s; "
             "%d wrong passwords" % (stats.pass_checked, stats.pass_delayed,
                                     stats.max_pass_time, stats.fails_sent))

        ok(hung == 0 and nexti[0] >= SESSIONS,
           "all %d sessions ran (%d workers hung)" % (SESSIONS, hung))
        ok(not stats.errors, "every answer as expected, every RETR/TOP "
           "byte-exact (%d errors)" % len(stats.errors), stats.errors)
        ok(stats.retr_ok > 0 and stats.logins > 0,
           "mails were read (%d RETR)" % stats.retr_ok)
        ok(stats.refused > 0 and not stats.bad_refusals,
           "over the limit: -ERR [SYS/TEMP] too many sessions, then closed "
           "(%d refusals)" % stats.refused, stats.bad_refusals)
        ok(stats.max_active <= LIMIT,
           "greeted sessions held at once by the clients: %d <= %d"
           % (stats.max_active, LIMIT))
        ok(0 < mon.max <= LIMIT,
           "session processes of the listener at once: %d <= %d (%d "
           "samples)" % (mon.max, LIMIT, mon.samples))
        ok(not stats.delay_violations and stats.pass_delayed > 0,
           "authentication delay held for every PASS (%d with a delay due)"
           % stats.pass_delayed, stats.delay_violations)
        ok(stats.fails_seen == NBAD and stats.relogin_ok == NBAD,
           "wrong passwords got [AUTH] (%d/%d), the right one then worked "
           "(%d)" % (stats.fails_seen, NBAD, stats.relogin_ok))

        # ---- the server after the load -----------------------------------
        ok(proc.poll() is None, "mpopd still running after the load")
        ok(stats.committed > 0 and stats.dele_dropped > 0,
           "the load deleted with QUIT (%d) and without (%d)"
           % (stats.committed, stats.dele_dropped))
        diag("after the load: %.1f s" % (time.monotonic() - t_start))
        problems = []
        # Whether a mail DELEted in a dropped session outlives the load
        # depends on the schedule (a later session may delete it with
        # QUIT), so one drop session per mailbox, now, makes sure the
        # final check sees such mails: each DELEtes what it lists and
        # closes without QUIT.
        for box in boxes:
            try:
                drop_session(port, box)
            except (SessionError, OSError, ValueError) as ex:
                problems.append("box %d, drop session: %s" % (box.index, ex))
        # One final session per mailbox, all at once (fewer than LIMIT):
        # each login waits for the delay the load's failures left.
        finals = {}

        def final(box):
            try:
                finals[box.index] = final_session(port, box)
            except (SessionError, OSError, ValueError) as ex:
                finals[box.index] = ex
        fthreads = [threading.Thread(target=final, args=(box,), daemon=True)
                    for box in boxes]
        for t in fthreads:
            t.start()
        for t in fthreads:
            t.join(RETRY_DEADLINE + IO_TIMEOUT)
        for box in boxes:
            served = finals.get(box.index, SessionError("hung"))
            if isinstance(served, Exception):
                problems.append("box %d: %s" % (box.index, served))
                continue
            for uid, m in box.mails.items():
                if m.state == Mail.MAYBE:
                    continue
                if m.state == Mail.DELETED:
                    if uid in served:
                        problems.append("%s: deleted with QUIT, still "
                                        "served" % uid)
                elif uid not in served:
                    problems.append("%s: lost (%s, %d DELEs without QUIT)"
                                    % (uid, m.state, m.dele_dropped))
                elif served[uid] != m.wire:
                    problems.append("%s: served with other bytes" % uid)
            for uid in served:
                if uid not in box.mails:
                    problems.append("%s: unknown mail served" % uid)
        ok(not problems, "mpopd answers after the load and serves exactly "
           "the mails never deleted with QUIT", problems)

        kept = gone = dele_dropped_kept = maybe = 0
        disk = []
        for box in boxes:
            for uid, m in box.mails.items():
                exists = os.path.exists(m.path)
                if m.state == Mail.MAYBE:
                    maybe += 1
                    if exists:
                        with open(m.path, "rb") as f:
                            if f.read() != m.raw:
                                disk.append("%s changed on disk" % uid)
                elif m.state == Mail.DELETED:
                    gone += 1
                    if exists:
                        disk.append("%s: deleted with QUIT, still on disk"
                                    % uid)
                elif not exists:
                    disk.append("%s: lost from disk (%d DELEs without "
                                "QUIT)" % (uid, m.dele_dropped))
                else:
                    kept += 1
                    if m.dele_dropped:
                        dele_dropped_kept += 1
                    with open(m.path, "rb") as f:
                        if f.read() != m.raw:
                            disk.append("%s changed on disk" % uid)
            for sub in ("new", "cur", "tmp"):
                for name in os.listdir(os.path.join(box.maildir, sub)):
                    uid = name.split(":")[0]
                    if uid not in box.mails:
                        disk.append("unexpected file %s/%s" % (sub, name))
        ok(not disk and dele_dropped_kept > 0,
           "on disk: %d mails kept (%d of them DELEted in sessions that "
           "dropped), %d deleted with QUIT gone, %d after an unanswered "
           "QUIT intact or gone" % (kept, dele_dropped_kept, gone, maybe),
           disk)

        diag("final sessions done: %.1f s" % (time.monotonic() - t_start))
        left = wait_no_children(proc.pid, 15)
        ok(not left, "no session process lingers (%s)"
           % (",".join(map(str, left)) or "none"))
        fds_after = nfds(proc.pid)
        ok(fds_after == fds_before, "listener fds: %d before the load, %d "
           "after" % (fds_before, fds_after),
           ["%s -> %s" % (fd, os.readlink("/proc/%d/fd/%s" % (proc.pid, fd)))
            for fd in os.listdir("/proc/%d/fd" % proc.pid)])

        diag("children and fds checked: %.1f s"
             % (time.monotonic() - t_start))
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = None
        ok(rc == 0, "SIGTERM ends mpopd with status 0 (%s)" % rc)
        with open(errlog, "rb") as f:
            err = f.read().decode("utf-8", "replace")
        ok(err == "", "mpopd wrote nothing to stderr (no sanitizer report)",
           err.splitlines()[:40])
        with open(log, encoding="utf-8", errors="replace") as f:
            # Writes and reads failing on connections the clients broke
            # are expected; anything else mpopd could not do is not.
            bad = [l for l in f if ("cannot" in l or "killed" in l)
                   and "the network" not in l]
        ok(not bad, "the log records no failure of mpopd itself", bad)
        diag("total %.1f s" % (time.monotonic() - t_start))
    except (SessionError, OSError) as ex:
        ok(False, "the test ran to its end: %s: %s"
           % (type(ex).__name__, ex))
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        try:
            os.unlink(pidfile)
        except OSError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n_tests, flush=True)
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
