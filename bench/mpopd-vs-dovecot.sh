#!/bin/bash
# mpopd against dovecot (issue 7): RETR throughput serving the same
# 2000-mail maildir (4 KiB each) to the same clients, and 50 concurrent
# sessions held open at once.
#
#   bench/mpopd-vs-dovecot.sh
#
# Clients: bench/benchlib.py retr (a minimal client that pipelines RETR of
# every mail, 64 in flight, and discards the bodies: the server is the
# bottleneck), and Debian's mpop 1.4.18 with keep on and only_new off,
# delivering into a maildir on tmpfs (a real client; its fsyncs are cheap
# there).  Throughput: MiB of mail bodies per second, median of REPS runs.
. "$(dirname "$0")/lib.sh"

REPS=${REPS:-5}
SESSIONS=${SESSIONS:-50}

bench_need python3 "$MPOPD" "$ORIG_MPOP" || exit 1
bench_dovecot "$T/dovecot"
bench_template "$T/tpl" 2000 4096
bench_restore "$T/tpl"
cp -al "$T/tpl" "$T/mpopd-md"

# mpopd with the same user and password as dovecot.
start_mpopd()
{
    # start_mpopd NAME ARGS...: sets MPOPD_PORT and MPOPD_PID
    local name=$1
    shift
    rm -f "$T/$name.port"
    "$MPOPD" --port=0 --port-file="$T/$name.port" "$@" \
        >"$T/$name.out" 2>&1 &
    MPOPD_PID=$!
    at_exit "kill_wait $MPOPD_PID"
    if ! wait_file "$T/$name.port" 10; then
        echo "bench: mpopd did not start:" >&2
        cat "$T/$name.out" >&2
        exit 1
    fi
    MPOPD_PORT=$(cat "$T/$name.port")
    wait_port "$MPOPD_PORT" 5
}
start_mpopd main --auth="$DOVECOT_USER,echo '$DOVECOT_PASS'" \
    --maildir="$T/mpopd-md" --max-sessions=$((SESSIONS + 14))

SHM=$(mktemp -d /dev/shm/mpop-bench.XXXXXX 2>/dev/null || mktemp -d "$T/shm.XXXXXX")
at_exit "rm -rf '$SHM'"

# tput PORT: median MiB/s of REPS runs of the pipelining client.
tput_py()
{
    local port=$1 i out list=''
    for ((i = 0; i < REPS; i++)); do
        out=$(timeout "$RUN_LIMIT" $BL retr "$port" "$DOVECOT_USER" \
            "$DOVECOT_PASS" 64) || { echo fail; return; }
        read -r n bytes secs <<<"$out"
        [ "$n" -eq 2000 ] || { echo "fail($n mails)"; return; }
        list+="$(python3 -c "print($bytes / 1048576 / $secs)") "
    done
    # shellcheck disable=SC2086
    printf '%.1f\n' "$(bench_median $list)"
}

# tput_mpop PORT: median MiB/s of the original mpop fetching everything.
tput_mpop()
{
    local port=$1 i m list='' w rc got
    bench_mpoprc "$T/rc" "$port" "maildir $SHM/md" "$T/uidls" \
        "keep on" "only_new off"
    for ((i = 0; i < REPS; i++)); do
        bench_maildir "$SHM/md"
        rm -f "$T/uidls"
        m=$(bench_run "$T/mpop.out" "$ORIG_MPOP" -C "$T/rc" -q bench)
        w=$(echo "$m" | cut -d' ' -f1)
        rc=$(echo "$m" | cut -d' ' -f5)
        got=$(bench_count_new "$SHM/md")
        if [ "$rc" -ne 0 ] || [ "$got" -ne 2000 ]; then
            echo "fail(exit $rc, $got mails)"
            return
        fi
        list+="$(python3 -c "print(2000 * 4096 / 1048576 / $w)") "
    done
    # shellcheck disable=SC2086
    printf '%.1f\n' "$(bench_median $list)"
}

bench_hr "mpopd vs dovecot: 2000 mails of 4 KiB, MiB/s (median of $REPS)"
printf '%-34s %10s %10s %7s\n' client mpopd dovecot ratio
a=$(tput_py "$MPOPD_PORT")
b=$(tput_py "$DOVECOT_PORT")
printf '%-34s %10s %10s %7s\n' "pipelined RETR (benchlib retr)" "$a" "$b" \
    "$(bench_ratio "$a" "$b")"
a=$(tput_mpop "$MPOPD_PORT")
b=$(tput_mpop "$DOVECOT_PORT")
printf '%-34s %10s %10s %7s\n' "mpop 1.4.18, keep, maildir on tmpfs" \
    "$a" "$b" "$(bench_ratio "$a" "$b")"
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$MPOPD_PID/status" 2>/dev/null)
echo "mpopd peak RSS (listener, VmHWM): ${hwm:-?} KiB"

# --- the same client, wall time and the server's CPU (issue 16) ----------
# Server CPU: each server and all its processes (mpopd's session children,
# dovecot's login, auth and pop3 processes) in a cpuacct cgroup of their
# own; its usage before and after each client run.  Client: our mpop, keep
# on, only_new off, into a maildir on tmpfs.
CG=/sys/fs/cgroup/cpuacct
if [ -w "$CG/cgroup.procs" ] || [ -d "$CG" ] && [ "$(id -u)" -eq 0 ]; then
    # cg_adopt NAME PID: PID and all its descendants into cgroup NAME
    cg_adopt()
    {
        local d=$CG/mpop-bench-$$-$1 p kids todo=("$2")
        mkdir -p "$d" && at_exit "rmdir '$d' 2>/dev/null"
        while [ ${#todo[@]} -gt 0 ]; do
            p=${todo[0]}
            todo=("${todo[@]:1}")
            echo "$p" >"$d/cgroup.procs" 2>/dev/null
            kids=$(cat /proc/"$p"/task/*/children 2>/dev/null)
            # shellcheck disable=SC2206
            todo+=($kids)
        done
    }
    cg_adopt mpopd "$MPOPD_PID"
    cg_adopt dovecot "$(cat "$DOVECOT_DIR/run/master.pid")"
    cg_ns() { cat "$CG/mpop-bench-$$-$1/cpuacct.usage"; }
else
    cg_ns() { echo 0; }
fi
bench_template "$T/tpl-5m" 20 $((5 << 20))

# serve NAME TEMPLATE COUNT: median wall and server CPU of REPS fetches
# of our mpop from mpopd and dovecot, run in pairs; prints a row.
serve()
{
    local name=$1 tpl=$2 count=$3 i srv port m w rc got c0 c1
    local -A wl cl
    rm -rf "$T/mpopd-md"
    cp -al "$tpl" "$T/mpopd-md"
    bench_restore "$tpl"
    for ((i = 0; i < REPS; i++)); do
        for srv in mpopd dovecot; do
            [ $srv = mpopd ] && port=$MPOPD_PORT || port=$DOVECOT_PORT
            bench_mpoprc "$T/rc" "$port" "maildir $SHM/md" "$T/uidls" \
                "keep on" "only_new off"
            bench_maildir "$SHM/md"
            rm -f "$T/uidls"
            c0=$(cg_ns $srv)
            m=$(bench_run "$T/mpop.out" "$MPOP" -C "$T/rc" -q bench)
            c1=$(cg_ns $srv)
            w=$(echo "$m" | cut -d' ' -f1)
            rc=$(echo "$m" | cut -d' ' -f5)
            got=$(bench_count_new "$SHM/md")
            if [ "$rc" -ne 0 ] || [ "$got" -ne "$count" ]; then
                wl[$srv]+="fail "
                continue
            fi
            wl[$srv]+="$w "
            cl[$srv]+="$(python3 -c "print(($c1 - $c0) / 1e9)") "
        done
    done
    for srv in mpopd dovecot; do
        if [[ ${wl[$srv]} == *fail* ]]; then
            wl[$srv]=fail cl[$srv]=fail
        else
            # shellcheck disable=SC2086
            wl[$srv]=$(bench_median ${wl[$srv]})
            # shellcheck disable=SC2086
            cl[$srv]=$(bench_median ${cl[$srv]})
        fi
    done
    printf '%-20s %9s %9s %6s %10s %10s %6s\n' "$name" "${wl[mpopd]}" \
        "${wl[dovecot]}" "$(bench_ratio "${wl[mpopd]}" "${wl[dovecot]}")" \
        "${cl[mpopd]}" "${cl[dovecot]}" \
        "$(bench_ratio "${cl[mpopd]}" "${cl[dovecot]}")"
}

bench_hr "mpopd vs dovecot, our mpop as the client (keep on, tmpfs maildir), median of $REPS"
printf '%-20s %9s %9s %6s %10s %10s %6s\n' mailbox "wall mpopd" dovecot \
    ratio "srv CPU mpopd" dovecot ratio
serve "2000 x 4 KiB" "$T/tpl" 2000
serve "20 x 5 MiB" "$T/tpl-5m" 20
echo "wall: the client's, exec to exit; srv CPU: user + sys of the server's"
echo "processes (cpuacct cgroup).  Target (issue 16): mpopd no slower."
rm -rf "$T/mpopd-md"
cp -al "$T/tpl" "$T/mpopd-md"
kill_wait "$MPOPD_PID"

# --- concurrent sessions -------------------------------------------------
bench_hr "$SESSIONS concurrent sessions (each its own mailbox of 10 mails)"
args=()
for ((i = 1; i <= SESSIONS; i++)); do
    $BL gen "$T/u$i" 10 4096
    bench_own "$T/u$i"
    args+=(--auth="u$i,echo pw" --maildir="$T/u$i")
done
start_mpopd conc "${args[@]}" --max-sessions=$((SESSIONS + 14))
# The same users for dovecot, in its passwd-file (re-read within a second).
user=$(dovecot_mail_user)
for ((i = 1; i <= SESSIONS; i++)); do
    echo "u$i:{PLAIN}pw:$(id -u "$user"):$(id -g "$user")::$T/u$i::userdb_mail=maildir:$T/u$i" \
        >>"$DOVECOT_DIR/users"
done
sleep 1.2
printf '%-10s %6s %7s %9s  %s\n' server ok errors seconds "first error"
for srv in mpopd dovecot; do
    [ $srv = mpopd ] && port=$MPOPD_PORT || port=$DOVECOT_PORT
    read -r ok errs secs first <<<"$(timeout "$RUN_LIMIT" $BL concurrent \
        "$port" "$SESSIONS" u pw)"
    printf '%-10s %6s %7s %9s  %s\n' $srv "${ok:-0}" "${errs:-?}" \
        "${secs:-?}" "${first:-}"
done
kill_wait "$MPOPD_PID"
echo "ok: sessions that logged in while all $SESSIONS were open and then ran"
echo "STAT, UIDL, RETR 1 and QUIT without an error (target: all of them)."
