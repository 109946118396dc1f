#!/bin/bash
# OAuth2 built in (issue 15), all on loopback: our own authorization server
# (tests/lib/oauth2-server.py: HTTPS with the test CA, PKCE, refresh token
# rotation, the device grant, token introspection) and a real dovecot whose
# oauth2 passdb checks every token mpop presents at that server's
# introspection endpoint.  The test plays the person's browser
# (tests/lib/oauth2-browser.py follows the address mpop prints).
#
# Cases: sign-in by the browser flow (loopback and pasted address) and by
# the device flow (pending, slow_down, access_denied); a cached token is
# used without a refresh; refresh after expiry; a rotated refresh token is
# stored before it is used (mpop killed right after the refresh: the next
# run still logs in); two concurrent runs and -j 2 refresh once; a revoked
# sign-in exits 77 with the sign-in command; the token endpoint down (503,
# then unreachable) exits 75; the state check; a client trickling its
# request is dropped after 10 s; the file store (0600) and,
# in a private D-Bus session with gnome-keyring, the key ring; and no token,
# code, verifier or client secret in anything mpop printed, also with -d.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
grep -q '^#define HAVE_OAUTH2 1' "${top_builddir:-.}/config.h" 2>/dev/null ||
    skip_all "mpop built without OAuth2 (libcurl4-gnutls-dev, libjson-c-dev)"

chmod 755 "$T"
export HOME=$T/home
mkdir -p "$HOME" "$T/md/cur" "$T/md/new" "$T/md/tmp" "$T/st"
unset BROWSER DISPLAY WAYLAND_DISPLAY XDG_STATE_HOME
# No key ring outside the inner D-Bus session below: the file store.  An
# address that leads nowhere, and a runtime directory without a bus
# socket, so that GLib finds no session bus of the machine either.
mkdir -p "$T/run0"
chmod 700 "$T/run0"
export DBUS_SESSION_BUS_ADDRESS=unix:path=$T/run0/no-bus
export XDG_RUNTIME_DIR=$T/run0

# The authorization server uses dovecot's test certificate: make it first.
certs_make "$T/d/certs" || bail_out "certtool failed"
python3 "$TESTLIB/oauth2-server.py" "$T/st" "$T/d/certs/chain.pem" \
    "$T/d/certs/server.key" tester 2>"$T/st/stderr" &
SRV=$!
at_exit "kill_ours $SRV"
wait_file "$T/st/ports" 10 || bail_out "the authorization server did not start"
read -r HP PP <"$T/st/ports"
DOVECOT_OAUTH2_INTROSPECT=http://127.0.0.1:$PP/introspect \
    dovecot_start tls "$T/d" || bail_out "dovecot cannot start"
CA=$DOVECOT_CA
OUT=$T/all-output           # everything mpop printed, for the secret check
: >"$OUT"

# ACCOUNT NAME [EXTRA LINES]: rc file lines of an OAuth2 account.
account()
{
    cat <<EOF
account $1
host localhost
port $DOVECOT_PORT
tls on
tls_starttls off
tls_trust_file $CA
user tester
oauth2_provider custom
oauth2_client_id mpop-test-client
oauth2_client_secret $(cat "$T/st/client_secret")
oauth2_scope pop
oauth2_authorization_endpoint https://127.0.0.1:$HP/authorize
oauth2_token_endpoint https://127.0.0.1:$HP/token
oauth2_device_endpoint https://127.0.0.1:$HP/device
delivery maildir $T/md
EOF
}
{ account acc; account acc2; } >"$T/rc"
chmod 600 "$T/rc"

control() { python3 "$TESTLIB/oauth2-browser.py" "$CA" \
    "http://127.0.0.1:$PP/$1" get >/dev/null; }
stat_of()
{
    python3 "$TESTLIB/oauth2-browser.py" "$CA" \
        "http://127.0.0.1:$PP/stats" get |
        python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

# run NAME ARGS...: mpop with the rc file; RC, and the output in $T/NAME.
run()
{
    local name=$1
    shift
    ("$MPOP" -C "$T/rc" "$@" </dev/null >"$T/$name" 2>&1)
    RC=$?
    cat "$T/$name" >>"$OUT"
}

# login NAME [--oauth2-login=FLOW] [ACCOUNT]: the browser flow in the
# background; the test follows the printed address like a browser.
login_browser()
{
    local name=$1 pid url i
    shift
    "$MPOP" -C "$T/rc" --oauth2-login "$@" </dev/null >"$T/$name" 2>&1 &
    pid=$!
    for ((i = 0; i < 200; i++)); do
        url=$(grep '^https://' "$T/$name") && break
        sleep 0.05
    done
    # What mpop listens on while it waits: local addresses of its
    # listening TCP sockets, from /proc.
    python3 - "$pid" >"$T/$name.listen" <<'EOF'
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        l = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if l.startswith("socket:["):
        inodes.add(l[8:-1])
for f in ("tcp", "tcp6"):
    for line in open("/proc/%s/net/%s" % (pid, f)).readlines()[1:]:
        w = line.split()
        if w[3] == "0A" and w[9] in inodes:
            print(f, w[1].split(":")[0])
EOF
    python3 "$TESTLIB/oauth2-browser.py" "$CA" "$url" follow \
        >"$T/$name.page" 2>&1
    wait "$pid"
    RC=$?
    cat "$T/$name" >>"$OUT"
}

TOKFILE=$HOME/.local/state/mpop/oauth2/tester_at_127.0.0.1.json

plan 39

# --- settings --------------------------------------------------------------
run pretend -P acc
like "$(cat "$T/pretend")" "*oauth2_provider = custom*oauth2_client_secret = \**oauth2_token_endpoint = https://127.0.0.1:$HP/token*" \
    "--pretend shows the OAuth2 settings, the client secret as *"
run nosignin -A acc
is "$RC" 77 "no sign-in yet: exit 77"
like "$(cat "$T/nosignin")" "*sign in again with: mpop --oauth2-login acc*" \
    "no sign-in yet: says how to sign in"

# --- browser flow ----------------------------------------------------------
control "control?expires_in=30"
login_browser login1 acc
is "$RC" 0 "browser flow: signed in"
is "$(stat -c %a "$TOKFILE" 2>/dev/null)" 600 \
    "no key ring: tokens in a file only the user can read"
like "$(cat "$T/login1.page")" "*received the answer*" \
    "the browser got mpop's page from the loopback listener"
is "$(cat "$T/login1.listen")" "tcp 0100007F" \
    "while it waits, mpop listens on 127.0.0.1 only, on one socket"

printf 'From: a@example.org\nSubject: one\n\nbody\n' >"$T/mail1"
maildir_add "$T/d" "$T/mail1"
run fetch1 acc
is "$RC/$(ls "$T/md/new" | wc -l)" "0/1" \
    "fetch with the token: dovecot checked it, one mail delivered"
is "$(stat_of refresh)" 1 \
    "a token within 60 s of its expiry was refreshed first"

control "control?expires_in=3600"
run auth1 -A -d acc
is "$RC/$(stat_of refresh)" "0/2" "expired again: refreshed (long-lived now)"
run auth2 -A -d acc
is "$RC/$(stat_of refresh)" "0/2" "a valid cached token: no refresh"
like "$(cat "$T/auth2")" "*AUTH xxxx*" "-d hides the AUTH line"

# --- rotation: killed right after the refresh ------------------------------
# expire_now: the stored access token is due (the file store's record).
expire_now()
{
    python3 - "$TOKFILE" <<'EOF'
import json, os, sys
r = json.load(open(sys.argv[1]))
r["expires_at"] = 0
open(sys.argv[1] + ".new", "w").write(json.dumps(r))
os.chmod(sys.argv[1] + ".new", 0o600)
os.rename(sys.argv[1] + ".new", sys.argv[1])
EOF
}
expire_now
n=$(stat_of refresh)
MPOP_TEST_OAUTH2_KILL=saved run killed -A acc
is "$RC/$(stat_of refresh)" "137/$((n + 1))" \
    "killed right after a refresh that rotated the refresh token"
expire_now
run afterkill -A acc
is "$RC/$(stat_of refresh)" "0/$((n + 2))" \
    "the rotated refresh token had been stored: the next run logs in"

# --- concurrency: one refresh ---------------------------------------------
expire_now
control "control?delay=0.5"
n=$(stat_of refresh)
"$MPOP" -C "$T/rc" -A acc </dev/null >"$T/c1" 2>&1 &
p1=$!
"$MPOP" -C "$T/rc" -A acc2 </dev/null >"$T/c2" 2>&1 &
p2=$!
wait "$p1"; r1=$?
wait "$p2"; r2=$?
cat "$T/c1" "$T/c2" >>"$OUT"
is "$r1/$r2/$(stat_of refresh)" "0/0/$((n + 1))" \
    "two concurrent runs sharing a sign-in: both log in, one refresh"
expire_now
n=$(stat_of refresh)
run jobs -A -j 2 acc acc2
is "$RC/$(stat_of refresh)" "0/$((n + 1))" "-j 2: one refresh"
control "control?delay=0"

# --- revoked ---------------------------------------------------------------
control "revoke"
run revoked1 -A acc
is "$RC" 77 "revoked: the server refuses the cached token: exit 77"
run revoked2 -A acc
is "$RC" 77 "revoked: the refresh token is refused: exit 77"
like "$(cat "$T/revoked2")" "*sign in again with: mpop --oauth2-login acc*invalid_grant*Token has been expired or revoked.*" \
    "revoked: one line with the command and the provider's words"
like "$(head -n 1 "$T/revoked2")" "*--oauth2-login acc*invalid_grant*" \
    "revoked: all of it on the first line"

# --- paste the address; state checked ------------------------------------
mkfifo "$T/fifo"
"$MPOP" -C "$T/rc" --oauth2-login=browser acc <"$T/fifo" >"$T/paste" 2>&1 &
pid=$!
exec 3>"$T/fifo"
for ((i = 0; i < 200; i++)); do
    url=$(grep '^https://' "$T/paste") && break
    sleep 0.05
done
loc=$(python3 "$TESTLIB/oauth2-browser.py" "$CA" "$url" location)
echo "${loc/state=/state=X}" >&3
exec 3>&-
wait "$pid"
RC=$?
cat "$T/paste" >>"$OUT"
is "$RC" 77 "pasted address with another state: refused, exit 77"
like "$(cat "$T/paste")" "*state differs*" "the state mismatch is named"

"$MPOP" -C "$T/rc" --oauth2-login=browser acc <"$T/fifo" >"$T/paste2" 2>&1 &
pid=$!
exec 3>"$T/fifo"
for ((i = 0; i < 200; i++)); do
    url=$(grep '^https://' "$T/paste2") && break
    sleep 0.05
done
loc=$(python3 "$TESTLIB/oauth2-browser.py" "$CA" "$url" location)
echo "$loc" >&3
exec 3>&-
wait "$pid"
RC=$?
cat "$T/paste2" >>"$OUT"
is "$RC" 0 "the pasted address signs in (browser on another machine)"
run afterpaste -A acc
is "$RC" 0 "and the account logs in"

# --- a client that trickles its request does not hold the listener -------
# It sends a byte a second and never a line end; after 10 s in all mpop
# drops it and serves the browser queued behind it.  (About 10 s.)  Before
# it, a client that resets its connection must not kill mpop (SIGPIPE).
"$MPOP" -C "$T/rc" --oauth2-login=browser acc </dev/null >"$T/slow" 2>&1 &
pid=$!
for ((i = 0; i < 200; i++)); do
    url=$(grep '^https://' "$T/slow") &&
        grep -q 'http://127\.0\.0\.1:[0-9]*/' "$T/slow" && break
    sleep 0.05
done
lport=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$T/slow" | head -n 1 |
    sed 's|.*:\([0-9]*\)/|\1|')
python3 - "$lport" <<'EOF'
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"G")
time.sleep(0.3)                 # mpop reads the byte, then gets the reset
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
EOF
python3 - "$lport" "$T/slow.connected" >"$T/slow.trickler" 2>&1 <<'EOF' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /?")
open(sys.argv[2], "w").write("1\n")
s.settimeout(1)
for i in range(60):
    try:
        s.recv(100)             # mpop's 404, or its close
        print("dropped")
        sys.exit(0)
    except socket.timeout:
        try:
            s.sendall(b"a")
        except OSError:
            print("dropped")
            sys.exit(0)
print("held")
EOF
tpid=$!
wait_file "$T/slow.connected" 10
python3 "$TESTLIB/oauth2-browser.py" "$CA" "$url" follow >"$T/slow.page" 2>&1
wait "$pid"
RC=$?
wait "$tpid"
cat "$T/slow" >>"$OUT"
is "$RC/$(cat "$T/slow.trickler")" "0/dropped" \
    "a client that resets survived, one trickling its request is dropped; the browser behind them signs in"
like "$(cat "$T/slow.page")" "*received the answer*" \
    "the browser queued behind it got mpop's page"

# --- device flow -----------------------------------------------------------
# device NAME approve|deny: the device flow; the person acts once mpop
# has been told authorization_pending at least once.
device()
{
    local name=$1 action=$2 pid code i p0
    p0=$(stat_of pending)
    "$MPOP" -C "$T/rc" --oauth2-login=device acc </dev/null >"$T/$name" 2>&1 &
    pid=$!
    for ((i = 0; i < 200; i++)); do
        code=$(grep -o 'WDJB-MJHT-[0-9]*' "$T/$name") && break
        sleep 0.05
    done
    for ((i = 0; i < 200; i++)); do
        [ "$(stat_of pending)" -gt "$p0" ] && break
        sleep 0.05
    done
    python3 "$TESTLIB/oauth2-browser.py" "$CA" \
        "https://127.0.0.1:$HP/device/$action?user_code=$code" get >/dev/null
    wait "$pid"
    RC=$?
    cat "$T/$name" >>"$OUT"
}
control "control?slow_down=1"
n=$(stat_of device)
device dev1 approve
is "$RC/$(stat_of device)" "0/$((n + 1))" \
    "device flow through slow_down and authorization_pending: signed in"
control "control?slow_down=0"
run afterdevice -A acc
is "$RC" 0 "the device sign-in's token logs in"
device dev2 deny
is "$RC" 77 "device flow refused in the browser: exit 77"
like "$(cat "$T/dev2")" "*access_denied*" "access_denied is named"

# --- a server that takes the token and refuses the next command ----------
# (Microsoft's behaviour for a token without the POP scope.)  Named
# method, so no TLS is needed for this local server.
NP=$(free_port)
python3 - "$NP" <<'EOF' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4); s.settimeout(30)
done = False
while not done:                 # the first connection is wait_port's probe
    c, _ = s.accept(); f = c.makefile("rwb")
    f.write(b"+OK ready\r\n"); f.flush()
    try:
        for line in f:
            w = line.split(b" ")[0].strip().upper()
            if w == b"CAPA":
                f.write(b"+OK\r\nSASL OAUTHBEARER XOAUTH2\r\n.\r\n")
            elif w == b"AUTH":
                f.write(b"+OK User successfully authenticated.\r\n")
            elif w == b"QUIT":
                f.write(b"+OK bye\r\n"); f.flush(); done = True; break
            else:
                f.write(b"-ERR User is authenticated but not connected.\r\n")
            f.flush()
    except OSError:
        pass
    c.close()
EOF
NPID=$!
at_exit "kill_ours $NPID"
wait_port "$NP" 10
account acc3 | sed "s/^host .*/host 127.0.0.1/; s/^port .*/port $NP/;
    s/^tls on/tls off/; s/^tls_starttls off/auth oauthbearer/" >>"$T/rc"
run notconnected -A acc3
is "$RC" 77 "token accepted, next command refused: an authentication failure"
like "$(cat "$T/notconnected")" "*accepted the OAuth2 access token but refused the next command*not connected*" \
    "the message says so and quotes the server"
kill_ours "$NPID"

# --- token endpoint down ---------------------------------------------------
control "control?expires_in=30"
login_browser login2 acc
control "control?fail=503"
run down1 -A acc
is "$RC" 75 "token endpoint answers 503: exit 75 (temporary)"
control "control?fail=0"
kill_ours "$SRV"
wait "$SRV" 2>/dev/null
run down2 -A acc
is "$RC" 75 "token endpoint unreachable: exit 75"
like "$(cat "$T/down2")" "*cannot refresh the OAuth2 access token*" \
    "unreachable: the message says what failed"

# --- no secret anywhere ----------------------------------------------------
n=$(grep -c . "$T/st/secrets")
leaks=$(grep -F -f "$T/st/secrets" "$OUT" "$T"/*.page | head -3)
is "$leaks" "" "none of the $n secrets the server issued or received was printed"
ok '[ "$n" -gt 20 ]' "the secret list is not empty ($n)"

# --- key ring --------------------------------------------------------------
if command -v dbus-run-session >/dev/null 2>&1 &&
    command -v gnome-keyring-daemon >/dev/null 2>&1 &&
    command -v secret-tool >/dev/null 2>&1 &&
    "$MPOP" --version | grep -q "Keyring support: Gnome"; then
    python3 "$TESTLIB/oauth2-server.py" "$T/st" "$T/d/certs/chain.pem" \
        "$T/d/certs/server.key" tester 2>>"$T/st/stderr" &
    SRV=$!
    at_exit "kill_ours $SRV"
    rm -f "$T/st/ports"
    wait_file "$T/st/ports" 10
    read -r HP PP <"$T/st/ports"
    # dovecot checks tokens at the old port: a new one with the new port
    # (and the same certificates).
    dovecot_stop "$T/d"
    mkdir -p "$T/d2"
    cp -r "$T/d/certs" "$T/d2/certs"
    DOVECOT_OAUTH2_INTROSPECT=http://127.0.0.1:$PP/introspect \
        dovecot_start tls "$T/d2" || bail_out "dovecot cannot start"
    account acc >"$T/rc"
    # The same sign-in kept in the token file only, for the case below.
    { account acc; echo "oauth2_token_file $TOKFILE"; } >"$T/rcf"
    chmod 600 "$T/rcf"
    rm -f "$TOKFILE"
    mkdir -p "$T/run"
    chmod 700 "$T/run"
    # Every token within the margin: every run refreshes (and rotates).
    control "control?expires_in=30"
    XDG_RUNTIME_DIR=$T/run T=$T MPOP=$MPOP TESTLIB=$TESTLIB CA=$CA HP=$HP \
        TOKFILE=$TOKFILE dbus-run-session -- bash -c '
        printf "test-unlock\n" | gnome-keyring-daemon --unlock \
            --components=secrets >"$T/daemon.env" 2>/dev/null
        eval "$(sed "s/^/export /" "$T/daemon.env")"
        for i in 1 2 3 4 5 6 7 8 9 10; do
            printf probe | secret-tool store --label=probe probe yes \
                2>/dev/null && break
            sleep 0.3
        done
        "$MPOP" -C "$T/rc" --oauth2-login acc </dev/null >"$T/kr1" 2>&1 &
        pid=$!
        for ((i = 0; i < 200; i++)); do
            url=$(grep "^https://" "$T/kr1") && break
            sleep 0.05
        done
        python3 "$TESTLIB/oauth2-browser.py" "$CA" "$url" follow >/dev/null
        wait "$pid"; echo "login=$?"
        "$MPOP" -C "$T/rc" -A acc </dev/null >"$T/kr2" 2>&1; echo "auth=$?"
        # A refresh the key ring could not take went to the file (as when
        # its store fails): the file is newer than the key ring item, whose
        # refresh token has been rotated away.  The next run takes the file.
        (umask 077; secret-tool lookup token_endpoint \
            "https://127.0.0.1:$HP/token" client_id mpop-test-client \
            user tester >"$TOKFILE")
        "$MPOP" -C "$T/rcf" -A acc </dev/null >"$T/kr3" 2>&1; echo "file=$?"
        "$MPOP" -C "$T/rc" -A acc </dev/null >"$T/kr4" 2>&1; echo "newer=$?"
        ' >"$T/kr" 2>&1
    cat "$T/kr1" "$T/kr2" "$T/kr3" "$T/kr4" >>"$OUT" 2>/dev/null
    is "$(grep -oE '(login|auth|file|newer)=[0-9]+' "$T/kr" | tr '\n' ' ')" \
        "login=0 auth=0 file=0 newer=0 " \
        "key ring: sign in and log in with gnome-keyring; a newer token file beside its item is taken"
    ok '[ ! -e "$TOKFILE" ]' \
        "key ring: no token file written (the newer one went into the key ring)"
else
    skip "no dbus-run-session, gnome-keyring or libsecret"
    skip "no dbus-run-session, gnome-keyring or libsecret"
fi

done_testing
