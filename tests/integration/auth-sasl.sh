#!/bin/bash
# Authentication against a real dovecot (plaintext passwd-file, so every
# challenge-response mechanism works): each mechanism named with --auth,
# with the right and a wrong password, the automatic choice over STARTTLS
# and without TLS, and a long passwordeval secret.  OAUTHBEARER and XOAUTH2
# against the hostile server, which checks the exact token.  (dovecot 2.3
# has no -PLUS mechanism: test-sasl runs those against GNU SASL's server.)
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

T=$(mktemp -d "${TMPDIR:-/tmp}/mpop-auth.XXXXXX")
at_exit "rm -rf '$T'"
chmod 755 "$T"      # dovecot's auth process reads the passwd-file below
export HOME=$T/home
mkdir -p "$HOME"

dovecot_start starttls "$T/dstls" || skip_all "dovecot cannot start"
STLS_PORT=$DOVECOT_PORT
CA=$DOVECOT_CA
dovecot_start plain "$T/dplain" || skip_all "dovecot cannot start"
PLAIN_PORT=$DOVECOT_PORT
USER=$DOVECOT_USER
PASS=$DOVECOT_PASS

have() { "$MPOP" --version | grep -qw "$1"; }

# rc NAME PORT TLS(on/off) [more lines...]: an account file for -A runs.
rc()
{
    local name=$1 port=$2 tls=$3
    shift 3
    {
        echo "account $name"
        echo "host localhost"
        echo "port $port"
        echo "user $USER"
        echo "tls $tls"
        [ "$tls" = on ] && echo "tls_starttls on" &&
            echo "tls_trust_file $CA"
        echo "delivery maildir $T/md"
        for l in "$@"; do echo "$l"; done
    } >"$T/$name.rc"
    chmod 600 "$T/$name.rc"
}
mkdir -p "$T/md/cur" "$T/md/new" "$T/md/tmp"

MECHS="user apop plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256"
plan $(( $(echo $MECHS | wc -w) * 4 + 15 ))

for m in $MECHS; do
    if ! have "$m"; then
        for i in 1 2 3 4; do skip "$m not in this build"; done
        continue
    fi
    rc "ok-$m" "$STLS_PORT" on "auth $m" "password $PASS"
    "$MPOP" -A --debug -C "$T/ok-$m.rc" "ok-$m" >"$T/ok-$m.out" 2>&1
    is "$?" 0 "$m, right password: exit 0"
    M=$(echo "$m" | tr a-z A-Z)
    if [ "$m" = user ] || [ "$m" = apop ]; then
        like "$(cat "$T/ok-$m.out")" "*--> $M *" "$m: the command was sent"
    else
        like "$(cat "$T/ok-$m.out")" "*--> AUTH*" "$m: AUTH was sent"
    fi
    rc "bad-$m" "$STLS_PORT" on "auth $m" "password wrong-$PASS"
    "$MPOP" -A -C "$T/bad-$m.rc" "bad-$m" >"$T/bad-$m.out" 2>&1
    is "$?" 77 "$m, wrong password: exit 77"
    like "$(cat "$T/bad-$m.out")" "*authentication failed (method $M)*" \
        "$m: the message names the method"
done

# The password never appears in the trace.
! grep -q -- "$PASS" "$T"/ok-*.out
is "$?" 0 "no password in any --debug trace"

# Automatic choice over STARTTLS: dovecot offers SCRAM-SHA-256 first.
rc auto "$STLS_PORT" on "password $PASS"
"$MPOP" -A --debug -C "$T/auto.rc" auto >"$T/auto.out" 2>&1
is "$?" 0 "auto over STARTTLS: exit 0"
# (--debug hides the AUTH line's arguments; dovecot's log names the
# mechanism.)
like "$(grep 'Login: user=<' "$T/dstls/dovecot.log" | tail -1)" \
    "*method=SCRAM-SHA-256,*" "auto over STARTTLS: SCRAM-SHA-256 chosen"

# Without TLS: only SCRAM, never PLAIN, APOP or USER.
rc autoplain "$PLAIN_PORT" off "password $PASS"
"$MPOP" -A --debug -C "$T/autoplain.rc" autoplain >"$T/autoplain.out" 2>&1
is "$?" 0 "auto without TLS: exit 0"
like "$(grep 'Login: user=<' "$T/dplain/dovecot.log" | tail -1)" \
    "*method=SCRAM-SHA-256,*" "auto without TLS: SCRAM-SHA-256"
! grep -q -- "--> USER\|--> APOP\|AUTH PLAIN" "$T/autoplain.out"
is "$?" 0 "auto without TLS: no cleartext method tried"

# A named method the server lacks is a clear error, before any secret.
rc nosuch "$STLS_PORT" on "auth ntlm" "password $PASS"
if have ntlm; then
    "$MPOP" -A -C "$T/nosuch.rc" nosuch >"$T/nosuch.out" 2>&1
    is "$?" 69 "a method the server does not offer: exit 69"
    like "$(cat "$T/nosuch.out")" \
        "*does not support authentication method NTLM*" \
        "the message names the method"
else
    skip "ntlm not in this build"
    skip "ntlm not in this build"
fi

# passwordeval with a trailing newline (removed) and SCRAM-SHA-1.
printf '%s\n' "$PASS" >"$T/pw.txt"
rc eval "$STLS_PORT" on "auth scram-sha-1" "passwordeval cat $T/pw.txt"
"$MPOP" -A -C "$T/eval.rc" eval >"$T/eval.out" 2>&1
is "$?" 0 "passwordeval, newline removed, SCRAM-SHA-1: exit 0"

# OAUTHBEARER and XOAUTH2 against the hostile server: it checks the exact
# initial response; an error challenge must get the right answer.
HS=$top_srcdir/tests/hostile/hostile-server.py
# oauth MECH NAME PORT EXIT TOKEN LINES...: scenario lines after CAPA
oauth()
{
    local mech=$1 name=$2 port=$3 want=$4 token=$5 spid st sst
    shift 5
    {
        echo "send +OK hostile ready"
        echo "expect CAPA"
        echo "send +OK"
        echo "send SASL $mech"
        echo "send UIDL"
        echo "send ."
        for l in "$@"; do echo "$l"; done
    } >"$T/$name.pop3"
    python3 "$HS" "$T/$name.pop3" --port "$port" --port-file "$T/$name.port" \
        --transcript "$T/$name.tr" --limit 20 >"$T/$name.srv" 2>&1 &
    spid=$!
    wait_file "$T/$name.port" 10 >/dev/null 2>&1 || wait_port "$port" 10
    rc "$name" "$port" off "auth $(echo "$mech" | tr A-Z a-z)" \
        "passwordeval cat $T/$name.token"
    printf '%s\n' "$token" >"$T/$name.token"
    sed -i "s/^user .*/user joe@example.com/" "$T/$name.rc"
    "$MPOP" -A -C "$T/$name.rc" "$name" >"$T/$name.out" 2>&1
    st=$?
    wait "$spid"
    sst=$?
    is "$st/$sst" "$want/0" "$mech $name: client exit $want, server happy"
    if [ "$st/$sst" != "$want/0" ]; then
        diag_file "$T/$name.out"
        diag_file "$T/$name.srv"
    fi
}
b64() { printf "$@" | base64 -w0; }
X=$(b64 'user=joe@example.com\001auth=Bearer ya29.tok\001\001')
oauth XOAUTH2 xoauth2-ok "$(free_port)" 0 ya29.tok \
    "expect AUTH XOAUTH2 $X" "send +OK welcome" "expect QUIT" "send +OK bye" "expect-eof"
# An error report as a challenge: XOAUTH2 answers with an empty line.
oauth XOAUTH2 xoauth2-err "$(free_port)" 77 ya29.tok \
    "expect AUTH XOAUTH2 $X" "send + eyJzdGF0dXMiOiI0MDEifQ==" \
    "expect " "send -ERR [AUTH] invalid token" "expect QUIT" "send +OK bye" "expect-eof"
like "$(cat "$T/xoauth2-err.out")" "*invalid token*" \
    "XOAUTH2: the server's reason is quoted"
# A 10 KiB token from passwordeval: the AUTH line would pass RFC 5034's
# 255 octets, so AUTH goes alone and the response follows the "+ ".
BIG=$(python3 -c 'print("t" * 10240)')
X=$(b64 'user=joe@example.com\001auth=Bearer %s\001\001' "$BIG")
oauth XOAUTH2 xoauth2-big "$(free_port)" 0 "$BIG" \
    "expect AUTH XOAUTH2" "send + " "expect $X" "send +OK welcome" \
    "expect QUIT" "send +OK bye" "expect-eof"
P=$(free_port)
X=$(b64 'n,a=joe@example.com,\001host=localhost\001port=%s\001auth=Bearer ya29.tok\001\001' "$P")
oauth OAUTHBEARER oauthbearer-ok "$P" 0 ya29.tok \
    "expect AUTH OAUTHBEARER $X" "send +OK welcome" "expect QUIT" "send +OK bye" "expect-eof"
P=$(free_port)
X=$(b64 'n,a=joe@example.com,\001host=localhost\001port=%s\001auth=Bearer ya29.tok\001\001' "$P")
# RFC 7628 §3.2.3: the client answers an error challenge with ^A.
oauth OAUTHBEARER oauthbearer-err "$P" 77 ya29.tok \
    "expect AUTH OAUTHBEARER $X" "send + eyJzdGF0dXMiOiI0MDEifQ==" \
    "expect AQ==" "send -ERR [AUTH] invalid token" "expect QUIT" "send +OK bye" "expect-eof"

done_testing
