#!/bin/bash
# Proves the dovecot harness (tests/lib/dovecot.sh): a plain, a STARTTLS and
# an implicit-TLS instance start side by side on free ports, greet, accept
# the test user, report exactly the mails put into the maildir, reject a
# wrong password at once, verify against the test CA, and stop cleanly.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

# pop3_probe MODE PORT CA USER PASS NMAILS_SEEN_BY_CAPA...
# Talks POP3 with python3 and prints key=value lines for the assertions.
pop3_probe()
{
    python3 - "$@" <<'EOF'
import socket, ssl, sys, time

mode, port, ca, user, password = sys.argv[1:6]
port = int(port)

def context():
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = True
    return ctx

sock = socket.create_connection(("127.0.0.1", port), 10)
if mode == "tls":
    sock = context().wrap_socket(sock, server_hostname="localhost")
    print("tls=" + sock.version())
f = sock.makefile("rb")

def send(line):
    sock.sendall(line.encode() + b"\r\n")

def reply():
    return f.readline().decode("ascii", "replace").rstrip("\r\n")

def multiline():
    lines = []
    while True:
        l = reply()
        if l == ".":
            return lines
        lines.append(l[1:] if l.startswith("..") else l)

print("greeting=" + reply())
send("CAPA")
r = reply()
caps = multiline() if r.startswith("+OK") else []
print("stls=" + ("yes" if "STLS" in caps else "no"))
if mode == "starttls":
    send("STLS")
    print("stls_reply=" + reply())
    f.close()
    sock = context().wrap_socket(sock, server_hostname="localhost")
    f = sock.makefile("rb")
    print("tls=" + sock.version())

t0 = time.time()
send("USER " + user)
reply()
send("PASS wrong-" + password)
print("badpass=" + reply().split(" ")[0])
print("badpass_fast=" + ("yes" if time.time() - t0 < 1.5 else "no"))
send("USER " + user)
reply()
send("PASS " + password)
print("login=" + reply().split(" ")[0])
send("STAT")
print("stat=" + reply())
send("UIDL")
r = reply()
print("uidls=%d" % (len(multiline()) if r.startswith("+OK") else -1))
send("QUIT")
print("quit=" + reply().split(" ")[0])
EOF
}

modes="plain starttls tls"
plan 28

# Make the CA once; the TLS instances share it.
certs_make "$T/certs" || bail_out "certtool failed"

declare -A dirs nmails
n=1
for mode in $modes; do
    d=$T/dovecot-$mode
    mkdir -p "$d"
    cp -r "$T/certs" "$d/certs"
    if dovecot_start "$mode" "$d" 2>"$T/start-$mode.err"; then
        pass "$mode: dovecot started on port $DOVECOT_PORT"
    else
        fail "$mode: dovecot started"
        diag_file "$T/start-$mode.err"
        continue
    fi
    dirs[$mode]=$d
    # A different number of mails per instance, so a probe that reached
    # the wrong instance would show.
    for ((i = 0; i < n + 1; i++)); do
        printf 'From: a@example.org\nSubject: %s %d\n\nbody %d\n' \
            "$mode" "$i" "$i" >"$T/mail"
        maildir_add "$d" "$T/mail"
    done
    nmails[$mode]=$((n + 1))
    eval "port_$mode=$DOVECOT_PORT ca_$mode=\${DOVECOT_CA:-none}"
    n=$((n + 1))
done

is "$(maildir_count "$T/dovecot-plain")" 2 "maildir_add put 2 mails in place"

for mode in $modes; do
    eval "port=\${port_$mode:-0} ca=\${ca_$mode:-none}"
    out=$(pop3_probe "$mode" "$port" "$ca" "$DOVECOT_USER" "$DOVECOT_PASS" \
        2>"$T/probe-$mode.err")
    get() { printf '%s\n' "$out" | sed -n "s/^$1=//p"; }
    like "$(get greeting)" '+OK *<*@*>' "$mode: greeting with APOP timestamp"
    is "$(get badpass)" "-ERR" "$mode: wrong password refused"
    is "$(get badpass_fast)" "yes" "$mode: refusal is not delayed"
    is "$(get login)" "+OK" "$mode: login as $DOVECOT_USER"
    want=${nmails[$mode]:-0}
    like "$(get stat)" "+OK $want *" "$mode: STAT counts $want mails"
    is "$(get uidls)" "$want" "$mode: UIDL lists $want mails"
    case $mode in
        plain) is "$(get stls)" no "plain: no STLS offered" ;;
        starttls) like "$(get tls)" 'TLSv1.[23]' \
            "starttls: STLS upgrade verified against the test CA" ;;
        tls) like "$(get tls)" 'TLSv1.[23]' \
            "tls: handshake verified against the test CA" ;;
    esac
    [ -s "$T/probe-$mode.err" ] && diag_file "$T/probe-$mode.err"
done

for mode in $modes; do
    d=${dirs[$mode]:-}
    if [ -n "$d" ] && pid=$(cat "$d/run/master.pid" 2>/dev/null) &&
        dovecot_stop "$d" && ! pid_alive "$pid"; then
        pass "$mode: dovecot stopped by PID"
    else
        fail "$mode: dovecot stopped by PID"
        [ -n "$d" ] && diag_file "$d/dovecot.log"
    fi
done

done_testing
