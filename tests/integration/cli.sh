#!/bin/bash
# The command line of src/mpop without any server: --version, --help, usage
# errors (EX_USAGE), --pretend with config files and overrides, --host mode,
# bad config files (EX_CONFIG naming FILE:LINE) and account selection.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

: "${MPOP:=${top_builddir:-.}/src/mpop}"
[ -x "$MPOP" ] || bail_out "$MPOP not built"

export HOME="$T/home"
unset XDG_CONFIG_HOME
mkdir -p "$HOME"
RC="$HOME/.mpoprc"

# run ARGS...: sets OUT (stdout), ERR (stderr) and CODE.
run()
{
    CODE=0
    "$MPOP" "$@" >"$T/out" 2>"$T/err" || CODE=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}

plan 42

run --version
is "$CODE" 0 "--version exits 0"
like "$OUT" "mpop version *" "--version names the program"
like "$OUT" "*TLS/SSL library: *" "--version names the TLS library"
like "$OUT" "*Supported authentication methods:*user*plain*apop*" \
    "--version lists authentication methods"
like "$OUT" "*Configuration file name: $RC*" "--version names the config file"
like "$OUT" "*The mpop authors*GPL-3.0-or-later*" "--version copyright"

run --help
is "$CODE" 0 "--help exits 0"
like "$OUT" "*--tls-min-dh-prime-bits*--uidls-file=filename*" \
    "--help lists the options"

for args in "--bogus" "-x" "--port=0" "--port" "--keep=maybe" \
            "--host=h acc" "-a acc" "--pretend=1"; do
    # shellcheck disable=SC2086
    run $args
    is "$CODE" 64 "usage error '$args' exits 64"
done
run --bogus
like "$ERR" "*--bogus*--help*" "usage error names the option and --help"

cat >"$RC" <<'EOF'
# comment
defaults
delivery mda "cat >/dev/null"
account first
host pop.first.example
user joe
password secret
account second : first
host pop.second.example
account default : first
EOF
chmod 600 "$RC"

run -P
is "$CODE" 0 "-P with the default account"
like "$OUT" "using account default from $RC*" "-P first line"
like "$OUT" "*password = \**" "-P shows the password as *"
like "$OUT" "*host = pop.first.example*delivery = mda cat >/dev/null*" \
    "-P shows the settings"
case "$OUT" in *secret*) fail "-P never prints the password" ;;
               *) pass "-P never prints the password" ;; esac

run -P second first
like "$OUT" "using account second from*host = pop.second.example*using\
 account first from*host = pop.first.example*" \
    "-P names in command line order"

run -P -a
is "$(grep -c '^using account' "$T/out")" 3 "-a uses every account"

run -P --port=2110 --tls --keep --killsize=1m first
like "$OUT" "*port = 2110*tls = on*keep = on*killsize = 1048576*" \
    "options override the config"

run -P -S first
case "$OUT" in *delivery*) fail "-S -P hides retrieval settings" ;;
               *) pass "-S -P hides retrieval settings" ;; esac

run -P nosuch
is "$CODE" 78 "unknown account exits 78"
like "$ERR" "*no account nosuch*" "unknown account is named"

run -P first nosuch
is "$OUT" "" "nothing printed when one account is unknown"

run --host=pop.h.example -P --delivery=mda,cat
is "$CODE" 0 "--host -P exits 0"
like "$OUT" "host = pop.h.example*" "--host -P starts with the host line"
like "$OUT" "*uidls file = $HOME/.mpop_uidls/_at_pop.h.example*" \
    "--host -P default uidls file"

run --host=pop.h.example -P
is "$CODE" 78 "--host without delivery exits 78"

chmod 644 "$RC"
run --host=pop.h.example -C /nonexistent -S -P
is "$CODE" 0 "--host reads no config file"
chmod 600 "$RC"

printf 'account a\nhost h\nbogus_command x\n' >"$T/bad"
chmod 600 "$T/bad"
run -C "$T/bad" -P a
is "$CODE" 78 "-C with a bad file exits 78"
like "$ERR" "*$T/bad:3*" "the error names FILE:LINE"

printf 'account a\nhost h\nport 99999\n' >"$T/bad2"
chmod 600 "$T/bad2"
run -C "$T/bad2" -P a
is "$CODE" 78 "bad port in the file exits 78"
like "$ERR" "*$T/bad2:3*" "bad port names FILE:LINE"

run -C "$T/missing" -P
isnt "$CODE" 0 "a missing -C file fails"
like "$ERR" "*$T/missing*" "a missing -C file is named"

printf 'account a\nhost h\n' >"$T/nodefault"
chmod 600 "$T/nodefault"
run -C "$T/nodefault" -P
is "$CODE" 78 "no default account exits 78"
like "$ERR" "*no account default*" "no default account is named"

done_testing
