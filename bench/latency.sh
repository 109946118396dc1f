#!/bin/bash
# Wall time over a 50 ms link against the floor (issue 16): whole-process
# wall time, from exec to exit, divided by the round-trip time, for 20,
# 200 and 2,000 mails of 4 KiB, plain and implicit TLS, fetched and deleted
# by our mpop and by Debian's mpop 1.4.18, beside two floors measured on the
# same link in the same run (bench/benchlib.py floor):
#   burst  a raw client that sends every command at once right after
#          connecting and reads everything: connection + transfer only;
#   turns  a raw client that waits only for the turns POP3 makes
#          unavoidable: greeting, CAPA, USER+PASS with STAT and UIDL
#          behind them, then every RETR at once, then every DELE with QUIT
#          (the best a client can do that waits for the server's answers).
# The floors are timed inside the client (connect to the end of QUIT's
# reply, no process start); mpop from exec to exit (bench/measure.c).
#
#   bench/latency.sh [MAILS...]          (default: 20 200 2000)
#
# The link is real TCP: the server side (dovecot) runs in one network
# namespace, the clients in another, joined by two TUN devices and
# bench/tunlink.c, which delays every IP packet by DELAY_MS (default 25)
# each way.  Both kernels' TCP stacks (slow start, delayed ACK, window
# growth) act as on a long link; the user-space proxy of rtt.sh ends TCP
# at loopback speed on each side and hides all of that.  Needs root (it
# creates the namespaces and removes them at exit).
#
# Environment: REPS (runs per median, default 3), DELAY_MS, RATE_MBIT
# (bottleneck bandwidth, default 0: unlimited), MPOP, ORIG_MPOP, BUILD,
# LAT_EXEC (shell code run inside instead of the table, to look closer:
# e.g. LAT_EXEC='restore plain 200; inc $MPOP --debug ...').
. "$(dirname "$0")/lib.sh"

DELAY_MS=${DELAY_MS:-25}
REPS=${REPS:-3}
RUN_LIMIT=${RUN_LIMIT:-120}
SRV_ADDR=10.77.0.2
CLI_ADDR=10.77.0.1

if [ -z "${LAT_CLIENT_NS:-}" ]; then
    # --- outside: build the link, then run the rest in the server's
    # namespace
    bench_need python3 "$ORIG_MPOP" ip || exit 1
    if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
        echo "bench: latency.sh needs root and /dev/net/tun" >&2
        exit 1
    fi
    ns=mpb$$
    gcc -O2 -o "$T/tunlink" "$BENCH_DIR/tunlink.c" || exit 1
    "$T/tunlink" "$DELAY_MS" "${ns}c" "${ns}s" "$T/tunlink.ready" \
        "${RATE_MBIT:-0}" &
    TL_PID=$!
    at_exit "kill_wait $TL_PID"
    wait_file "$T/tunlink.ready" 10 || exit 1
    ip netns add "${ns}c" && at_exit "ip netns del ${ns}c"
    ip netns add "${ns}s" && at_exit "ip netns del ${ns}s"
    set -e
    ip link set "${ns}c" netns "${ns}c"
    ip link set "${ns}s" netns "${ns}s"
    for side in c s; do
        if [ $side = c ]; then a=$CLI_ADDR b=$SRV_ADDR; else a=$SRV_ADDR b=$CLI_ADDR; fi
        ip -n "$ns$side" link set lo up
        ip -n "$ns$side" addr add "$a" peer "$b" dev "$ns$side"
        ip -n "$ns$side" link set "$ns$side" mtu 1500 up
    done
    set +e
    LAT_CLIENT_NS=${ns}c ip netns exec "${ns}s" bash "$0" "$@"
    exit $?
fi

# --- inside the server's namespace
# shellcheck source=../tests/lib/certs.sh
. "$TESTLIB/certs.sh"
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(20 200 2000)
RTT=$(python3 -c "print($DELAY_MS * 2 / 1000)")
export DOVECOT_LISTEN="127.0.0.1, $SRV_ADDR"
dovecot_start tls "$T/dt" >/dev/null || exit 1
TLS_PORT=$DOVECOT_PORT TLS_MD=$DOVECOT_MAILDIR
FPR=$(python3 -c 'import ssl, hashlib, sys
d = hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())).hexdigest().upper()
print(":".join(d[i:i + 2] for i in range(0, len(d), 2)))' "$T/dt/certs/server.pem")
bench_dovecot "$T/dp"
PLAIN_PORT=$DOVECOT_PORT PLAIN_MD=$DOVECOT_MAILDIR
inc() { ip netns exec "$LAT_CLIENT_NS" "$@"; }
# The mails go to a maildir on tmpfs: this is about the link, and on a
# busy disk creating 2,000 files alone can take a second (measured: 0.5 ms
# per open(O_CREAT) on the development machine while others built).
MD=$(mktemp -d /dev/shm/mpop-lat.XXXXXX 2>/dev/null) || MD=$T/md
at_exit "rm -rf '$MD'"

# restore MODE MAILS: the mailbox of the MODE instance back to MAILS mails,
# indexed once (untimed).
restore()
{
    local md port tls=
    if [ "$1" = tls ]; then md=$TLS_MD port=$TLS_PORT tls=tls
    else md=$PLAIN_MD port=$PLAIN_PORT; fi
    rm -rf "$md"
    cp -al "$T/tpl-$2" "$md"
    bench_own "$md"
    $BL warm "$port" "$DOVECOT_USER" "$DOVECOT_PASS" $tls
}

# one WHO MODE MAILS: one timed run; prints the wall time in seconds or
# "fail".
one()
{
    local who=$1 mode=$2 n=$3 port tls= m rc prog
    if [ "$mode" = tls ]; then port=$TLS_PORT tls=tls; else port=$PLAIN_PORT; fi
    restore "$mode" "$n"
    case $who in
        burst|turns)
            inc timeout "$RUN_LIMIT" $BL floor "$who" "$SRV_ADDR" "$port" \
                "$DOVECOT_USER" "$DOVECOT_PASS" "$n" $tls 2>"$T/floor.err" ||
                { echo fail; return; }
            ;;
        ours|orig)
            [ $who = ours ] && prog=$MPOP || prog=$ORIG_MPOP
            bench_maildir "$MD"
            rm -f "$T/uidls"
            if [ "$mode" = tls ]; then
                bench_mpoprc "$T/rc" "$port" "maildir $MD" "$T/uidls" \
                    "keep off" "tls on" "tls_starttls off" \
                    "tls_fingerprint $FPR"
            else
                bench_mpoprc "$T/rc" "$port" "maildir $MD" "$T/uidls" \
                    "keep off"
            fi
            sed -i "s/^host .*/host $SRV_ADDR/" "$T/rc"
            m=$(inc "$BENCH_MEASURE" "$RUN_LIMIT" "$T/out" "$prog" \
                -C "$T/rc" -q bench)
            rc=$(echo "$m" | cut -d' ' -f5)
            if [ "$rc" != 0 ] || [ "$(bench_count_new "$MD")" -ne "$n" ]; then
                echo "fail($rc)"
                return
            fi
            echo "$m" | cut -d' ' -f1
            ;;
    esac
}

for n in "${SIZES[@]}"; do
    bench_template "$T/tpl-$n" "$n" 4096
done
if [ -n "${LAT_EXEC:-}" ]; then
    # a look inside: run this instead of the table (inc, one, restore and
    # the *_PORT variables are set)
    eval "$LAT_EXEC"
    exit
fi
cc=$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null)
bench_hr "Wall time over a ${DELAY_MS}+${DELAY_MS} ms TCP link (TUN, MTU 1500, $cc), 4 KiB mails, fetch and delete, median of $REPS (issue 16)"
echo "figures: wall time / RTT; ours-turns: how far above the POP3 floor"
printf '%-6s %6s %7s %7s %7s %7s %10s %11s\n' mode mails burst turns ours \
    1.4.18 ours-turns ours-burst
for mode in plain tls; do
    for n in "${SIZES[@]}"; do
        declare -A L=()
        for ((r = 0; r < REPS; r++)); do
            # alternate the order from run to run
            if ((r % 2)); then order="orig ours turns burst"
            else order="burst turns ours orig"; fi
            for who in $order; do
                L[$who]+="$(one "$who" "$mode" "$n") "
            done
        done
        declare -A M=()
        for who in burst turns ours orig; do
            # shellcheck disable=SC2086
            if [[ ${L[$who]} == *fail* ]]; then M[$who]=fail
            else M[$who]=$(python3 -c "import statistics, sys
print('%.1f' % (statistics.median(map(float, sys.argv[2:])) / float(sys.argv[1])))" "$RTT" ${L[$who]})
            fi
        done
        d1=$(python3 -c "import sys
try: print('%+.1f' % (float(sys.argv[1]) - float(sys.argv[2])))
except ValueError: print('-')" "${M[ours]}" "${M[turns]}")
        d2=$(python3 -c "import sys
try: print('%+.1f' % (float(sys.argv[1]) - float(sys.argv[2])))
except ValueError: print('-')" "${M[ours]}" "${M[burst]}")
        printf '%-6s %6s %7s %7s %7s %7s %10s %11s\n' "$mode" "$n" \
            "${M[burst]}" "${M[turns]}" "${M[ours]}" "${M[orig]}" "$d1" "$d2"
        unset L M
    done
done
echo "burst/turns: raw clients timed from connect to the end of QUIT's reply;"
echo "ours/1.4.18: whole process from exec to exit (bench/measure.c)."
echo "Target (issue 16): ours within 1.5 round trips of the floor, 200 mails."
