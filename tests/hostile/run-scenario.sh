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
# Optional assertions, each adding one TAP result when present:
#   # expect-mail: FILE         (repeatable) the delivered mails, byte for
#                                byte, are exactly these files (relative
#                                to the scenario), in any order
#   # expect-mail-sha256: HEX   (repeatable) the same, by SHA-256 (for big
#                                mails the scenario generates)
#   # expect-output: GLOB       the client's stdout+stderr match GLOB
#   # expect-file: NAME FILE    @DIR@/NAME exists and equals FILE
#   # expect-no-file: NAME      @DIR@/NAME does not exist (repeatable)
#   # max-rss-kb: N             the client's peak RSS stays below N KiB
# Other headers:
#   # mpop-args: ARGS           more words for the client's command line
#                                (before the account name)
# In "# rc:" and "# mpop-args:" lines, @DIR@ is the scenario's private
# temporary folder (the Maildir lives in @DIR@/Maildir).  The rc file has
# "received_header off" so that delivered bytes are comparable; a scenario
# may say "# rc: received_header on".
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
case $client in /*) ;; *) client=$PWD/$client ;; esac
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

header()
{
    # header FILE KEY: the value of "# KEY: value" lines, one per line
    sed -n "s/^# $2:[[:space:]]*//p" "$1"
}

# dir_hashes DIR: the sorted SHA-256 sums of the files in a maildir
dir_hashes()
{
    find "$1/new" "$1/cur" -type f -exec sha256sum {} + 2>/dev/null |
        cut -d' ' -f1 | sort | xargs
}

# The client runs under a small wrapper that records its peak RSS.
rss_wrap='import resource, subprocess, sys
r = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r if r >= 0 else 128 - r)'

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
        --dele-log "$d/deleted" --limit "${HOSTILE_LIMIT:-30}" "${srvargs[@]}" \
        2>"$d/server.err" &
    spid=$!
    at_exit "kill_ours $spid"
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
        echo "received_header off"
        header "$sc" rc | sed "s|@DIR@|$d|g"
    } >"$d/rc"
    read -r -a margs <<<"$(header "$sc" mpop-args | sed "s|@DIR@|$d|g" |
        xargs)"
    chmod 600 "$d/rc"

    st=0
    # In its own folder: a command injected into a shell would act there.
    (cd "$d" && HOME=$d exec python3 -c "$rss_wrap" "$d/rss" timeout 40 \
        "$client" -C "$d/rc" "${margs[@]}" hostile \
        >"$d/client.out" 2>&1 </dev/null) || st=$?
    sst=0
    # The client is gone: the server ends at once, unless its scenario
    # still waits for something that will never come.
    for ((i = 0; i < ${HOSTILE_GRACE:-10} * 10; i++)); do
        pid_alive "$spid" || break
        sleep 0.1
    done
    kill_ours "$spid"
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

    scdir=$(dirname "$sc")
    if grep -q '^# expect-mail' "$sc"; then
        want=$( {
            header "$sc" expect-mail | while read -r f; do
                sha256sum <"$scdir/$f" | cut -d' ' -f1
            done
            header "$sc" expect-mail-sha256
        } | sort | xargs)
        got=$(dir_hashes "$d/Maildir")
        is "$got" "$want" "$name: delivered bytes as expected"
        [ "$got" = "$want" ] || for f in "$d"/Maildir/new/* "$d"/Maildir/cur/*; do
            [ -f "$f" ] && diag_file "$f"
        done
    fi
    while IFS= read -r glob; do
        like "$(cat "$d/client.out")" "$glob" "$name: output matches $glob"
    done < <(header "$sc" expect-output)
    while read -r f want; do
        if cmp -s "$d/$f" "$scdir/$want"; then
            pass "$name: @DIR@/$f equals $want"
        else
            fail "$name: @DIR@/$f equals $want"
            diag_file "$d/$f"
        fi
    done < <(header "$sc" expect-file)
    while read -r f; do
        ok "[ ! -e '$d/$f' ]" "$name: no @DIR@/$f was created"
    done < <(header "$sc" expect-no-file)
    maxrss=$(header "$sc" max-rss-kb | head -n1)
    if [ -n "$maxrss" ]; then
        rss=$(cat "$d/rss" 2>/dev/null || echo 0)
        ok "[ '$rss' -gt 0 ] && [ '$rss' -lt '$maxrss' ]" \
            "$name: peak RSS ${rss} KiB below $maxrss KiB"
    fi
done

done_testing
