#!/bin/bash
# --serverinfo against private dovecot instances (plain, STARTTLS, implicit
# TLS): the original's layout line by line, the capabilities dovecot
# announces, the certificate block with the fingerprint certtool computes,
# and the exit codes of a refused port (75), an unknown host (68) and an
# untrusted certificate (69).
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"
command -v certtool >/dev/null 2>&1 || skip_all "certtool is not installed"

export HOME=$T/home
mkdir -p "$HOME"

plan 40

# si OUT ARGS...: runs mpop --serverinfo, output in OUT, exit code in $rc
si()
{
    local out=$1
    shift
    rc=0
    "$MPOP" --host=localhost --serverinfo "$@" >"$out" 2>"$out.err" || rc=$?
}

# line FILE N: line N of FILE
line()
{
    sed -n "$2p" "$1"
}

# caps_block FILE: the lines from "POP3 capabilities:" to the end
caps_block()
{
    sed -n '/^POP3 capabilities:$/,$p' "$1"
}

# The capability part dovecot announces (2.3, with the harness's
# auth_mechanisms); STLS appears when TLS is configured.
dovecot_caps()
{
    local stls=$1 apop=$2
    cat <<CAPS
POP3 capabilities:
    CAPA:
        Support for the CAPA command (get list of capabilities)
    PIPELINING:
        Support for command grouping for faster transmission
    TOP:
        Support for the TOP command (get mail headers)
    UIDL:
        Support for the UIDL command (get unique mail identifiers)
CAPS
    if [ "$stls" = yes ]; then
        echo "    STLS:"
        echo "        Support for TLS encryption via the STLS command"
    fi
    echo "    AUTH:"
    echo "        Supported authentication methods:"
    echo "        USER PLAIN SCRAM-SHA-1 SCRAM-SHA-256 ${apop}CRAM-MD5 DIGEST-MD5 LOGIN "
    cat <<CAPS
    RESP-CODES:
        Server error messages in square brackets have a special meaning
    AUTH-RESP-CODE:
        Server error messages in square brackets have a special meaning
CAPS
}

# --- plain ----------------------------------------------------------------
dovecot_start plain "$T/plain" >/dev/null 2>&1 ||
    skip_all "dovecot does not start"
si "$T/plain.out" --port="$DOVECOT_PORT" --tls=off
is "$rc" 0 "plain: exit 0"
is "$(line "$T/plain.out" 1)" \
    "POP3 server at localhost (localhost [127.0.0.1]), port $DOVECOT_PORT:" \
    "plain: first line names host, reverse name, address and port"
like "$(line "$T/plain.out" 2)" "    Dovecot* ready.*" \
    "plain: the greeting, indented"
is "$(line "$T/plain.out" 3)" "POP3 capabilities:" \
    "plain: no TLS block without TLS"
# Dovecot's APOP timestamp contains '=': the original (1.4.18) refuses it
# and lists no APOP; our greeting parser accepts it (RFC 822 atom).
apop=
grep -q " APOP " "$T/plain.out" && apop="APOP "
{
    dovecot_caps no "$apop"
    echo "This server might advertise more or other capabilities"
    echo "    after successful authentication."
} >"$T/plain.want"
caps_block "$T/plain.out" >"$T/plain.got"
ok "diff -u '$T/plain.want' '$T/plain.got'" \
    "plain: capabilities, AUTH list and notes in the original's layout"
is "$(cat "$T/plain.out.err")" "" "plain: nothing on stderr"
dovecot_stop "$T/plain"

# --- STARTTLS -------------------------------------------------------------
dovecot_start starttls "$T/st" >/dev/null 2>&1 ||
    bail_out "dovecot (starttls) does not start"
CA=$DOVECOT_CA
CERT=$T/st/certs/server.pem
FP256=$(certs_fingerprint "$CERT" sha256)
FP1=$(certs_fingerprint "$CERT" sha1)
si "$T/st.out" --port="$DOVECOT_PORT" --tls=on --tls-starttls=on \
    --tls-trust-file="$CA"
is "$rc" 0 "starttls: exit 0"
is "$(line "$T/st.out" 3)" "TLS session parameters:" \
    "starttls: TLS block right after the greeting"
like "$(line "$T/st.out" 4)" "    (TLS1.[23])-*" \
    "starttls: session description"
is "$(line "$T/st.out" 5)" "TLS certificate information:" \
    "starttls: certificate block"
is "$(line "$T/st.out" 6)$(line "$T/st.out" 7)" \
    "    Subject:        O=mpop test suite,CN=localhost" "starttls: subject"
is "$(line "$T/st.out" 8)$(line "$T/st.out" 9)" \
    "    Issuer:        O=mpop test suite,CN=mpop test CA" "starttls: issuer"
is "$(line "$T/st.out" 10)" "    Validity:" "starttls: validity header"
like "$(line "$T/st.out" 11)" \
    "        Activation time: [A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 1-3][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] 2[0-9][0-9][0-9]" \
    "starttls: activation time in ctime() form"
like "$(line "$T/st.out" 12)" "        Expiration time: * 20[3-9][0-9]" \
    "starttls: expiration time"
is "$(line "$T/st.out" 13)" "    Fingerprints:" "starttls: fingerprints"
is "$(line "$T/st.out" 14)" "        SHA256: $FP256" \
    "starttls: SHA256 fingerprint equals certtool's"
is "$(line "$T/st.out" 15)" "        SHA1 (deprecated): $FP1" \
    "starttls: SHA1 fingerprint equals certtool's"
# The original still lists STLS after STARTTLS, and no "when TLS is
# active" note.
{
    dovecot_caps yes ""
    echo "This server might advertise more or other capabilities"
    echo "    after successful authentication."
} >"$T/st.want"
caps_block "$T/st.out" | sed 's/ APOP CRAM-MD5/ CRAM-MD5/' >"$T/st.got"
ok "diff -u '$T/st.want' '$T/st.got'" \
    "starttls: capabilities after TLS, STLS kept, no TLS note"

si "$T/st-clear.out" --port="$DOVECOT_PORT" --tls=off
is "$rc" 0 "starttls server, tls off: exit 0"
is "$(line "$T/st-clear.out" 3)" "POP3 capabilities:" \
    "tls off: no TLS block"
like "$(caps_block "$T/st-clear.out" | tail -4 | head -2 | tr '\n' '|')" \
    "This server might advertise more or other capabilities|    when TLS is active.|" \
    "tls off: the STLS note"

si "$T/st-bad.out" --port="$DOVECOT_PORT" --tls=on --tls-starttls=on \
    --tls-trust-file="$T/st/certs/client.pem"
is "$rc" 69 "starttls, untrusted certificate: exit 69"
like "$(cat "$T/st-bad.out.err")" "*TLS certificate verification failed*" \
    "untrusted certificate: says why"
like "$(cat "$T/st-bad.out.err")" "*tls_trust_file*tls_fingerprint*" \
    "untrusted certificate: names the commands that fix it"
is "$(cat "$T/st-bad.out")" "" "untrusted certificate: no report"

si "$T/st-fp.out" --port="$DOVECOT_PORT" --tls=on --tls-starttls=on \
    --tls-fingerprint="$FP256"
is "$rc" 0 "starttls, pinned SHA256 fingerprint: exit 0"

si "$T/st-nocheck.out" --port="$DOVECOT_PORT" --tls=on --tls-starttls=on \
    --tls-certcheck=off --tls-trust-file=
is "$rc" 0 "tls_certcheck off: exit 0 (the way to learn a fingerprint)"
is "$(line "$T/st-nocheck.out" 14)" "        SHA256: $FP256" \
    "tls_certcheck off: the fingerprint is shown"
dovecot_stop "$T/st"

# --- implicit TLS ---------------------------------------------------------
dovecot_start tls "$T/tls" >/dev/null 2>&1 ||
    bail_out "dovecot (tls) does not start"
si "$T/tls.out" --port="$DOVECOT_PORT" --tls=on --tls-starttls=off \
    --tls-trust-file="$DOVECOT_CA"
is "$rc" 0 "implicit TLS: exit 0"
is "$(line "$T/tls.out" 1)" \
    "POP3 server at localhost (localhost [127.0.0.1]), port $DOVECOT_PORT:" \
    "implicit TLS: first line"
is "$(line "$T/tls.out" 3)" "TLS session parameters:" \
    "implicit TLS: TLS block"
is "$(line "$T/tls.out" 14)" \
    "        SHA256: $(certs_fingerprint "$T/tls/certs/server.pem")" \
    "implicit TLS: SHA256 fingerprint equals certtool's"
ok "! grep -q STLS '$T/tls.out'" "implicit TLS: no STLS announced"
like "$(tail -2 "$T/tls.out" | tr '\n' '|')" \
    "This server might advertise more or other capabilities|    after successful authentication.|" \
    "implicit TLS: final note"

si "$T/tls-untrusted.out" --port="$DOVECOT_PORT" --tls=on \
    --tls-starttls=off --tls-trust-file="$T/st/certs/ca.pem"
is "$rc" 69 "implicit TLS, another CA: exit 69"
dovecot_stop "$T/tls"

# --- connection failures --------------------------------------------------
port=$(free_port)
si "$T/refused.out" --port="$port" --tls=off
is "$rc" 75 "refused port: exit 75 (EX_TEMPFAIL, as the original)"
like "$(cat "$T/refused.out.err")" "*cannot connect to localhost*$port*" \
    "refused port: names host and port"

rc=0
"$MPOP" --host=nonexist.invalid --serverinfo --tls=off \
    >"$T/nohost.out" 2>"$T/nohost.err" || rc=$?
is "$rc" 68 "unknown host: exit 68 (EX_NOHOST)"
like "$(cat "$T/nohost.err")" "*nonexist.invalid*" \
    "unknown host: names the host"

done_testing
