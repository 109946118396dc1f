#!/bin/bash
# Authentication against private dovecot instances with mpop -A: USER over
# STARTTLS and implicit TLS, APOP without TLS, a wrong password (77, the
# server's words shown, the password not in dovecot's log), and auth on
# without TLS choosing APOP, never USER.  The refusals against servers that
# do not offer STLS or a secure method are hostile scenarios
# (tests/hostile/stls-*.pop3, auth-cleartext-refused.pop3).
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"
command -v certtool >/dev/null 2>&1 || skip_all "certtool is not installed"

export HOME=$T/home
mkdir -p "$HOME" "$T/md/new" "$T/md/cur" "$T/md/tmp"

plan 14

# auth OUT PASSWORD ARGS...: mpop -A, output in OUT, exit code in $rc
auth()
{
    local out=$1 pw=$2
    shift 2
    rc=0
    MPOP_TEST_PW=$pw "$MPOP" --host=localhost -A --port="$DOVECOT_PORT" \
        --user="$DOVECOT_USER" --passwordeval='printf %s "$MPOP_TEST_PW"' \
        --delivery=maildir,"$T/md" --uidls-file="$T/uidls" "$@" \
        >"$out" 2>"$out.err" || rc=$?
}
export MPOP_TEST_PW

dovecot_start starttls "$T/st" >/dev/null 2>&1 ||
    skip_all "dovecot does not start"
auth "$T/st-user" "$DOVECOT_PASS" --auth=user --tls=on --tls-starttls=on \
    --tls-trust-file="$DOVECOT_CA"
is "$rc" 0 "STARTTLS, USER: exit 0"
ok "grep -q 'Login: user=<$DOVECOT_USER>.*method=PLAIN.*TLS' '$T/st/dovecot.log'" \
    "dovecot logged a USER/PASS login over TLS"

auth "$T/st-auto" "$DOVECOT_PASS" --tls=on --tls-starttls=on \
    --tls-trust-file="$DOVECOT_CA"
is "$rc" 0 "STARTTLS, auth on: exit 0"

auth "$T/st-wrong" "wrong-$DOVECOT_PASS" --auth=user --tls=on \
    --tls-starttls=on --tls-trust-file="$DOVECOT_CA"
is "$rc" 77 "wrong password: exit 77 (EX_NOPERM)"
like "$(cat "$T/st-wrong.err")" "*authentication failed (method USER)*" \
    "wrong password: says which method failed"
like "$(cat "$T/st-wrong.err")" "*POP3 server message: -ERR*" \
    "wrong password: the server's words are shown"
ok "! grep -q 'wrong-$DOVECOT_PASS' '$T/st/dovecot.log'" \
    "wrong password: not in dovecot's log"

auth "$T/st-clear" "$DOVECOT_PASS" --auth=on --tls=off
# Without TLS the automatic choice takes only SCRAM, as the original does
# (dovecot offers SCRAM-SHA-256), never USER, PLAIN or APOP.
is "$rc" 0 "no TLS, auth on: exit 0 (SCRAM chosen)"
ok "grep -q 'Login: user=<$DOVECOT_USER>.*method=SCRAM-SHA-256' '$T/st/dovecot.log'" \
    "no TLS, auth on: dovecot logged a SCRAM-SHA-256 login"
# Dovecot logs USER/PASS as method=PLAIN, and "TLS" on encrypted ones.
ok "! grep 'method=PLAIN' '$T/st/dovecot.log' | grep -qv TLS" \
    "no USER/PASS login ever happened without TLS"
dovecot_stop "$T/st"

dovecot_start plain "$T/plain" >/dev/null 2>&1 ||
    bail_out "dovecot (plain) does not start"
auth "$T/apop" "$DOVECOT_PASS" --auth=apop --tls=off
is "$rc" 0 "APOP without TLS: exit 0"
auth "$T/apop-wrong" "nope" --auth=apop --tls=off
is "$rc" 77 "APOP, wrong password: exit 77"
like "$(cat "$T/apop-wrong.err")" "*authentication failed (method APOP)*" \
    "APOP, wrong password: says so"
dovecot_stop "$T/plain"

dovecot_start tls "$T/tls" >/dev/null 2>&1 ||
    bail_out "dovecot (tls) does not start"
auth "$T/tls-user" "$DOVECOT_PASS" --auth=user --tls=on --tls-starttls=off \
    --tls-trust-file="$DOVECOT_CA"
is "$rc" 0 "implicit TLS, USER: exit 0"
dovecot_stop "$T/tls"

done_testing
