#!/bin/bash
# Drop-in check (issue 20): Debian's mpop 1.4.18 ($MPOP_ORIG, default
# /usr/bin/mpop, which scripts/check installs) and ours run the same
# situations side by side, each in its own HOME and folder against its own
# server, and must end with the same exit status and print the same lines
# on standard output.  Standard error is not compared (its wording is ours).
#
# Situations: configuration errors (no server), retrievals from mpopd
# (fresh mailbox per run; plain, implicit TLS and STARTTLS), the policy
# and filter outcomes, delivery failures, TLS and authentication failures,
# and broken or slow servers played by tests/hostile/hostile-server.py.
#
# Normalised before comparing: each run's folder (@D@), port numbers in
# --pretend and --serverinfo output, and progress percentages drawn with backspaces (the
# screen's final text is compared, since the original's intermediate
# percentages depend on how its reads fall; a transfer that broke off
# shows "(incomplete)" whatever percentage it reached).  Nothing else.
#
# Where this mpop differs on purpose, the situation names the difference
# (the manual's chapter "Switching from the original mpop" lists each one
# with its reason) and asserts exactly that difference, so a new,
# undocumented one fails.  One TAP result per situation.
#
# Runs DIFF_JOBS (default 4) situations at a time; about 30 s in all.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MPOP:=${top_builddir:-.}/src/mpop}"
: "${MPOPD:=${top_builddir:-.}/src/mpopd}"
ORIG=${MPOP_ORIG:-/usr/bin/mpop}
HOSTILE=$top_srcdir/tests/hostile

for p in "$MPOP" "$MPOPD"; do
    [ -x "$p" ] || bail_out "$p not built"
done
case $MPOP in /*) ;; *) MPOP=$PWD/$MPOP ;; esac
case $MPOPD in /*) ;; *) MPOPD=$PWD/$MPOPD ;; esac
if ! "$ORIG" --version 2>/dev/null | grep -q '^mpop version 1\.4\.'; then
    # scripts/check installs Debian's mpop: in CI its absence is an error.
    [ -n "${CI:-}" ] && bail_out "$ORIG (Debian's mpop 1.4.x) is missing"
    skip_all "$ORIG (Debian's mpop 1.4.x) is not installed"
fi
command -v python3 >/dev/null 2>&1 || bail_out "python3 is not installed"
certs_make "$T/certs" >/dev/null 2>&1 || bail_out "certtool failed"
FP=$(certs_fingerprint "$T/certs/server.pem")

# The mails mpopd serves: 1 and 3 small, 2 big (skipsize/killsize 1000).
mkdir -p "$T/mails"
printf 'From: a@example.org\nSubject: one\n\nfirst\n' >"$T/mails/1"
printf 'From: b@example.org\nSubject: two\n\n%s\n' \
    "$(head -c 3000 /dev/zero | tr '\0' x)" >"$T/mails/2"
printf 'From: c@example.org\nSubject: three\n\nthird\n' >"$T/mails/3"
# A filter: exit 1 (delete) for "two", 2 (skip) for "three", else 0.
cat >"$T/filter" <<'EOF'
#!/bin/sh
h=$(cat)
case $h in
*"Subject: two"*) exit 1 ;;
*"Subject: three"*) exit 2 ;;
esac
exit 0
EOF
chmod +x "$T/filter"

# Scenarios for the hostile server that only this test uses.
mkdir -p "$T/sc"
# A USER/PASS login as hostile/secret, then the rest of the file.
login='send +OK hostile POP3 server ready
expect CAPA
send +OK
send USER
send UIDL
send TOP
send PIPELINING
send .
expect USER hostile
send +OK
expect PASS secret
send +OK logged in'
# One mail, listed and fetched, whose answer the scenario then gives.
{ echo "$login"; cat <<'EOF'
expect STAT
send +OK 1 200
expect LIST
send +OK
send 1 200
send .
expect UIDL
send +OK
send 1 uid-1
send .
expect RETR 1
EOF
} >"$T/sc/one-mail.head"
{ cat "$T/sc/one-mail.head"; cat <<'EOF'
send +OK 200 octets
send Subject: cut
send
close
EOF
} >"$T/sc/retr-cut.pop3"
{ cat "$T/sc/one-mail.head"; cat <<'EOF'
send -ERR no such message
expect-eof *
EOF
} >"$T/sc/retr-err.pop3"
{ echo "$login"; cat <<'EOF'
expect STAT
send -ERR mailbox locked
expect-eof *
EOF
} >"$T/sc/stat-err.pop3"
{ echo "$login"; cat <<'EOF'
expect STAT
send -ERR [SYS/TEMP] try later
expect-eof *
EOF
} >"$T/sc/stat-err-temp.pop3"
cat >"$T/sc/pass-err.pop3" <<'EOF'
send +OK hostile POP3 server ready
expect CAPA
send +OK
send USER
send .
expect USER hostile
send +OK
expect PASS secret
send -ERR invalid password
expect-eof *
EOF
cat >"$T/sc/user-err.pop3" <<'EOF'
send +OK hostile POP3 server ready
expect CAPA
send +OK
send USER
send .
expect USER hostile
send -ERR no such user
expect-eof *
EOF
cat >"$T/sc/greeting-err.pop3" <<'EOF'
send -ERR go away
expect-eof *
EOF
cat >"$T/sc/close-at-once.pop3" <<'EOF'
close
EOF
cat >"$T/sc/capa-err-no-user.pop3" <<'EOF'
send +OK hostile POP3 server ready
expect CAPA
send -ERR unknown command
expect USER hostile
send +OK
expect PASS secret
send +OK logged in
expect STAT
send +OK 0 0
expect-eof *
EOF
# SASL only, no USER, no APOP: "auth on" without TLS finds nothing.
cat >"$T/sc/sasl-only.pop3" <<'EOF'
send +OK hostile POP3 server ready
expect CAPA
send +OK
send SASL CRAM-MD5 PLAIN
send .
expect-eof *
EOF
# A status line whose bytes keep coming, each within the 2 s timeout, for
# 7.2 s: the original waits for it, this mpop ends it after 3 timeouts.
{ echo "send +OK hostile POP3 server ready"; cat <<'EOF'
expect CAPA
trickle 0.4 +OK capabilities\r\n
send USER
send UIDL
send PIPELINING
send .
expect USER hostile
send +OK
expect PASS secret
send +OK logged in
expect STAT
send +OK 0 0
expect-eof *
EOF
} >"$T/sc/line-too-slow.pop3"

# header FILE KEY: the values of "# KEY: value" lines.
header()
{
    sed -n "s/^# $2:[[:space:]]*//p" "$1"
}

# setup_server KIND DIR: start the server of a situation for one run;
# prints the rc lines that reach it.  Kinds: none, mpopd[:MAILS],
# mpopd-tls[:MAILS], mpopd-stls[:MAILS], hostile:SCENARIO (a file in
# tests/hostile or in $T/sc).
setup_server()
{
    local kind=$1 d=$2 mails=1,2,3 sc f i tlsargs=()
    case $kind in *:*) mails=${kind#*:} ;; esac
    case $kind in
    none) return 0 ;;
    mpopd*)
        mkdir -p "$d/srv/new" "$d/srv/cur" "$d/srv/tmp"
        i=0
        for f in ${mails//,/ }; do
            [ "$f" = 0 ] && continue
            i=$((i + 1))
            cp "$T/mails/$f" "$d/srv/new/100$i.$f.mpoptest"
        done
        case $kind in
        mpopd-tls*) tlsargs=(--tls-cert="$T/certs/chain.pem"
                --tls-key="$T/certs/server.key" --tls-implicit) ;;
        mpopd-stls*) tlsargs=(--tls-cert="$T/certs/chain.pem"
                --tls-key="$T/certs/server.key") ;;
        esac
        "$MPOPD" --port=0 --port-file="$d/port" --auth=joe,"echo secret" \
            --maildir="$d/srv" "${tlsargs[@]}" >"$d/server.err" 2>&1 &
        echo $! >"$d/server.pid"
        wait_file "$d/port" 10 || return 1
        echo "host 127.0.0.1"
        echo "port $(cat "$d/port")"
        echo "user joe"
        echo "password secret"
        case $kind in
        mpopd-tls*) printf '%s\n' "tls on" "tls_starttls off" \
                "tls_trust_file $T/certs/ca.pem" ;;
        mpopd-stls*) printf '%s\n' "tls on" "tls_starttls on" \
                "tls_trust_file $T/certs/ca.pem" ;;
        *) echo "tls off" ;;
        esac
        ;;
    hostile:*)
        sc=${kind#hostile:}
        [ -f "$T/sc/$sc" ] && sc=$T/sc/$sc || sc=$HOSTILE/$sc
        case $(header "$sc" tls) in
        implicit) tlsargs=(--tls --cert "$T/certs/chain.pem"
                --key "$T/certs/server.key") ;;
        esac
        python3 "$HOSTILE/hostile-server.py" "$sc" --port-file "$d/port" \
            --limit 20 "${tlsargs[@]}" >"$d/server.err" 2>&1 &
        echo $! >"$d/server.pid"
        wait_file "$d/port" 10 || return 1
        echo "host 127.0.0.1"
        echo "port $(cat "$d/port")"
        echo "user hostile"
        echo "password secret"
        echo "tls off"
        header "$sc" rc
        ;;
    *) return 1 ;;
    esac
}

# normalise DIR: the run's stdout as compared.
normalise()
{
    python3 - "$1/out" "$1" <<'EOF'
import re, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
out = []
for line in data.split("\n"):
    # What a terminal shows: each backspace takes back one character.
    scr = []
    for ch in line:
        if ch == "\b":
            if scr:
                scr.pop()
        else:
            scr.append(ch)
    line = "".join(scr).replace(sys.argv[2], "@D@")
    # A transfer that did not end: the percentage it stopped at depends
    # on how the reads fell.
    m = re.match(r"(retrieving message .*\): )(.*)$", line)
    if m and m.group(2).strip() != "100":
        line = m.group(1) + "(incomplete)"
    line = re.sub(r"^port = [0-9]+$", "port = @PORT@", line)
    line = re.sub(r"^(POP3 server at .*, port )[0-9]+:$", r"\1@PORT@:", line)
    out.append(line)
sys.stdout.write("\n".join(out))
EOF
}

# run_one WHO NAME KIND RCX ARGS: one client in its own folder.
run_one()
{
    local who=$1 name=$2 kind=$3 rcx=$4 args=$5 d bin st twice=
    d=$T/run/$name/$who
    bin=$ORIG
    [ "$who" = ours ] && bin=$MPOP
    mkdir -p "$d/md/new" "$d/md/cur" "$d/md/tmp"
    local limit=60
    case $args in @limit=*) limit=${args#@limit=}; limit=${limit%%@*}
        args=${args#@limit=*@} ;; esac
    case $args in @twice@*) twice=1; args=${args#@twice@} ;; esac
    local rmfile=
    case $args in @rm=*) rmfile=${args#@rm=}; rmfile=${rmfile%%@*}
        args=${args#@rm=*@} ;; esac
    args=${args//@D@/$d}
    if [ "$kind" = none ]; then
        # The whole configuration file is the situation's.
        if [ "$rcx" != - ]; then
            printf '%b\n' "${rcx//@D@/$d}" >"$d/rc"
            chmod 600 "$d/rc"
        fi
    else
        {
            echo "defaults"
            echo "auth user"
            echo "timeout 10"
            echo "received_header off"
            echo "account a"
            setup_server "$kind" "$d" || echo "# server failed"
            echo "delivery maildir $d/md"
            echo "uidls_file $d/uidls"
            printf '%b\n' "${rcx//@D@/$d}"
        } >"$d/rc"
        chmod 600 "$d/rc"
        [ -n "$twice" ] && (cd "$d" && HOME=$d XDG_CONFIG_HOME=$d/.config \
            timeout 60 "$bin" -C "$d/rc" -q a >/dev/null 2>&1 </dev/null)
        [ -n "$rmfile" ] && rm -f "$d/$rmfile"
    fi
    st=0
    # shellcheck disable=SC2086
    (cd "$d" && HOME=$d XDG_CONFIG_HOME=$d/.config exec timeout "$limit" \
        "$bin" $args >"$d/out" 2>"$d/err" </dev/null) || st=$?
    if [ -f "$d/server.pid" ]; then
        # The server started in a subshell: known by its port file.
        kill_ours "$(cat "$d/server.pid")" "*--port-file*$d/port*"
        wait "$(cat "$d/server.pid")" 2>/dev/null
        rm -f "$d/server.pid"
    fi
    echo "$st" >"$d/status"
    normalise "$d" >"$d/norm"
}

# The situations: NAME | SERVER | RC LINES (\n between) | ARGS | EXPECT
# ARGS are split at blanks; @twice@ first runs the client once (-q)
# before the compared run, then @rm=FILE@ removes @D@/FILE; @limit=N@
# kills the client after N seconds; @D@ is the run's folder.  EXPECT is "same" or
# the name of a documented difference (see check()).
SITUATIONS=$(cat <<'EOF'
cfg-missing-default   | none | -                                  | a                         | same
cfg-missing-C         | none | -                                  | -C @D@/nonexistent a      | same
cfg-no-account        | none | account b\nhost x                  | -C @D@/rc a               | same
cfg-no-default        | none | account b\nhost x                  | -C @D@/rc                 | same
cfg-unknown-command   | none | account a\nbogus 1                 | -C @D@/rc a               | same
cfg-bad-number        | none | account a\nport abc                | -C @D@/rc a               | same
cfg-bad-delivery      | none | account a\nhost x\ndelivery bogus x | -C @D@/rc a              | same
cfg-twice-defined     | none | account a\nhost x\naccount a\nhost y | -C @D@/rc a             | same
cfg-no-delivery       | none | account a\nhost 127.0.0.1          | -C @D@/rc a               | same
cfg-no-host           | none | account a\ndelivery maildir @D@/md | -C @D@/rc a               | same
cfg-bad-option        | none | -                                  | --bogus                   | same
cfg-host-and-account  | none | -                                  | --host=127.0.0.1 a        | same
cfg-host-no-delivery  | none | -                                  | --host=127.0.0.1          | same
cfg-pretend           | none | account a\nhost pop.example\nport 1234\nkeep on\ndelivery mbox @D@/mbox | -C @D@/rc -P a | same
conn-refused          | none | account a\nhost 127.0.0.1\nport 1\ndelivery maildir @D@/md | -C @D@/rc a | same
fetch                 | mpopd     |                               | -C @D@/rc a               | same
fetch-half-quiet      | mpopd     |                               | -C @D@/rc -Q a            | same
fetch-quiet           | mpopd     |                               | -C @D@/rc -q a            | same
fetch-status          | mpopd     |                               | -C @D@/rc -s a            | same
fetch-auth-only       | mpopd     |                               | -C @D@/rc -A a            | same
fetch-empty           | mpopd:0   |                               | -C @D@/rc a               | same
fetch-empty-status    | mpopd:0   |                               | -C @D@/rc -s a            | same
fetch-nothing-new     | mpopd     | keep on                       | @twice@-C @D@/rc a        | same
fetch-keep-option     | mpopd     |                               | @twice@-C @D@/rc -k a     | same
fetch-only-new-off    | mpopd     | keep on\nonly_new off         | @twice@-C @D@/rc a        | same
fetch-keep-delete-old | mpopd     | keep on                       | @twice@-C @D@/rc --keep=off a | same
fetch-all-accounts    | mpopd     |                               | -C @D@/rc -a              | same
two-accounts-one-fails | mpopd    | account b : a\nport 1         | -C @D@/rc a b             | same
first-account-fails   | mpopd     | account b : a\nport 1         | -C @D@/rc b a             | same
all-accounts-half-quiet | mpopd   | account b : a\nuidls_file @D@/uidls-b | -C @D@/rc -a -Q | same
passwordeval          | mpopd     | password\npasswordeval echo secret | -C @D@/rc a          | same
passwordeval-fails    | mpopd     | password\npasswordeval exit 3 | -C @D@/rc a               | same
no-password           | mpopd     | password                      | -C @D@/rc a               | same
pipelining-off        | mpopd     | pipelining off                | -C @D@/rc a               | same
only-new-off-no-keep  | mpopd     | only_new off                  | -C @D@/rc a               | same
killsize-zero         | mpopd     | killsize 0                    | -C @D@/rc a               | same
options-override      | mpopd     |                               | -C @D@/rc --keep=on --skipsize=1000 a | same
exchange              | mpopd     | delivery exchange @D@/md      | -C @D@/rc a               | same
socket-missing        | mpopd     | socket @D@/nonexistent.sock   | -C @D@/rc a               | same
proxy-refused         | mpopd     | proxy_host 127.0.0.1\nproxy_port 1 | -C @D@/rc a          | same
source-ip-bad         | mpopd     | source_ip 192.0.2.1           | -C @D@/rc a               | same
tls-bad-priorities    | mpopd-tls | tls_priorities NONSENSE       | -C @D@/rc a               | same
auth-only-wrong       | mpopd     | password wrong                | -C @D@/rc -A a            | same
status-wrong          | mpopd     | password wrong                | -C @D@/rc -s a            | same
fetch-skipsize        | mpopd     | skipsize 1000                 | -C @D@/rc a               | same
fetch-killsize        | mpopd     | killsize 1000                 | -C @D@/rc a               | same
fetch-killsize-keep   | mpopd     | killsize 1000\nkeep on        | -C @D@/rc a               | same
fetch-filter          | mpopd     | filter @FILTER@               | -C @D@/rc a               | filter-order
fetch-filter-keep     | mpopd     | filter @FILTER@\nkeep on      | -C @D@/rc a               | filter-order
fetch-filter-only     | mpopd:2,3 | filter @FILTER@               | -C @D@/rc a               | same
fetch-debug           | mpopd     |                               | -C @D@/rc -d a            | debug
serverinfo            | mpopd     | user                          | -C @D@/rc --serverinfo a  | same
serverinfo-tls        | mpopd-tls | user                          | -C @D@/rc --serverinfo a  | same
serverinfo-stls       | mpopd-stls | user                         | -C @D@/rc --serverinfo a  | same
serverinfo-user       | mpopd     |                               | -C @D@/rc --serverinfo a  | serverinfo-no-login
fetch-filter-quiet    | mpopd     | filter @FILTER@               | -C @D@/rc -Q a            | same
filter-exit-5         | mpopd     | filter cat >/dev/null; exit 5 | -C @D@/rc a               | same
mbox                  | mpopd     | delivery mbox @D@/mbox        | -C @D@/rc a               | same
mbox-unwritable       | mpopd     | delivery mbox /proc/nonexistent/mbox | -C @D@/rc a        | same
mbox-all-skipped      | mpopd     | delivery mbox @D@/mbox\nskipsize 1 | -C @D@/rc a          | no-empty-mbox
maildir-missing       | mpopd     | delivery maildir @D@/nonexistent | -C @D@/rc a            | maildir-checked-first
maildir-missing-empty | mpopd:0   | delivery maildir @D@/nonexistent | -C @D@/rc a            | maildir-checked-first
mbox-nothing-new      | mpopd     | delivery mbox @D@/mbox\nkeep on | @twice@@rm=mbox@-C @D@/rc a | no-empty-mbox
mda                   | mpopd     | delivery mda cat >>@D@/mda.out | -C @D@/rc a              | same
mda-exit-3            | mpopd     | delivery mda cat >/dev/null; exit 3 | -C @D@/rc a         | same
mda-exit-75           | mpopd     | delivery mda cat >/dev/null; exit 75 | -C @D@/rc a        | same
mda-not-found         | mpopd     | delivery mda cat >/dev/null; /nonexistent/mda | -C @D@/rc a | same
uidls-uncreatable     | mpopd     | uidls_file /proc/nonexistent/uidls | -C @D@/rc a          | same
uidls-corrupt         | mpopd     | uidls_file @T@/garbage-uidls  | -C @D@/rc a               | same
auth-wrong-password   | mpopd     | password wrong                | -C @D@/rc a               | same
auth-on-no-tls        | hostile:sasl-only.pop3 | auth on          | -C @D@/rc a               | same
auth-apop-not-offered | mpopd     | auth apop                     | -C @D@/rc a               | same
tls-not-offered       | mpopd     | tls on                        | -C @D@/rc a               | same
tls-fetch             | mpopd-tls |                               | -C @D@/rc a               | same
stls-fetch            | mpopd-stls |                              | -C @D@/rc a               | same
tls-no-trust          | mpopd-tls | tls_trust_file                | -C @D@/rc a               | same
tls-wrong-ca          | mpopd-tls | tls_trust_file @T@/certs/client.pem | -C @D@/rc a         | same
tls-fingerprint       | mpopd-tls | tls_trust_file\ntls_fingerprint @FP@ | -C @D@/rc a        | same
tls-wrong-fingerprint | mpopd-tls | tls_trust_file\ntls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33 | -C @D@/rc a | same
tls-certcheck-off     | mpopd-tls | tls_trust_file\ntls_certcheck off | -C @D@/rc a           | same
tls-trust-missing     | mpopd-tls | tls_trust_file @D@/nonexistent.pem | -C @D@/rc a         | same
tls-trust-no-cert     | mpopd-tls | tls_trust_file @T@/filter     | -C @D@/rc a               | same
stls-trust-no-cert    | mpopd     | tls on\ntls_trust_file @T@/filter | -C @D@/rc a           | exit:66:69
tls-wrong-host        | mpopd-tls | tls_host_override wrong.invalid | -C @D@/rc a             | same
tls-to-plain-server   | mpopd     | tls on\ntls_starttls off\ntls_trust_file @T@/certs/ca.pem\ntimeout 2 | -C @D@/rc a | same
greeting-err          | hostile:greeting-err.pop3 |               | -C @D@/rc a               | same
greeting-in-use       | hostile:greeting-err-in-use.pop3 |        | -C @D@/rc a               | exit:76:75
greeting-sys-temp     | hostile:greeting-err-sys-temp.pop3 |      | -C @D@/rc a               | exit:76:75
greeting-sys-perm     | hostile:greeting-err-sys-perm.pop3 |      | -C @D@/rc a               | same
greeting-auth         | hostile:greeting-err-auth.pop3 |          | -C @D@/rc a               | same
greeting-garbage      | hostile:greeting-garbage.pop3 |           | -C @D@/rc a               | same
greeting-closed       | hostile:close-at-once.pop3 |              | -C @D@/rc a               | same
greeting-silent       | hostile:silent-greeting.pop3 | timeout 1  | -C @D@/rc a               | exit:74:75
user-refused          | hostile:user-err.pop3 |                   | -C @D@/rc a               | same
pass-refused          | hostile:pass-err.pop3 |                   | -C @D@/rc a               | same
pass-auth-resp-code   | hostile:pass-auth.pop3 |                  | -C @D@/rc a               | same
pass-sys-temp         | hostile:pass-sys-temp.pop3 |              | -C @D@/rc a               | same
pass-login-delay      | hostile:pass-login-delay.pop3 |           | -C @D@/rc a               | same
pass-in-use           | hostile:pass-in-use.pop3 |                | -C @D@/rc a               | same
capa-refused          | hostile:capa-err-no-user.pop3 |           | -C @D@/rc a               | same
stat-refused          | hostile:stat-err.pop3 |                   | -C @D@/rc a               | same
stat-sys-temp         | hostile:stat-err-temp.pop3 |              | -C @D@/rc a               | exit:76:75
stat-garbage          | hostile:stat-garbage.pop3 |               | -C @D@/rc a               | same
stat-count-huge       | hostile:stat-count-huge.pop3 |            | -C @D@/rc a               | exit:70:76
stls-not-offered      | hostile:stls-not-offered.pop3 |           | -C @D@/rc a               | same
stls-refused          | hostile:stls-refused.pop3 |               | -C @D@/rc a               | same
retr-cut              | hostile:retr-cut.pop3 |                   | @limit=4@-C @D@/rc a      | cut-mid-mail
retr-refused          | hostile:retr-err.pop3 |                   | -C @D@/rc a               | same
retr-in-use           | hostile:retr-err-in-use.pop3 |            | -C @D@/rc a               | exit:76:75
retr-sys-perm         | hostile:retr-err-sys-perm.pop3 |          | -C @D@/rc a               | same
retr-silent           | hostile:silent-retr.pop3 |                | -C @D@/rc a               | exit:74:75
dele-refused          | hostile:dele-err.pop3 |                   | -C @D@/rc a               | exit:65:75
quit-refused          | hostile:quit-err.pop3 |                   | -C @D@/rc a               | exit:65:69
slow-greeting         | hostile:greeting-drip.pop3 |              | -C @D@/rc a               | same
line-too-slow         | hostile:line-too-slow.pop3 | timeout 2    | -C @D@/rc a               | line-bound
EOF
)

# check NAME EXPECT: compare the two runs of a situation; one TAP result.
# EXPECT: "same", "exit:O:U" (the original exits O, ours U, the same
# stdout), or the name of another documented difference below.  Every
# difference is one listed in the manual's chapter "Switching from the
# original mpop".
check()
{
    local name=$1 expect=$2 o=$T/run/$1/orig u=$T/run/$1/ours
    local so su oo ou
    so=$(cat "$o/status" 2>/dev/null || echo none)
    su=$(cat "$u/status" 2>/dev/null || echo none)
    oo=$(cat "$o/norm" 2>/dev/null)
    ou=$(cat "$u/norm" 2>/dev/null)
    case $expect in
    same)
        if [ "$so" = "$su" ] && [ "$oo" = "$ou" ]; then
            pass "$name: same exit status ($su) and stdout"
            return
        fi ;;
    exit:*)
        local want=${expect#exit:}
        if [ "$so" = "${want%:*}" ] && [ "$su" = "${want#*:}" ] &&
            [ "$oo" = "$ou" ]; then
            pass "$name: same stdout; the documented difference: exit $su (original $so)"
            return
        fi ;;
    filter-order)
        # With a filter, the skip and delete lines come in server order
        # among the retrieving lines: the same lines, in another order.
        if [ "$so" = "$su" ] && [ "$oo" != "$ou" ] &&
            [ "$(sort <<<"$oo")" = "$(sort <<<"$ou")" ]; then
            pass "$name: same exit status and lines; the documented difference: in server order"
            return
        fi ;;
    no-empty-mbox)
        # No empty mbox is created when no mail is delivered.
        if [ "$so" = "$su" ] && [ "$oo" = "$ou" ] && [ -f "$o/mbox" ] &&
            [ ! -s "$o/mbox" ] && [ ! -e "$u/mbox" ]; then
            pass "$name: same exit status and stdout; the documented difference: no empty mbox"
            return
        fi ;;
    maildir-checked-first)
        # A missing maildir is found before connecting (EX_IOERR), so the
        # status lines are not printed; the original connects and fails
        # only when the server holds messages (else it exits 0).
        if { [ "$so" = 74 ] || [ "$so" = 0 ]; } && [ "$su" = 74 ] &&
            [ -n "$oo" ] && [ -z "$ou" ]
        then
            pass "$name: the documented difference: checked before connecting (exit 74, original $so), no status lines"
            return
        fi ;;
    line-bound)
        # A status line must be complete within 3 timeouts; the original
        # waits for it as long as its bytes keep coming.
        if [ "$su" = 75 ] && [ "$so" = 0 ] && [ -z "$ou" ]; then
            pass "$name: the documented difference: cut after 3 timeouts (exit 75; the original waited)"
            return
        fi ;;
    cut-mid-mail)
        # A connection closed in the middle of a mail: exit 74; the
        # original spins until it is killed (here by timeout: 124).
        if [ "$so" = 124 ] && [ "$su" = 74 ] &&
            [ "$(head -n2 <<<"$oo")" = "$(head -n2 <<<"$ou")" ]; then
            pass "$name: the documented difference: exit 74 (the original hangs)"
            return
        fi ;;
    serverinfo-no-login)
        # --serverinfo never logs in: the capabilities before login, with
        # the note that they may change after it; the original logs in
        # when a user is set and shows those after login, without it.
        if [ "$so" = 0 ] && [ "$su" = 0 ] &&
            [ "$ou" = "$oo"$'\nThis server might advertise more or other capabilities\n    after successful authentication.' ]
        then
            pass "$name: the documented difference: no login, so the note on capabilities after login"
            return
        fi ;;
    debug)
        # --debug: the same settings first; the conversation after them
        # is quoted and shows the session's states.
        if [ "$so" = "$su" ] &&
            [ "$(sed '/^<-- /,$d' <<<"$oo")" = "$(sed '/^<-- /,$d' <<<"$ou")" ] &&
            [ -n "$(sed '/^<-- /,$d' <<<"$ou")" ]; then
            pass "$name: same exit status and settings; the documented difference: the conversation's form"
            return
        fi ;;
    *) bail_out "$name: unknown expectation $expect" ;;
    esac
    fail "$name: expected $expect"
    diag "original: exit $so, stdout:"
    diag "$oo"
    diag "ours: exit $su, stdout:"
    diag "$ou"
    diag "original's stderr: $(head -c 600 "$o/err" 2>/dev/null)"
    diag "our stderr: $(head -c 600 "$u/err" 2>/dev/null)"
}

# Servers still running when the test is interrupted (each run stops its
# own otherwise).
at_exit 'for f in "$T"/run/*/*/server.pid; do
    kill_ours "$(cat "$f")" "*--port-file*${f%/server.pid}/port*"; done'
printf 'garbage\001\n' >"$T/garbage-uidls"
names=()
expects=()
jobs=${DIFF_JOBS:-4}
while IFS='|' read -r name kind rcx args expect; do
    name=$(xargs <<<"$name")
    kind=$(xargs <<<"$kind")
    rcx=$(sed 's/^ *//; s/ *$//' <<<"$rcx")
    args=$(xargs <<<"$args")
    expect=$(xargs <<<"$expect")
    [ -n "$name" ] || continue
    rcx=${rcx//@FILTER@/$T/filter}
    rcx=${rcx//@FP@/$FP}
    rcx=${rcx//@T@/$T}
    names+=("$name")
    expects+=("$expect")
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n 2>/dev/null || true
    done
    (
        run_one orig "$name" "$kind" "$rcx" "$args"
        run_one ours "$name" "$kind" "$rcx" "$args"
    ) &
done <<<"$SITUATIONS"
wait

plan "${#names[@]}"
for i in "${!names[@]}"; do
    check "${names[$i]}" "${expects[$i]}"
done
done_testing
