#!/bin/bash
# -j N against dovecot with several users: every account is fetched, each
# account's output comes out as one block in the order given (even when an
# earlier account finishes last), the exit code is that of the first
# failing account in that order, and two accounts sharing a UIDLs file and
# a delivery target both succeed (they wait for each other).
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

: "${MPOP:=${top_builddir:-.}/src/mpop}"
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
dovecot_start plain "$T/dc" >"$T/dc.err" 2>&1 ||
    skip_all "dovecot does not start: $(head -c 300 "$T/dc.err")"

plan 14

USERS="u1 u2 u3 u4 u5"
for u in $USERS; do
    dovecot_add_user "$DOVECOT_DIR" "$u" "pw-$u" >/dev/null
done
fill()
{
    local u i
    for u in $USERS; do
        rm -f "$DOVECOT_DIR/home/$u/Maildir/new/"* \
            "$DOVECOT_DIR/home/$u/Maildir/cur/"*
        for i in 1 2 3; do
            printf 'From: %s@example.org\nSubject: %s mail %s\n\nbody %s %s\n' \
                "$u" "$u" "$i" "$u" "$i" >"$T/mail"
            maildir_add "$DOVECOT_DIR/home/$u" "$T/mail"
        done
    done
}
fill
for u in $USERS; do mkdir -p "$T/md-$u/new" "$T/md-$u/cur" "$T/md-$u/tmp"; done
REFUSED_PORT=$(free_port)

{
    echo "defaults"
    echo "host 127.0.0.1"
    echo "port $DOVECOT_PORT"
    echo "auth user"
    echo "tls off"
    echo "received_header off"
    echo "keep off"
    for u in $USERS; do
        echo "account $u"
        echo "user $u"
        echo "password pw-$u"
        echo "uidls_file $T/$u.uidls"
        echo "delivery maildir $T/md-$u"
    done
    # u1 finishes last: its delivery command is slow.
    echo "account slow : u1"
    echo "delivery mda \"sleep 0.3; cat >>$T/slow.mbox\""
    # Two accounts of one mailbox owner, on one UIDLs file and maildir.
    echo "account s1 : u4"
    echo "uidls_file $T/shared.uidls"
    echo "delivery maildir $T/md-shared"
    echo "account s2 : u5"
    echo "uidls_file $T/shared.uidls"
    echo "delivery maildir $T/md-shared"
    # Failures: a delivery command that fails after a while, a wrong
    # password (77), and a refused connection (75), found at once.
    echo "account mdafail : u2"
    echo "delivery mda \"sleep 0.5; cat >/dev/null; exit 3\""
    echo "account badpass : u2"
    echo "password wrong"
    echo "account refused : u3"
    echo "port $REFUSED_PORT"
} >"$T/rc"
chmod 600 "$T/rc"
mkdir -p "$T/md-shared/new" "$T/md-shared/cur" "$T/md-shared/tmp"

count() { find "$1/new" "$1/cur" -type f | wc -l; }

# --- all delivered, blocks in order -------------------------------------
"$MPOP" -C "$T/rc" -j 4 -Q slow u2 u3 u4 >"$T/out" 2>"$T/err"
is "$?" 0 "-j 4: exit 0"
is "$(grep -c '^From: u1@' "$T/slow.mbox")" 3 "-j 4: slow account delivered"
is "$(count "$T/md-u2"):$(count "$T/md-u3"):$(count "$T/md-u4")" "3:3:3" \
    "-j 4: the other accounts delivered"
is "$(grep ' at 127.0.0.1:' "$T/out" | cut -d' ' -f1 | tr '\n' ' ')" \
    "u1 u2 u3 u4 " "-j 4: blocks in the order given, the slow one first"
like "$(sed -n 1,2p "$T/out" | tr '\n' '|')" "u1 at 127.0.0.1:|new: 3 messages*" \
    "-j 4: each block keeps its lines together"
is "$(count "$DOVECOT_DIR/home/u1/Maildir"):$(count "$DOVECOT_DIR/home/u2/Maildir")" \
    "0:0" "-j 4: the server deleted what was delivered"

# --- the exit code rule: the first failure in the order given -------------
fill
"$MPOP" -C "$T/rc" -q mdafail refused >/dev/null 2>&1
seq_rc=$?
fill
"$MPOP" -C "$T/rc" -j 4 -q u1 mdafail refused >"$T/out" 2>"$T/err"
rc=$?
ok "[ $seq_rc -ne 0 ] && [ $seq_rc -ne 75 ] && [ $rc -eq $seq_rc ]" \
    "-j 4: exit of the first failing account ($seq_rc), not of the first to fail (75)"
like "$(cat "$T/err")" "*account mdafail*cannot connect*account refused*" \
    "-j 4: error blocks in the order given"
"$MPOP" -C "$T/rc" -j 3 -q badpass refused >/dev/null 2>&1
is "$?" 77 "-j 3: a wrong password first: 77"
"$MPOP" -C "$T/rc" -j 3 -q refused badpass >/dev/null 2>&1
is "$?" 75 "-j 3: the other order gives 75"

# --- shared UIDLs file and maildir: both succeed ----------------------------
fill
"$MPOP" -C "$T/rc" -j 4 -q s1 s2 >"$T/out" 2>"$T/err"
is "$?" 0 "shared UIDLs file: both accounts succeed"
is "$(count "$T/md-shared")" 6 "shared: all six mails delivered"
"$MPOP" -C "$T/rc" -q s1 s2 >/dev/null 2>&1
is "$?" 0 "shared: a second run succeeds too"
like "$(cat "$T/shared.uidls")" "*u4*u5*" "shared: both users recorded in the UIDLs file"

done_testing
