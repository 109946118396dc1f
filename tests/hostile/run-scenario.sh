#!/bin/bash
# Run POP3 clients against hostile scenarios and check what they did.
#
#   run-scenario.sh SCENARIO.pop3...
#
# For each scenario it starts tests/hostile/hostile-server.py, writes an rc
# file (account "hostile": 127.0.0.1, the server's port, user hostile,
# password secret, auth user, tls off, timeout 10, delivery maildir into a
# fresh maildir, its own uidls_file, plus every "# rc:" line of the
# scenario), runs the client as CLIENT -C RC hostile, and prints four TAP
# results per scenario:
#   the client's exit status equals "# expect-exit: N" (default 0);
#   the server's exit status equals "# server-exit: N" (default 0, i.e.
#     the client followed the script to its end);
#   the DELE commands the client sent equal "# deleted: ..." (default: none);
#   the maildir holds "# delivered: N" mails (default 0).
# "# tls: implicit" or "# tls: starttls" in a scenario makes test
# certificates, gives them to the server and adds tls on (and
# tls_starttls on), tls_trust_file CA to the rc file.
#
# The client is $HOSTILE_CLIENT if set (e.g. /usr/bin/mpop, to compare with
# the original), else $MPOP (set by make check), else src/mpop.
# HOSTILE_GRACE (default 10) is how many seconds the server may run on
# after the client has exited.  KEEP_TEST_TMP=1 keeps the temporary folder for a look afterwards.
here=$(cd "$(dirname "$0")" && pwd)
TESTLIB=${TESTLIB:-$here/../lib}
. "$TESTLIB/common.sh"
. "$TESTLIB/certs.sh"

client=${HOSTILE_CLIENT:-${MPOP:-$here/../../src/mpop}}
[ $# -gt 0 ] || bail_out "usage: run-scenario.sh SCENARIO.pop3..."
[ -x "$client" ] || bail_out "no client to test: $client"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

header()
{
    # header FILE KEY: the value of "# KEY: value" lines, one per line
    sed -n "s/^# $2:[[:space:]]*//p" "$1"
}

plan $((4 * $#))
n=0
for sc in "$@"; do
    n=$((n + 1))
    name=$(basename "$sc" .pop3)
    d=$T/$n-$name
    mkdir -p "$d/Maildir/new" "$d/Maildir/cur" "$d/Maildir/tmp"
    want_exit=$(header "$sc" expect-exit | head -n1)
    want_server=$(header "$sc" server-exit | head -n1)
    want_dele=$(header "$sc" deleted | head -n1 | xargs)
    want_delivered=$(header "$sc" delivered | head -n1)
    tls=$(header "$sc" tls | head -n1)

    srvargs=()
    rctls="tls off"
    if [ -n "$tls" ]; then
        [ -s "$T/certs/server.pem" ] || certs_make "$T/certs" ||
            bail_out "certtool failed"
        srvargs=(--cert "$T/certs/chain.pem" --key "$T/certs/server.key")
        rctls="tls on
tls_trust_file $T/certs/ca.pem"
        case $tls in
            implicit) srvargs+=(--tls)
                rctls="$rctls
tls_starttls off" ;;
            starttls) rctls="$rctls
tls_starttls on" ;;
            *) bail_out "$sc: unknown '# tls: $tls'" ;;
        esac
    fi

    python3 "$here/hostile-server.py" "$sc" --port-file "$d/port" \
        --transcript "$d/transcript" --result "$d/result" \
        --dele-log "$d/deleted" --limit 30 "${srvargs[@]}" \
        2>"$d/server.err" &
    spid=$!
    at_exit "kill $spid"
    if ! wait_file "$d/port" 10; then
        for i in 1 2 3 4; do fail "$name: the hostile server started"; done
        diag_file "$d/server.err"
        continue
    fi

    {
        echo "defaults"
        echo "$rctls"
        echo "auth user"
        echo "timeout 10"
        echo "account hostile"
        echo "host 127.0.0.1"
        echo "port $(cat "$d/port")"
        echo "user hostile"
        echo "password secret"
        echo "delivery maildir $d/Maildir"
        echo "uidls_file $d/uidls"
        header "$sc" rc
    } >"$d/rc"
    chmod 600 "$d/rc"

    st=0
    HOME=$d timeout 40 "$client" -C "$d/rc" hostile \
        >"$d/client.out" 2>&1 </dev/null || st=$?
    sst=0
    # The client is gone: the server ends at once, unless its scenario
    # still waits for something that will never come.
    for ((i = 0; i < ${HOSTILE_GRACE:-10} * 10; i++)); do
        pid_alive "$spid" || break
        sleep 0.1
    done
    pid_alive "$spid" && kill "$spid"
    wait "$spid" || sst=$?

    is "$st" "${want_exit:-0}" "$name: client exit status"
    [ "$st" = "${want_exit:-0}" ] || diag_file "$d/client.out"
    is "$sst" "${want_server:-0}" \
        "$name: server script $(cat "$d/result" 2>/dev/null || echo '(no result)')"
    [ "$sst" = "${want_server:-0}" ] || diag_file "$d/transcript"
    got_dele=$(xargs <"$d/deleted" 2>/dev/null)
    is "$got_dele" "$want_dele" "$name: deleted only [${want_dele}]"
    is "$(find "$d/Maildir/new" "$d/Maildir/cur" -type f | wc -l)" \
        "${want_delivered:-0}" "$name: delivered ${want_delivered:-0} mails"
done

done_testing
