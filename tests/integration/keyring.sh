#!/bin/bash
# The key ring against a real Secret Service: gnome-keyring-daemon in a
# private D-Bus session with an unlocked test key ring.  A password stored
# the way the original mpop's manual says (secret-tool store --label=mpop
# host H service pop3 user U) is found; so is one stored with the older
# network schema (server, protocol, user); a different user finds nothing
# and falls through to the next source (a netrc file here).
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

if [ -z "${KEYRING_INNER:-}" ]; then
    for c in dbus-run-session gnome-keyring-daemon secret-tool python3; do
        command -v "$c" >/dev/null 2>&1 || skip_all "$c is not installed"
    done
    "$MPOP" --version | grep -q "Keyring support: Gnome" ||
        skip_all "mpop built without libsecret"
    T=$(mktemp -d "${TMPDIR:-/tmp}/mpop-keyring.XXXXXX")
    trap 'rm -rf "$T"' EXIT
    mkdir -p "$T/home" "$T/run"
    chmod 700 "$T/run"
    HOME=$T/home XDG_RUNTIME_DIR=$T/run XDG_DATA_HOME=$T/home/.local/share \
        KEYRING_INNER=$T dbus-run-session -- bash "$0"
    exit $?
fi

T=$KEYRING_INNER
printf 'test-unlock\n' | gnome-keyring-daemon --unlock --components=secrets \
    >"$T/daemon.env" 2>"$T/daemon.err"
eval "$(sed 's/^/export /' "$T/daemon.env")"
# The daemon may take a moment to own its bus name.
for i in 1 2 3 4 5 6 7 8 9 10; do
    printf 'probe' | secret-tool store --label=probe probe yes 2>/dev/null &&
        break
    sleep 0.3
done

plan 6

rc()
{
    cat >"$T/$1.rc" <<EOF
account $1
host $2
port 1
user $3
delivery maildir $T
EOF
    chmod 600 "$T/$1.rc"
}

# A tiny server that takes USER/PASS and logs the password it got.
serve()
{
    python3 - "$1" "$2" <<'PY' &
import socket, sys
port, log = int(sys.argv[1]), sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(4); s.settimeout(20)
done = False
while not done:                 # the first connection is wait_port's probe
    c, _ = s.accept(); f = c.makefile("rwb")
    f.write(b"+OK ready\r\n"); f.flush()
    try:
        for line in f:
            l = line.rstrip(b"\r\n")
            if l.upper().startswith(b"PASS "):
                open(log, "wb").write(l[5:])
            if l.upper() == b"CAPA":
                f.write(b"+OK\r\nUSER\r\n.\r\n")
            elif l.upper() == b"QUIT":
                f.write(b"+OK bye\r\n"); f.flush(); done = True; break
            else:
                f.write(b"+OK\r\n")
            f.flush()
    except OSError:             # the probe may reset the connection
        pass
    c.close()
PY
    SPID=$!
    wait_port "$1" 10
}

# run NAME HOST USER: mpop -A with auth user and tls off (named method, so
# the password may go in clear to this local test server).
run()
{
    local port
    port=$(free_port)
    rc "$1" "$2" "$3"
    sed -i "s/^port .*/port $port/" "$T/$1.rc"
    printf 'tls off\nauth user\n%s\n' "${EXTRA:-}" >>"$T/$1.rc"
    rm -f "$T/$1.pw"
    serve "$port" "$T/$1.pw"
    setsid -w "$MPOP" -A -C "$T/$1.rc" "$1" </dev/null >"$T/$1.out" 2>&1
    RC=$?
    wait "$SPID" 2>/dev/null
    GOT=$(cat "$T/$1.pw" 2>/dev/null)
}

printf 'pw-from-keyring' | secret-tool store --label=mpop host localhost \
    service pop3 user alice
run k1 localhost alice
is "$RC/$GOT" "0/pw-from-keyring" \
    "secret-tool entry (host, service, user) is found"

printf 'pw-compat' | secret-tool store --label=old \
    xdg:schema org.gnome.keyring.NetworkPassword server localhost \
    protocol pop3 user bob
run k2 localhost bob
is "$RC/$GOT" "0/pw-compat" "the older network schema is the fallback"

# Another user: the key ring has nothing; netrc answers.
printf 'machine localhost login carol password pw-netrc\n' \
    >"$HOME/.netrc"
chmod 600 "$HOME/.netrc"
run k3 localhost carol
is "$RC/$GOT" "0/pw-netrc" "no key ring entry: netrc is next"

# The config's password wins over the key ring.
EXTRA="password pw-config" run k4 localhost alice
is "$RC/$GOT" "0/pw-config" \
    "the password in the config comes before the key ring"

# Another host: nothing anywhere and no terminal: an error, no prompt.
run k5 127.0.0.1 alice
is "$RC" 77 "nothing stored and no terminal: exit 77"
like "$(cat "$T/k5.out")" "*terminal*" "the message says why"

done_testing
