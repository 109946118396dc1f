#!/usr/bin/env python3
"""A scripted POP3 server that plays a scenario file and checks the client.

Usage:
  hostile-server.py SCENARIO --port-file FILE [--transcript FILE]
      [--result FILE] [--dele-log FILE] [--limit SECONDS]
      [--tls] [--cert FILE --key FILE]

It listens on 127.0.0.1 on a port chosen by the kernel, writes that port
into --port-file (atomically), accepts one connection and plays the
scenario on it (`accept` in the scenario takes the next connection).  Exit
status: 0 when the scenario ran to its end, 1 when the client deviated or
the time limit (--limit, default 60 s) passed, 2 for a bad scenario or bad
arguments.  --result receives "PASS" or "FAIL: reason (FILE:LINE)".
--transcript receives every line the client sent, one per line, CRLF
removed, bytes outside printable ASCII written as \\xNN (a bare LF ending a
line shows as a trailing \\n).  --dele-log receives the argument of every
DELE the client sent, one per line.  --tls makes every connection implicit
TLS; `starttls` upgrades one in the middle; both need --cert and --key
(tests/lib/certs.sh makes them).

Scenario format: one directive per line; leading blanks are ignored; blank
lines and lines starting with # are comments.  By convention a scenario
starts with comments read by tests/hostile/run-scenario.sh:
  # proves: what the scenario shows about the client
  # expect-exit: N        the exit status the client must end with
  # deleted: 1 3          the DELEs the client may send (default: none)
  # delivered: N          mails the client must deliver (default: 0)
  # rc: LINE              a line added to the client's account (repeatable)
  # server-exit: N        the server's own status (default 0)

Directives:
  send TEXT            send TEXT followed by CRLF (TEXT is everything after
                       the one space that follows "send")
  sendraw BYTES        send BYTES with Python escapes decoded (\\r \\n \\x00
                       \\\\); nothing is added
  send-file PATH       send a file's bytes unchanged (PATH relative to the
                       scenario's folder)
  send-mail PATH       send "+OK N octets", the file with line ends made
                       CRLF and leading dots doubled, then ".": a correct
                       RETR answer
  trickle SECS BYTES   send BYTES (escapes decoded) one byte every SECS
  sleep SECS           wait
  expect GLOB          read the client's next line; it must end in CRLF and
                       match GLOB (fnmatch, case-sensitive: * ? [...])
  expect-any N         read N lines, whatever they are
  expect-eof [GLOB]    the client must close the connection; lines matching
                       GLOB (if given) may come first and are ignored (a
                       QUIT among them is answered "+OK bye")
  timeout SECS         how long expect* wait for the client (default 10)
  log-dele [on|off]    while on, a DELE that arrives while an expect* reads
                       is answered "+OK", logged and not counted as the
                       expected line: the scenario need not know how many
                       DELEs the client sends (every DELE is logged anyway)
  starttls             TLS handshake as the server now (after the scenario
                       sent its answer to STLS)
  close                close the connection
  accept               close the connection if open, take the next one
  repeat N | repeat forever
  end                  the lines in between run N times (forever: until the
                       client closes the connection or the time limit)

When the client closes the connection while the server sends, the server
looks ahead: if only sending directives (and `close`) stand before the next
`expect-eof`, the end of the scenario after a `close`, or an `accept`, the
scenario goes on from there; otherwise the client deviated.
"""

import argparse
import codecs
import fnmatch
import os
import signal
import socket
import ssl
import sys
import time

SENDING = {"send", "sendraw", "send-file", "send-mail", "trickle", "sleep",
           "end", "repeat", "close", "log-dele", "timeout"}
KNOWN = SENDING | {"expect", "expect-any", "expect-eof", "starttls", "accept"}
MAX_LINE = 1 << 20


class Deviation(Exception):
    """The client did something the scenario does not allow."""


class PeerClosed(Exception):
    """The client closed the connection while the server was sending."""


class Scenario:
    def __init__(self, path):
        self.path = path
        self.dir = os.path.dirname(os.path.abspath(path))
        self.prog = []          # (lineno, op, arg)
        self.match = {}         # repeat index <-> end index
        with open(path, "rb") as f:
            raw = f.read().decode("latin-1")
        stack = []
        for n, line in enumerate(raw.split("\n"), 1):
            line = line.rstrip("\r").lstrip(" \t")
            if not line or line.startswith("#"):
                continue
            op, _, arg = line.partition(" ")
            if op not in KNOWN:
                raise ValueError("%s:%d: unknown directive '%s'"
                                 % (path, n, op))
            idx = len(self.prog)
            if op == "repeat":
                if arg != "forever" and not arg.isdigit():
                    raise ValueError("%s:%d: repeat needs N or forever"
                                     % (path, n))
                stack.append(idx)
            elif op == "end":
                if not stack:
                    raise ValueError("%s:%d: end without repeat" % (path, n))
                start = stack.pop()
                self.match[start] = idx
                self.match[idx] = start
            elif op in ("trickle",):
                secs, _, data = arg.partition(" ")
                float(secs)
            elif op in ("sleep", "timeout"):
                float(arg)
            elif op == "expect-any":
                int(arg)
            self.prog.append((n, op, arg))
        if stack:
            raise ValueError("%s: repeat without end" % path)


def unescape(text):
    return codecs.escape_decode(text.encode("latin-1"))[0]


def show(line):
    out = []
    for b in line:
        if 32 <= b < 127 and b != 0x5C:
            out.append(chr(b))
        elif b == 0x5C:
            out.append("\\\\")
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


class Server:
    def __init__(self, sc, args):
        self.sc = sc
        self.args = args
        self.deadline = time.monotonic() + args.limit
        self.read_timeout = 10.0
        self.log_dele = False
        self.conn = None
        self.buf = b""
        self.ctx = None
        if args.cert:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(args.cert, args.key)
        self.transcript = open(args.transcript, "ab") if args.transcript \
            else None
        self.dele = open(args.dele_log, "ab") if args.dele_log else None
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", args.port))
        self.lsock.listen(8)
        port = self.lsock.getsockname()[1]
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)

    def remaining(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Deviation("time limit of %g s reached" % self.args.limit)
        return left

    # --- connection ---------------------------------------------------

    def accept(self):
        self.close()
        self.lsock.settimeout(self.remaining())
        try:
            conn, _ = self.lsock.accept()
        except socket.timeout:
            raise Deviation("no client connected")
        if self.args.tls:
            conn.settimeout(self.remaining())
            try:
                conn = self.ctx.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as e:
                raise Deviation("TLS handshake failed: %s" % e)
        self.conn = conn
        self.buf = b""

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None
        self.buf = b""

    def starttls(self):
        if self.buf:
            self.record(self.buf, " (sent before the TLS handshake)")
            raise Deviation("client sent data after STLS before the "
                            "handshake")
        self.conn.settimeout(self.remaining())
        try:
            self.conn = self.ctx.wrap_socket(self.conn, server_side=True)
        except (ssl.SSLError, OSError) as e:
            raise Deviation("TLS handshake failed: %s" % e)

    # --- output ---------------------------------------------------------

    def send(self, data):
        if self.conn is None:
            raise Deviation("send without a connection")
        self.conn.settimeout(min(self.remaining(), 30.0))
        try:
            self.conn.sendall(data)
        except socket.timeout:
            raise Deviation("client stopped reading")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            raise PeerClosed()
        except OSError as e:
            raise PeerClosed() if e.errno in (32, 104) else e

    # --- input ----------------------------------------------------------

    def record(self, line, note=""):
        if self.transcript:
            self.transcript.write((show(line) + note).encode() + b"\n")
            self.transcript.flush()

    def readline(self):
        """Next client line (CRLF or LF removed, plus a flag telling
        whether it ended in CRLF), or None at EOF."""
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise Deviation("client line longer than %d bytes"
                                % MAX_LINE)
            self.conn.settimeout(min(self.read_timeout, self.remaining()))
            try:
                chunk = self.conn.recv(65536)
            except socket.timeout:
                if self.remaining() > 0:
                    raise Deviation("client sent nothing for %g s"
                                    % self.read_timeout)
            except (ConnectionResetError, ssl.SSLError):
                chunk = b""
            if not chunk:
                if self.buf:
                    self.record(self.buf, " (no line end before EOF)")
                    raise Deviation("client closed in the middle of a line")
                return None, True
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        crlf = line.endswith(b"\r")
        if crlf:
            line = line[:-1]
        self.record(line, "" if crlf else "\\n")
        if line[:5].upper() == b"DELE " and self.dele:
            self.dele.write(line[5:].strip() + b"\n")
            self.dele.flush()
        return line, crlf

    def next_line(self):
        """Like readline, but answers DELE itself while log-dele is on."""
        while True:
            line, crlf = self.readline()
            if line is None:
                return None
            if not crlf:
                raise Deviation("client line not ended by CRLF: %s"
                                % show(line))
            if self.log_dele and line[:5].upper() == b"DELE ":
                self.send(b"+OK\r\n")
                continue
            return line

    # --- the scenario ---------------------------------------------------

    def after_peer_closed(self, pc):
        """The client closed while we sent at pc: where to go on."""
        closed = False
        prog = self.sc.prog
        k = pc + 1
        while k < len(prog):
            op = prog[k][1]
            if op == "expect-eof" or (op == "accept"):
                return k
            if op == "close":
                closed = True
            if op not in SENDING:
                break
            k += 1
        if k >= len(prog) and closed:
            return k
        n, op, arg = prog[min(k, len(prog) - 1)]
        raise Deviation("client closed the connection; the scenario still "
                        "had '%s %s' at line %d" % (op, arg, n))

    def run(self):
        prog = self.sc.prog
        loops = []      # [repeat index, runs left or None for forever]
        pc = 0
        self.accept()
        while pc < len(prog):
            n, op, arg = prog[pc]
            self.lineno = n
            try:
                jump = self.step(pc, op, arg, loops)
            except PeerClosed:
                self.close_quietly()
                k = self.after_peer_closed(pc)
                loops[:] = [l for l in loops
                            if l[0] < k < self.sc.match[l[0]]]
                pc = k
                continue
            pc = jump if jump is not None else pc + 1
        self.close()

    def close_quietly(self):
        # After the peer closed, further sends must not be attempted; keep
        # the socket so expect-eof sees EOF.
        pass

    def step(self, pc, op, arg, loops):
        if op == "send":
            self.send(arg.encode("latin-1") + b"\r\n")
        elif op == "sendraw":
            self.send(unescape(arg))
        elif op == "send-file":
            with open(os.path.join(self.sc.dir, arg), "rb") as f:
                self.send(f.read())
        elif op == "send-mail":
            with open(os.path.join(self.sc.dir, arg), "rb") as f:
                body = f.read()
            lines = body.split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            out = b""
            for l in lines:
                l = l[:-1] if l.endswith(b"\r") else l
                out += (b"." if l.startswith(b".") else b"") + l + b"\r\n"
            size = sum(len(l.rstrip(b"\r")) + 2 for l in lines)
            self.send(b"+OK %d octets\r\n" % size + out + b".\r\n")
        elif op == "trickle":
            secs, _, data = arg.partition(" ")
            for b in unescape(data):
                self.send(bytes([b]))
                time.sleep(min(float(secs), self.remaining()))
        elif op == "sleep":
            time.sleep(min(float(arg), self.remaining()))
        elif op == "timeout":
            self.read_timeout = float(arg)
        elif op == "log-dele":
            self.log_dele = arg.strip() in ("", "on")
        elif op == "expect":
            line = self.next_line()
            if line is None:
                raise Deviation("client closed the connection; expected "
                                "'%s'" % arg)
            if not fnmatch.fnmatchcase(line.decode("latin-1"), arg):
                raise Deviation("client sent '%s'; expected '%s'"
                                % (show(line), arg))
        elif op == "expect-any":
            for _ in range(int(arg)):
                if self.next_line() is None:
                    raise Deviation("client closed the connection; expected "
                                    "%s more line(s)" % arg)
        elif op == "expect-eof":
            while True:
                if self.conn is None:
                    break
                line = self.next_line()
                if line is None:
                    break
                if not arg or not fnmatch.fnmatchcase(
                        line.decode("latin-1"), arg):
                    raise Deviation("client sent '%s'; expected it to close "
                                    "the connection" % show(line))
                if line.upper() == b"QUIT":
                    # A client that waits for QUIT's answer gets it.
                    try:
                        self.send(b"+OK bye\r\n")
                    except PeerClosed:
                        pass
            self.close()
        elif op == "starttls":
            if self.ctx is None:
                raise Deviation("starttls needs --cert and --key")
            self.starttls()
        elif op == "close":
            self.close()
        elif op == "accept":
            self.accept()
        elif op == "repeat":
            if loops and loops[-1][0] == pc:
                return None
            loops.append([pc, None if arg == "forever" else int(arg)])
            if loops[-1][1] == 0:
                loops.pop()
                return self.sc.match[pc] + 1
        elif op == "end":
            top = loops[-1]
            if top[1] is not None:
                top[1] -= 1
                if top[1] <= 0:
                    loops.pop()
                    return None
            self.remaining()
            return top[0] + 1
        return None


def main():
    ap = argparse.ArgumentParser(description="scripted POP3 server")
    ap.add_argument("scenario")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--transcript")
    ap.add_argument("--result")
    ap.add_argument("--dele-log")
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    if (args.cert is None) != (args.key is None) or \
            (args.tls and not args.cert):
        ap.error("--tls needs --cert and --key; give both or neither")

    def result(text):
        if args.result:
            with open(args.result, "w") as f:
                f.write(text + "\n")

    try:
        sc = Scenario(args.scenario)
    except (OSError, ValueError) as e:
        print("hostile-server: %s" % e, file=sys.stderr)
        result("FAIL: bad scenario: %s" % e)
        return 2

    def on_term(signum, frame):
        raise Deviation("killed by signal %d" % signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    srv = Server(sc, args)
    srv.lineno = 0
    try:
        srv.run()
    except Deviation as e:
        msg = "FAIL: %s (%s:%d)" % (e, os.path.basename(sc.path), srv.lineno)
        print("hostile-server: " + msg, file=sys.stderr)
        result(msg)
        srv.close()
        return 1
    result("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
