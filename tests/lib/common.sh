# Shell helpers for script tests (bash).  Source it first:
#     . "$TESTLIB/common.sh"
#
# TAP output:
#   plan N                 print the plan "1..N" (call once, first)
#   ok 'SHELL CMD' MSG     pass when the command (run by eval) exits 0
#   is GOT WANT MSG        pass when the two strings are equal
#   isnt GOT WANT MSG      pass when they differ
#   like GOT GLOB MSG      pass when GOT matches the shell pattern GLOB
#   pass MSG / fail MSG    an unconditional result
#   skip MSG               a test that passes with "# SKIP MSG"
#   diag TEXT...           a "# " comment on stdout (the TAP driver logs it)
#   skip_all REASON        print "1..0 # SKIP REASON" and exit 0: automake's
#                          TAP driver counts that as SKIP (an exit status
#                          of 77 would count as ERROR under the TAP driver)
#   bail_out REASON        print "Bail out! REASON" and exit 99
#   done_testing           exit 0 if every test passed and the count matches
#                          the plan, 1 otherwise (call last)
#
# Temporary files and cleanup:
#   $T                     a fresh folder from mktemp, removed at exit
#   at_exit 'CMD'          run CMD at exit (last added runs first); tests
#                          register the servers they start here, so a test
#                          that fails or is interrupted still stops them
#
# Environment from tests/Makefile.am: $MPOP, $MPOPD, $top_srcdir,
# $top_builddir, $TESTLIB.

set -u

TAP_N=0
TAP_FAILED=0
TAP_PLAN=

plan()
{
    TAP_PLAN=$1
    echo "1..$1"
}

tap_result()
{
    # tap_result STATUS MSG: STATUS 0 = ok
    TAP_N=$((TAP_N + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $TAP_N - $2"
    else
        echo "not ok $TAP_N - $2"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
    return "$1"
}

ok()
{
    local st=0
    eval "$1" >/dev/null 2>&1 || st=1
    tap_result "$st" "$2" || diag "  failed: $1"
    return 0
}

is()
{
    if [ "$1" = "$2" ]; then
        tap_result 0 "$3"
    else
        tap_result 1 "$3" || true
        diag "       got: '$1'"
        diag "  expected: '$2'"
    fi
    return 0
}

isnt()
{
    if [ "$1" != "$2" ]; then
        tap_result 0 "$3"
    else
        tap_result 1 "$3" || true
        diag "  got '$1', expected anything else"
    fi
    return 0
}

like()
{
    # shellcheck disable=SC2053
    if [[ $1 == $2 ]]; then
        tap_result 0 "$3"
    else
        tap_result 1 "$3" || true
        diag "       got: '$1'"
        diag "  expected: a match of '$2'"
    fi
    return 0
}

pass()
{
    tap_result 0 "$1"
}

fail()
{
    tap_result 1 "$1" || true
    return 0
}

skip()
{
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - # SKIP $1"
}

diag()
{
    local line
    printf '%s\n' "$*" | while IFS= read -r line; do
        echo "# $line"
    done
}

# diag_file FILE: show a file (a server log, mpop's output) as comments.
diag_file()
{
    [ -f "$1" ] || { diag "($1 does not exist)"; return 0; }
    diag "--- $1"
    diag "$(tail -n 60 "$1")"
}

skip_all()
{
    echo "1..0 # SKIP $1"
    exit 0
}

bail_out()
{
    echo "Bail out! $1"
    exit 99
}

done_testing()
{
    if [ -n "$TAP_PLAN" ] && [ "$TAP_N" -ne "$TAP_PLAN" ]; then
        diag "planned $TAP_PLAN tests but ran $TAP_N"
        exit 1
    fi
    [ -n "$TAP_PLAN" ] || echo "1..$TAP_N"
    [ "$TAP_FAILED" -eq 0 ] || exit 1
    exit 0
}

# --- cleanup -------------------------------------------------------------

TAP_AT_EXIT=()

at_exit()
{
    TAP_AT_EXIT+=("$1")
}

tap_cleanup()
{
    local st=$? i
    set +e
    for ((i = ${#TAP_AT_EXIT[@]} - 1; i >= 0; i--)); do
        eval "${TAP_AT_EXIT[$i]}" >/dev/null 2>&1
    done
    if [ -n "${T:-}" ] && [ -d "$T" ] && [ -z "${KEEP_TEST_TMP:-}" ]; then
        rm -rf "$T"
    elif [ -n "${T:-}" ]; then
        echo "# kept $T" >&2
    fi
    exit "$st"
}

trap tap_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

T=$(mktemp -d "${TMPDIR:-/tmp}/mpoptest.XXXXXX") || bail_out "mktemp failed"
# Servers that drop privileges (dovecot's login and mail processes) must be
# able to walk into the folder; nobody can list it.
chmod 711 "$T"

# The tests run python3 hundreds of times.  Debian's /usr/bin/python3 (which
# scripts/check installs) starts in 30 ms; a version manager's shim found
# first in PATH (pyenv's took 350 ms) would cost minutes of a CI run.  Also
# for servers started with "#!/usr/bin/env python3".
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]
then
    mkdir -p "$T/.python"
    ln -s /usr/bin/python3 "$T/.python/python3"
    PATH=$T/.python:$PATH
    export PATH
fi

# free_port: print a TCP port on 127.0.0.1 that nobody listens on now.
free_port()
{
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# wait_port PORT [SECONDS]: wait until 127.0.0.1:PORT accepts connections.
wait_port()
{
    python3 - "$1" "${2:-10}" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + limit
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# wait_file FILE [SECONDS]: wait until FILE exists and is not empty.
wait_file()
{
    local i n=$(( ${2:-10} * 20 ))
    for ((i = 0; i < n; i++)); do
        [ -s "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

# pid_alive PID: true while PID runs (a zombie child counts as gone).
pid_alive()
{
    local st
    kill -0 "$1" 2>/dev/null || return 1
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ "$st" != Z ]
}

# pid_ours PID [GLOB]: true while PID is still a process this test
# started: a running child of this shell (or of the subshell that asks),
# or, with GLOB, a running process whose command line (its arguments
# joined by blanks) matches the shell pattern GLOB (for a server started
# in a subshell or by a helper).  A saved PID must pass this before a
# signal: once its process has ended and been reaped (bash reaps
# background jobs by itself), the kernel gives the number to the next new
# process; pid_max is 32768 and a run of the suite wraps it many times,
# so a late "kill $PID" hits whatever another test runs then (it stopped
# interop-mailutils.sh's pop3d in the middle of a fetch).
pid_ours()
{
    local stat state ppid cmd
    case $1 in '' | *[!0-9]*) return 1 ;; esac
    stat=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    read -r state ppid _ <<<"$stat"
    [ -n "$state" ] && [ "$state" != Z ] || return 1
    [ "$ppid" = "$$" ] || [ "$ppid" = "$BASHPID" ] && return 0
    [ -n "${2:-}" ] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    # shellcheck disable=SC2053 # $2 is a pattern
    [[ ${cmd% } == $2 ]]
}

# kill_ours PID [GLOB]: SIGTERM to PID when pid_ours PID [GLOB], else
# nothing; returns 0.
kill_ours()
{
    pid_ours "$@" && kill -TERM "$1" 2>/dev/null
    return 0
}

# kill_wait PID [SECONDS]: SIGTERM, wait for it to go, SIGKILL if needed.
# Only for a child of this shell (pid_ours).
kill_wait()
{
    local pid=$1 i n=$(( ${2:-10} * 20 ))
    pid_ours "$pid" || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < n; i++)); do
        pid_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 1
}
