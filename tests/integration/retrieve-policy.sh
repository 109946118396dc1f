#!/bin/bash
# What is fetched and what the server keeps: keep on/off/DURATION (with a
# fake clock, MPOP_TEST_NOW), -k, only_new off, killsize, skipsize, every
# filter outcome, -s and -A output (compared with the original mpop where
# installed), UIDLs files written by the original in both formats, a full
# disk (EX_IOERR, nothing deleted), and several accounts of which one fails.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
dovecot_start plain "$T/dc" >"$T/dc.err" 2>&1 ||
    skip_all "dovecot does not start: $(head -c 300 "$T/dc.err")"

ORIG=/usr/bin/mpop
[ -x "$ORIG" ] || ORIG=

mkdir -p "$T/mails"
for i in 1 2 3 4; do
    printf 'Return-Path: <u%d@example.org>\nSubject: mail %d\n\nbody %d\n' \
        "$i" "$i" "$i" >"$T/mails/$i"
done
# mail 5 is big: 20000 bytes of body
printf 'Return-Path: <big@example.org>\nSubject: big\n\n%s\n' \
    "$(head -c 20000 /dev/zero | tr '\0' 'y')" >"$T/mails/5"

# fill N...: the server holds exactly these mails, in this order
fill()
{
    local f
    rm -rf "$DOVECOT_MAILDIR"/new/* "$DOVECOT_MAILDIR"/cur/*
    for f in "$@"; do
        maildir_add "$DOVECOT_DIR" "$T/mails/$f"
        sleep 0.01
    done
}

# add N...: one more mail on the server (dovecot gives re-added files new
# UIDs, so runs that build on earlier ones add instead of fill)
add()
{
    local f
    for f in "$@"; do
        maildir_add "$DOVECOT_DIR" "$T/mails/$f"
    done
}

MD=$T/md
newmd()
{
    rm -rf "$MD"
    mkdir -p "$MD/new" "$MD/cur" "$MD/tmp"
}
fetched()
{
    ls "$MD/new" | wc -l
}
server()
{
    maildir_count "$DOVECOT_DIR"
}

# rcfile EXTRA LINES...: account "a" into $MD, UIDLs in $T/uidls
rcfile()
{
    {
        echo "account a"
        echo "host 127.0.0.1"
        echo "port $DOVECOT_PORT"
        echo "user $DOVECOT_USER"
        echo "password $DOVECOT_PASS"
        echo "auth user"
        echo "tls off"
        echo "delivery maildir $MD"
        echo "uidls_file $T/uidls"
        for l in "$@"; do echo "$l"; done
    } >"$T/rc"
    chmod 600 "$T/rc"
}
run()
{
    "$MPOP" -C "$T/rc" "$@" >"$T/out" 2>&1
}

# --- keep off, keep on, -k ----------------------------------------------
fill 1 2 3; newmd; rm -f "$T/uidls"; rcfile "keep off"
run a
is "$?" 0 "keep off: exit 0"
is "$(fetched)/$(server)" "3/0" "keep off: 3 fetched, server empty"

fill 1 2 3; newmd; rm -f "$T/uidls"; rcfile "keep on"
run a
is "$(fetched)/$(server)" "3/3" "keep on: 3 fetched, server keeps 3"
run a
is "$(fetched)/$(server)" "3/3" "keep on, second run: nothing new"
rcfile "keep off"
run -k a
is "$(fetched)/$(server)" "3/3" "-k overrides keep off"
run a
is "$(fetched)/$(server)" "3/0" "keep off later: old mails deleted"

# --- keep DURATION with a fake clock -------------------------------------
fill 1 2; newmd; rm -f "$T/uidls"; rcfile "keep 2d"
MPOP_TEST_NOW=1000000000 run a
is "$(fetched)/$(server)" "2/2" "keep 2d: fetched, kept"
like "$(grep -c ' 1000000000$' "$T/uidls")" 2 \
    "keep 2d: first-seen times in the UIDLs file"
MPOP_TEST_NOW=$((1000000000 + 86400)) run a
is "$(fetched)/$(server)" "2/2" "keep 2d after 1 day: still kept"
MPOP_TEST_NOW=$((1000000000 + 2 * 86400)) run a
is "$(fetched)/$(server)" "2/0" "keep 2d after 2 days: deleted"

# --- only_new off ----------------------------------------------------------
fill 1 2; newmd; rm -f "$T/uidls"; rcfile "keep on"
run a
run --only-new=off a
is "$(fetched)/$(server)" "4/2" "only_new off: fetched again"

# --- killsize / skipsize ---------------------------------------------------
fill 1 5 2; newmd; rm -f "$T/uidls"; rcfile "keep off" "skipsize 10000"
run a
is "$(fetched)/$(server)" "2/1" "skipsize: big mail skipped, left"
like "$(cat "$T/out")" "*skipping message 2 of 3 (reason: skipsize)*" \
    "skipsize: message"
rcfile "keep off" "killsize 10000"
run a
is "$(fetched)/$(server)" "2/0" "killsize: big mail deleted unfetched"
like "$(cat "$T/out")" "*deleting message 1 of 1 (reason: killsize)*" \
    "killsize: message"
fill 1 2 3; newmd; rm -f "$T/uidls"; rcfile "keep on" "killsize 0"
run a
is "$(fetched)/$(server)" "0/3" "killsize 0 + keep: nothing fetched"
run --killsize=off a
is "$(fetched)/$(server)" "0/3" "killsize 0 + keep: all marked retrieved"

# --- filter ----------------------------------------------------------------
# mail 1: retrieve, mail 2: delete, mail 3: skip
cat >"$T/filter.sh" <<'EOF'
#!/bin/sh
h=$(cat)
case $h in
*"mail 2"*) exit 1 ;;
*"mail 3"*) exit 2 ;;
esac
exit 0
EOF
chmod 755 "$T/filter.sh"
fill 1 2 3; newmd; rm -f "$T/uidls"; rcfile "keep off" "filter $T/filter.sh"
run a
is "$?" 0 "filter: exit 0"
is "$(fetched)/$(server)" "1/1" "filter: 0 retrieves, 1 deletes, 2 skips"
like "$(cat "$T/out")" "*deleting message 2 of 3 (reason: filter)*skipping message 3 of 3 (reason: filter)*" \
    "filter: messages"
fill 1 2 3; newmd; rm -f "$T/uidls"; rcfile "keep on" "filter $T/filter.sh"
run a
like "$(cat "$T/out")" "*skipping message 2 of 3 (reason: filter + keep)*" \
    "filter delete under keep: skipped"
run --filter= a
is "$(fetched)/$(server)" "2/3" "filter delete under keep: marked retrieved"
fill 1 2 3; newmd; rm -f "$T/uidls"; rcfile "keep off" "filter exit 3"
run a
st=$?
isnt "$st" 0 "filter exit 3: an error"
is "$(fetched)/$(server)" "0/3" "filter exit 3: nothing fetched or deleted"
# %F and %S; big mails go through TOP, small ones are filtered locally
fill 1 5; newmd; rm -f "$T/uidls"
rcfile "keep on" "filter echo %F %S >>$T/fargs; exit 2"
rm -f "$T/fargs"
run a
is "$(sort "$T/fargs" | tr '\n' ' ')" \
    "big@example.org $(($(wc -c <"$T/mails/5") + $(wc -l <"$T/mails/5"))) u1@example.org $(($(wc -c <"$T/mails/1") + $(wc -l <"$T/mails/1"))) " \
    "filter: %F and %S (TOP and local)"

# --- -s and -A ---------------------------------------------------------------
fill 1 2 3; newmd; rm -f "$T/uidls"; rcfile "keep on"
run -s a
is "$(cat "$T/out")" "tester at 127.0.0.1:
new: 3 messages in $(( $(cat "$T"/mails/[123] | wc -c) + $(cat "$T"/mails/[123] | wc -l) )) bytes, total: 3 messages in $(( $(cat "$T"/mails/[123] | wc -c) + $(cat "$T"/mails/[123] | wc -l) )) bytes" \
    "-s: the status lines"
is "$(fetched)/$(server)" "0/3" "-s: nothing fetched or deleted"
run -A a
is "$?:$(cat "$T/out")" "0:" "-A: exit 0, silent"
run -Q a
like "$(cat "$T/out")" "tester at 127.0.0.1:
new: 3 messages in * bytes, total: 3 messages in * bytes" "-Q: status only"
run -q a
is "$(cat "$T/out")" "" "-q: silent"
if [ -n "$ORIG" ]; then
    for opt in -s -A -Q; do
        fill 1 2 3; newmd; rm -f "$T/uidls"
        "$ORIG" -C "$T/rc" $opt a >"$T/orig.out" 2>&1
        o=$(cat "$T/orig.out")
        fill 1 2 3; newmd; rm -f "$T/uidls"
        run $opt a
        is "$(cat "$T/out")" "$o" "$opt: output as mpop 1.4.18"
    done
else
    skip "the original mpop is not installed"
    skip "the original mpop is not installed"
    skip "the original mpop is not installed"
fi

# --- UIDLs files written by the original (plain format; 1.4.18 has no
# keep DURATION, so the times format is made by hand below) --------------
if [ -n "$ORIG" ]; then
    fill 1 2 3; newmd; rm -f "$T/uidls"; rcfile "keep on"
    "$ORIG" -q -C "$T/rc" a >/dev/null 2>&1
    add 4
    newmd
    run a
    is "$(fetched)" 1 "UIDLs file of mpop 1.4.18: only the new mail"
    fill 1 2; newmd; rm -f "$T/uidls"; rcfile "keep on"
    run a
    add 3
    "$ORIG" -q -C "$T/rc" a >/dev/null 2>&1
    is "$(fetched)" 3 "mpop 1.4.18 reads our UIDLs file: only the new mail"
else
    skip "the original mpop is not installed"
    skip "the original mpop is not installed"
fi
# the times format, as later versions write it
fill 1 2; newmd; rm -f "$T/uidls"; rcfile "keep on"
run a
sed -i -E 's/^([0-9a-f]{16})$/\1 1234567890/' "$T/uidls"
add 3
run a
is "$(fetched)" 3 "UIDLs file with first-seen times: only the new mail"

# --- full disk: EX_IOERR, nothing deleted ---------------------------------
fill 1 5 2; newmd; rm -f "$T/uidls"; rcfile "keep off"
( trap '' XFSZ; ulimit -f 8; "$MPOP" -C "$T/rc" a >"$T/out" 2>&1 )
st=$?
is "$st" 74 "file too large: EX_IOERR"
is "$(server)" 3 "file too large: server keeps everything"
is "$(ls "$MD/tmp" | wc -l)" 0 "file too large: no partial mail left"
run a
is "$(fetched)/$(server)" "3/0" "after the disk error: everything once"

# --- several accounts: one failing does not stop the others ---------------
fill 1 2; newmd; rm -f "$T/uidls"; rcfile "keep on"
cat >>"$T/rc" <<EOF

account bad : a
password wrong
EOF
"$MPOP" -C "$T/rc" bad a >"$T/out" 2>&1
st=$?
is "$st" 77 "accounts: exit code of the first failure (auth: 77)"
is "$(fetched)" 2 "accounts: the good account still ran"

done_testing
