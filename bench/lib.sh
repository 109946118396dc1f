# shellcheck shell=bash
# Shared helpers of the benchmarks (bash).  Source it first:
#     . "$(dirname "$0")/lib.sh"
#
# Programs compared (override through the environment):
#   MPOP        our client      (default: $BUILD/src/mpop)
#   MPOPD       our server      (default: $BUILD/src/mpopd)
#   ORIG_MPOP   Debian's mpop   (default: /usr/bin/mpop)
#   BUILD       a configured and built tree (default: the source tree itself
#               if it holds src/mpop, else /tmp/bench/b)
#
# It reuses the test library: tests/lib/common.sh (at_exit cleanup, $T, a
# free port) and tests/lib/dovecot.sh (a private dovecot on 127.0.0.1).
# Everything a benchmark creates lives in $T and is removed at exit; the
# servers it starts are stopped at exit, also on ^C.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$BENCH_DIR/.." && pwd)}
TESTLIB=${TESTLIB:-$top_srcdir/tests/lib}
# shellcheck source=../tests/lib/common.sh
. "$TESTLIB/common.sh"
# shellcheck source=../tests/lib/dovecot.sh
. "$TESTLIB/dovecot.sh"

if [ -z "${BUILD:-}" ]; then
    if [ -x "$top_srcdir/src/mpop" ]; then
        BUILD=$top_srcdir
    else
        BUILD=/tmp/bench/b
    fi
fi
MPOP=${MPOP:-$BUILD/src/mpop}
MPOPD=${MPOPD:-$BUILD/src/mpopd}
ORIG_MPOP=${ORIG_MPOP:-/usr/bin/mpop}
BL="python3 $BENCH_DIR/benchlib.py"
# Upper bound for one client run (seconds): a hung client cannot stall
# the benchmark.
RUN_LIMIT=${RUN_LIMIT:-300}

bench_need()
{
    local p
    for p in "$@"; do
        if [ ! -x "$p" ] && ! command -v "$p" >/dev/null 2>&1; then
            echo "bench: $p is missing" >&2
            return 1
        fi
    done
}

# bench_dovecot DIR: start a plain dovecot (see tests/lib/dovecot.sh).
bench_dovecot()
{
    dovecot_start plain "$1" >/dev/null || {
        echo "bench: dovecot does not start" >&2
        exit 1
    }
}

# bench_own DIR: hand a maildir tree to the user dovecot's mail processes
# run as (needed when the benchmark runs as root).
bench_own()
{
    local u
    [ "$(id -u)" -eq 0 ] || return 0
    u=$(dovecot_mail_user)
    chown -R "$(id -u "$u"):$(id -g "$u")" "$1"
}

# bench_restore TEMPLATE: make the dovecot mailbox a copy of TEMPLATE (hard
# links, so even 20,000 mails come back in a moment) and let dovecot index
# it once, untimed.
bench_restore()
{
    rm -rf "$DOVECOT_MAILDIR"
    cp -al "$1" "$DOVECOT_MAILDIR"
    bench_own "$DOVECOT_MAILDIR"
    $BL warm "$DOVECOT_PORT" "$DOVECOT_USER" "$DOVECOT_PASS"
}

# bench_template DIR COUNT SIZE: a maildir of COUNT mails of SIZE bytes.
bench_template()
{
    rm -rf "$1"
    $BL gen "$1" "$2" "$3"
    bench_own "$1"
}

# bench_mpoprc FILE PORT DELIVERY UIDLS [MORE LINES]: a configuration read
# identically by our mpop and the original.
bench_mpoprc()
{
    local f=$1 port=$2 delivery=$3 uidls=$4
    shift 4
    {
        echo "defaults"
        echo "tls off"
        echo "auth user"
        echo "account bench"
        echo "host 127.0.0.1"
        echo "port $port"
        echo "user $DOVECOT_USER"
        echo "password $DOVECOT_PASS"
        echo "delivery $delivery"
        echo "uidls_file $uidls"
        local l
        for l in "$@"; do echo "$l"; done
    } >"$f"
    chmod 600 "$f"
}

# bench_maildir DIR: an empty maildir (delivery target).
bench_maildir()
{
    rm -rf "$1"
    mkdir -p "$1/new" "$1/cur" "$1/tmp"
}

# The launcher that measures a client (bench/measure.c), built once per
# benchmark into $T.
BENCH_MEASURE=$T/measure
if ! gcc -O2 -o "$BENCH_MEASURE" "$BENCH_DIR/measure.c" 2>"$T/measure.err"
then
    echo "bench: cannot compile bench/measure.c:" >&2
    cat "$T/measure.err" >&2
    exit 1
fi

# bench_run LOG CMD...: run CMD (killed after RUN_LIMIT seconds) and print
# "WALL USER SYS MAXRSS_KIB EXIT" for it (the child only, via wait4).
bench_run()
{
    local log=$1
    shift
    "$BENCH_MEASURE" "$RUN_LIMIT" "$log" "$@"
}

# bench_median X...
bench_median()
{
    $BL median "$@"
}

# bench_ratio A B: A/B with two decimals ("-" if B is 0 or not a number).
bench_ratio()
{
    python3 -c 'import sys
try:
    a, b = float(sys.argv[1]), float(sys.argv[2])
    print("%.2f" % (a / b) if b else "-")
except ValueError:
    print("-")' "$1" "$2"
}

# bench_count_new DIR: mails delivered into maildir DIR.
bench_count_new()
{
    find "$1/new" "$1/cur" -type f 2>/dev/null | wc -l
}

# bench_hr TITLE: a table title.
bench_hr()
{
    echo
    echo "== $1"
}
