#!/bin/bash
# Big mailboxes (issue 16): 10,000, 30,000 and 100,000 mails of 4 KiB on
# dovecot and on mpopd, fetched by our mpop and by Debian's mpop 1.4.18 in
# the same run.  For each server, size and client:
#   full     the first fetch of every mail (keep on, empty UIDLs file)
#   rescan   the next run: every mail known, nothing new
#   +1000    the run after 1,000 new mails arrived on the server
# with wall time, CPU (user + sys of the client, wait4) and peak memory
# (max RSS).  The "per 1000" columns divide by the mails in the mailbox
# (listed and compared on every run): with no quadratic step they stay
# flat from 10,000 to 100,000.  Both clients work on the same mailbox one
# after the other (each keeps everything and has its own UIDLs file); the
# rescan and the +1000 run are medians (by wall time) of three runs in
# alternating order (for +1000 the UIDLs file is put back before each).
# With valgrind (CALLGRIND=0 skips it): the instructions of the client
# process for the first fetch (all but the biggest mailbox) and the
# rescan, on dovecot: the figures the machine's load cannot blur.  Then the start of a session on each
# mailbox: connect, USER, PASS, STAT (mpopd scans the maildir here;
# dovecot reads its index), median of 3, against mpopd and dovecot.
#
#   bench/scale.sh [MAILS...]        (default: 10000 30000 100000)
#
# The mails are delivered into a maildir under /dev/shm (tmpfs, when it
# has room), so the disk's fsync speed does not drown the clients' own
# work: mpop 1.4.18 makes each mail durable with an fsync, we once per
# batch; on tmpfs both cost next to nothing.  One run per figure; the
# figures of one run are compared.  Environment: MPOP, ORIG_MPOP, MPOPD,
# BUILD, RUN_LIMIT (default 900 s per client run).
. "$(dirname "$0")/lib.sh"

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 30000 100000)
RUN_LIMIT=${RUN_LIMIT:-900}
NEW=1000
declare -A I=()

bench_need python3 "$MPOPD" "$ORIG_MPOP" || exit 1
max=0
for n in "${SIZES[@]}"; do ((n > max)) && max=$n; done
need_kib=$(( (max + NEW) * 6 * 3 ))      # templates + 2 servers' copies
if [ "$(df -Pk "$T" | awk 'NR == 2 { print $4 }')" -lt "$need_kib" ]; then
    echo "bench: scale.sh needs about $((need_kib / 1024)) MiB free in $T" >&2
    exit 1
fi
OUT=$(mktemp -d /dev/shm/mpop-scale.XXXXXX 2>/dev/null) || OUT=$T/out
if [ "$(df -Pk "$OUT" | awk 'NR == 2 { print $4 }')" -lt $(( max * 6 * 2 )) ]
then
    rm -rf "$OUT"
    OUT=$T/out
fi
mkdir -p "$OUT"
at_exit "rm -rf '$OUT'"

bench_dovecot "$T/dovecot"

# Templates: the biggest mailbox once; the smaller ones are hard links to
# its first mails; the 1,000 new mails numbered after the biggest.
echo "scale.sh: generating $max + $NEW mails of 4 KiB ..."
bench_template "$T/tpl-all" "$max" 4096
rm -rf "$T/tpl-new"
$BL gen "$T/tpl-new" "$NEW" 4096 $((max + 1))
bench_own "$T/tpl-new"
for n in "${SIZES[@]}"; do
    rm -rf "$T/tpl-$n"
    mkdir -p "$T/tpl-$n/new" "$T/tpl-$n/cur" "$T/tpl-$n/tmp"
    (cd "$T/tpl-all/new" && ls | sort -t M -k 2 -n | head -n "$n" |
        xargs cp -l -t "$T/tpl-$n/new/")
    bench_own "$T/tpl-$n"
done

start_mpopd()
{
    rm -f "$T/mpopd.port"
    "$MPOPD" --port=0 --port-file="$T/mpopd.port" \
        --auth="$DOVECOT_USER,echo '$DOVECOT_PASS'" \
        --maildir="$T/mpopd-md" >"$T/mpopd.out" 2>&1 &
    MPOPD_PID=$!
    at_exit "kill_wait $MPOPD_PID"
    wait_file "$T/mpopd.port" 10 || { cat "$T/mpopd.out" >&2; exit 1; }
    MPOPD_PORT=$(cat "$T/mpopd.port")
    wait_port "$MPOPD_PORT" 5
}
mkdir -p "$T/mpopd-md/new" "$T/mpopd-md/cur" "$T/mpopd-md/tmp"
start_mpopd
# a session child of mpopd may still be saving its work: wait for it, or
# the next login finds the mailbox locked ([IN-USE])
mpopd_idle()
{
    local i
    for ((i = 0; i < 300; i++)); do
        pgrep -P "$MPOPD_PID" >/dev/null || return 0
        sleep 0.1
    done
}

# restore SERVER N: the server's mailbox back to the first N mails.
restore()
{
    if [ "$1" = dovecot ]; then
        bench_restore "$T/tpl-$2"
    else
        mpopd_idle
        rm -rf "$T/mpopd-md"
        cp -al "$T/tpl-$2" "$T/mpopd-md"
    fi
}

# add_new SERVER: the 1,000 new mails into the server's mailbox.
add_new()
{
    local md
    [ "$1" = dovecot ] && md=$DOVECOT_MAILDIR || md=$T/mpopd-md
    cp -l "$T/tpl-new/new/"* "$md/new/"
    [ "$1" = dovecot ] &&
        $BL warm "$DOVECOT_PORT" "$DOVECOT_USER" "$DOVECOT_PASS"
    return 0
}

# run WHO SERVER EXPECT: one fetch; prints "WALL CPU RSS_MIB OK".
run()
{
    local who=$1 srv=$2 expect=$3 prog port m wall u s rss rc got
    [ "$who" = ours ] && prog=$MPOP || prog=$ORIG_MPOP
    [ "$srv" = dovecot ] && port=$DOVECOT_PORT || port=$MPOPD_PORT
    [ "$srv" = dovecot ] || mpopd_idle
    bench_mpoprc "$T/rc" "$port" "maildir $OUT/md" "$T/uidls-$who" \
        "keep on"
    bench_maildir "$OUT/md"
    m=$(bench_run "$T/log" "$prog" -C "$T/rc" -q bench)
    read -r wall u s rss rc <<<"$m"
    got=$(bench_count_new "$OUT/md")
    if [ "$rc" -ne 0 ] || [ "$got" -ne "$expect" ]; then
        echo "fail fail fail 0"
        echo "$who/$srv: exit $rc, $got of $expect mails:" \
            "$(grep -v '^ *$' "$T/log" | tail -n 1 | cut -c1-70)" >>"$T/fails"
        return
    fi
    python3 -c "import sys
print('%.3f %.3f %.1f 1' % (float(sys.argv[1]), float(sys.argv[2]) + float(sys.argv[3]), int(sys.argv[4]) / 1024))" \
        "$wall" "$u" "$s" "$rss"
}

# median_run "ROW|ROW|...": the row of the median wall time ("fail ..."
# if any run failed)
median_run()
{
    python3 -c "import sys
rows = [r.split() for r in sys.argv[1].split('|') if r]
if any(r[3] != '1' for r in rows):
    print('fail fail fail 0')
else:
    m = sorted(rows, key=lambda r: float(r[0]))[len(rows) // 2]
    print(' '.join(m))" "$1"
}

per1000()
{
    python3 -c "import sys
try: print('%.1f' % (float(sys.argv[1]) * 1000 / int(sys.argv[2]) * 1000))
except ValueError: print('-')" "$1" "$2"
}

bench_hr "Big mailboxes, 4 KiB mails, keep on, no delay (issue 16); first fetch one run, rescan and +1000 median of 3"
echo "wall and CPU in s; ms/1000: per 1000 mails in the mailbox; RSS in MiB"
printf '%-8s %-7s %-7s %-6s %8s %8s %7s %8s %7s\n' server mails phase \
    client wall CPU RSS "wall/1k" "CPU/1k"
: >"$T/fails"
for srv in dovecot mpopd; do
    for n in "${SIZES[@]}"; do
        declare -A R=()
        # Both clients keep everything, each with its own UIDLs file, so
        # they run against the same mailbox one after the other: the full
        # fetches, then the rescans in alternating order (median of 3: a
        # rescan changes nothing), then the fetches of the new mails.
        restore "$srv" "$n"
        for who in ours orig; do
            rm -f "$T/uidls-$who"
            R[$who-full]=$(run "$who" "$srv" "$n")
        done
        declare -A RS=()
        for order in "ours orig" "orig ours" "ours orig"; do
            for who in $order; do
                RS[$who]+="$(run "$who" "$srv" 0)|"
            done
        done
        for who in ours orig; do
            R[$who-rescan]=$(median_run "${RS[$who]}")
        done
        unset RS
        declare -A RS=()
        # The 1,000 new mails: each client's UIDLs file as after the
        # rescans is put back before each of three runs in alternating
        # order, so the median compares like with like.
        add_new "$srv"
        for who in ours orig; do
            cp "$T/uidls-$who" "$T/uidls-$who.before"
        done
        for order in "ours orig" "orig ours" "ours orig"; do
            for who in $order; do
                cp "$T/uidls-$who.before" "$T/uidls-$who"
                RS[$who]+="$(run "$who" "$srv" "$NEW")|"
            done
        done
        for who in ours orig; do
            R[$who-new]=$(median_run "${RS[$who]}")
        done
        unset RS
        for phase in full rescan new; do
            for who in ours orig; do
                read -r w c r ok <<<"${R[$who-$phase]}"
                m=$n
                [ "$phase" = new ] && m=$((n + NEW))
                printf '%-8s %-7s %-7s %-6s %8s %8s %7s %8s %7s\n' "$srv" \
                    "$n" "$([ $phase = new ] && echo +$NEW || echo $phase)" \
                    "$([ $who = ours ] && echo ours || echo 1.4.18)" \
                    "$w" "$c" "$r" "$(per1000 "$w" "$m")" "$(per1000 "$c" "$m")"
            done
        done
        unset R
    done
done
if [ -s "$T/fails" ]; then
    echo "failed runs:"
    cat "$T/fails"
fi

# --- instructions (callgrind): the same runs without the machine's noise --
# bench_ir WHO SRV EXPECT: instructions of one fetch of the client process
# alone (children not traced); "NA" without valgrind or on failure.
bench_ir()
{
    local who=$1 srv=$2 expect=$3 prog port
    [ "$who" = ours ] && prog=$MPOP || prog=$ORIG_MPOP
    [ "$srv" = dovecot ] && port=$DOVECOT_PORT || port=$MPOPD_PORT
    bench_mpoprc "$T/rc" "$port" "maildir $OUT/md" "$T/uidls-$who" "keep on"
    bench_maildir "$OUT/md"
    rm -f "$T/cg.out"
    if ! timeout "$RUN_LIMIT" valgrind --tool=callgrind \
        --callgrind-out-file="$T/cg.out" "$prog" -C "$T/rc" -q bench \
        >"$T/cg.log" 2>&1 || [ "$(bench_count_new "$OUT/md")" -ne "$expect" ]
    then
        echo NA
        return
    fi
    $BL ir "$T/cg.out"
}
if command -v valgrind >/dev/null 2>&1 && [ "${CALLGRIND:-1}" != 0 ]; then
    bench_hr "Instructions of the client (callgrind), dovecot; M = millions"
    printf '%-8s %-7s %10s %10s %7s %12s\n' mails phase ours 1.4.18 ratio \
        "ours M/1k"
    for n in "${SIZES[@]}"; do
        restore dovecot "$n"
        for who in ours orig; do
            rm -f "$T/uidls-$who"
            if [ "$n" -lt "$max" ]; then
                I[$who-full]=$(bench_ir "$who" dovecot "$n")
            else
                # the first fetch of the biggest untraced (minutes under
                # valgrind); only its rescan is counted
                run "$who" dovecot "$n" >/dev/null
            fi
            I[$who-rescan]=$(bench_ir "$who" dovecot 0)
        done
        for phase in full rescan; do
            [ -n "${I[ours-$phase]:-}" ] || continue
            printf '%-8s %-7s %9.1fM %9.1fM %7s %12s\n' "$n" "$phase" \
                "$(python3 -c "print(${I[ours-$phase]} / 1e6)" 2>/dev/null || echo 0)" \
                "$(python3 -c "print(${I[orig-$phase]} / 1e6)" 2>/dev/null || echo 0)" \
                "$(bench_ratio "${I[ours-$phase]}" "${I[orig-$phase]}")" \
                "$(python3 -c "print('%.2f' % (${I[ours-$phase]} / 1e6 * 1000 / $n))" 2>/dev/null || echo -)"
        done
        unset 'I[ours-full]' 'I[orig-full]'
    done
fi

# --- start of a session: connect, USER, PASS, STAT -----------------------
bench_hr "Session start on a big mailbox: connect, USER, PASS, STAT (median of 3, ms)"
printf '%-8s %8s %8s %8s %10s\n' mails mpopd dovecot ratio "mpopd/1k"
for n in "${SIZES[@]}"; do
    restore mpopd "$n"
    restore dovecot "$n"
    a=$($BL login "$MPOPD_PORT" "$DOVECOT_USER" "$DOVECOT_PASS" 3)
    b=$($BL login "$DOVECOT_PORT" "$DOVECOT_USER" "$DOVECOT_PASS" 3)
    printf '%-8s %8s %8s %8s %10s\n' "$n" "$a" "$b" "$(bench_ratio "$a" "$b")" \
        "$(python3 -c "print('%.2f' % (float('$a') * 1000 / $n))")"
done
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$MPOPD_PID/status" 2>/dev/null)
echo "mpopd listener peak RSS: ${hwm:-?} KiB (each session is a child)"
echo "Targets (issue 16): wall and CPU per 1000 mails flat from the smallest"
echo "to the biggest mailbox; ours below 64 MiB at 100,000 UIDs; rescan no"
echo "slower than 1.4.18."
