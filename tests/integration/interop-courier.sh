#!/bin/bash
# mpop against Courier pop3d 1.0.16 (Debian 12's courier-pop), unpacked
# from its .deb files into a cache (tests/lib/interop.sh) and run as the
# test user by couriertcpd, as Courier's own start script does: one port
# with STLS (plain and STARTTLS), one with implicit TLS through couriertls.
# Mail is in maildirs; every run must deliver exactly their files' bytes.
#
# Courier checks logins through courier-authlib's authdaemond, whose
# socket, configuration and modules sit at paths compiled in; the test
# serves its users with tests/lib/courier-authd.py (the same protocol) and
# points Courier there with the LD_PRELOAD shim tests/lib/courier-shim.c,
# built here with cc (it also stands in the system user "courier" that
# couriertls switches to for STLS).
#
# Courier offers USER and SASL PLAIN, LOGIN, CRAM-MD5, CRAM-SHA1 and
# CRAM-SHA256 (mpop knows the first three): each mode runs auth on and
# each of user, plain, login, cram-md5.  Without TLS, auth on finds no
# method that keeps the password secret and exits 69, as the original.
# Takes about 5 seconds.
here=$(cd "$(dirname "$0")" && pwd)
TESTLIB=${TESTLIB:-$here/../lib}
. "$TESTLIB/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/interop.sh"

MPOP=${MPOP:-$here/../../src/mpop}
[ -x "$MPOP" ] || bail_out "no mpop to test: $MPOP"
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || interop_unavailable "no C compiler ($CC)"

interop_unpack courier courier-pop courier-base courier-authlib \
    libcourier-unicode4 2>"$T/unpack.err" ||
    interop_unavailable "cannot unpack Courier: $(head -c 300 "$T/unpack.err")"
R=$INTEROP_ROOT
CL=$R/usr/lib/courier/courier
LD_LIBRARY_PATH=$R/usr/lib:$R/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
interop_need_libs "$CL/courierpop3login" "$CL/courierpop3d" \
    "$R/usr/sbin/couriertcpd" "$R/usr/bin/couriertls" 2>"$T/libs.err" ||
    interop_unavailable "$(cat "$T/libs.err")"

D=$T/courier
U=$(interop_user)
mkdir -p "$D"
"$CC" -shared -fPIC -O2 -o "$D/shim.so" "$TESTLIB/courier-shim.c" -ldl \
    2>"$T/cc.err" || {
    diag_file "$T/cc.err"
    bail_out "cannot build the shim"
}
certs_make "$D/certs" >/dev/null 2>&1 || bail_out "certtool failed"
cat "$D/certs/server.key" "$D/certs/chain.pem" >"$D/pop3d.pem"
chmod 600 "$D/pop3d.pem"
P_POP3=$(free_port)
P_POP3S=$(free_port)
[ "$P_POP3" != "$P_POP3S" ] || P_POP3S=$(free_port)

interop_mails "$T/mails"
mkdir -p "$D/home/alice/Maildir/new" "$D/home/alice/Maildir/cur" \
    "$D/home/alice/Maildir/tmp"
i=0
for m in "$T"/mails/m*.eml; do
    i=$((i + 1))
    cp "$m" "$D/home/alice/Maildir/new/17000000$i.M$i.example"
done
echo "alice secret $(id -u "$U") $(id -g "$U") $D/home/alice" >"$D/users"
[ "$(id -u)" -ne 0 ] || chown -R "$U" "$D"

mechs="PLAIN LOGIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256"
interop_spawn "$D/authd.log" python3 "$TESTLIB/courier-authd.py" \
    "$D/authsock" "$D/users"
for port in "$P_POP3" "$P_POP3S"; do
    tls=()
    [ "$port" = "$P_POP3S" ] && tls=("$R/usr/bin/couriertls" -server -tcpd)
    interop_spawn "$D/pop3d-$port.log" env LD_PRELOAD="$D/shim.so" \
        MPOP_TEST_AUTHSOCK="$D/authsock" POP3AUTH="$mechs" \
        POP3AUTH_TLS="$mechs" POP3_STARTTLS=YES \
        COURIERTLS="$R/usr/bin/couriertls" TLS_CERTFILE="$D/pop3d.pem" \
        TLS_VERIFYPEER=NONE \
        "$R/usr/sbin/couriertcpd" -address=127.0.0.1 -nodnslookup \
        -noidentlookup -maxprocs=10 "$port" "${tls[@]}" \
        "$CL/courierpop3login" "$CL/courierpop3d" Maildir
done
wait_port "$P_POP3" 20 && wait_port "$P_POP3S" 20 &&
    interop_wait_socket "$D/authsock" 20 || {
    diag_file "$D/pop3d-$P_POP3.log"
    bail_out "Courier did not start"
}

# shellcheck disable=SC2046 # maildir names have no blanks
H=$(interop_hashes $(find "$D/home/alice/Maildir" -type f))
is "$(wc -w <<<"$H")" 4 "alice's maildir holds four mails"

for mode in plain starttls tls; do
    case $mode in
        plain) tlsrc="port $P_POP3
tls off" ;;
        starttls) tlsrc="port $P_POP3
tls on
tls_starttls on
tls_trust_file $D/certs/ca.pem" ;;
        tls) tlsrc="port $P_POP3S
tls on
tls_starttls off
tls_trust_file $D/certs/ca.pem" ;;
    esac
    INTEROP_RC="host 127.0.0.1
$tlsrc
user alice
password secret"
    # What the server offers: its CAPA SASL line.
    printf 'account s\n%s\n' "$INTEROP_RC" >"$T/si-$mode.rc"
    chmod 600 "$T/si-$mode.rc"
    "$MPOP" -C "$T/si-$mode.rc" --debug --serverinfo s >"$T/si-$mode.out" 2>&1
    is "$(grep '^<-- SASL ' "$T/si-$mode.out" | tail -n 1)" \
        "<-- SASL $mechs" "$mode: the server offers $mechs"
    for m in user plain login cram-md5; do
        interop_fetch "$mode-$m" 0 "$H" "auth $m"
    done
    if [ "$mode" = plain ]; then
        interop_fetch "$mode-on" 69 "" "auth on"
    else
        interop_fetch "$mode-on" 0 "$H" "auth on"
    fi
done

# A wrong password with auth on over TLS: PLAIN is refused, no other
# method follows; Courier sends no RESP-CODE, so its words must do.
interop_fetch tls-badpw 77 "" "auth on" "password wrong"
like "$(cat "$T/tls-badpw.out")" \
    "*method PLAIN)*server message: -ERR Authentication failed.*" \
    "tls, auth on, wrong password: names PLAIN and quotes the server"

# Without keep: the mails are deleted; the maildir is empty afterwards.
interop_fetch tls-delete 0 "$H" "auth on" "keep off"
is "$(find "$D/home/alice/Maildir/new" "$D/home/alice/Maildir/cur" \
    -type f | wc -l)" 0 "after the fetch without keep, the maildir is empty"

done_testing
