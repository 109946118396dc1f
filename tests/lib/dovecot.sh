# Start and stop private dovecot POP3 instances (bash; source common.sh and
# certs.sh first).
#
#   dovecot_start MODE DIR
#       MODE: plain (no TLS), starttls (STLS offered on the plain port) or
#       tls (implicit TLS, the pop3s listener only).  DIR is created and
#       holds everything of this instance:
#         DIR/dovecot.conf   the configuration (no include of /etc/dovecot)
#         DIR/run/           its base_dir (sockets, master.pid)
#         DIR/users          passwd-file for passdb and userdb
#         DIR/Maildir/       the test user's mailbox (maildir, empty)
#         DIR/certs/         certs_make output (TLS modes only)
#         DIR/dovecot.log    everything dovecot logs
#       Listens on 127.0.0.1 (or on the addresses in DOVECOT_LISTEN, which
#       must include it), on a port from free_port, and waits until the
#       port answers.  Exports DOVECOT_PORT, DOVECOT_USER, DOVECOT_PASS,
#       DOVECOT_DIR, DOVECOT_CA (the CA file to trust; empty in plain mode)
#       and DOVECOT_MAILDIR.  Registers dovecot_stop with at_exit.
#       Returns non-zero (and prints why on stderr) if dovecot cannot start:
#       the caller decides whether that is a skip (exit 77) or a failure.
#   dovecot_stop DIR
#       SIGTERM to the master by its PID, wait until it is gone (SIGKILL
#       after 10 s).  Returns 0 if it stopped by itself.
#   maildir_add DIR FILE
#       copy a mail into DIR/Maildir/new under a unique name, owned by the
#       user the mail processes run as.
#   maildir_count DIR
#       print how many mails DIR/Maildir holds (new and cur).
#   With DOVECOT_OAUTH2_INTROSPECT=URL set, OAUTHBEARER and XOAUTH2 are
#       offered too, and dovecot's oauth2 passdb checks each token at that
#       RFC 7662 introspection URL (tests/lib/oauth2-server.py).
#   dovecot_add_user DIR USER PASS
#       one more user with its own maildir DIR/home/USER/Maildir.  Dovecot
#       re-reads the passwd-file at most once a second: this waits 1.1 s.
#
# Notes: dovecot's login processes refuse to run as root, hence
# default_login_user/default_internal_user; its mail processes run as an
# unprivileged user, $MPOP_TEST_USER (default: mpoptest, which scripts/check
# creates; else nobody).  When the tests run as an ordinary user, everything
# runs as that user and nothing is chrooted.  Each instance has its own
# base_dir, so instances run side by side.  Failed logins are not delayed
# (auth_failure_delay = 0), so tests of wrong passwords stay fast.

DOVECOT_BIN=${DOVECOT_BIN:-$(command -v dovecot 2>/dev/null ||
    echo /usr/sbin/dovecot)}

dovecot_mail_user()
{
    if [ "$(id -u)" -ne 0 ]; then
        id -un
    elif id "${MPOP_TEST_USER:-mpoptest}" >/dev/null 2>&1; then
        echo "${MPOP_TEST_USER:-mpoptest}"
    else
        echo nobody
    fi
}

dovecot_start()
{
    local mode=$1 dir=$2 port user uid gid login_user internal_user
    local ssl_conf listeners chroot_conf dh=

    case $mode in
        plain|starttls|tls) ;;
        *) echo "dovecot_start: unknown mode '$mode'" >&2; return 2 ;;
    esac
    if [ ! -x "$DOVECOT_BIN" ]; then
        echo "dovecot_start: dovecot is not installed" >&2
        return 1
    fi
    if [ ! -e /usr/lib/dovecot/pop3 ] && [ ! -e /usr/libexec/dovecot/pop3 ]
    then
        echo "dovecot_start: dovecot's pop3 server is not installed" >&2
        return 1
    fi

    mkdir -p "$dir" || return 1
    dir=$(cd "$dir" && pwd)
    chmod 755 "$dir"
    user=$(dovecot_mail_user)
    uid=$(id -u "$user")
    gid=$(id -g "$user")
    if [ "$(id -u)" -eq 0 ]; then
        login_user=dovenull
        internal_user=dovecot
        chroot_conf=
    else
        login_user=$user
        internal_user=$user
        chroot_conf="
default_internal_group = $(id -gn)
service pop3-login {
  chroot =
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}"
    fi

    DOVECOT_USER=tester
    DOVECOT_PASS='t3st-Pass'
    mkdir -p "$dir/run" "$dir/home" "$dir/Maildir/new" "$dir/Maildir/cur" \
        "$dir/Maildir/tmp"
    echo "$DOVECOT_USER:{PLAIN}$DOVECOT_PASS:$uid:$gid::$dir/home::" \
        >"$dir/users"
    chmod 644 "$dir/users"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R "$uid:$gid" "$dir/home" "$dir/Maildir"
    fi

    port=$(free_port) || return 1
    DOVECOT_CA=
    if [ "$mode" = plain ]; then
        ssl_conf="ssl = no"
        listeners="  inet_listener pop3 {
    address = ${DOVECOT_LISTEN:-127.0.0.1}
    port = $port
  }
  inet_listener pop3s {
    port = 0
  }"
    else
        if [ ! -s "$dir/certs/server.pem" ]; then
            certs_make "$dir/certs" || return 1
        fi
        chmod 755 "$dir/certs"
        DOVECOT_CA=$dir/certs/ca.pem
        [ -r /usr/share/dovecot/dh.pem ] &&
            dh="ssl_dh = </usr/share/dovecot/dh.pem"
        ssl_conf="ssl = yes
ssl_cert = <$dir/certs/chain.pem
ssl_key = <$dir/certs/server.key
$dh"
        if [ "$mode" = starttls ]; then
            listeners="  inet_listener pop3 {
    address = ${DOVECOT_LISTEN:-127.0.0.1}
    port = $port
  }
  inet_listener pop3s {
    port = 0
  }"
        else
            listeners="  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    address = ${DOVECOT_LISTEN:-127.0.0.1}
    port = $port
    ssl = yes
  }"
        fi
    fi

    local oauth2_mechs= oauth2_passdb=
    if [ -n "${DOVECOT_OAUTH2_INTROSPECT:-}" ]; then
        oauth2_mechs=" oauthbearer xoauth2"
        cat >"$dir/oauth2.conf.ext" <<EOF
introspection_mode = post
introspection_url = $DOVECOT_OAUTH2_INTROSPECT
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
EOF
        oauth2_passdb="passdb {
  driver = oauth2
  mechanisms = oauthbearer xoauth2
  args = $dir/oauth2.conf.ext
}"
    fi
    cat >"$dir/dovecot.conf" <<EOF
# Written by tests/lib/dovecot.sh for one test; mode $mode.
protocols = pop3
listen = ${DOVECOT_LISTEN:-127.0.0.1}
base_dir = $dir/run
instance_name = mpoptest-$$-$port
state_dir = $dir/run/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
debug_log_path = $dir/dovecot.log
auth_verbose = yes
default_login_user = $login_user
default_internal_user = $internal_user
first_valid_uid = $uid
last_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:$dir/Maildir
mail_uid = $uid
mail_gid = $gid
auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256 apop$oauth2_mechs
disable_plaintext_auth = no
auth_failure_delay = 0
pop3_uidl_format = %08Xu%08Xv
pop3_no_flag_updates = yes
$oauth2_passdb
passdb {
  driver = passwd-file
  args = $dir/users
}
userdb {
  driver = passwd-file
  args = $dir/users
}
service pop3-login {
$listeners
}
# Without this socket the auth process disables its penalty (2, 4, 8, 15 s
# before the next login from an address that failed).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
# No process reports to the stats service: at shutdown, a login process
# still waiting for its stats-writer handshake held the master up for 5 s.
stats_writer_socket_path =
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
$chroot_conf
$ssl_conf
EOF
    mkdir -p "$dir/run/state"

    if ! "$DOVECOT_BIN" -c "$dir/dovecot.conf" >"$dir/start.out" 2>&1; then
        echo "dovecot_start: dovecot did not start:" >&2
        cat "$dir/start.out" "$dir/dovecot.log" >&2 2>/dev/null
        return 1
    fi
    at_exit "dovecot_stop '$dir'"
    if ! wait_port "$port" 10; then
        echo "dovecot_start: port $port does not answer:" >&2
        cat "$dir/dovecot.log" >&2 2>/dev/null
        return 1
    fi
    DOVECOT_PORT=$port
    DOVECOT_DIR=$dir
    DOVECOT_MAILDIR=$dir/Maildir
    export DOVECOT_PORT DOVECOT_USER DOVECOT_PASS DOVECOT_DIR DOVECOT_CA \
        DOVECOT_MAILDIR
    return 0
}

dovecot_stop()
{
    local dir=$1 pid i
    [ -s "$dir/run/master.pid" ] || return 0
    pid=$(cat "$dir/run/master.pid")
    # A master that died leaves its file: its number may be another's now.
    pid_ours "$pid" "*dovecot*$dir/*" &&
        kill -TERM "$pid" 2>/dev/null || { rm -f "$dir/run/master.pid"; return 0; }
    # SIGTERM ends the instance cleanly within a second, except that a
    # pop3-login process holding a connection that never logged in (the
    # probe of wait_port) lingers for seconds: then the whole instance (the
    # master leads its own process group) gets SIGKILL.  The master
    # daemonized, so once gone it is a zombie until PID 1 reaps it, which
    # can take seconds too: pid_alive counts that as gone.
    for ((i = 0; i < 120; i++)); do
        if ! pid_alive "$pid"; then
            rm -f "$dir/run/master.pid"
            return 0
        fi
        [ "$i" -eq 20 ] && kill -KILL -- "-$pid" 2>/dev/null
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
    rm -f "$dir/run/master.pid"
    return 1
}

DOVECOT_MAIL_SEQ=0

maildir_add()
{
    local dir=$1 file=$2 user name
    DOVECOT_MAIL_SEQ=$((DOVECOT_MAIL_SEQ + 1))
    name="$(date +%s).M${DOVECOT_MAIL_SEQ}P$$.mpoptest,S=$(wc -c <"$file")"
    cp "$file" "$dir/Maildir/tmp/$name" || return 1
    if [ "$(id -u)" -eq 0 ]; then
        user=$(dovecot_mail_user)
        chown "$(id -u "$user"):$(id -g "$user")" "$dir/Maildir/tmp/$name"
    fi
    chmod 600 "$dir/Maildir/tmp/$name"
    mv "$dir/Maildir/tmp/$name" "$dir/Maildir/new/$name"
}

maildir_count()
{
    find "$1/Maildir/new" "$1/Maildir/cur" -type f | wc -l
}

dovecot_add_user()
{
    local dir=$1 name=$2 pass=$3 user uid gid
    user=$(dovecot_mail_user)
    uid=$(id -u "$user")
    gid=$(id -g "$user")
    mkdir -p "$dir/home/$name/Maildir/new" "$dir/home/$name/Maildir/cur" \
        "$dir/home/$name/Maildir/tmp"
    [ "$(id -u)" -ne 0 ] || chown -R "$uid:$gid" "$dir/home/$name"
    echo "$name:{PLAIN}$pass:$uid:$gid::$dir/home/$name::userdb_mail=maildir:$dir/home/$name/Maildir" \
        >>"$dir/users"
    sleep 1.1
}
