#!/bin/bash
# mpopd with TLS: STLS (--tls-cert/--tls-key) and implicit TLS
# (--tls-implicit) with a certificate made by certtool (tests/lib/certs.sh),
# checked with python3's ssl module and with our own client's --serverinfo;
# plaintext logins refused before STLS; data pipelined after STLS ends the
# session; --inetd over TLS; the handshake is bounded by --timeout; SIGTERM
# during a TLS session.  Prints TAP.
: "${TESTLIB:=$(dirname "$0")/../lib}"
. "$TESTLIB/common.sh"
. "$TESTLIB/certs.sh"

: "${MPOPD:=${top_builddir:-.}/src/mpopd}"
: "${MPOP:=${top_builddir:-.}/src/mpop}"
[ -x "$MPOPD" ] || skip_all "$MPOPD is not built"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
command -v certtool >/dev/null 2>&1 || skip_all "certtool is not installed"
certs_make "$T/certs" >/dev/null 2>&1 || skip_all "certtool failed"

export MPOPD MPOP T
exec python3 - <<'PYEOF'
import os, signal, socket, ssl, subprocess, sys, time

MPOPD, MPOP, T = os.environ["MPOPD"], os.environ["MPOP"], os.environ["T"]
CERTS = os.path.join(T, "certs")
CERT = ["--tls-cert=" + os.path.join(CERTS, "server.pem"),
        "--tls-key=" + os.path.join(CERTS, "server.key")]
n = 0
failed = 0
servers = []


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


def make_maildir(name, mails):
    md = os.path.join(T, name)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, sub))
    for i, data in enumerate(mails):
        with open(os.path.join(md, "new", "%d.M%dP1.host" % (1000 + i, i)),
                  "wb") as f:
            f.write(data)
    return md


def start(md, *args):
    k = len(servers)
    pf = os.path.join(T, "port-%d" % k)
    log = os.path.join(T, "log-%d" % k)
    p = subprocess.Popen([MPOPD, "--port=0", "--port-file=" + pf,
                          "--log=" + log, "--auth=u,echo p",
                          "--maildir=" + md] + list(args))
    for _ in range(500):
        if os.path.exists(pf) or p.poll() is not None:
            break
        time.sleep(0.02)
    with open(pf) as f:
        port = int(f.read())
    servers.append(p)
    return p, port, log


def tls_ctx():
    ctx = ssl.create_default_context(cafile=os.path.join(CERTS, "ca.pem"))
    return ctx


class Client:
    def __init__(self, port=None, sock=None):
        self.s = sock or socket.create_connection(("127.0.0.1", port),
                                                  timeout=10)
        self.s.settimeout(10)
        self.buf = b""

    def starttls(self):
        self.s = tls_ctx().wrap_socket(self.s, server_hostname="localhost")

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            try:
                d = self.s.recv(65536)
            except (OSError, ssl.SSLError):
                d = b""
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
        out = []
        while True:
            l = self.line()
            if l is None:
                raise EOFError
            if l == ".":
                return out
            out.append(l[1:] if l.startswith(".") else l)

    def eof(self):
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except (OSError, ssl.SSLError):
            return True

    def close(self):
        self.s.close()


def run(args, **kw):
    return subprocess.run([MPOPD] + args, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=20, **kw)


M1 = b"Subject: one\n\n.dot\nbody\n"
try:
    # ---- options ---------------------------------------------------------
    md = make_maildir("md", [M1])
    r = subprocess.run([MPOPD, "--help"], capture_output=True, text=True)
    ok(all(o in r.stdout for o in ("--tls-cert", "--tls-key",
                                   "--tls-implicit")),
       "--help lists the TLS options")
    base = ["--inetd", "--auth=u,echo p", "--maildir=" + md]
    is_eq(run(base + CERT[:1]).returncode, 64, "--tls-cert without --tls-key")
    is_eq(run(base + CERT[1:]).returncode, 64, "--tls-key without --tls-cert")
    is_eq(run(base + ["--tls-implicit"]).returncode, 64,
          "--tls-implicit without a certificate")
    r = run(base + ["--tls-cert=" + os.path.join(T, "nonexistent.pem"),
                    CERT[1]])
    ok(r.returncode == 66 and "nonexistent.pem" in r.stderr,
       "unreadable certificate: EX_NOINPUT naming the file")
    r = run(base + ["--tls-cert=" + os.path.join(CERTS, "client.pem"),
                    CERT[1]])
    ok(r.returncode == 78 and "does not belong" in r.stderr,
       "key not matching the certificate: EX_CONFIG")

    # ---- implicit TLS ----------------------------------------------------
    p, port, log = start(md, "--tls-implicit", *CERT)
    c = Client(port)
    c.starttls()
    is_eq(c.line(), "+OK mpopd ready", "implicit TLS: greeting over TLS")
    ok(c.s.version() in ("TLSv1.2", "TLSv1.3"),
       "implicit TLS: version %s" % c.s.version())
    c.send(b"CAPA\r\n")
    c.line()
    capa = c.multi()
    ok("USER" in capa and "STLS" not in capa,
       "implicit TLS: CAPA has USER, no STLS")
    ok(c.cmd("STLS").startswith("-ERR"), "implicit TLS: STLS refused")
    c.cmd("USER u")
    ok(c.cmd("PASS p").startswith("+OK 1 messages"), "implicit TLS: login")
    c.send(b"RETR 1\r\n")
    ok(c.line().startswith("+OK"), "implicit TLS: RETR")
    is_eq(c.multi(), ["Subject: one", "", ".dot", "body"],
          "implicit TLS: RETR content")
    ok(c.cmd("QUIT").startswith("+OK bye"), "implicit TLS: QUIT")
    ok(c.eof(), "implicit TLS: closed after QUIT")
    c.close()

    c = Client(port)
    c.send(b"USER u\r\n")
    got = b""
    try:
        while True:
            d = c.s.recv(4096)
            if not d:
                break
            got += d
    except OSError:
        pass
    ok(b"+OK" not in got and b"USER" not in got,
       "implicit TLS: a plain client gets no POP3 text")
    c.close()

    # the certificate is checked the way a client checks it
    c = Client(port)
    bad = ssl.create_default_context(
        cafile=os.path.join(CERTS, "selfsigned.pem"))
    try:
        bad.wrap_socket(c.s, server_hostname="localhost")
        ok(False, "implicit TLS: an untrusting client refuses the server")
    except ssl.SSLError:
        ok(True, "implicit TLS: an untrusting client refuses the server")
    c.close()

    # our own client
    home = os.path.join(T, "home")
    os.makedirs(home)
    env = dict(os.environ, HOME=home)
    rc = os.path.join(home, ".mpoprc")
    with open(rc, "w") as f:
        f.write("")
    os.chmod(rc, 0o600)
    if os.access(MPOP, os.X_OK):
        si = ["--serverinfo", "--host=localhost", "--port=%d" % port,
              "--user=u", "--tls=on", "--tls-starttls=off"]
        r = subprocess.run([MPOP] + si + ["--tls-trust-file=" +
                            os.path.join(CERTS, "ca.pem")],
                           capture_output=True, text=True, env=env,
                           timeout=30, stdin=subprocess.DEVNULL)
        ok(r.returncode == 0 and "mpopd ready" in r.stdout
           and "TLS session parameters" in r.stdout
           and "CN=localhost" in r.stdout,
           "mpop --serverinfo over implicit TLS")
        if r.returncode != 0:
            print("# " + (r.stdout + r.stderr).replace("\n", "\n# "))
        r = subprocess.run([MPOP] + si + ["--tls-trust-file=" +
                            os.path.join(CERTS, "selfsigned.pem")],
                           capture_output=True, text=True, env=env,
                           timeout=30, stdin=subprocess.DEVNULL)
        ok(r.returncode != 0 and "mpopd ready" not in r.stdout,
           "mpop --serverinfo refuses an untrusted mpopd certificate")
    else:
        for name in ("mpop --serverinfo over implicit TLS",
                     "mpop --serverinfo refuses an untrusted certificate"):
            n += 1
            print("ok %d - %s # SKIP %s not built" % (n, name, MPOP))

    # SIGTERM with a TLS session open
    c = Client(port)
    c.starttls()
    c.line()
    p.send_signal(signal.SIGTERM)
    try:
        rc_ = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc_ = None
    is_eq(rc_, 0, "implicit TLS: SIGTERM ends the listener and the session")
    c.close()

    # the handshake is bounded by --timeout
    p, port, log = start(md, "--timeout=1", "--tls-implicit", *CERT)
    c = Client(port)
    t0 = time.monotonic()
    ok(c.eof() and time.monotonic() - t0 < 5,
       "implicit TLS: a silent client is dropped after --timeout")
    c.close()
    c = Client(port)
    c.send(b"\x16\x03\x01")             # the start of a record, then nothing
    t0 = time.monotonic()
    ok(c.eof() and time.monotonic() - t0 < 5,
       "implicit TLS: a stalled handshake is dropped after --timeout")
    c.close()
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=10)

    # ---- STLS ------------------------------------------------------------
    p, port, log = start(md, *CERT)
    c = Client(port)
    is_eq(c.line(), "+OK mpopd ready", "STLS: plain greeting")
    c.send(b"CAPA\r\n")
    c.line()
    capa = c.multi()
    ok("STLS" in capa and "USER" not in capa,
       "STLS: CAPA before TLS has STLS, not USER")
    ok(c.cmd("USER u").startswith("-ERR [AUTH]"),
       "STLS: USER refused before TLS")
    ok(c.cmd("PASS p").startswith("-ERR [AUTH]"),
       "STLS: PASS refused before TLS")
    is_eq(c.cmd("STLS"), "+OK begin TLS negotiation", "STLS: +OK")
    c.starttls()
    c.send(b"CAPA\r\n")
    ok(c.line().startswith("+OK"), "STLS: CAPA over TLS")
    capa = c.multi()
    ok("USER" in capa and "STLS" not in capa,
       "STLS: CAPA after TLS has USER, not STLS")
    ok(c.cmd("STLS").startswith("-ERR"), "STLS: a second STLS is refused")
    ok(c.cmd("PASS p").startswith("-ERR"),
       "STLS: PASS over TLS needs a USER over TLS")
    c.cmd("USER u")
    ok(c.cmd("PASS p").startswith("+OK"), "STLS: login over TLS")
    c.send(b"RETR 1\r\n")
    c.line()
    is_eq(c.multi(), ["Subject: one", "", ".dot", "body"],
          "STLS: RETR content")
    ok(c.cmd("QUIT").startswith("+OK bye"), "STLS: QUIT")
    c.close()

    # a command pipelined behind STLS, in the clear: the injection case
    c = Client(port)
    c.line()
    c.send(b"STLS\r\nUSER u\r\n")
    r1 = c.line()
    ok(r1 is not None and r1.startswith("-ERR") and c.eof(),
       "STLS: plaintext after STLS ends the session")
    c.close()
    time.sleep(0.2)
    with open(log) as f:
        ok("after STLS" in f.read(), "STLS: the injection is logged")

    # a client that says STLS, then something that is not TLS
    c = Client(port)
    c.line()
    is_eq(c.cmd("STLS"), "+OK begin TLS negotiation", "STLS: +OK again")
    c.send(b"USER u\r\nPASS p\r\n")
    got = c.line()
    ok(got is None or not got.startswith("+OK"),
       "STLS: no plaintext command is answered after STLS")
    c.close()

    if os.access(MPOP, os.X_OK):
        r = subprocess.run([MPOP, "--serverinfo", "--host=localhost",
                            "--port=%d" % port, "--user=u", "--tls=on",
                            "--tls-starttls=on", "--tls-trust-file=" +
                            os.path.join(CERTS, "ca.pem")],
                           capture_output=True, text=True, env=env,
                           timeout=30, stdin=subprocess.DEVNULL)
        ok(r.returncode == 0 and "TLS session parameters" in r.stdout
           and "STLS" in r.stdout, "mpop --serverinfo with STLS")
        if r.returncode != 0:
            print("# " + (r.stdout + r.stderr).replace("\n", "\n# "))
    else:
        n += 1
        print("ok %d - mpop --serverinfo with STLS # SKIP not built" % n)
    p.send_signal(signal.SIGTERM)
    is_eq(p.wait(timeout=10), 0, "STLS: SIGTERM")

    # ---- --inetd over TLS ------------------------------------------------
    for mode, extra in (("implicit", ["--tls-implicit"]), ("STLS", [])):
        a, b = socket.socketpair()
        q = subprocess.Popen([MPOPD, "--inetd", "--auth=u,echo p",
                              "--maildir=" + md] + CERT + extra,
                             stdin=b.fileno(), stdout=b.fileno())
        b.close()
        c = Client(sock=a)
        if mode == "STLS":
            c.line()
            c.cmd("STLS")
        c.s = tls_ctx().wrap_socket(c.s, server_hostname="localhost")
        if mode == "implicit":
            c.line()
        c.cmd("USER u")
        r = c.cmd("PASS p")
        q_ = c.cmd("QUIT")
        ok(r.startswith("+OK 1 messages") and q_.startswith("+OK bye"),
           "--inetd with %s TLS" % mode)
        c.close()
        try:
            rc_ = q.wait(timeout=10)
        except subprocess.TimeoutExpired:
            q.kill()
            rc_ = None
        is_eq(rc_, 0, "--inetd with %s TLS: exit 0" % mode)
finally:
    for s in servers:
        if s.poll() is None:
            s.kill()
            s.wait()

print("1..%d" % n)
sys.exit(1 if failed else 0)
PYEOF
