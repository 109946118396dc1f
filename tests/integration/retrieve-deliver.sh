#!/bin/bash
# Retrieval against dovecot into every delivery method: maildir, mbox (byte
# for byte, with From_ quoting of "From " and ">From " lines, CRLF and bare
# LF mails), mda (the command gets each mail on stdin, %F expanded) and
# exchange.  Where the original mpop is installed, its output for the same
# mails is the reference.  Each run checks what the server still holds, and
# a second run fetches nothing.
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

# The sample mails: quoting cases, CRLF and bare LF, no final line end.
mkmails()
{
    mkdir -p "$T/mails"
    printf 'Return-Path: <alice@example.org>\nFrom: Alice <alice@example.org>\nSubject: one\n\nFrom the start\n>From quoted\n>>From twice\n From not at start\nFromage\n' >"$T/mails/1"
    printf 'Return-Path: <>\r\nSender: bob (Bob) <bob@example.org>\r\nSubject: two\r\n\r\nCRLF body\r\nFrom x\r\n.leading dot\r\n..two dots\r\n' >"$T/mails/2"
    printf 'Subject: three\n\nno final newline' >"$T/mails/3"
    printf 'Return-Path: <we ird;$(id)@exa mple.org>\nSubject: four\n\n%s\n' \
        "$(head -c 30000 /dev/zero | tr '\0' 'x')" >"$T/mails/4"
}
mkmails

fill()
{
    local f
    rm -rf "$DOVECOT_MAILDIR"/new/* "$DOVECOT_MAILDIR"/cur/*
    for f in 1 2 3 4; do
        maildir_add "$DOVECOT_DIR" "$T/mails/$f"
        sleep 0.01
    done
}

# rcfile NAME DELIVERY [EXTRA LINES...]
rcfile()
{
    local name=$1 delivery=$2
    shift 2
    {
        echo "defaults"
        echo "host 127.0.0.1"
        echo "port $DOVECOT_PORT"
        echo "user $DOVECOT_USER"
        echo "password $DOVECOT_PASS"
        echo "auth user"
        echo "tls off"
        echo "received_header off"
        echo "uidls_file $T/$name.uidls"
        echo "account $name"
        echo "delivery $delivery"
        for l in "$@"; do echo "$l"; done
    } >"$T/$name.rc"
    chmod 600 "$T/$name.rc"
}

# Normalises an mbox for comparison: the From_ line dates.
mbox_norm()
{
    # mpop 1.4.18 turns spaces inside an address into '-', we into '_'
    # (envelope.h): only the fourth mail's sender differs by that.
    sed -E -e 's/^(From [^ ]+) .*/\1 DATE/' -e '/^From /y/-/_/' "$1"
}

# --- maildir -------------------------------------------------------------
fill
mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
rcfile md "maildir $T/md" "keep on"
"$MPOP" -C "$T/md.rc" md >"$T/md.out" 2>&1
is "$?" 0 "maildir: exit 0"
is "$(ls "$T/md/new" | wc -l)" 4 "maildir: four mails in new/"
is "$(ls "$T/md/tmp" | wc -l)" 0 "maildir: tmp/ is empty"
is "$(maildir_count "$DOVECOT_DIR")" 4 "maildir, keep on: server keeps 4"
like "$(cat "$T/md.out")" "tester at 127.0.0.1:*new: 4 messages in *retrieving message 4 of 4 (*" \
    "maildir: progress output"
"$MPOP" -C "$T/md.rc" md >"$T/md2.out" 2>&1
is "$?" 0 "maildir: second run exit 0"
is "$(ls "$T/md/new" | wc -l)" 4 "maildir: second run fetches nothing"
like "$(cat "$T/md2.out")" "*new: no messages, total: 4 messages in *" \
    "maildir: second run says no new messages"
got=$(cat "$T"/md/new/* | sort | md5sum)
want=$(for f in 1 2 3 4; do tr -d '\r' <"$T/mails/$f"; echo; done |
    sed '/^$/d' | sort | md5sum)
is "$(cat "$T"/md/new/* | sed '/^$/d' | sort | md5sum)" "$want" \
    "maildir: contents with LF line ends"

# --- mbox, compared with the original ------------------------------------
fill
rcfile mb "mbox $T/mbox" "keep on"
"$MPOP" -C "$T/mb.rc" mb >"$T/mb.out" 2>&1
is "$?" 0 "mbox: exit 0"
is "$(grep -c '^From ' "$T/mbox")" 4 "mbox: four From_ lines"
like "$(grep '^>From the start' "$T/mbox")" ">From the start" \
    "mbox: 'From ' quoted"
like "$(grep -c '^>>>From twice' "$T/mbox")" 1 "mbox: '>>From ' quoted"
like "$(head -1 "$T/mbox")" "From alice@example.org *" \
    "mbox: From_ line with the envelope sender"
like "$(grep '^From bob' "$T/mbox")" "From bob@example.org *" \
    "mbox: empty Return-Path falls back to Sender"
if [ -n "$ORIG" ]; then
    rcfile mbo "mbox $T/mbox.orig" "keep on"
    "$ORIG" -q -C "$T/mbo.rc" mbo >"$T/mbo.out" 2>&1
    if cmp -s <(mbox_norm "$T/mbox") <(mbox_norm "$T/mbox.orig"); then
        pass "mbox: byte for byte as mpop 1.4.18 (dates aside)"
    else
        fail "mbox: byte for byte as mpop 1.4.18 (dates aside)"
        diag "$(diff <(mbox_norm "$T/mbox") <(mbox_norm "$T/mbox.orig") | head -20)"
    fi
else
    skip "the original mpop is not installed"
fi

# --- mda -----------------------------------------------------------------
fill
mkdir -p "$T/mda"
cat >"$T/mda.sh" <<EOF
#!/bin/sh
n=\$(ls "$T/mda" | wc -l)
echo "\$1" >"$T/mda/from.\$n"
cat >"$T/mda/mail.\$n"
EOF
chmod 755 "$T/mda.sh"
rcfile mda "mda $T/mda.sh %F"
"$MPOP" -C "$T/mda.rc" mda >"$T/mda.out" 2>&1
is "$?" 0 "mda: exit 0"
is "$(ls "$T"/mda/mail.* | wc -l)" 4 "mda: four mails"
is "$(cat "$T"/mda/from.* | sort | tr '\n' ' ')" \
    "MAILER-DAEMON alice@example.org bob@example.org we_ird__@exa_mple.org " \
    "mda: %F is the sanitised envelope sender"
is "$(maildir_count "$DOVECOT_DIR")" 0 "mda, keep off: server empty"
if [ -n "$ORIG" ]; then
    fill
    mkdir -p "$T/mdao"
    rcfile mdao "mda cat >>$T/mdao/all" "keep on"
    "$ORIG" -q -C "$T/mdao.rc" mdao >/dev/null 2>&1
    rcfile mdan "mda cat >>$T/mdao/ours" "keep on"
    "$MPOP" -q -C "$T/mdan.rc" mdan >/dev/null 2>&1
    ok "cmp '$T/mdao/all' '$T/mdao/ours'" "mda: same bytes as mpop 1.4.18"
else
    skip "the original mpop is not installed"
fi

# --- exchange ------------------------------------------------------------
fill
mkdir -p "$T/pickup"
rcfile ex "exchange $T/pickup"
"$MPOP" -C "$T/ex.rc" ex >"$T/ex.out" 2>&1
is "$?" 0 "exchange: exit 0"
is "$(ls "$T/pickup" | wc -l)" 4 "exchange: four files"
is "$(cat "$T"/pickup/* | grep -c $'\r$')" \
    "$(cat "$T"/pickup/* | wc -l)" "exchange: CRLF line ends"
is "$(maildir_count "$DOVECOT_DIR")" 0 "exchange, keep off: server empty"

# --- a missing maildir: nothing fetched, nothing deleted ------------------
fill
rcfile nomd "maildir $T/missing"
"$MPOP" -q -C "$T/nomd.rc" nomd >"$T/nomd.out" 2>&1
st=$?
isnt "$st" 0 "missing maildir: an error"
is "$(maildir_count "$DOVECOT_DIR")" 4 "missing maildir: server keeps 4"

# --- received header -------------------------------------------------------
fill
mkdir -p "$T/rh/new" "$T/rh/cur" "$T/rh/tmp"
rcfile rh "maildir $T/rh" "received_header on"
"$MPOP" -q -C "$T/rh.rc" rh >/dev/null 2>&1
like "$(head -3 "$(ls -d "$T"/rh/new/* | head -1)" | tr '\n\t' '| ')" \
    "Received: from 127.0.0.1 (* \\[127.0.0.1\\])| by * (mpop-*) with POP3| for <*>; *" \
    "received_header on: the Received header comes first"

done_testing
