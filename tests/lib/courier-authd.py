#!/usr/bin/env python3
"""A stand-in for Courier's authdaemond, for the Courier pop3d interop test.

Usage: courier-authd.py SOCKET USERS

Courier's login programs ask authdaemond, over a unix socket, to check a
login (RFC-less text protocol of courier-authlib: "AUTH <n>\\n" and n bytes
"service\\nauthtype\\nauthdata", answered with KEY=VALUE lines and "." or
with "FAIL").  The real authdaemond reads its configuration and modules
from paths compiled in (/etc/courier, /usr/lib/courier-authlib), which a
test cannot point elsewhere; this one serves the users of USERS, one per
line: "name password uid gid home".  The request may start with metadata
lines ("TCPREMOTEIP=..."), which are skipped.  It checks "login" (USER/PASS, PLAIN,
LOGIN) and "cram-md5", "cram-sha1", "cram-sha256" (HMAC of the challenge
with the password) like authlib does, and answers "PRE" lookups.  Anything
else fails.  It serves until killed.
"""

import base64
import hashlib
import hmac
import os
import socket
import sys


def load(path):
    users = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) == 5:
                users[w[0]] = w[1:]
    return users


def reply(u, name):
    pw, uid, gid, home = u
    # No USERNAME: with it, authlib switches to that system user
    # (getpwnam); with UID and GID it takes the numbers.
    return ("UID=%s\nGID=%s\nHOME=%s\nADDRESS=%s\n"
            "MAILDIR=%s/Maildir\n.\n" % (uid, gid, home, name,
                                         home)).encode()


def check(users, authtype, data):
    lines = data.split("\n")
    if authtype == "login" and len(lines) >= 2:
        u = users.get(lines[0])
        if u and hmac.compare_digest(u[0], lines[1]):
            return reply(u, lines[0])
        return b"FAIL\n"
    algo = {"cram-md5": hashlib.md5, "cram-sha1": hashlib.sha1,
            "cram-sha256": hashlib.sha256}.get(authtype)
    if algo and len(lines) >= 2:
        try:
            chal = base64.b64decode(lines[0])
            name, digest = base64.b64decode(lines[1]).decode().rsplit(" ", 1)
        except (ValueError, UnicodeError):
            return b"FAIL\n"
        u = users.get(name)
        if u:
            want = hmac.new(u[0].encode(), chal, algo).hexdigest()
            if hmac.compare_digest(want, digest.lower()):
                return reply(u, name)
    return b"FAIL\n"


def serve(conn, users):
    buf = b""
    while True:
        while b"\n" not in buf:
            d = conn.recv(4096)
            if not d:
                return
            buf += d
        head, rest = buf.split(b"\n", 1)
        # authlib 0.71 sends the connection's metadata first, one
        # KEY=VALUE line each (TCPREMOTEIP=...), then the command.
        if b"=" in head.split(b" ", 1)[0]:
            buf = rest
            continue
        break
    w = head.decode(errors="replace").split()
    if w[:1] == ["AUTH"] and len(w) == 2:
        n = int(w[1])
        while len(rest) < n:
            d = conn.recv(4096)
            if not d:
                return
            rest += d
        parts = rest[:n].decode(errors="replace").split("\n", 2)
        if len(parts) == 3:
            conn.sendall(check(users, parts[1], parts[2]))
            return
    elif w[:1] == ["PRE"] and len(w) == 4:
        u = users.get(w[3])
        conn.sendall(reply(u, w[3]) if u else b"FAIL\n")
        return
    conn.sendall(b"FAIL\n")


def main():
    path, users = sys.argv[1], load(sys.argv[2])
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o777)
    s.listen(16)
    while True:
        conn, _ = s.accept()
        with conn:
            try:
                serve(conn, users)
            except (OSError, ValueError):
                pass


if __name__ == "__main__":
    main()
