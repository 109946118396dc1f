#!/bin/bash
# --configure against a local DNS server started here (a small responder
# written with python3's standard library, on a free loopback port); mpop's
# resolver is pointed at it through the test-only MPOP_TEST_DNS.  Checks
# the printed configuration (implicit TLS preferred, STARTTLS from
# _pop3._tcp, target "." ignored, lowest priority first), an IDN domain,
# and EX_NOHOST when there is no record.  Never queries the internet.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

: "${MPOP:=${top_builddir:-.}/src/mpop}"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

# The responder: answers SRV questions from the zone file (NAME PRIO
# WEIGHT PORT TARGET), NXDOMAIN for names it does not know.
cat >"$T/dns.py" <<'PY'
import os, socket, struct, sys
portfile, zonefile = sys.argv[1], sys.argv[2]
zone = {}
for line in open(zonefile, encoding='utf-8'):
    f = line.split()
    if len(f) == 5:
        zone.setdefault(f[0].lower().rstrip('.'), []).append(
            (int(f[1]), int(f[2]), int(f[3]), f[4]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
with open(portfile + '.tmp', 'w') as p:
    p.write('%d\n' % s.getsockname()[1])
os.rename(portfile + '.tmp', portfile)
log = open(portfile + '.log', 'a', buffering=1)
def name(n):
    out = b''
    for l in n.rstrip('.').split('.'):
        if l:
            b = l.encode('ascii')
            out += bytes([len(b)]) + b
    return out + b'\0'
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 17:
        continue
    qid, = struct.unpack('>H', q[:2])
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode('ascii', 'replace'))
        i += 1 + q[i]
    qtype, = struct.unpack('>H', q[i + 1:i + 3])
    qn = '.'.join(labels).lower()
    log.write('%s %d\n' % (qn, qtype))
    recs = zone.get(qn, []) if qtype == 33 else []
    ans = b''
    for prio, weight, port, target in recs:
        rd = struct.pack('>HHH', prio, weight, port) + name(target)
        ans += b'\xc0\x0c' + struct.pack('>HHIH', 33, 1, 60, len(rd)) + rd
    rcode = 0 if qn in zone else 3
    hdr = struct.pack('>HHHHHH', qid, 0x8580 | rcode, 1, len(recs), 0, 0)
    s.sendto(hdr + q[12:i + 5] + ans, peer)
PY
cat >"$T/zone" <<'EOF2'
_pop3s._tcp.example.test 0 1 995 pop.example.test
_pop3._tcp.example.test 0 1 110 pop.example.test
_pop3._tcp.plain.test 0 1 110 mail.plain.test
_pop3s._tcp.prio.test 20 1 995 backup.prio.test
_pop3s._tcp.prio.test 10 5 9995 primary.prio.test
_pop3s._tcp.dot.test 0 0 0 .
_pop3._tcp.dot.test 0 1 1110 starttls.dot.test
_pop3s._tcp.xn--bcher-kva.test 0 1 995 pop.xn--bcher-kva.test
EOF2
python3 "$T/dns.py" "$T/port" "$T/zone" &
DNS_PID=$!
at_exit "kill_ours $DNS_PID"
wait_file "$T/port" 10 || bail_out "the DNS responder does not start"
export MPOP_TEST_DNS=127.0.0.1:$(cat "$T/port")
export HOME=$T/home
mkdir -p "$HOME"

plan 13

# config ADDRESS: the non-comment lines of the printed configuration.
config()
{
    "$MPOP" --configure="$1" >"$T/out" 2>"$T/err"
    echo "rc=$?"
    grep -v '^#' "$T/out"
}

is "$(config joe@example.test)" "rc=0
account joe@example.test
host pop.example.test
port 995
tls on
tls_starttls off
user joe
delivery mbox ~/MAIL" "implicit TLS (_pop3s) is preferred"
like "$(head -1 "$T/out")" "*copy this to your configuration file $HOME/.mpoprc" \
    "the header names the configuration file"
like "$(cat "$T/out")" "*\#passwordeval *" "a commented passwordeval choice"

is "$(config Joe.User@plain.test)" "rc=0
account Joe.User@plain.test
host mail.plain.test
port 110
tls on
tls_starttls on
user Joe.User
delivery mbox ~/MAIL" "only _pop3._tcp: STARTTLS"

is "$(config a@prio.test | sed -n '3,4p')" "host primary.prio.test
port 9995" "the lowest priority wins"

is "$(config a@dot.test | sed -n '3,6p')" "host starttls.dot.test
port 1110
tls on
tls_starttls on" "target \".\" (no service) falls back to _pop3._tcp"

is "$(config 'x@b@bücher.test' | sed -n '1,4p')" "rc=0
account x@b@bücher.test
host pop.xn--bcher-kva.test
port 995" "IDN domain converted with IDNA (user part up to the last @)"
like "$(cat "$T/port.log")" "*_pop3s._tcp.xn--bcher-kva.test 33*" \
    "the IDN query used the ASCII form"

"$MPOP" --configure=nobody@nothing.test >"$T/out" 2>"$T/err"
is "$?" 68 "no records: exit 68 (EX_NOHOST)"
is "$(cat "$T/err")" "mpop: automatic configuration based on SRV records failed: no SRV records for _pop3s._tcp.nothing.test or _pop3._tcp.nothing.test" \
    "no records: the original's message"
is "$(cat "$T/out")" "" "no records: nothing on stdout"

"$MPOP" --configure=no-at-sign >/dev/null 2>"$T/err"
is "$?" 64 "an address without @ is a usage error"

# The layout above is that of mpop 1.4.18 run against the same records
# (in a private network namespace, as it has no test hook), plus the
# commented password alternatives.
"$MPOP" --configure=joe@example.test -C "$T/other.rc" >"$T/b" 2>&1
like "$(head -1 "$T/b")" "*configuration file $T/other.rc" "-C names the file"

done_testing
