#!/bin/sh
# mpopd end to end: raw POP3 sessions against src/mpopd on a free loopback
# port (--port=0 --port-file) with a temporary maildir.  Prints TAP.
# Needs $MPOPD (the built src/mpopd) and python3.

: "${MPOPD:=${top_builddir:-.}/src/mpopd}"
if [ ! -x "$MPOPD" ]; then
    echo "1..0 # SKIP $MPOPD not built"
    exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 not found"
    exit 0
fi
export MPOPD
exec python3 - <<'PYEOF'
import os, re, shutil, signal, socket, subprocess, sys, tempfile, time

MPOPD = os.environ["MPOPD"]
n = 0
failed = 0


def ok(cond, name):
    global n, failed
    n += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, name), flush=True)
    if not cond:
        failed += 1
    return cond


def is_eq(got, want, name):
    r = ok(got == want, name)
    if not r:
        print("#   got:  %r\n#   want: %r" % (got, want), flush=True)
    return r


tmp = tempfile.mkdtemp(prefix="mpopd-test-")
servers = []


def make_maildir(name):
    md = os.path.join(tmp, name)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, sub))
    return md


def put(md, sub, name, data):
    p = os.path.join(md, sub, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def start(*args, boxes=None):
    pf = os.path.join(tmp, "port-%d" % len(servers))
    log = os.path.join(tmp, "log-%d" % len(servers))
    cmd = [MPOPD, "--port=0", "--port-file=" + pf, "--log=" + log]
    for user, pw, md in boxes:
        cmd += ["--auth=%s,echo %s" % (user, pw), "--maildir=" + md]
    cmd += list(args)
    p = subprocess.Popen(cmd)
    for _ in range(200):
        if os.path.exists(pf):
            break
        if p.poll() is not None:
            break
        time.sleep(0.02)
    with open(pf) as f:
        port = int(f.read())
    servers.append(p)
    return p, port, pf, log


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                r, self.buf = self.buf, b""
                return r.decode("latin-1") if r else None
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("latin-1")

    def cmd(self, c):
        self.send(c.encode("latin-1") + b"\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line body, dot-unstuffed, as bytes with
        CRLF, exactly as RFC 1939 defines the message."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    raise EOFError
                self.buf += d
            l, self.buf = self.buf.split(b"\r\n", 1)
            if l == b".":
                return out
            if l.startswith(b"."):
                l = l[1:]
            out += l + b"\r\n"

    def eof(self):
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except OSError:
            return True

    def close(self):
        self.s.close()


def greeted(port):
    """A connection past the greeting, retrying while a session limit is
    still counting sessions that just ended."""
    for _ in range(100):
        c = Client(port)
        g = c.line()
        if g and g.startswith("+OK"):
            return c
        c.close()
        time.sleep(0.05)
    raise RuntimeError("no greeting")


def login(port, user="u", pw="p"):
    c = greeted(port)
    c.cmd("USER " + user)
    r = c.cmd("PASS " + pw)
    return c, r


try:
    # ---- options ---------------------------------------------------------
    r = subprocess.run([MPOPD, "--version"], capture_output=True, text=True)
    ok(r.returncode == 0 and "mpopd" in r.stdout, "--version")
    r = subprocess.run([MPOPD, "--help"], capture_output=True, text=True)
    ok(r.returncode == 0 and all(o in r.stdout for o in (
        "--inetd", "--interface", "--port", "--log", "--auth", "--maildir",
        "--max-sessions", "--timeout")), "--help lists the options")
    r = subprocess.run([MPOPD], capture_output=True, text=True)
    is_eq(r.returncode, 64, "no mailbox is a usage error")
    r = subprocess.run([MPOPD, "--maildir=/x"], capture_output=True,
                       text=True)
    is_eq(r.returncode, 64, "--maildir without --auth is a usage error")
    r = subprocess.run([MPOPD, "--auth=u,echo p"], capture_output=True,
                       text=True)
    is_eq(r.returncode, 64, "--auth without --maildir is a usage error")
    r = subprocess.run([MPOPD, "--port=70000", "--auth=u,echo p",
                        "--maildir=/x"], capture_output=True, text=True)
    is_eq(r.returncode, 64, "invalid port is a usage error")
    md0 = make_maildir("md0")
    r = subprocess.run([MPOPD, "--inetd", "--auth=u,exit 3",
                        "--maildir=" + md0], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    ok(r.returncode != 0 and "password" in r.stderr,
       "failing password command is an error")
    # A maildir that is missing or is no maildir stops mpopd at start
    # (EX_NOINPUT), before any password is asked for.
    plain = os.path.join(tmp, "plain-dir")
    os.makedirs(os.path.join(plain, "new"))
    afile = put(md0, "new", "1.x.host", b"x\n")
    for what, d in (("a missing maildir", os.path.join(tmp, "nonexistent")),
                    ("a directory without cur/", plain),
                    ("a file", afile)):
        r = subprocess.run([MPOPD, "--inetd", "--auth=u,exit 3",
                            "--maildir=" + d], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        is_eq(r.returncode, 66, "%s: exit 66 (EX_NOINPUT)" % what)
        ok(d in r.stderr and "--auth=u" in r.stderr
           and "password" not in r.stderr,
           "%s: the error names the maildir and the --auth" % what)
    os.unlink(afile)

    # ---- the maildir -----------------------------------------------------
    md = make_maildir("md")
    m1 = b"Subject: one\n\n.dot line\n..two dots\nlast line\n"
    m2 = b"Subject: two\r\nX: y\r\n\r\nbody 1\r\nbody 2\r\nbody 3\r\n"
    m3 = b"Subject: three\n\nno final newline"
    put(md, "new", "1000000001.M1P1.host", m1)
    put(md, "cur", "1000000002.M2P2.host:2,S", m2)
    longname = "1000000003." + "x" * 80 + ".host"
    put(md, "new", longname, m3)
    for i, name in enumerate(("1000000001.M1P1.host",
                              "1000000002.M2P2.host:2,S", longname)):
        sub = "cur" if ":" in name else "new"
        t = 1000000001 + i
        os.utime(os.path.join(md, sub, name), (t, t))
    secret = os.path.join(tmp, "outside-secret")
    with open(secret, "wb") as f:
        f.write(b"Subject: secret\n\nnever serve this\n")
    os.symlink(secret, os.path.join(md, "new", "1000000009.M9P9.link"))
    os.symlink(secret, os.path.join(md, "cur", "1000000010.M9P9.link:2,"))
    os.mkdir(os.path.join(md, "new", "1000000011.dir"))
    put(md, "new", ".hidden", b"Subject: hidden\n\n")

    def crlf(b):
        b = b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        return b if b.endswith(b"\r\n") else b + b"\r\n"

    want = [crlf(m1), crlf(m2), crlf(m3)]

    p, port, pf, log = start(boxes=[("u", "p", md)])

    # ---- AUTHORIZATION ---------------------------------------------------
    c = Client(port)
    ok(c.line().startswith("+OK"), "greeting")
    c.send(b"CAPA\r\n")
    ok(c.line().startswith("+OK"), "CAPA +OK")
    capa = c.multi().decode().split("\r\n")[:-1]
    is_eq(capa, ["USER", "UIDL", "TOP", "PIPELINING", "RESP-CODES",
                 "AUTH-RESP-CODE", "IMPLEMENTATION mpopd"], "CAPA list")
    for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET",
                "UIDL", "TOP 1 0"):
        ok(c.cmd(cmd).startswith("-ERR"), "%s refused before login" % cmd)
    ok(c.cmd("PASS p").startswith("-ERR"), "PASS before USER")
    ok(c.cmd("USER").startswith("-ERR"), "USER without name")
    ok(c.cmd("USER u").startswith("+OK"), "USER")
    ok(c.cmd("NOOP").startswith("-ERR"), "NOOP between USER and PASS")
    ok(c.cmd("PASS p").startswith("-ERR"), "PASS not right after USER")
    c.cmd("USER nobody")
    ok(c.cmd("PASS p").startswith("-ERR [AUTH]"), "unknown user: [AUTH]")
    c.cmd("USER u")
    ok(c.cmd("PASS wrong").startswith("-ERR [AUTH]"),
       "wrong password: [AUTH]")
    c.cmd("USER u")
    r = c.cmd("PASS p")
    is_eq(r, "+OK 3 messages (%d octets)" % sum(map(len, want)), "login")
    ok(c.cmd("USER u").startswith("-ERR"), "USER after login")
    ok(c.cmd("STLS").startswith("-ERR"), "STLS after login")

    # ---- TRANSACTION -----------------------------------------------------
    is_eq(c.cmd("STAT"), "+OK 3 %d" % sum(map(len, want)),
          "STAT (symlinks, directories, dot files not served)")
    ok(c.cmd("LIST").startswith("+OK"), "LIST")
    is_eq(c.multi().decode(), "".join("%d %d\r\n" % (i + 1, len(w))
                                      for i, w in enumerate(want)),
          "LIST sizes are the CRLF sizes")
    is_eq(c.cmd("LIST 2"), "+OK 2 %d" % len(want[1]), "LIST n")
    for bad in ("LIST 0", "LIST 4", "LIST x", "LIST 1 2", "LIST -1"):
        ok(c.cmd(bad).startswith("-ERR"), "%s fails" % bad)
    ok(c.cmd("UIDL").startswith("+OK"), "UIDL")
    uidl = c.multi().decode().split("\r\n")[:-1]
    is_eq(uidl[:2], ["1 1000000001.M1P1.host", "2 1000000002.M2P2.host"],
          "UIDL: unique names without the flags")
    ok(re.fullmatch(r"3 [0-9a-f]{40}", uidl[2]) is not None,
       "UIDL: an overlong name is hashed")
    is_eq(c.cmd("UIDL 2"), "+OK 2 1000000002.M2P2.host", "UIDL n")
    ok(c.cmd("UIDL 9").startswith("-ERR"), "UIDL of no message")
    for i, w in enumerate(want):
        r = c.cmd("RETR %d" % (i + 1))
        ok(r.startswith("+OK"), "RETR %d +OK" % (i + 1))
        is_eq(c.multi(), w, "RETR %d content, CRLF, dot-unstuffed" % (i + 1))
    c.send(b"RETR 1\r\n")
    c.line()
    raw = b""
    while not raw.endswith(b"\r\n.\r\n"):
        raw += c.s.recv(65536) if not c.buf else c.buf
        c.buf = b""
    ok(b"\r\n..dot line\r\n...two dots\r\n" in raw, "RETR dot-stuffs")
    for bad in ("RETR", "RETR 0", "RETR 4", "RETR 1 2", "RETR a"):
        ok(c.cmd(bad).startswith("-ERR"), "%s fails" % bad)
    ok(c.cmd("TOP 2 0").startswith("+OK"), "TOP n 0")
    is_eq(c.multi(), b"Subject: two\r\nX: y\r\n\r\n", "TOP n 0: header only")
    c.cmd("TOP 2 2")
    is_eq(c.multi(), b"Subject: two\r\nX: y\r\n\r\nbody 1\r\nbody 2\r\n",
          "TOP n 2")
    c.cmd("TOP 2 99")
    is_eq(c.multi(), want[1], "TOP n beyond the end is the whole mail")
    for bad in ("TOP 1", "TOP", "TOP 0 1", "TOP 9 1", "TOP 1 x"):
        ok(c.cmd(bad).startswith("-ERR"), "%s fails" % bad)
    is_eq(c.cmd("NOOP"), "+OK", "NOOP")
    ok(c.cmd("FOO").startswith("-ERR"), "unknown command")
    ok(c.cmd("STAT 1").startswith("-ERR"), "extra argument")
    is_eq(c.cmd("stat"), "+OK 3 %d" % sum(map(len, want)),
          "verbs are case-blind")
    ok(c.cmd("DELE 1").startswith("+OK"), "DELE")
    ok(c.cmd("DELE 1").startswith("-ERR"), "DELE twice")
    ok(c.cmd("RETR 1").startswith("-ERR"), "RETR of a deleted mail")
    ok(c.cmd("LIST 1").startswith("-ERR"), "LIST of a deleted mail")
    is_eq(c.cmd("STAT"), "+OK 2 %d" % (len(want[1]) + len(want[2])),
          "STAT without the deleted mail")
    c.cmd("LIST")
    ok(not c.multi().startswith(b"1 "), "LIST without the deleted mail")
    ok(c.cmd("RSET").startswith("+OK"), "RSET")
    is_eq(c.cmd("STAT"), "+OK 3 %d" % sum(map(len, want)), "RSET undeletes")
    ok(c.cmd("X" * 300).startswith("-ERR"), "a long line gets -ERR")
    is_eq(c.cmd("NOOP"), "+OK", "the session goes on after a long line")

    # ---- [IN-USE] --------------------------------------------------------
    c2, r2 = login(port)
    ok(r2.startswith("-ERR [IN-USE]"), "second session: [IN-USE]")
    c2.close()

    # ---- a mail added during the session is not shown --------------------
    put(md, "new", "1000000020.M20P20.host", b"Subject: late\n\nlate\n")
    is_eq(c.cmd("STAT"), "+OK 3 %d" % sum(map(len, want)),
          "mail added during the session not shown")

    # ---- dropped connection deletes nothing ------------------------------
    c.cmd("DELE 1")
    c.close()
    time.sleep(0.3)
    ok(os.path.exists(os.path.join(md, "new", "1000000001.M1P1.host")),
       "dropped connection deletes nothing")

    # ---- DELE applied only after QUIT ------------------------------------
    c, r = login(port)
    is_eq(r, "+OK 4 messages (%d octets)" % (sum(map(len, want)) + 23),
          "the next session shows the late mail")
    c.cmd("DELE 1")
    c.cmd("DELE 2")
    ok(os.path.exists(os.path.join(md, "new", "1000000001.M1P1.host")),
       "DELE does not remove before QUIT")
    is_eq(c.cmd("QUIT"), "+OK bye (2 messages left)", "QUIT")
    ok(c.eof(), "connection closed after QUIT")
    ok(not os.path.exists(os.path.join(md, "new", "1000000001.M1P1.host"))
       and not os.path.exists(os.path.join(md, "cur",
                                           "1000000002.M2P2.host:2,S")),
       "QUIT removes the deleted mails")
    ok(os.path.exists(secret), "the symlink target is untouched")

    # ---- the lock is gone once QUIT is answered --------------------------
    # A client that logs in again right after "+OK" to QUIT (mpop with a
    # second account for the same mailbox) must never get [IN-USE].
    in_use = 0
    for i in range(50):
        c, r = login(port)
        if not r.startswith("+OK"):
            in_use += 1
        c.cmd("QUIT")
        c.close()
    is_eq(in_use, 0, "50 logins right after QUIT: none finds the lock")

    # ---- pipelining ------------------------------------------------------
    c = Client(port)
    c.line()
    c.send(b"USER u\r\nPASS p\r\nSTAT\r\nLIST\r\nUIDL 1\r\nNOOP\r\nRETR 1\r\n"
           b"FOO\r\nQUIT\r\n")
    rs = [c.line(), c.line(), c.line(), c.line()]
    ok(rs[0].startswith("+OK") and rs[1].startswith("+OK 2 ")
       and rs[2].startswith("+OK 2 ") and rs[3].startswith("+OK"),
       "pipelined USER PASS STAT LIST answered in order")
    lst = c.multi()
    is_eq(len(lst.split(b"\r\n")) - 1, 2, "pipelined LIST body")
    ok(c.line().startswith("+OK 1 "), "pipelined UIDL n")
    is_eq(c.line(), "+OK", "pipelined NOOP")
    ok(c.line().startswith("+OK"), "pipelined RETR")
    is_eq(c.multi(), crlf(m3), "pipelined RETR body")
    ok(c.line().startswith("-ERR"), "pipelined unknown command")
    ok(c.line().startswith("+OK bye"), "pipelined QUIT")
    c.close()

    # ---- invalid input ending the session --------------------------------
    c, r = login(port)
    c.send(b"N" * 2000 + b"\r\n")
    ok(c.line().startswith("-ERR") and c.eof(),
       "a very long line ends the session")
    c, r = login(port)
    c.send(b"NO\x00OP\r\n")
    ok(c.line().startswith("-ERR") and c.eof(), "a NUL byte ends the session")
    c = Client(port)
    c.line()
    c.send(b"FOO\r\n" * 20)
    lines = [c.line() for _ in range(20)]
    ok(all(l.startswith("-ERR") for l in lines) and c.eof(),
       "too many bad commands end the session")

    # ---- log -------------------------------------------------------------
    with open(log) as f:
        text = f.read()
    ok("logged in" in text and "authentication failed" in text,
       "log file records logins and failures")

    # ---- SIGTERM ---------------------------------------------------------
    c = Client(port)
    c.line()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    is_eq(rc, 0, "SIGTERM ends the listener cleanly")
    ok(not os.path.exists(pf), "the port file is removed")
    ok(c.eof(), "open sessions end with the listener")
    c.close()

    # ---- SIGTERM at the worst moments -------------------------------------
    # Right after the greeting the session is about to wait for a command: a
    # signal that lands before its poll() starts must still end it (it once
    # hung the listener under a loaded parallel `make check`).
    mdt = make_maildir("mdterm")
    put(mdt, "new", "1.big.host", b"Subject: big\n\n"
        + (b"x" * 70 + b"\n") * 120000)
    slow = []
    for i in range(20):
        p, port, pf, log = start(boxes=[("u", "p", mdt)])
        c = Client(port)
        c.line()
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        el = time.monotonic() - t0
        if el > 3:
            slow.append("%.1f" % el)
        c.close()
    ok(not slow, "SIGTERM right after a greeting, 20 times: the listener "
       "always ends at once (slow: %s)" % ", ".join(slow))
    # Right after the port file appears: still a clean exit, file removed.
    bad = []
    for i in range(10):
        p, port, pf, log = start(boxes=[("u", "p", mdt)])
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        if rc != 0 or os.path.exists(pf):
            bad.append(str(rc))
    ok(not bad, "SIGTERM right after the port file appears, 10 times: exit "
       "0, port file removed (%s)" % ", ".join(bad))
    # A session blocked writing a big mail to a client that does not read.
    p, port, pf, log = start(boxes=[("u", "p", mdt)])
    c, r = login(port)
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.send(b"RETR 1\r\n")
    time.sleep(0.5)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    ok(rc == 0 and time.monotonic() - t0 < 3,
       "SIGTERM ends a session blocked in a write")
    c.close()
    ok(os.path.exists(os.path.join(mdt, "new", "1.big.host")),
       "a session ended by SIGTERM deletes nothing")

    # ---- session limit ---------------------------------------------------
    md2 = make_maildir("md2")
    p, port, pf, log = start("--max-sessions=2", boxes=[("u", "p", md2)])
    a, b = Client(port), Client(port)
    ok(a.line().startswith("+OK") and b.line().startswith("+OK"),
       "two sessions allowed")
    c = Client(port)
    is_eq(c.line(), "-ERR [SYS/TEMP] too many sessions",
          "third session refused")
    ok(c.eof(), "refused session closed")
    a.cmd("QUIT")
    a.close()
    got = None
    for _ in range(50):
        c = Client(port)
        got = c.line()
        c.close()
        if got and got.startswith("+OK"):
            break
        time.sleep(0.1)
    ok(got is not None and got.startswith("+OK"),
       "a slot frees when a session ends")
    b.close()

    # ---- the auth delay grows and is shared across sessions --------------
    times = []
    for i in range(4):
        c = greeted(port)
        c.cmd("USER u")
        t0 = time.monotonic()
        r = c.cmd("PASS bad%d" % i)
        times.append(time.monotonic() - t0)
        ok(r.startswith("-ERR [AUTH]"), "failure %d: [AUTH]" % (i + 1))
        c.close()
    print("# delays: %s" % ", ".join("%.2f" % t for t in times))
    ok(times[0] < 0.2 and times[1] >= 0.2 and times[2] >= 0.45
       and times[3] >= 0.95, "the delay grows across sessions")
    c, r = login(port)
    ok(r.startswith("+OK"), "the right password still works after a delay")
    c.close()
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=10)

    # ---- --inetd through a pipe ------------------------------------------
    md3 = make_maildir("md3")
    put(md3, "new", "1.a.host", b"Subject: x\n\nhello\n")
    r = subprocess.run([MPOPD, "--inetd", "--auth=u,echo p",
                        "--maildir=" + md3],
                       input=b"USER u\r\nPASS p\r\nSTAT\r\nRETR 1\r\nDELE 1\r\n"
                       b"QUIT\r\n", capture_output=True, timeout=20)
    is_eq(r.stdout, b"+OK mpopd ready\r\n+OK send PASS\r\n"
          b"+OK 1 messages (21 octets)\r\n+OK 1 21\r\n+OK 21 octets\r\n"
          b"Subject: x\r\n\r\nhello\r\n.\r\n+OK message 1 deleted\r\n"
          b"+OK bye (0 messages left)\r\n", "--inetd session through a pipe")
    is_eq(r.returncode, 0, "--inetd exit code after QUIT")
    ok(os.listdir(os.path.join(md3, "new")) == [], "--inetd QUIT deletes")
    put(md3, "new", "2.a.host", b"x\n")
    r = subprocess.run([MPOPD, "--inetd", "--auth=u,echo p",
                        "--maildir=" + md3],
                       input=b"USER u\r\nPASS p\r\nDELE 1\r\n",
                       capture_output=True, timeout=20)
    ok(r.returncode != 0 and os.listdir(os.path.join(md3, "new"))
       == ["2.a.host"], "--inetd end of input deletes nothing")

    # ---- idle timeout ----------------------------------------------------
    q = subprocess.Popen([MPOPD, "--inetd", "--timeout=1", "--auth=u,echo p",
                          "--maildir=" + md3], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    t0 = time.monotonic()
    try:
        q.stdin.write(b"USER u\r\n")
        q.stdin.flush()
        rc = q.wait(timeout=15)
        out = q.stdout.read()
    except subprocess.TimeoutExpired:
        q.kill()
        rc, out = None, b""
    el = time.monotonic() - t0
    ok(rc is not None and el < 5 and b"-ERR [SYS/TEMP]" in out,
       "idle timeout closes the session (%.1fs)" % el)
    q.stdin.close()
finally:
    for s in servers:
        if s.poll() is None:
            s.kill()
            s.wait()
    shutil.rmtree(tmp, ignore_errors=True)

print("1..%d" % n)
sys.exit(1 if failed else 0)
PYEOF
