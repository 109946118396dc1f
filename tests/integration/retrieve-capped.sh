#!/bin/bash
# A provider that lists only a few mails per session (issue 16): the
# server holds 50 mails and lists at most 20 in each session; the next
# session lists the next ones ("the mailbox refills").  Two kinds:
#   delete      the listing is the first 20 mails still on the server
#               (keep off: each run deletes what it fetched);
#   downloaded  the listing is the first 20 mails never retrieved before,
#               as a provider that hides what POP already downloaded does
#               (keep on: nothing is deleted).
# Asserted: each run delivers the mails of its listing, every mail is
# retrieved exactly once over all the runs (the server logs each RETR),
# and the last run finds nothing.  The server is a small POP3 server in
# Python that answers pipelined commands in order.  Takes about 2 s.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
MPOP=${MPOP:-$(dirname "$0")/../../src/mpop}
[ -x "$MPOP" ] || bail_out "no client to test: $MPOP"

cat >"$T/capped.py" <<'EOF'
import socket, sys

port_file, mode, total, cap, log = sys.argv[1:6]
total, cap = int(total), int(cap)
present = list(range(1, total + 1))     # mail numbers on the server
fetched = set()                         # ever retrieved (downloaded mode)


def mail(i):
    return ("Message-ID: <capped.%d@example.org>\r\nSubject: mail %d\r\n"
            "\r\nbody of mail %d\r\n" % (i, i, i)).encode()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(4)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
import os
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = ls.accept()
    if mode == "delete":
        shown = present[:cap]
    else:
        shown = [i for i in present if i not in fetched][:cap]
    dele = set()
    f = c.makefile("rwb")
    out = [b"+OK capped POP3 server\r\n"]
    f.write(out.pop())
    f.flush()
    for raw in f:
        cmd = raw.decode().strip().split()
        if not cmd:
            continue
        w, arg = cmd[0].upper(), cmd[1:]
        def ok(t=""):
            f.write(b"+OK " + t.encode() + b"\r\n")
        n = int(arg[0]) if arg and arg[0].isdigit() else 0
        valid = 1 <= n <= len(shown) and n not in dele
        if w == "CAPA":
            ok()
            f.write(b"USER\r\nUIDL\r\nPIPELINING\r\n.\r\n")
        elif w in ("USER", "PASS", "NOOP"):
            ok()
        elif w == "STAT":
            ok("%d %d" % (len(shown), sum(len(mail(i)) for i in shown)))
        elif w == "LIST":
            ok()
            for k, i in enumerate(shown, 1):
                f.write(b"%d %d\r\n" % (k, len(mail(i))))
            f.write(b".\r\n")
        elif w == "UIDL":
            ok()
            for k, i in enumerate(shown, 1):
                f.write(b"%d uid-%05d\r\n" % (k, i))
            f.write(b".\r\n")
        elif w == "RETR" and valid:
            i = shown[n - 1]
            fetched.add(i)
            with open(log, "a") as lf:
                lf.write("uid-%05d\n" % i)
            ok()
            f.write(mail(i) + b".\r\n")
        elif w == "DELE" and valid:
            dele.add(n)
            ok()
        elif w == "QUIT":
            for k in dele:
                present.remove(shown[k - 1])
            ok()
            break
        else:
            f.write(b"-ERR no\r\n")
        f.flush()
    f.flush()
    f.close()
    c.close()
EOF

# run_mode MODE KEEP: four runs of mpop against a fresh server
run_mode()
{
    local mode=$1 keep=$2 d=$T/$1 i got want pid
    mkdir -p "$d/md/new" "$d/md/cur" "$d/md/tmp"
    python3 "$T/capped.py" "$d/port" "$mode" 50 20 "$d/retr.log" &
    pid=$!
    at_exit "kill_ours $pid"
    wait_file "$d/port" 10 || bail_out "the capped server did not start"
    cat >"$d/rc" <<EOF
account capped
host 127.0.0.1
port $(cat "$d/port")
user u
password p
auth user
tls off
timeout 10
keep $keep
delivery maildir $d/md
uidls_file $d/uidls
EOF
    chmod 600 "$d/rc"
    for i in 1 2 3 4; do
        want=$((i < 3 ? 20 : i == 3 ? 10 : 0))
        before=$(find "$d/md/new" -type f | wc -l)
        "$MPOP" -C "$d/rc" -q capped >"$d/out.$i" 2>&1
        is "$?" 0 "$mode: run $i exits 0"
        got=$(($(find "$d/md/new" -type f | wc -l) - before))
        is "$got" "$want" "$mode: run $i delivers the $want mails it was shown"
    done
    is "$(wc -l <"$d/retr.log")" 50 "$mode: 50 RETR over all runs"
    is "$(sort "$d/retr.log" | uniq -d | wc -l)" 0 \
        "$mode: no mail retrieved twice"
    is "$(grep -l '^Subject: mail ' "$d"/md/new/* | wc -l)" 50 \
        "$mode: all 50 mails delivered"
    kill_ours "$pid"
    wait "$pid" 2>/dev/null || true
}

plan 22
run_mode delete off
run_mode downloaded on
