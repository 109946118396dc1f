#!/bin/bash
# Hostile bytes on their way to the terminal (issue 18): a server puts ESC
# sequences and C1 control characters (raw 0x9b, and U+009B as C2 9B) into
# its greeting, into an -ERR text and into its certificate's subject.
# Whatever mpop prints (--serverinfo, the error report, --debug) holds no
# control byte and no invalid UTF-8, and shows those bytes as \xHH.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
command -v certtool >/dev/null 2>&1 || skip_all "certtool is not installed"

export HOME=$T/home
mkdir -p "$HOME" "$T/md/new" "$T/md/cur" "$T/md/tmp"
HS=$top_srcdir/tests/hostile/hostile-server.py

plan 14

# safe FILE: no C0 control but LF and TAB, no DEL, valid UTF-8 without C1
safe()
{
    python3 - "$1" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
try:
    text = data.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit("invalid UTF-8: %s" % e)
for ch in text:
    o = ord(ch)
    if (o < 0x20 and ch not in "\n\t") or 0x7f <= o <= 0x9f:
        sys.exit("control character U+%04X survived" % o)
PY
}

# has FILE STRING NAME: FILE holds STRING (no pattern)
has()
{
    grep -qF -- "$2" "$1"
    tap_result $? "$3" || diag_file "$1"
}

# serve NAME [SERVER-ARGS...]: starts the hostile server on $T/NAME.pop3
serve()
{
    local name=$1
    shift
    python3 "$HS" "$T/$name.pop3" --port-file "$T/$name.port" --limit 20 \
        "$@" >"$T/$name.srv" 2>&1 &
    spid=$!
    wait_file "$T/$name.port" 10 >/dev/null 2>&1
    port=$(cat "$T/$name.port")
}

# The greeting, and an -ERR answer to PASS.
cat >"$T/err.pop3" <<'POP3'
sendraw +OK \x1b]0;pwned\x07 ready \x9b31m red \xc2\x9b2J <1.2@h>\r\n
expect CAPA
send +OK
send USER
send .
expect USER joe
send +OK
expect PASS *
sendraw -ERR \x1b[2J wiped \x9b1m \xc2\x9b6n \xff\r\n
expect-eof QUIT
POP3
serve err
rc=0
"$MPOP" --debug --host=127.0.0.1 --port="$port" --tls=off --auth=user \
    --user=joe --passwordeval='echo secret' --delivery=maildir,"$T/md" \
    >"$T/err.out" 2>"$T/err.err" || rc=$?
wait "$spid"
is "$rc" 77 "-ERR to PASS: exit 77 (EX_NOPERM)"
ok "safe $T/err.err" "-ERR text: stderr is terminal-safe"
has "$T/err.err" 'POP3 server message: -ERR \x1b[2J wiped \x9b1m \xc2\x9b6n \xff' \
    "-ERR text: the hostile bytes shown as \\xHH"
ok "safe $T/err.out" "--debug: stdout is terminal-safe"
has "$T/err.out" '<-- +OK \x1b]0;pwned\x07 ready \x9b31m red \xc2\x9b2J <1.2@h>' \
    "--debug: the greeting's hostile bytes shown as \\xHH"

# --serverinfo shows the greeting (the original's '?' for C0, \xHH for
# the rest).
cat >"$T/greet.pop3" <<'POP3'
sendraw +OK \x1b]0;pwned\x07 ready \x9b31m red \xc2\x9b2J\r\n
expect CAPA
send +OK
send .
expect-eof QUIT
POP3
serve greet
rc=0
"$MPOP" --serverinfo --host=127.0.0.1 --port="$port" --tls=off \
    >"$T/greet.out" 2>&1 || rc=$?
wait "$spid"
is "$rc" 0 "--serverinfo, hostile greeting: exit 0"
ok "safe $T/greet.out" "--serverinfo, hostile greeting: terminal-safe"
has "$T/greet.out" '    ?]0;pwned? ready \x9b31m red \xc2\x9b2J' \
    "--serverinfo: greeting's C1 bytes shown as \\xHH"

# A certificate whose subject carries ESC and C1 bytes (C1 as UTF-8: the
# server's OpenSSL does not load a certificate with invalid UTF-8).
mkdir -p "$T/cert"
certtool --generate-privkey --key-type=rsa --bits=2048 \
    --outfile "$T/cert/key.pem" >"$T/cert/log" 2>&1
printf '%s\n' 'cn = "evil'$'\x1b''[31mred'$'\xc2\x9b''2J end"' \
    'organization = "org, Inc.'$'\x1b'']0;title'$'\x07''"' \
    'expiration_days = 30' 'dns_name = localhost' 'tls_www_server' \
    'encryption_key' 'signing_key' >"$T/cert/tmpl"
certtool --generate-self-signed --load-privkey "$T/cert/key.pem" \
    --template "$T/cert/tmpl" --outfile "$T/cert/cert.pem" \
    >>"$T/cert/log" 2>&1
ok "test -s $T/cert/cert.pem" "certtool made the hostile certificate"
cat >"$T/cert.pop3" <<'POP3'
send +OK TLS hostile ready
expect CAPA
send +OK
send USER
send .
expect-eof QUIT
POP3
serve cert --tls --cert "$T/cert/cert.pem" --key "$T/cert/key.pem"
rc=0
"$MPOP" --serverinfo --host=127.0.0.1 --port="$port" --tls=on \
    --tls-starttls=off --tls-certcheck=off >"$T/cert.out" 2>&1 || rc=$?
wait "$spid"
is "$rc" 0 "--serverinfo over TLS, hostile subject: exit 0"
ok "safe $T/cert.out" "--serverinfo, hostile subject: terminal-safe"
has "$T/cert.out" 'evil\x1b[31mred\xc2\x9b2J end' \
    "--serverinfo: subject's CN shown with \\xHH"
has "$T/cert.out" 'O=org\, Inc.\x1b]0\;title\x07,CN=' \
    "--serverinfo: subject's O with \\xHH, GnuTLS's DN escapes as they are"
has "$T/cert.out" 'TLS certificate information:' \
    "--serverinfo: the certificate block is there"
done_testing
