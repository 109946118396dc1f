#!/bin/bash
# mpop against Cyrus pop3d 3.6 (Debian 12's cyrus-pop3d), unpacked from its
# .deb into a cache (tests/lib/interop.sh), run as the test user by its own
# master process from a private configuration: pop3 (plain and STARTTLS)
# and pop3s (implicit TLS) on free loopback ports, lmtpd on a unix socket,
# users in a private sasldb.  Four mails go in through LMTP; every run must
# deliver exactly the bytes of the server's spool files (CRLF made LF).
#
# Each mode (plain, starttls, tls) runs auth on and every method the server
# offers: user, apop, plain, login, scram-sha-1, scram-sha-256, cram-md5,
# digest-md5, and with TLS scram-sha-1-plus and scram-sha-256-plus.
#
# Cyrus 3.6 offers the -PLUS mechanisms under any TLS version with its own
# "tls-unique" (the client's Finished message), which RFC 9266 leaves
# undefined for TLS 1.3, where clients, mpop among them, send tls-exporter:
# Cyrus's SCRAM then answers "-ERR [AUTH] authenticating: bad protocol /
# cancel".  So under TLS 1.3 a named -PLUS mechanism fails (77) and auth on
# falls back to SCRAM without channel binding; under TLS 1.2 (tls-unique
# is defined there) the -PLUS mechanisms work.  Takes about 10 seconds.
here=$(cd "$(dirname "$0")" && pwd)
TESTLIB=${TESTLIB:-$here/../lib}
. "$TESTLIB/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/interop.sh"

MPOP=${MPOP:-$here/../../src/mpop}
[ -x "$MPOP" ] || bail_out "no mpop to test: $MPOP"
"$MPOP" --version | grep -q ' scram-sha-1 ' ||
    skip_all "this mpop has no SCRAM (built without GNU SASL)"
command -v saslpasswd2 >/dev/null 2>&1 ||
    interop_unavailable "saslpasswd2 (sasl2-bin) is not installed"

interop_unpack cyrus cyrus-common cyrus-pop3d 2>"$T/unpack.err" ||
    interop_unavailable "cannot unpack Cyrus: $(head -c 300 "$T/unpack.err")"
R=$INTEROP_ROOT
LD_LIBRARY_PATH=$R/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
CB=$R/usr/lib/cyrus/bin
interop_need_libs "$CB/master" "$CB/pop3d" "$CB/lmtpd" 2>"$T/libs.err" ||
    interop_unavailable "$(cat "$T/libs.err")"

D=$T/cyrus
U=$(interop_user)
mkdir -p "$D"/conf/{proc,db,socket,log,msg,ptclient,sieve,lock} "$D/spool"
certs_make "$D/certs" >/dev/null 2>&1 || bail_out "certtool failed"
P_POP3=$(free_port)
P_POP3S=$(free_port)
[ "$P_POP3" != "$P_POP3S" ] || P_POP3S=$(free_port)
cat >"$D/imapd.conf" <<EOF
configdirectory: $D/conf
partition-default: $D/spool
servername: localhost
cyrus_user: $U
admins: cyrus
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $D/sasldb2
sasl_mech_list: PLAIN LOGIN SCRAM-SHA-1 SCRAM-SHA-1-PLUS SCRAM-SHA-256 SCRAM-SHA-256-PLUS CRAM-MD5 DIGEST-MD5
allowplaintext: yes
failedloginpause: 0
autocreate_quota: 0
autocreate_post: yes
tls_server_cert: $D/certs/chain.pem
tls_server_key: $D/certs/server.key
sievedir: $D/conf/sieve
lmtpsocket: $D/conf/socket/lmtp
idlesocket: $D/conf/socket/idle
notifysocket: $D/conf/socket/notify
syslog_prefix: mpop-test-cyrus
EOF
cat >"$D/cyrus.conf" <<EOF
START {
}
SERVICES {
  pop3 cmd="$CB/pop3d -C $D/imapd.conf" listen="127.0.0.1:$P_POP3" prefork=0
  pop3s cmd="$CB/pop3d -s -C $D/imapd.conf" listen="127.0.0.1:$P_POP3S" prefork=0
  lmtpunix cmd="$CB/lmtpd -C $D/imapd.conf" listen="$D/conf/socket/lmtp" prefork=0
}
EVENTS {
}
EOF
echo secret | saslpasswd2 -f "$D/sasldb2" -p -c -u localhost alice ||
    bail_out "saslpasswd2 failed"
[ "$(id -u)" -ne 0 ] || chown -R "$U:$(id -gn "$U")" "$D"

INTEROP_LOG=$D/master.log
interop_spawn "$D/master.log" "$CB/master" -C "$D/imapd.conf" \
    -M "$D/cyrus.conf" -p "$D/master.pid" -D
wait_port "$P_POP3" 20 && wait_port "$P_POP3S" 20 &&
    interop_wait_socket "$D/conf/socket/lmtp" 20 || {
    diag_file "$D/master.log"
    bail_out "Cyrus master did not start"
}

# The first login creates the INBOX (autocreate_quota); then the mails go
# in through LMTP, as from an MTA.
INTEROP_RC="host 127.0.0.1
port $P_POP3
tls off
user alice
password secret"
interop_fetch first-login 0 "" "auth user"
interop_mails "$T/mails"
python3 - "$D/conf/socket/lmtp" "$T"/mails/m*.eml <<'EOF' >"$T/lmtp.out" 2>&1
import smtplib, sys
l = smtplib.LMTP(sys.argv[1])
for f in sys.argv[2:]:
    with open(f, "rb") as fh:
        msg = fh.read().replace(b"\n", b"\r\n")
    refused = l.sendmail("sender@example.org", ["alice"], msg)
    if refused:
        sys.exit("refused: %r" % refused)
l.quit()
EOF
is "$?" 0 "lmtpd took the four mails" || diag_file "$T/lmtp.out"
mapfile -t spool < <(find "$D/spool" -type f -name '[0-9]*.' | sort)
is "${#spool[@]}" 4 "the spool holds four mails"
H=$(interop_hashes "${spool[@]}")

common="user alice
password secret"
for mode in plain starttls tls; do
    case $mode in
        plain) INTEROP_RC="host 127.0.0.1
port $P_POP3
tls off
$common" ;;
        starttls) INTEROP_RC="host 127.0.0.1
port $P_POP3
tls on
tls_starttls on
tls_trust_file $D/certs/ca.pem
$common" ;;
        tls) INTEROP_RC="host 127.0.0.1
port $P_POP3S
tls on
tls_starttls off
tls_trust_file $D/certs/ca.pem
$common" ;;
    esac
    # What the server offers: its CAPA SASL line.
    printf 'account s\n%s\n' "$INTEROP_RC" >"$T/si-$mode.rc"
    chmod 600 "$T/si-$mode.rc"
    "$MPOP" -C "$T/si-$mode.rc" --debug --serverinfo s >"$T/si-$mode.out" 2>&1
    sasl=$(grep '^<-- SASL ' "$T/si-$mode.out" | tail -n 1)
    plus=
    [ "$mode" = plain ] || plus=" SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS"
    for m in PLAIN LOGIN SCRAM-SHA-1 SCRAM-SHA-256 CRAM-MD5 DIGEST-MD5 \
        $plus; do
        like "$sasl " "* $m *" "$mode: the server offers $m"
    done

    interop_fetch "$mode-on" 0 "$H" "auth on"
    for m in user apop plain login scram-sha-1 scram-sha-256 cram-md5 \
        digest-md5; do
        interop_fetch "$mode-$m" 0 "$H" "auth $m"
    done
    [ "$mode" = plain ] && continue
    # TLS 1.3: Cyrus's -PLUS is broken (see the top); named, it stays.
    for m in scram-sha-1-plus scram-sha-256-plus; do
        interop_fetch "$mode-$m-tls13" 77 "" "auth $m"
        like "$(cat "$T/$mode-$m-tls13.out")" \
            "*method ${m^^}): the server refused the exchange*bad protocol*" \
            "$mode-$m-tls13: the error names the method and the server's words"
    done
    # TLS 1.2: tls-unique is defined, and Cyrus's -PLUS works.
    for m in on scram-sha-1-plus scram-sha-256-plus; do
        interop_fetch "$mode-$m-tls12" 0 "$H" "auth $m" \
            "tls_priorities NORMAL:-VERS-TLS1.3"
    done
done

# The default configuration over TLS 1.3, with --debug: the fallback from
# SCRAM-SHA-256-PLUS to SCRAM-SHA-256 is explained.
"$MPOP" -C "$T/fetch-tls-on/rc" --debug s >"$T/debug.out" 2>&1 </dev/null
like "$(cat "$T/debug.out")" \
    "*refused method SCRAM-SHA-256-PLUS (*bad protocol*trying the next one*" \
    "tls, auth on, --debug: says why SCRAM-SHA-256-PLUS was given up"

# A wrong password with auth on: every SCRAM method is refused, then PLAIN,
# whose refusal blames the password; exit 77.
interop_fetch tls-on-badpw 77 "" "auth on" "password wrong"
like "$(cat "$T/tls-on-badpw.out")" \
    "*method PLAIN) (the user name or the password is wrong)*" \
    "tls, auth on, wrong password: the last refusal (PLAIN) blames it"

# Without keep: all four are fetched and deleted; the spool is empty.
interop_fetch tls-delete 0 "$H" "auth on" "keep off"
# Cyrus expunges lazily (the files stay until cyr_expire): ask the server.
interop_fetch tls-after-delete 0 "" "auth on"

done_testing
