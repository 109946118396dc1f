#!/bin/bash
# mpopd under load: 200 sessions from 20 concurrent clients against a
# listener limited to 10 sessions, with random disconnects (before the
# greeting, within a command, in the middle of a RETR, after DELE without
# QUIT), wrong passwords and concurrent sessions on the same mailboxes.
# Checks the session limit, the authentication delay, [IN-USE], that no
# mail is lost or deleted without QUIT, that every served mail is
# byte-exact, and that mpopd survives without leaking fds or processes.
# The work is done by tests/lib/mpopd-load.py; the seed is printed, and
# MPOPD_LOAD_SEED=N repeats a run.  Prints TAP.
: "${TESTLIB:=$(dirname "$0")/../lib}"
. "$TESTLIB/common.sh"

: "${MPOPD:=${top_builddir:-.}/src/mpopd}"
[ -x "$MPOPD" ] || skip_all "$MPOPD is not built"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
[ -d /proc/self/fd ] || skip_all "no /proc to count fds and processes"

# Should python3 die without its own cleanup, mpopd is stopped by its PID.
# shellcheck disable=SC2016
at_exit '[ -f "$T/mpopd-load.pid" ] &&
    kill_ours "$(cat "$T/mpopd-load.pid")" "*--port-file=$T/*"'
export MPOPD T
python3 "$TESTLIB/mpopd-load.py"
exit $?
