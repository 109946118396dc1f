#!/bin/bash
# Clients we did not write against mpopd: fetchmail and getmail6 (where
# installed), and our own mpop.  Each fetches a maildir of five mails (dot
# lines, "From " lines, CRLF and bare LF line ends, no final line end, a
# long mail) with keep off: the delivered bytes must be the originals with
# the client's conversion to LF line ends (and a final one), and mpopd's
# maildir must be empty afterwards.  Keep on leaves the mails on the
# server.  Then the same over TLS: implicit TLS and STLS, with the test CA
# from tests/lib/certs.sh.  Prints TAP.
: "${TESTLIB:=$(dirname "$0")/../lib}"
. "$TESTLIB/common.sh"
. "$TESTLIB/certs.sh"

: "${MPOPD:=${top_builddir:-.}/src/mpopd}"
: "${MPOP:=${top_builddir:-.}/src/mpop}"
[ -x "$MPOPD" ] || skip_all "$MPOPD is not built"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

HAVE_FETCHMAIL=false
HAVE_GETMAIL=false
HAVE_MPOP=false
HAVE_CERTS=false
command -v fetchmail >/dev/null 2>&1 && HAVE_FETCHMAIL=true
command -v getmail >/dev/null 2>&1 && HAVE_GETMAIL=true
[ -x "$MPOP" ] && HAVE_MPOP=true
command -v certtool >/dev/null 2>&1 && certs_make "$T/certs" >/dev/null 2>&1 \
    && HAVE_CERTS=true

# getmail refuses to deliver as root; it then delivers as nobody.
AS_ROOT=false
[ "$(id -u)" -eq 0 ] && AS_ROOT=true

# ---- the mails and what a client must deliver ----------------------------
mkdir -p "$T/mails" "$T/want"
printf '%s\n' 'From: a@example.org' 'Subject: one' '' '.leading dot' \
    '..two dots' '.' 'From the start' '>From quoted' >"$T/mails/1"
printf 'From: b@example.org\r\nSubject: two\r\n\r\nCRLF body\r\n.dot\r\n' \
    >"$T/mails/2"
printf 'From: c@example.org\nSubject: three\n\nno final line end' \
    >"$T/mails/3"
{
    printf 'From: d@example.org\nSubject: four\n\n'
    for i in $(seq 1 3000); do
        printf 'line %05d %s\n' "$i" "abcdefghijklmnopqrstuvwxyz0123456789"
    done
} >"$T/mails/4"
printf 'From: e@example.org\nSubject: five\n\n\n\nempty lines above\n\n' \
    >"$T/mails/5"
for f in 1 2 3 4 5; do
    # CRLF to LF, and a final LF: what a client writes to a local file.
    python3 -c 'import sys
d = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
if not d.endswith(b"\n"):
    d += b"\n"
open(sys.argv[2], "wb").write(d)' "$T/mails/$f" "$T/want/$f"
done

# fill DIR: a fresh maildir holding the five mails
fill()
{
    local d=$1 f
    rm -rf "$d"
    mkdir -p "$d/new" "$d/cur" "$d/tmp"
    for f in 1 2 3; do
        cp "$T/mails/$f" "$d/new/100000000$f.M${f}P1.host"
    done
    for f in 4 5; do
        cp "$T/mails/$f" "$d/cur/100000000$f.M${f}P1.host:2,S"
    done
}

# count DIR: the mails left in a maildir
count()
{
    find "$1/new" "$1/cur" -type f | wc -l
}

# same DIR [STRIP]: the files in DIR are the wanted mails, in any order;
# STRIP is a first header line a client adds (removed before comparing)
same()
{
    python3 - "$T/want" "$1" "${2:-}" <<'EOF'
import os, sys
want, got_dir, strip = sys.argv[1], sys.argv[2], sys.argv[3].encode()
w = sorted(open(os.path.join(want, f), "rb").read() for f in os.listdir(want))
g = []
for root, _, files in os.walk(got_dir):
    for f in files:
        d = open(os.path.join(root, f), "rb").read()
        if strip and d.startswith(strip + b"\n"):
            d = d[len(strip) + 1:]
        g.append(d)
g.sort()
if g != w:
    print("# got %d mails, want %d" % (len(g), len(w)))
    for a, b in zip(g, w):
        if a != b:
            print("# got  %r\n# want %r" % (a[:200], b[:200]))
    sys.exit(1)
EOF
}

# start_mpopd NAME [OPTIONS...]: a listener on a free port serving
# $T/NAME.src; sets PORT and PID
start_mpopd()
{
    local name=$1
    shift
    fill "$T/$name.src"
    rm -f "$T/$name.port"
    "$MPOPD" --port=0 --port-file="$T/$name.port" --log="$T/$name.log" \
        --auth="u,echo secret" --maildir="$T/$name.src" "$@" &
    PID=$!
    at_exit "kill_wait $PID"
    wait_file "$T/$name.port" || bail_out "mpopd does not start"
    PORT=$(cat "$T/$name.port")
}

stop_mpopd()
{
    kill_wait "$PID"
}

# ---- fetchmail -----------------------------------------------------------
# fetchmail NAME KEEP [POLL OPTIONS]: fetch into $T/NAME.out through an mda
fetchmail_run()
{
    local name=$1 keep=$2
    shift 2
    mkdir -p "$T/$name.out"
    cat >"$T/deliver.sh" <<'EOF'
#!/bin/sh
f=$(mktemp "$1/mail.XXXXXX") && exec cat >"$f"
EOF
    chmod +x "$T/deliver.sh"
    {
        echo "set no bouncemail"
        echo "poll 127.0.0.1 protocol pop3 port $PORT"
        echo "    user \"u\" password \"secret\" is \"$(id -un)\" here"
        echo "    $keep fetchall no rewrite $*"
        echo "    mda \"$T/deliver.sh $T/$name.out\""
    } >"$T/$name.fmrc"
    chmod 600 "$T/$name.fmrc"
    # Own pid file and ids file: root's default pid file is shared with
    # any other fetchmail on the machine.
    HOME=$T FETCHMAILHOME=$T fetchmail -f "$T/$name.fmrc" -N --nosyslog \
        --invisible --pidfile "$T/$name.pid" -i "$T/$name.ids" \
        >"$T/$name.err" 2>&1
}

# ---- getmail6 ------------------------------------------------------------
# getmail_run NAME DELETE RETRIEVER [RETRIEVER LINES...]
getmail_run()
{
    local name=$1 del=$2 type=$3 l
    shift 3
    {
        echo "[retriever]"
        echo "type = $type"
        echo "server = localhost"
        echo "port = $PORT"
        echo "username = u"
        echo "password = secret"
        for l in "$@"; do echo "$l"; done
        echo "[destination]"
        echo "type = Maildir"
        echo "path = $T/$name.out/"
        if $AS_ROOT; then
            echo "user = nobody"
        fi
        echo "[options]"
        echo "delete = $del"
        echo "read_all = true"
        echo "received = false"
        echo "delivered_to = false"
        echo "message_log_syslog = false"
    } >"$T/$name.getmailrc"
    # getmail6 6.18 sometimes loses its delivery child under load
    # ("waiting child pid ... timed out", a race in its SIGCHLD handling:
    # getmail6 issues #52 and #226).  The session then ends without QUIT,
    # so mpopd deleted nothing: start over, at most three times.
    local try st
    for try in 1 2 3; do
        rm -rf "$T/$name.gm" "$T/$name.out"
        mkdir -p "$T/$name.gm" "$T/$name.out/new" "$T/$name.out/cur" \
            "$T/$name.out/tmp"
        if $AS_ROOT; then
            chmod 777 "$T/$name.out" "$T/$name.out"/*
        fi
        st=0
        getmail --getmaildir="$T/$name.gm" --rcfile="$T/$name.getmailrc" \
            >"$T/$name.err" 2>&1 || st=$?
        if [ "$st" -eq 0 ] || ! grep -q 'waiting child pid .* timed out' \
            "$T/$name.err"; then
            break
        fi
        diag "getmail lost its delivery child (try $try), again"
        is_all_there "$T/$name.src" || break
    done
    return "$st"
}

# is_all_there DIR: mpopd's maildir still holds the five mails
is_all_there()
{
    [ "$(count "$1")" -eq 5 ]
}

# ---- mpop ----------------------------------------------------------------
# mpop_run NAME KEEP [RC LINES...]
mpop_run()
{
    local name=$1 keep=$2 l
    shift 2
    mkdir -p "$T/$name.out/new" "$T/$name.out/cur" "$T/$name.out/tmp"
    {
        echo "account x"
        echo "host localhost"
        echo "port $PORT"
        echo "user u"
        echo "password secret"
        echo "auth user"
        echo "received_header off"
        echo "uidls_file $T/$name.uidls"
        echo "delivery maildir $T/$name.out"
        echo "keep $keep"
        for l in "$@"; do echo "$l"; done
    } >"$T/$name.mpoprc"
    chmod 600 "$T/$name.mpoprc"
    HOME=$T "$MPOP" -q -C "$T/$name.mpoprc" x >"$T/$name.err" 2>&1
}

# check NAME RC WHAT LEFT [STRIP]: the client's exit code, the bytes, and
# the mails left on the server
check()
{
    local name=$1 rc=$2 what=$3 left=$4 strip=${5:-}
    is "$rc" 0 "$what: exit 0"
    [ "$rc" -eq 0 ] || diag_file "$T/$name.err"
    ok "same '$T/$name.out' '$strip'" "$what: the five mails, byte for byte"
    is "$(count "$T/$name.src")" "$left" "$what: $left mails left on mpopd"
}

CA=$T/certs/ca.pem
TLS_OPTS=(--tls-cert="$T/certs/server.pem" --tls-key="$T/certs/server.key")
IMPLICIT=(--tls-implicit "${TLS_OPTS[@]}")
plan 38

# fetchmail: plain keep off, plain keep on, implicit TLS, STLS
if $HAVE_FETCHMAIL; then
    start_mpopd fm1
    fetchmail_run fm1 "no keep" 'sslproto ""'
    check fm1 $? "fetchmail" 0
    stop_mpopd
    start_mpopd fm2
    fetchmail_run fm2 "keep" 'sslproto ""'
    check fm2 $? "fetchmail, keep" 5
    stop_mpopd
    if $HAVE_CERTS; then
        start_mpopd fm3 "${IMPLICIT[@]}"
        fetchmail_run fm3 "no keep" ssl sslcertck sslcertfile "\"$CA\"" \
            sslcommonname localhost
        check fm3 $? "fetchmail, implicit TLS" 0
        stop_mpopd
        start_mpopd fm4 "${TLS_OPTS[@]}"
        fetchmail_run fm4 "no keep" sslcertck sslcertfile "\"$CA\"" \
            sslcommonname localhost \
            sslproto "TLS1.2+"
        check fm4 $? "fetchmail, STLS" 0
        ok "grep -q 'TLS started' '$T/fm4.log'" "fetchmail, STLS: TLS was used"
        stop_mpopd
    else
        for i in $(seq 7); do skip "certtool is not installed"; done
    fi
else
    for i in $(seq 13); do skip "fetchmail is not installed"; done
fi

# getmail6: plain delete, plain keep, implicit TLS
if $HAVE_GETMAIL; then
    start_mpopd gm1
    getmail_run gm1 true SimplePOP3Retriever
    check gm1 $? "getmail6" 0 "Return-Path: <unknown>"
    stop_mpopd
    start_mpopd gm2
    getmail_run gm2 false SimplePOP3Retriever
    check gm2 $? "getmail6, keep" 5 "Return-Path: <unknown>"
    stop_mpopd
    if $HAVE_CERTS; then
        start_mpopd gm3 "${IMPLICIT[@]}"
        getmail_run gm3 true SimplePOP3SSLRetriever "ca_certs = $CA"
        check gm3 $? "getmail6, implicit TLS" 0 "Return-Path: <unknown>"
        stop_mpopd
    else
        for i in $(seq 3); do skip "certtool is not installed"; done
    fi
else
    for i in $(seq 9); do skip "getmail6 is not installed"; done
fi

# our mpop: keep off, keep on then nothing new, pipelined against a big
# maildir, implicit TLS, STLS
if $HAVE_MPOP; then
    start_mpopd mp1
    mpop_run mp1 off "tls off"
    check mp1 $? "mpop" 0
    stop_mpopd
    start_mpopd mp2
    mpop_run mp2 on "tls off"
    check mp2 $? "mpop, keep" 5
    rm -rf "$T/mp2.out"
    mpop_run mp2 on "tls off"
    is "$? $(find "$T/mp2.out" -type f | wc -l)" "0 0" \
        "mpop, keep: a second run fetches nothing new"
    stop_mpopd
    if $HAVE_CERTS; then
        start_mpopd mp3 "${IMPLICIT[@]}"
        mpop_run mp3 off "tls on" "tls_starttls off" "tls_trust_file $CA"
        check mp3 $? "mpop, implicit TLS" 0
        stop_mpopd
        start_mpopd mp4 "${TLS_OPTS[@]}"
        mpop_run mp4 off "tls on" "tls_starttls on" "tls_trust_file $CA"
        check mp4 $? "mpop, STLS" 0
        stop_mpopd
        # STLS refused: mpopd's plain mode and a client that insists on TLS
        start_mpopd mp5
        mpop_run mp5 off "tls on" "tls_starttls on" "tls_trust_file $CA"
        isnt "$?" 0 "mpop insisting on TLS fails against a plain mpopd"
        is "$(count "$T/mp5.src")" 5 "... and nothing was deleted"
        stop_mpopd
    else
        for i in $(seq 8); do skip "certtool is not installed"; done
    fi
    # 300 mails: pipelined RETR and DELE through mpopd's output batching
    start_mpopd mp6
    for i in $(seq 1 300); do
        printf 'Subject: %d\n\nmail %d\n' "$i" "$i" \
            >"$T/mp6.src/new/200000$i.M${i}P6.host"
    done
    mpop_run mp6 off "tls off"
    rc=$?
    is "$rc $(find "$T/mp6.out" -type f | wc -l) $(count "$T/mp6.src")" \
        "0 305 0" "mpop: 305 mails fetched and deleted in one session"
    [ "$rc" -eq 0 ] || diag_file "$T/mp6.err"
    stop_mpopd
else
    for i in $(seq 16); do skip "$MPOP is not built"; done
fi

done_testing
