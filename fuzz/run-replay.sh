#!/bin/sh
# Replays every fuzz corpus through its replay program and prints TAP: one
# test point per target.  Run by `make check` (fuzz/Makefile.am), so every
# seed, and every crash input added as a regression seed, is checked with
# the normal compiler and under the sanitizer build.
#
#   run-replay.sh [TARGET...]     (default: every fuzz/corpus/* directory)
#
# Environment: FUZZ_SRCDIR (where corpus/ is; default: this script's
# directory) and FUZZ_BUILDDIR (where the replay-TARGET programs are;
# default: the current directory).
srcdir=${FUZZ_SRCDIR:-$(cd "$(dirname "$0")" && pwd)}
builddir=${FUZZ_BUILDDIR:-$(pwd)}

if [ $# -eq 0 ]; then
    for d in "$srcdir"/corpus/*/; do
        d=${d%/}
        set -- "$@" "${d##*/}"
    done
fi
echo "1..$#"
n=0
fail=0
for t in "$@"; do
    n=$((n + 1))
    prog=$builddir/replay-$t
    if [ ! -x "$prog" ]; then
        echo "not ok $n - $t: no program $prog"
        fail=1
        continue
    fi
    out=$("$prog" "$srcdir/corpus/$t" 2>&1)
    st=$?
    count=$(printf '%s\n' "$out" | sed -n 's/^replayed \([0-9]*\) inputs$/\1/p')
    if [ $st -eq 0 ] && [ -n "$count" ] && [ "$count" -gt 0 ]; then
        echo "ok $n - $t: $count inputs"
    else
        echo "not ok $n - $t: exit status $st"
        printf '%s\n' "$out" | sed 's/^/# /'
        fail=1
    fi
done
exit $fail
