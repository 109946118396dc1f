#!/bin/bash
# mpop --mda[=FROM]: one mail from standard input, delivered with
# --delivery or an account's delivery.  Checks the delivered bytes of every
# backend, the envelope sender (given, from the header, sanitised), the
# errors and their exit codes, and that a failed or interrupted delivery
# leaves nothing partial behind.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

plan 63

export HOME="$T/home"
export XDG_CONFIG_HOME="$T/home/.config"
mkdir -p "$HOME"

printf 'Return-Path: <alice@example.org>\r\nFrom: Alice <alice@example.org>\r\nSubject: one\r\n\r\nFrom the start\r\n>From quoted\r\nbody\r\n' >"$T/crlf.eml"
printf 'Return-Path: <alice@example.org>\nFrom: Alice <alice@example.org>\nSubject: one\n\nFrom the start\n>From quoted\nbody\n' >"$T/lf.eml"
printf 'Subject: no sender\n\nno final newline' >"$T/nonl.eml"

# mda_run EXPECTED-STATUS STDIN-FILE ARGS...: runs mpop --mda ..., stores
# stderr in $T/err and checks the status.
st_of()
{
    local in=$1
    shift
    "$MPOP" "$@" <"$in" >"$T/out" 2>"$T/err"
    echo $?
}

count()
{
    find "$1" -type f 2>/dev/null | wc -l | tr -d ' '
}

# ---- maildir --------------------------------------------------------
mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
is "$(st_of "$T/crlf.eml" --mda --delivery=maildir,"$T/md")" 0 \
    "maildir: exit 0"
is "$(count "$T/md/new")" 1 "maildir: one mail in new/"
is "$(count "$T/md/tmp")" 0 "maildir: tmp/ is empty"
f=$(find "$T/md/new" -type f | head -1)
ok "cmp '$f' '$T/lf.eml'" "maildir: CRLF became LF, bytes intact"
is "$(st_of "$T/nonl.eml" --mda --delivery=maildir,"$T/md")" 0 \
    "maildir: a second mail"
is "$(count "$T/md/new")" 2 "maildir: two mails, distinct names"
ok "grep -qx 'no final newline' $T/md/new/*" \
    "maildir: a missing final line end is added"

# ---- mbox: From_ line, MBOXRD quoting, given and found senders -------
is "$(st_of "$T/crlf.eml" --mda --delivery=mbox,"$T/mbox")" 0 \
    "mbox: exit 0"
like "$(head -1 "$T/mbox")" 'From alice@example.org ??? ??? [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] 20[0-9][0-9]' \
    "mbox: From_ line with the Return-Path sender"
body=$(sed -n '6,8p' "$T/mbox")
is "$body" "$(printf '>From the start\n>>From quoted\nbody\n')" \
    "mbox: body lines MBOXRD-quoted"
is "$(tail -c 2 "$T/mbox" | od -An -c | tr -d ' ')" '\n\n' \
    "mbox: the mail ends with its blank separator line"
is "$(st_of "$T/nonl.eml" --mda=joe@example.net --delivery=mbox,"$T/mbox")" \
    0 "mbox: --mda=FROM"
is "$(grep -c '^From ' "$T/mbox")" 2 "mbox: two From_ lines"
like "$(grep '^From ' "$T/mbox" | tail -1)" 'From joe@example.net *' \
    "mbox: the sender given with --mda=FROM"
is "$(st_of "$T/nonl.eml" --mda --delivery=mbox,"$T/mbox")" 0 \
    "mbox: a mail without sender"
like "$(grep '^From ' "$T/mbox" | tail -1)" 'From MAILER-DAEMON *' \
    "mbox: no sender in the header gives MAILER-DAEMON"

# ---- mda: %F, the bytes on stdin, a hostile sender --------------------
cmd="cat >'$T/mda.out'; echo %F >'$T/mda.from'"
is "$(st_of "$T/crlf.eml" --mda --delivery=mda,"$cmd")" 0 "mda: exit 0"
ok "cmp '$T/mda.out' '$T/lf.eml'" "mda: the command got the mail (LF)"
is "$(cat "$T/mda.from")" "alice@example.org" "mda: %F from Return-Path"
is "$(st_of "$T/crlf.eml" '--mda=x;touch${IFS}pwned;$(touch pwned2)@y' \
    --delivery=mda,"cd '$T' && $cmd")" 0 "mda: a hostile --mda=FROM"
is "$(cat "$T/mda.from")" "x_touch__IFS_pwned___touch_pwned2_@y" \
    "mda: the sender is sanitised before %F"
ok "[ ! -e '$T/pwned' ] && [ ! -e '$T/pwned2' ]" \
    "mda: no command was injected through %F"
is "$(st_of "$T/crlf.eml" --mda --delivery=mda,'cat >/dev/null; exit 3')" \
    74 "mda: a failing command gives EX_IOERR"
like "$(cat "$T/err")" '*exit*3*' "mda: the error quotes the exit status"

# ---- exchange: CRLF pickup file ---------------------------------------
mkdir -p "$T/pickup"
is "$(st_of "$T/lf.eml" --mda --delivery=exchange,"$T/pickup")" 0 \
    "exchange: exit 0"
is "$(find "$T/pickup" -type f -name '*.eml' | wc -l | tr -d ' ')" 1 \
    "exchange: one .eml file"
ok "cmp \"\$(find '$T/pickup' -type f -name '*.eml')\" '$T/crlf.eml'" \
    "exchange: CRLF bytes"
is "$(find "$T/pickup" -type f ! -name '*.eml' | wc -l | tr -d ' ')" 0 \
    "exchange: no temporary file left"

# ---- accounts from a configuration file -------------------------------
mkdir -p "$T/md2/new" "$T/md2/cur" "$T/md2/tmp" "$T/md3/new" "$T/md3/cur" \
    "$T/md3/tmp"
cat >"$T/rc" <<EOF
defaults
host pop.example.org
account default
delivery maildir $T/md2
account other
delivery maildir $T/md3
EOF
chmod 600 "$T/rc"
is "$(st_of "$T/lf.eml" --mda -C "$T/rc")" 0 "config: default account"
is "$(count "$T/md2/new")" 1 "config: delivered with the default account"
is "$(st_of "$T/lf.eml" --mda -C "$T/rc" other)" 0 "config: named account"
is "$(count "$T/md3/new")" 1 "config: delivered with the named account"
is "$(st_of "$T/lf.eml" --mda -C "$T/rc" --delivery=maildir,"$T/md3" \
    default)" 0 "config: --delivery overrides the account's"
is "$(count "$T/md3/new")" 2 "config: the override was used"
is "$(st_of "$T/lf.eml" --mda -C "$T/rc" nosuch)" 78 \
    "config: an unknown account is EX_CONFIG"
"$MPOP" --mda -C "$T/rc" --pretend other >"$T/pretend" 2>&1
like "$(cat "$T/pretend")" "*delivery = maildir $T/md3*" \
    "--pretend shows the delivery --mda would use"

# ---- errors -----------------------------------------------------------
is "$(st_of "$T/lf.eml" --mda)" 66 \
    "no configuration file and no --delivery: EX_NOINPUT"
like "$(cat "$T/err")" "*$HOME/.mpoprc*" \
    "the error names the configuration file it looked for"
printf 'defaults\naccount default\nhost x\n' >"$T/rc2"
is "$(st_of "$T/lf.eml" --mda -C "$T/rc2")" 78 \
    "an account without delivery: EX_CONFIG"
like "$(cat "$T/err")" "*rc2*default*delivery*" \
    "the error names the file, the account and the problem"
is "$(st_of /dev/null --mda --delivery=maildir,"$T/md")" 65 \
    "empty input: EX_DATAERR"
is "$(count "$T/md/new")$(count "$T/md/tmp")" 20 \
    "empty input: nothing delivered"
is "$(st_of "$T/lf.eml" --mda --delivery=maildir,"$T/nomd")" 73 \
    "a missing maildir: EX_CANTCREAT"
ok "[ ! -e '$T/nomd' ]" "the maildir is not created"
is "$(st_of "$T/lf.eml" --mda -a --delivery=maildir,"$T/md")" 64 \
    "--mda with -a: EX_USAGE"
is "$(st_of "$T/lf.eml" --mda -S --delivery=maildir,"$T/md")" 64 \
    "--mda with --serverinfo: EX_USAGE"
is "$(st_of "$T/lf.eml" --mda -C "$T/rc" default other)" 64 \
    "--mda with two accounts: EX_USAGE"

# ---- a full disk (file size limit): the mbox keeps its old bytes ------
cp "$T/mbox" "$T/mbox.before"
head -c 3000000 /dev/zero | tr '\0' 'y' | fold -w 70 >"$T/big.body"
echo >>"$T/big.body"
{ printf 'Subject: big\n\n'; cat "$T/big.body"; } >"$T/big.eml"
size=$(stat -c %s "$T/mbox")
st=$(bash -c 'trap "" XFSZ; ulimit -f $(( ('"$size"' + 1048576) / 1024 ))
    exec "$0" --mda --delivery=mbox,"$1" <"$2" 2>"$3"' \
    "$MPOP" "$T/mbox" "$T/big.eml" "$T/err"; echo $?)
is "$st" 74 "file size limit hit in mbox: EX_IOERR"
ok "cmp '$T/mbox' '$T/mbox.before'" \
    "the mbox is truncated back to its old bytes"

# ---- a big mail streams through intact --------------------------------
is "$(st_of "$T/big.eml" --mda --delivery=mbox,"$T/mbox")" 0 \
    "a 3 MB mail: exit 0"
is "$(sed -n '/^Subject: big$/,$p' "$T/mbox" | sed '1,2d;$d' | cksum)" \
    "$(cksum <"$T/big.body")" "a 3 MB mail: body intact"

# ---- SIGTERM while the mail is still coming: nothing delivered --------
mkdir -p "$T/md4/new" "$T/md4/cur" "$T/md4/tmp"
mkfifo "$T/fifo"
"$MPOP" --mda --delivery=maildir,"$T/md4" <"$T/fifo" 2>"$T/err.sig" &
pid=$!
exec 7>"$T/fifo"
# More than the backend buffers (64 KiB), so that the temporary file
# exists: mpop is then waiting for the rest.
{ printf 'Subject: cut\n\n'; head -c 100000 "$T/big.body"; } >&7
wait_until()
{
    local _
    for _ in $(seq 1 600); do
        eval "$1" && return 0
        sleep 0.1
    done
    return 1
}
wait_until '[ "$(count "$T/md4/tmp")" = 1 ]' ||
    diag "the temporary file did not appear"
kill -TERM "$pid"
wait "$pid"
is "$?" 75 "SIGTERM during input: EX_TEMPFAIL"
exec 7>&-
is "$(count "$T/md4/new")$(count "$T/md4/tmp")" 00 \
    "SIGTERM during input: nothing delivered, no temporary file"
like "$(cat "$T/err.sig")" '*signal*' "SIGTERM: the error says why"

# same with an mda command: the mail is not whole yet, so the MDA is
# never started (issue 17: it is started only with the whole mail spooled)
"$MPOP" --mda \
    --delivery=mda,"touch '$T/frag.started'; cat >'$T/frag'; touch '$T/frag.done'" \
    <"$T/fifo" 2>/dev/null &
pid=$!
exec 7>"$T/fifo"
{ printf 'Subject: cut\n\n'; head -c 100000 "$T/big.body"; } >&7
# once its SIGTERM handler is in place (SigCgt bit 15): valgrind's
# start-up can outlast the write above
wait_until 'cgt=$(sed -n "s/^SigCgt:[[:space:]]*//p" /proc/$pid/status)
    [ -n "$cgt" ] && (( 0x$cgt & 0x4000 ))' || diag "no SIGTERM handler"
kill -TERM "$pid"
wait "$pid"
is "$?" 75 "SIGTERM during input, mda: EX_TEMPFAIL"
exec 7>&-
ok "[ ! -e '$T/frag.started' ] && [ ! -e '$T/frag' ]" \
    "SIGTERM during input, mda: the MDA was never started"

# SIGKILL during input: no trace anywhere, not even the spool file
"$MPOP" --mda --delivery=mda,"cat >'$T/frag'" <"$T/fifo" 2>/dev/null &
pid=$!
exec 7>"$T/fifo"
{ printf 'Subject: cut\n\n'; head -c 100000 "$T/big.body"; } >&7
# (the spool file has no name: it shows only among mpop's descriptors)
wait_until 'ls -l /proc/$pid/fd 2>/dev/null | grep -q "state/mpop"' ||
    diag "the spool file did not appear"
{ kill -KILL "$pid"; wait "$pid"; } 2>/dev/null
exec 7>&-
ok "[ ! -e '$T/frag' ] && [ -z \"\$(ls -A '$HOME/.local/state/mpop')\" ]" \
    "SIGKILL during input, mda: no MDA, no spool file left"

# SIGTERM while the MDA runs: it gets the whole mail (here bigger than the
# 64 KiB kept in memory: from the spool file), mpop waits for its exit,
# reports the delivery and exits 0
mda_go="touch '$T/run.started'; while [ ! -e '$T/run.go' ]; do sleep 0.05; done"
"$MPOP" --mda --delivery=mda,"$mda_go; cat >'$T/run.out'" \
    <"$T/big.eml" 2>"$T/err.run" &
pid=$!
wait_until '[ -e "$T/run.started" ]' || diag "the MDA did not start"
kill -TERM "$pid"
touch "$T/run.go"
wait "$pid"
is "$?" 0 "SIGTERM while the MDA runs: it finishes, exit 0"
ok "cmp -s '$T/run.out' '$T/big.eml'" \
    "SIGTERM while the MDA runs: it got the whole mail"
ok "[ -z \"\$(ls -A '$HOME/.local/state/mpop')\" ]" \
    "the spool file is gone"

# ... and one that is still running past the bound (shortened here from
# 30 s) is stopped, and mpop says so
rm -f "$T/run.started" "$T/run.go"
MPOP_TEST_MDA_STOP_MS=300 "$MPOP" --mda \
    --delivery=mda,"$mda_go; touch '$T/run.late'" \
    <"$T/lf.eml" 2>"$T/err.run" &
pid=$!
wait_until '[ -e "$T/run.started" ]' || diag "the MDA did not start"
kill -TERM "$pid"
wait "$pid"
is "$?" 75 "an MDA past the bound after SIGTERM: EX_TEMPFAIL"
like "$(cat "$T/err.run")" '*still running*stopped*not delivered*' \
    "... and mpop says it stopped it"
touch "$T/run.go"
sleep 0.2
ok "[ ! -e '$T/run.late' ]" "... the MDA was stopped, not left running"

done_testing
