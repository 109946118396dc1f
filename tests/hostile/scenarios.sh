#!/bin/bash
# Runs every hostile scenario (tests/hostile/*.pop3) against $MPOP through
# run-scenario.sh, HOSTILE_JOBS (default 6) at a time, and prints one TAP
# result per scenario: ok when every assertion of the scenario held (exit
# status, the server's verdict, DELEs, deliveries and the optional ones).
# The assertions follow as comments; a failing scenario shows its whole
# output.  Each run-scenario.sh has its own temporary folder and a port
# chosen by the kernel, so the runs cannot disturb each other.
here=$(cd "$(dirname "$0")" && pwd)
TESTLIB=${TESTLIB:-$here/../lib}
. "$TESTLIB/common.sh"

command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
client=${MPOP:-$here/../../src/mpop}
[ -x "$client" ] || bail_out "no client to test: $client"
case $client in /*) ;; *) client=$PWD/$client ;; esac
export MPOP=$client TESTLIB

scenarios=("$here"/*.pop3)
[ "${#scenarios[@]}" -gt 0 ] || bail_out "no scenarios in $here"
plan "${#scenarios[@]}"

jobs=${HOSTILE_JOBS:-6}
i=0
for sc in "${scenarios[@]}"; do
    i=$((i + 1))
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n 2>/dev/null || true
    done
    (
        bash "$here/run-scenario.sh" "$sc" >"$T/$i.out" 2>&1
        echo $? >"$T/$i.st"
    ) &
done
wait

i=0
for sc in "${scenarios[@]}"; do
    i=$((i + 1))
    name=$(basename "$sc" .pop3)
    st=$(cat "$T/$i.st" 2>/dev/null || echo 99)
    nok=$(grep -c '^ok ' "$T/$i.out")
    if [ "$st" = 0 ] && ! grep -q '^not ok' "$T/$i.out"; then
        tap_result 0 "$name ($nok assertions)"
        sed -n 's/^ok [0-9]* - /#   ok: /p' "$T/$i.out"
    else
        tap_result 1 "$name (run-scenario.sh status $st)" || true
        diag "$(grep -v '^1\.\.' "$T/$i.out")"
    fi
done

done_testing
