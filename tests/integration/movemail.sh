#!/bin/bash
# mpop --movemail against dovecot: every mail appended to an mbox (read
# back byte for byte: From_ line, MBOXRD quoting, LF line ends) and deleted
# from the server; --preserve keeps them; --reverse appends them in reverse
# order; the po:USER form with MAILHOST; the password from the URL, the
# argument; the mpop-movemail name; errors on stderr with a non-zero exit.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

: "${MPOP:=${top_builddir:-.}/src/mpop}"
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
dovecot_start plain "$T/dc" >"$T/dc.err" 2>&1 ||
    skip_all "dovecot does not start: $(head -c 300 "$T/dc.err")"

plan 19

printf 'Return-Path: <alice@example.org>\nFrom: alice@example.org\nSubject: one\n\nFrom the start\n>From quoted\n.dot\n' >"$T/m1"
printf 'Return-Path: <bob@example.org>\r\nSubject: two\r\n\r\nCRLF body\r\n' >"$T/m2"
printf 'Subject: three\n\nno final newline' >"$T/m3"
fill()
{
    rm -f "$DOVECOT_MAILDIR"/new/* "$DOVECOT_MAILDIR"/cur/*
    for f in m1 m2 m3; do
        maildir_add "$DOVECOT_DIR" "$T/$f"
        sleep 0.01
    done
}
count() { find "$DOVECOT_MAILDIR/new" "$DOVECOT_MAILDIR/cur" -type f | wc -l; }

# The expected mbox: From_ line (date normalised), the mail with LF line
# ends and MBOXRD quoting, a final line end, an empty line.
expect()
{
    local f
    for f in "$@"; do
        case $f in
            m1) printf 'From alice@example.org DATE\nReturn-Path: <alice@example.org>\nFrom: alice@example.org\nSubject: one\n\n>From the start\n>>From quoted\n.dot\n\n' ;;
            m2) printf 'From bob@example.org DATE\nReturn-Path: <bob@example.org>\nSubject: two\n\nCRLF body\n\n' ;;
            m3) printf 'From MAILER-DAEMON DATE\nSubject: three\n\nno final newline\n\n' ;;
        esac
    done
}
norm() { sed -E 's/^(From [^ ]+) .*/\1 DATE/' "$1"; }

U=$DOVECOT_USER
P=$DOVECOT_PASS
PE=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$P")

# --- pop:// with the password in the URL -----------------------------------
fill
"$MPOP" --movemail "pop://$U;auth=user:$PE@127.0.0.1:$DOVECOT_PORT" "$T/mbox" \
    >"$T/out" 2>"$T/err"
is "$?" 0 "pop://: exit 0"
is "$(norm "$T/mbox")" "$(expect m1 m2 m3)" "pop://: the mbox, byte for byte"
is "$(count)" 0 "pop://: the server deleted the mails"
is "$(cat "$T/out" "$T/err")" "" "pop://: nothing printed"

# --- appending, --preserve ----------------------------------------------------
fill
"$MPOP" --movemail --preserve "pop://$U;AUTH=USER@127.0.0.1:$DOVECOT_PORT" "$T/mbox" "$P" \
    2>"$T/err"
is "$?" 0 "--preserve, password argument: exit 0"
is "$(norm "$T/mbox")" "$(expect m1 m2 m3 m1 m2 m3)" "appended after the first three"
is "$(count)" 3 "--preserve: the server keeps the mails"

# --- -r: reverse order, -p ----------------------------------------------------
rm -f "$T/mbox"
"$MPOP" --movemail -r -p "pop://$U;auth=user:$PE@127.0.0.1:$DOVECOT_PORT" "$T/mbox"
is "$?" 0 "-r -p: exit 0"
is "$(norm "$T/mbox")" "$(expect m3 m2 m1)" "-r: reverse order"
is "$(count)" 3 "-p: kept"

# --- po:USER with MAILHOST, as mpop-movemail ---------------------------------
# po: has no way to name a method: the automatic choice (SCRAM without
# TLS, against dovecot) must work for these.
ln -s "$(cd "$(dirname "$MPOP")" && pwd)/$(basename "$MPOP")" "$T/mpop-movemail"
printf 'account d\nhost 127.0.0.1\nport %s\nuser %s\npassword %s\ntls off\ndelivery mda cat\n' \
    "$DOVECOT_PORT" "$U" "$P" >"$T/auto.rc"
chmod 600 "$T/auto.rc"
if ! "$MPOP" -C "$T/auto.rc" -A d >"$T/auto.out" 2>&1; then
    diag "automatic authentication fails here: $(head -c 200 "$T/auto.out")"
    for i in 1 2 3 4 5; do
        skip "po: forms need the automatic authentication choice to work"
    done
else
rm -f "$T/mbox"
MAILHOST=127.0.0.1:$DOVECOT_PORT "$T/mpop-movemail" "po:$U" "$T/mbox" "$P" \
    2>"$T/err"
is "$?" 0 "po:USER with MAILHOST, called as mpop-movemail: exit 0"
is "$(norm "$T/mbox")" "$(expect m1 m2 m3)" "po:: the mbox"
is "$(count)" 0 "po:: deleted"

fill
rm -f "$T/mbox"
"$T/mpop-movemail" -p "po:$U:127.0.0.1:$DOVECOT_PORT" "$T/mbox" "$P"
is "$?" 0 "po:USER:HOST:PORT: exit 0"
is "$(grep -c '^From ' "$T/mbox")" 3 "po:USER:HOST:PORT: three mails"
fi

# --- errors ----------------------------------------------------------------
fill
rm -f "$T/mbox"
"$MPOP" --movemail "pop://$U;auth=user:wrong@127.0.0.1:$DOVECOT_PORT" "$T/mbox" \
    >"$T/out" 2>"$T/err"
is "$?" 77 "wrong password: 77"
like "$(cat "$T/err")" "mpop: *" "wrong password: a message on stderr"
is "$(count)" 3 "wrong password: nothing deleted"
env -u MAILHOST "$MPOP" --movemail "po:$U" "$T/mbox" x >/dev/null 2>"$T/err"
is "$?" 64 "po: without a host nor MAILHOST: usage error"

done_testing
