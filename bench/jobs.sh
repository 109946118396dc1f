#!/bin/bash
# Parallel accounts (issue 9): 8 accounts, each its own dovecot user with
# MAILS mails of 4 KiB, each behind bench/delay-proxy.py (DELAY_MS one
# way, default 25: 50 ms round trips).  Rows: the slowest account alone,
# all 8 with -j 1 (the original's behaviour), and all 8 with -j 8.  The
# goal: -j 8 takes little more than the slowest single account.
#
#   bench/jobs.sh [MAILS]          (default 50)
#
# Environment: MPOP, BUILD (see lib.sh), DELAY_MS, REPS (default 5).
. "$(dirname "$0")/lib.sh"

DELAY_MS=${DELAY_MS:-25}
MAILS=${1:-50}
REPS=${REPS:-5}
NACC=8

bench_need python3 || exit 1
bench_dovecot "$T/dovecot"

timeout 30 python3 "$BENCH_DIR/delay-proxy.py" --selftest \
    --delay-ms="$DELAY_MS" || exit 1
python3 "$BENCH_DIR/delay-proxy.py" --target="$DOVECOT_PORT" \
    --delay-ms="$DELAY_MS" --listen-port-file="$T/proxy.port" \
    2>"$T/proxy.err" &
PROXY_PID=$!
at_exit "kill $PROXY_PID"
wait_file "$T/proxy.port" 10 || { echo "bench: proxy did not start" >&2; exit 1; }
PPORT=$(cat "$T/proxy.port")
wait_port "$PPORT" 5

bench_template "$T/tpl" "$MAILS" 4096
{
    echo "defaults"
    echo "tls off"
    echo "auth user"
    echo "host 127.0.0.1"
    echo "port $PPORT"
    echo "keep off"
    for ((i = 1; i <= NACC; i++)); do
        dovecot_add_user "$DOVECOT_DIR" "b$i" "pw-b$i" >/dev/null
        echo "account b$i"
        echo "user b$i"
        echo "password pw-b$i"
        echo "delivery maildir $T/md$i"
        echo "uidls_file $T/uidls$i"
    done
} >"$T/rc"
chmod 600 "$T/rc"

# restore: every account's mailbox full again, indexed once, untimed.
restore()
{
    local i
    for ((i = 1; i <= NACC; i++)); do
        rm -rf "$DOVECOT_DIR/home/b$i/Maildir" "$T/uidls$i"
        cp -al "$T/tpl" "$DOVECOT_DIR/home/b$i/Maildir"
        bench_own "$DOVECOT_DIR/home/b$i/Maildir"
        $BL warm "$DOVECOT_PORT" "b$i" "pw-b$i"
        bench_maildir "$T/md$i"
    done
}

# row NAME ACCOUNTS... : median wall time over REPS runs.
row()
{
    local name=$1 r walls=() m rc got
    shift
    for ((r = 0; r < REPS; r++)); do
        restore
        m=$(bench_run "$T/out" "$MPOP" -C "$T/rc" -q "$@")
        walls+=("$(echo "$m" | cut -d' ' -f1)")
        rc=$(echo "$m" | cut -d' ' -f5)
    done
    got=$(find "$T"/md* -path '*/new/*' -type f | wc -l)
    printf '%-22s %8.2f %6s %8s\n' "$name" "$(bench_median "${walls[@]}")" \
        "$rc" "$got"
    ROW_WALL=$(bench_median "${walls[@]}")
}

all=()
for ((i = 1; i <= NACC; i++)); do all+=("b$i"); done

bench_hr "Parallel accounts: $NACC x $MAILS mails of 4 KiB over a ${DELAY_MS}+${DELAY_MS} ms link (issue 9)"
printf '%-22s %8s %6s %8s\n' run "wall s" exit fetched
row "one account" b1
one=$ROW_WALL
row "$NACC accounts, -j 1" -j 1 "${all[@]}"
seq=$ROW_WALL
row "$NACC accounts, -j $NACC" -j "$NACC" "${all[@]}"
par=$ROW_WALL
echo "-j $NACC / one account: $(bench_ratio "$par" "$one")" \
    "   -j 1 / -j $NACC: $(bench_ratio "$seq" "$par")"
