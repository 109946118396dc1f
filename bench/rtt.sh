#!/bin/bash
# Round trips over a 50 ms link (issue 3): 200 mails of 4 KiB (and 20, to
# show whether the count grows with the number of mails), fetched and
# deleted by our mpop, Debian's mpop 1.4.18, fetchmail and getmail, one
# after the other, from the same dovecot behind bench/delay-proxy.py.
# "-s" rows: the status-only session (connect, auth, STAT/UIDL, QUIT).
#
#   bench/rtt.sh [MAILS...]        (default: 20 200)
#
# Environment: MPOP, ORIG_MPOP, BUILD (see lib.sh), DELAY_MS (one way,
# default 25), RTT_TRACE=DIR (keep, per client, when each round started and
# what the client sent then: DIR/CLIENT-MODE-MAILS.txt).
. "$(dirname "$0")/lib.sh"

DELAY_MS=${DELAY_MS:-25}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(20 200)
RUN_LIMIT=${RUN_LIMIT:-120}

bench_need python3 "$ORIG_MPOP" || exit 1
bench_dovecot "$T/dovecot"

# The proxy: its own self-test first, so a wrong delay shows up at once.
timeout 30 python3 "$BENCH_DIR/delay-proxy.py" --selftest \
    --delay-ms="$DELAY_MS" || exit 1
python3 "$BENCH_DIR/delay-proxy.py" --target="$DOVECOT_PORT" \
    --delay-ms="$DELAY_MS" --listen-port-file="$T/proxy.port" \
    --stats="$T/proxy.stats" --trace="$T/proxy.trace" 2>"$T/proxy.err" &
PROXY_PID=$!
at_exit "kill $PROXY_PID"
wait_file "$T/proxy.port" 10 || { echo "bench: proxy did not start" >&2; exit 1; }
PPORT=$(cat "$T/proxy.port")
wait_port "$PPORT" 5

# fetchmail delivers through an MDA: one small script per mail.  It
# tries STLS whenever offered unless sslproto is empty.
cat >"$T/fm-mda" <<'EOF'
#!/bin/sh
f=$(mktemp "$1/tmp/fm.XXXXXXXX") && cat >"$f" && mv "$f" "$1/new/"
EOF
chmod 755 "$T/fm-mda"

# proxy_rounds: wait for every connection's line, print "ROUNDS CONNS".
proxy_rounds()
{
    local i
    for ((i = 0; i < 40; i++)); do
        # a line is written once both directions are closed
        if [ -s "$T/proxy.stats" ] && ! pgrep -P "$PROXY_PID" >/dev/null &&
            [ "$(ss -tn state established "( dport = :$PPORT )" |
                wc -l)" -le 1 ]; then
            break
        fi
        sleep 0.05
    done
    sleep 0.1
    awk '{ r += $2; n++ } END { printf "%d %d\n", r, n }' \
        "$T/proxy.stats" 2>/dev/null || echo "0 0"
}

# one_client NAME MODE MAILS CMD...: restore the mailbox, run, print a row.
one_client()
{
    local name=$1 mode=$2 mails=$3 m wall rc rounds conns got note=
    shift 3
    bench_restore "$T/tpl-$mails"
    bench_maildir "$T/md"
    # getmail refuses to deliver as root: it delivers as the mail user
    [ "$name" != getmail ] || bench_own "$T/md"
    rm -f "$T/uidls" "$T/fm.ids" "$T/proxy.stats" "$T/proxy.trace"
    rm -rf "$T/gm"
    mkdir -p "$T/gm"
    m=$(bench_run "$T/out" "$@")
    wall=$(echo "$m" | cut -d' ' -f1)
    rc=$(echo "$m" | cut -d' ' -f5)
    read -r rounds conns <<<"$(proxy_rounds)"
    got=$(bench_count_new "$T/md")
    if [ -n "${RTT_TRACE:-}" ]; then
        mkdir -p "$RTT_TRACE"
        cp "$T/proxy.trace" "$RTT_TRACE/$name-${mode#-}-$mails.txt" 2>/dev/null
    fi
    if [ "$rc" -ne 0 ]; then
        note="exit $rc: $(grep -v '^ *$' "$T/out" | tail -n 1 | cut -c1-60)"
    fi
    printf '%-12s %-6s %6s %7s %6s %8.2f %8.1f %7s  %s\n' "$name" "$mode" \
        "$mails" "$rounds" "$conns" "$wall" \
        "$(python3 -c "print($wall / ($DELAY_MS * 2 / 1000))")" \
        "$([ "$mode" = -s ] && echo - || echo "$got")" "$note"
}

for n in "${SIZES[@]}"; do
    bench_template "$T/tpl-$n" "$n" 4096
done

bench_hr "Round trips over a ${DELAY_MS}+${DELAY_MS} ms link, 4 KiB mails (issue 3)"
printf '%-12s %-6s %6s %7s %6s %8s %8s %7s  %s\n' client mode mails rounds \
    conns "wall s" "wall/RTT" fetched note
for n in "${SIZES[@]}"; do
    for who in ours orig; do
        if [ $who = ours ]; then prog=$MPOP; name=mpop-ours
        else prog=$ORIG_MPOP; name=mpop-1.4.18; fi
        bench_mpoprc "$T/rc-$who" "$PPORT" "maildir $T/md" "$T/uidls" \
            "keep off" "pipelining auto"
        one_client "$name" -s "$n" "$prog" -C "$T/rc-$who" -s bench
        one_client "$name" fetch "$n" "$prog" -C "$T/rc-$who" -q bench
    done
done

n=${SIZES[${#SIZES[@]} - 1]}
if command -v fetchmail >/dev/null; then
    cat >"$T/fetchmailrc" <<EOF
set no syslog
poll 127.0.0.1 service $PPORT protocol pop3 auth password
    user "$DOVECOT_USER" there with password "$DOVECOT_PASS" is root here
    mda "$T/fm-mda $T/md"
    fetchall nokeep sslproto ''
EOF
    chmod 600 "$T/fetchmailrc"
    HOME=$T one_client fetchmail fetch "$n" fetchmail -f "$T/fetchmailrc" \
        -i "$T/fm.ids" --nosyslog --silent
else
    echo "fetchmail    (not installed)"
fi
if command -v getmail >/dev/null; then
    cat >"$T/getmailrc" <<EOF
[retriever]
type = SimplePOP3Retriever
server = 127.0.0.1
port = $PPORT
username = $DOVECOT_USER
password = $DOVECOT_PASS

[destination]
type = Maildir
path = $T/md/
user = $(dovecot_mail_user)

[options]
delete = true
read_all = true
verbose = 0
EOF
    HOME=$T one_client getmail fetch "$n" getmail --getmaildir="$T/gm" \
        --rcfile="$T/getmailrc"
else
    echo "getmail      (not installed: apt-get install getmail6)"
fi
echo "rounds: times the client waited for the server (the connection and"
echo "each send after news from the server and >= RTT/2 of silence)."
echo "Target (issue 3): at most 15 for the whole fetch, not growing with"
echo "the number of mails."
