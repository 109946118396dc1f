#!/bin/bash
# Proves the hostile server (tests/hostile/hostile-server.py): it plays a
# scenario to a client that follows it and exits 0, and it exits 1 with the
# reason and the scenario line when the client deviates; each directive
# does what the format says; the runner (run-scenario.sh) checks a client's
# exit status, the server's verdict, DELEs and deliveries.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"

command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
HS=${top_srcdir:-$(dirname "$0")/../..}/tests/hostile
[ -f "$HS/hostile-server.py" ] || bail_out "no $HS/hostile-server.py"

# A small scripted client: each argument is one action.
#   s:TEXT  send TEXT + CRLF     r:BYTES  send BYTES (Python escapes)
#   l:N     read N lines, print them (CRLF shown as <CRLF>)
#   a       read everything until EOF and print it
#   t       TLS handshake (trusting $CA), for STLS or implicit TLS
#   w:SECS  wait                 c        close
cat >"$T/client.py" <<'EOF'
import codecs, os, socket, ssl, sys, time
port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), 10)
buf = b""
def tls():
    global sock
    ctx = ssl.create_default_context(cafile=os.environ["CA"])
    sock = ctx.wrap_socket(sock, server_hostname="localhost")
def line():
    global buf
    while b"\n" not in buf:
        c = sock.recv(4096)
        if not c:
            r, buf = buf, b""
            return r
        buf += c
    l, _, buf = buf.partition(b"\n")
    return l + b"\n"
for a in sys.argv[2:]:
    op, _, arg = a.partition(":")
    if op == "s":
        sock.sendall(arg.encode() + b"\r\n")
    elif op == "r":
        sock.sendall(codecs.escape_decode(arg.encode())[0])
    elif op == "l":
        for _ in range(int(arg)):
            print(repr(line())[2:-1].replace("\\r\\n", "<CRLF>"))
    elif op == "a":
        data = buf
        while True:
            c = sock.recv(65536)
            if not c:
                break
            data += c
        print("%d bytes" % len(data))
    elif op == "t":
        tls()
    elif op == "w":
        time.sleep(float(arg))
    elif op == "c":
        sock.close()
        break
    sys.stdout.flush()
EOF

# serve SCENARIO [SERVER ARGS...]: start the server in the background;
# sets SPORT and SPID.  finish: wait for it, sets SST and RESULT.
serve()
{
    local sc=$1
    shift
    rm -f "$T/port" "$T/result" "$T/transcript" "$T/dele"
    python3 "$HS/hostile-server.py" "$sc" --port-file "$T/port" \
        --result "$T/result" --transcript "$T/transcript" \
        --dele-log "$T/dele" --limit 20 "$@" 2>"$T/server.err" &
    SPID=$!
    at_exit "kill_ours $SPID"
    wait_file "$T/port" 10 || bail_out "the hostile server did not start"
    SPORT=$(cat "$T/port")
}

finish()
{
    SST=0
    wait "$SPID" || SST=$?
    RESULT=$(cat "$T/result" 2>/dev/null)
}

client()
{
    python3 "$T/client.py" "$SPORT" "$@" 2>>"$T/client.err"
}

nsc=$(ls "$HS"/*.pop3 | wc -l)
plan $((38 + nsc))

# --- a scenario followed to its end -------------------------------------
cat >"$T/basic.pop3" <<'EOF'
# proves: nothing; the harness test's own scenario
send +OK hello
expect CAPA
send +OK
send UIDL
send .
expect USER *
send +OK
log-dele
expect QUIT
send +OK bye
expect-eof
EOF
serve "$T/basic.pop3"
out=$(client l:1 s:CAPA l:3 "s:USER bob" l:1 "s:DELE 2" l:1 s:QUIT l:1 c)
finish
is "$SST" 0 "a client that follows the scenario: exit 0"
is "$RESULT" PASS "... result PASS"
is "$out" "+OK hello<CRLF>
+OK<CRLF>
UIDL<CRLF>
.<CRLF>
+OK<CRLF>
+OK<CRLF>
+OK bye<CRLF>" "... the client received every line with CRLF"
is "$(cat "$T/transcript")" "CAPA
USER bob
DELE 2
QUIT" "... the transcript holds every client line"
is "$(cat "$T/dele")" 2 "... log-dele answered and logged DELE 2"

# --- deviations ---------------------------------------------------------
serve "$T/basic.pop3"
client l:1 s:CAPA l:3 "s:LIST" w:0.5 c >/dev/null
finish
is "$SST" 1 "a client that sends LIST instead of USER: exit 1"
like "$RESULT" "FAIL: client sent 'LIST'; expected 'USER \*' (basic.pop3:7)" \
    "... the result names the line, what came and what was expected"

serve "$T/basic.pop3"
client l:1 "r:CAPA\n" w:0.5 c >/dev/null
finish
is "$SST" 1 "a client line ended by a bare LF: exit 1"
like "$RESULT" "FAIL: client line not ended by CRLF*" "... and says so"
is "$(cat "$T/transcript")" 'CAPA\n' "... the transcript marks the bare LF"

serve "$T/basic.pop3"
client l:1 c >/dev/null
finish
is "$SST" 1 "a client that hangs up early: exit 1"
like "$RESULT" "FAIL: client closed the connection; expected 'CAPA'*" \
    "... and says so"

serve "$T/basic.pop3"
client l:1 s:CAPA l:3 "s:USER bob" l:1 s:NOOP w:0.3 c >/dev/null
finish
is "$SST" 1 "a client that sends NOOP where QUIT is expected: exit 1"

cat >"$T/silent.pop3" <<'EOF'
send +OK hello
timeout 0.5
expect CAPA
EOF
serve "$T/silent.pop3"
client l:1 w:1.5 c >/dev/null
finish
is "$SST" 1 "a client that sends nothing within 'timeout': exit 1"
like "$RESULT" "FAIL: client sent nothing for 0.5 s*" "... and says so"

cat >"$T/closes.pop3" <<'EOF'
send +OK hello
expect QUIT
send +OK bye
expect-eof
EOF
serve "$T/closes.pop3"
client l:1 s:QUIT l:1 s:NOOP w:0.3 c >/dev/null
finish
is "$SST" 1 "expect-eof: a client that talks on instead of closing: exit 1"

# --- sending directives -------------------------------------------------
printf 'Subject: x\n.leading dot\n\nbody\n' >"$T/mail"
cat >"$T/send.pop3" <<'EOF'
sendraw +OK a\x00b\rc\r\n
send-mail mail
send-file mail
close
EOF
serve "$T/send.pop3"
out=$(client l:1 l:6 l:4)
finish
is "$out" '+OK a\x00b\rc<CRLF>
+OK 34 octets<CRLF>
Subject: x<CRLF>
..leading dot<CRLF>
<CRLF>
body<CRLF>
.<CRLF>
Subject: x\n
.leading dot\n
\n
body\n' "sendraw decodes escapes; send-mail stuffs dots and adds CRLF; send-file is raw"
is "$SST" 0 "... the scenario ends after close: exit 0"

cat >"$T/trickle.pop3" <<'EOF'
trickle 0.25 +OK\r\n
close
EOF
serve "$T/trickle.pop3"
t0=$(date +%s%N)
out=$(client l:1)
t1=$(date +%s%N)
finish
is "$out" "+OK<CRLF>" "trickle sends the bytes"
ok "[ $(( (t1 - t0) / 1000000 )) -ge 700 ]" \
    "... one every 0.25 s ($(( (t1 - t0) / 1000000 )) ms for 5 bytes)"

cat >"$T/endless.pop3" <<'EOF'
send +OK here comes an endless listing
repeat forever
send 1 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
end
expect-eof
EOF
serve "$T/endless.pop3"
client l:1000 c >/dev/null
finish
is "$SST" 0 "repeat forever: the client hangs up, the scenario reaches expect-eof"

cat >"$T/counted.pop3" <<'EOF'
send +OK
repeat 3
send a
repeat 2
send b
end
end
send .
close
EOF
serve "$T/counted.pop3"
out=$(client l:11 | tr -d '\n')
finish
is "$out" "+OK<CRLF>a<CRLF>b<CRLF>b<CRLF>a<CRLF>b<CRLF>b<CRLF>a<CRLF>b<CRLF>b<CRLF>.<CRLF>" \
    "repeat N nests"

cat >"$T/accept.pop3" <<'EOF'
send +OK first
close
accept
send +OK second
expect QUIT
EOF
serve "$T/accept.pop3"
out1=$(client l:1)
out2=$(client l:1 s:QUIT w:0.2 c)
finish
is "$out1 $out2" "+OK first<CRLF> +OK second<CRLF>" "accept takes a second connection"
is "$SST" 0 "... and the scenario passes"

cat >"$T/bad.pop3" <<'EOF'
send +OK
frobnicate now
EOF
python3 "$HS/hostile-server.py" "$T/bad.pop3" --port-file "$T/port" \
    --result "$T/result" 2>/dev/null
is "$?" 2 "an unknown directive: exit 2 before listening"
like "$(cat "$T/result")" "FAIL: bad scenario: *bad.pop3:2: unknown directive*" \
    "... naming the file and line"

# --- TLS ------------------------------------------------------------------
certs_make "$T/certs" || bail_out "certtool failed"
export CA=$T/certs/ca.pem
cat >"$T/stls.pop3" <<'EOF'
send +OK hello
expect STLS
send +OK begin TLS
starttls
expect CAPA
send +OK secret capabilities
expect-eof
EOF
serve "$T/stls.pop3" --cert "$T/certs/chain.pem" --key "$T/certs/server.key"
out=$(client l:1 s:STLS l:1 t s:CAPA l:1 c)
finish
is "$SST" 0 "starttls: a client that upgrades passes"
like "$out" "*+OK secret capabilities<CRLF>" "... and reads over TLS"

serve "$T/stls.pop3" --cert "$T/certs/chain.pem" --key "$T/certs/server.key"
client l:1 "r:STLS\r\nCAPA\r\n" l:1 w:0.3 c >/dev/null
finish
is "$SST" 1 "starttls: a client that pipelines past STLS fails the scenario"
like "$RESULT" "FAIL: client sent data after STLS*" "... and says so"
like "$(cat "$T/transcript")" "*CAPA\\\\x0d\\\\x0a (sent before the TLS handshake)" \
    "... the transcript shows the early bytes"

cat >"$T/tls.pop3" <<'EOF'
send +OK implicit TLS
expect QUIT
send +OK
expect-eof
EOF
serve "$T/tls.pop3" --tls --cert "$T/certs/chain.pem" --key "$T/certs/server.key"
out=$(client t l:1 s:QUIT l:1 c)
finish
is "$SST" 0 "--tls: implicit TLS scenario passes"
is "$out" "+OK implicit TLS<CRLF>
+OK<CRLF>" "... the client verified the test CA and read the lines"

# --- the runner, with a stand-in client -----------------------------------
# A client that reads the greeting with a 2 s deadline for the whole line
# and exits 74 (EX_IOERR) when it does not come: what greeting-trickle
# demands of mpop.
cat >"$T/fake-mpop" <<'EOF'
#!/usr/bin/python3
import socket, sys, time
rc = sys.argv[sys.argv.index("-C") + 1]
port = int([l.split()[1] for l in open(rc) if l.startswith("port ")][0])
s = socket.create_connection(("127.0.0.1", port), 5)
end = time.time() + 2
data = b""
while b"\n" not in data:
    left = end - time.time()
    if left <= 0:
        sys.exit(75)
    s.settimeout(left)
    try:
        c = s.recv(100)
    except socket.timeout:
        sys.exit(75)
    if not c:
        sys.exit(74)
    data += c
sys.exit(0)
EOF
chmod +x "$T/fake-mpop"
out=$(HOSTILE_CLIENT=$T/fake-mpop bash "$HS/run-scenario.sh" \
    "$HS/greeting-trickle.pop3" 2>&1)
st=$?
is "$st" 0 "run-scenario.sh: a client that behaves passes greeting-trickle"
is "$(printf '%s\n' "$out" | grep -c '^ok ')" 4 "... with 4 results"

printf '#!/bin/sh\nsleep 1\nexit 0\n' >"$T/wrong-client"
chmod +x "$T/wrong-client"
out=$(HOSTILE_GRACE=2 HOSTILE_CLIENT=$T/wrong-client bash "$HS/run-scenario.sh" \
    "$HS/greeting-trickle.pop3" 2>&1)
st=$?
is "$st" 1 "run-scenario.sh: a client with the wrong exit status fails"
like "$out" "*not ok 1 - greeting-trickle: client exit status*" \
    "... on the exit status check"
like "$out" "*not ok 2 - greeting-trickle: server script FAIL*" \
    "... and on the server's verdict (it never read the greeting)"

for sc in "$HS"/*.pop3; do
    python3 - "$sc" "$HS/hostile-server.py" <<'EOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("hs", sys.argv[2])
hs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hs)
hs.Scenario(sys.argv[1])
text = open(sys.argv[1]).read()
assert "# expect-exit:" in text and "# proves:" in text
EOF
    is "$?" 0 "$(basename "$sc"): parses, states expect-exit and proves"
done

done_testing
