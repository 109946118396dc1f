#!/bin/bash
# `mpop --pretend` against the original mpop (Debian package mpop), when it
# is installed: for each configuration below, both programs must print the
# same bytes and exit with the same code.  Only configurations both accept
# are compared byte for byte; for rejected ones only the exit code counts
# (our messages name FILE:LINE in a different layout).
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

: "${MPOP:=${top_builddir:-.}/src/mpop}"
ORIG=${MPOP_ORIGINAL:-/usr/bin/mpop}
[ -x "$ORIG" ] || skip_all "the original mpop ($ORIG) is not installed"
[ -x "$MPOP" ] || bail_out "$MPOP not built"

export HOME="$T/home"
unset XDG_CONFIG_HOME
mkdir -p "$HOME"
cd "$HOME" || bail_out "cd $HOME"

# compare NAME ARGS... -- LINES...: writes LINES to ./rc (mode 600), runs
# both programs with -C rc -P ARGS and compares output and exit code.
compare()
{
    local name=$1 args=() c1=0 c2=0
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        args+=("$1")
        shift
    done
    shift
    printf '%s\n' "$@" > rc
    chmod 600 rc
    "$ORIG" -C rc -P "${args[@]}" >"$T/o1" 2>"$T/e1" || c1=$?
    "$MPOP" -C rc -P "${args[@]}" >"$T/o2" 2>"$T/e2" || c2=$?
    if [ "$c1" = "$c2" ] && cmp -s "$T/o1" "$T/o2"; then
        pass "$name"
    else
        fail "$name (exit $c1 vs $c2)"
        diag "$(diff "$T/o1" "$T/o2" | head -20)"
        diag "$(cat "$T/e1" "$T/e2")"
    fi
}

A=("account a" "host pop.example.com" "delivery mda cat")

plan 16

compare "brief example" -a -- "account example" "host pop.example.com" \
    "tls on" "user joe" "password secret" \
    "delivery mda /usr/bin/procmail" "keep on" "killsize 10m"
compare "every setting changed" -a -- "${A[@]}" "tls on" "tls_starttls off" \
    "timeout off" "pipelining on" "delivery maildir ~/x" "keep off" \
    "killsize 10k" "skipsize 5" "auth plain" \
    "tls_fingerprint AA:bb:CC:dd:EE:ff:00:11:22:33:44:55:66:77:88:99" \
    "proxy_host p" "socket /s" "source_ip 1.2.3.4" \
    "tls_min_dh_prime_bits 1024" "filter cat" "received_header off" \
    "only_new off" "tls_certcheck off" "tls_trust_file" \
    "uidls_file ~/u/%U-%H"
compare "defaults and inheritance" -a -- "defaults" "tls on" "port 99" \
    "account a" "host h" "user ua" "delivery mda cat" "defaults" \
    "port 50" "timeout 5" "account b" "host hb" "keep on" \
    "account c : a, b" "timeout 1" "account d : c"
compare "quotes" -a -- "${A[@]}" 'user "joe doe"' 'delivery mda "cat"' \
    'passwordeval "/bin/echo" x' 'filter "a" "b"'
compare "delivery mbox and ~" -a -- "${A[@]}" "delivery mbox ~/mb" \
    "tls_trust_file ~/ca" "tls_crl_file ~/crl"
compare "delivery exchange" -a -- "${A[@]}" "delivery exchange ~/ex"
compare "socket only, %H" -a -- "account a" "socket /run/pop" \
    "delivery mda cat" "uidls_file %H%H%%U"
compare "eval" -a -- "${A[@]}" "eval echo user e" \
    "eval printf 'skipsize 3m\\nuser y'"
compare "named account" b -- "${A[@]}" "account b : a" "user bee"
compare "default account" -- "${A[@]}" "account default : a"
compare "comments and blanks" -a -- "# c" "" "  # c" "${A[@]}" "	user	x"
compare "unknown command" -a -- "${A[@]}" "bogus x"
compare "bad size" -a -- "${A[@]}" "killsize 1g"
compare "bad port" -a -- "${A[@]}" "port 65536"
compare "unknown parent" -a -- "${A[@]}" "account b : x"
compare "no delivery" -a -- "account a" "host h"

done_testing
