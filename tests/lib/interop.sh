# shellcheck shell=bash disable=SC2034 # INTEROP_* are for the caller
# Helpers for the interoperability tests against POP3 servers that Debian
# packages but that cannot be installed beside dovecot-pop3d (they conflict
# with it or with each other through pop3-server) or whose maintainer
# scripts want a mail transport agent and system services.  Bash; source
# common.sh first.
#
#   interop_unpack NAME PKG...
#       Fetches each PKG's .deb with `apt-get download` into the cache
#       (once) and unpacks them all with `dpkg -x` into one root (once per
#       set of .deb files); sets INTEROP_ROOT to it.  The cache is
#       $MPOP_DEB_CACHE, else (as root) /var/cache/mpop-tests, else
#       $XDG_CACHE_HOME/mpop-tests, else ~/.cache/mpop-tests, else
#       $top_builddir/tests/deb-cache.  When
#       apt-get cannot find a package and we are root, the package lists
#       are updated once (a fresh machine has none) and the download is
#       tried again.  The libraries the servers link are installed by
#       scripts/check (DEPS); a library that is missing shows up as a "not
#       found" of ldd.  Returns non-zero with the reason on stderr.
#   interop_need_libs BINARY...
#       Returns non-zero, naming them on stderr, when a shared library of a
#       BINARY cannot be found (with LD_LIBRARY_PATH as set).
#   interop_user
#       The user the servers run as: $MPOP_TEST_USER (default mpoptest)
#       when we are root and it exists, else ourselves.
#   interop_spawn LOG CMD...
#       Starts CMD as interop_user in the background, its output in LOG;
#       sets INTEROP_PID to its process id (that of CMD itself) and
#       registers kill_wait for it with at_exit.
#   interop_unavailable REASON
#       Under CI=true a failure (the tests must run there), else a skip.
#   interop_wait_socket PATH SECONDS
#       Waits until the unix socket PATH exists.
#   interop_mails DIR
#       Writes the test mails DIR/m1.eml ... (LF line ends): a plain one,
#       one with lines starting with dots and "From ", one of about 200 KiB
#       with long lines, one with 8-bit UTF-8 text.
#   interop_fetch LABEL WANT_EXIT SPOOL_HASHES RCLINES...
#       Runs mpop for account "s" of a new rc file made of $INTEROP_RC
#       (the server's host, port, user, password, TLS trust lines) and
#       RCLINES, with keep on, received_header off, a fresh maildir and
#       UIDLs file, and reports two TAP results: the exit status is
#       WANT_EXIT, and (for 0) the sorted SHA-256 sums of the delivered
#       mails equal SPOOL_HASHES (for non-zero: nothing was delivered).
#       The output is in $T/LABEL.out.  $INTEROP_FILTER, when set, is a
#       sed script applied to each delivered mail before its sum is taken
#       (for a header the server adds when it sends a mail).
#   interop_hashes FILE...
#       The sorted SHA-256 sums of the FILEs with CRLF made LF, one line.

interop_cache()
{
    local c root_cache=
    # As root the servers run as the test user, who must be able to read
    # the unpacked files: not under /root.
    [ "$(id -u)" -eq 0 ] && root_cache=/var/cache/mpop-tests
    for c in "${MPOP_DEB_CACHE:-}" "${root_cache:-}" \
        "${XDG_CACHE_HOME:+$XDG_CACHE_HOME/mpop-tests}" \
        "${HOME:+$HOME/.cache/mpop-tests}" \
        "${top_builddir:-.}/tests/deb-cache"; do
        [ -n "$c" ] || continue
        mkdir -p "$c/debs" 2>/dev/null && [ -w "$c/debs" ] && {
            echo "$c"
            return 0
        }
    done
    return 1
}

interop_unavailable()
{
    if [ "${CI:-}" = true ]; then
        bail_out "$1 (CI=true: scripts/check must make this work)"
    fi
    skip_all "$1"
}

interop_download()
{
    # interop_download DEBS_DIR PKG: fetch PKG's .deb unless it is there
    local dir=$1 pkg=$2 log
    ls "$dir/${pkg}"_*.deb >/dev/null 2>&1 && return 0
    log=$dir/.download-$pkg.log
    # -o APT::Sandbox::User=root: as root, _apt may not write to the cache.
    (cd "$dir" && apt-get -q -o APT::Sandbox::User="$(id -un)" download \
        "$pkg") >"$log" 2>&1 && return 0
    if [ "$(id -u)" -eq 0 ] && [ ! -e "$dir/.updated" ]; then
        apt-get -q -o DPkg::Lock::Timeout=600 update >>"$log" 2>&1 &&
            touch "$dir/.updated"
        (cd "$dir" && apt-get -q -o APT::Sandbox::User=root download \
            "$pkg") >>"$log" 2>&1 && return 0
    fi
    echo "apt-get download $pkg failed:" >&2
    tail -n 5 "$log" >&2
    return 1
}

interop_unpack()
{
    local name=$1 cache pkg root stamp want
    shift
    if ! command -v apt-get >/dev/null 2>&1 ||
        ! command -v dpkg >/dev/null 2>&1; then
        echo "apt-get and dpkg are needed" >&2
        return 1
    fi
    cache=$(interop_cache) || {
        echo "no writable cache folder" >&2
        return 1
    }
    root=$cache/root-$name
    stamp=$root/.debs
    (
        # One test at a time in the cache: two tests may want the same
        # package, and apt-get update takes a lock of its own.
        exec 9>"$cache/.lock"
        flock -w 900 9 || { echo "cache $cache stays locked" >&2; exit 1; }
        for pkg in "$@"; do
            interop_download "$cache/debs" "$pkg" || exit 1
        done
        want=$(for pkg in "$@"; do
            ls "$cache/debs/${pkg}"_*.deb | tail -n 1
        done | xargs -n1 basename | sort)
        [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0
        rm -rf "$root" && mkdir -p "$root" || exit 1
        for pkg in "$@"; do
            dpkg -x "$(ls "$cache/debs/${pkg}"_*.deb | tail -n 1)" "$root" ||
                exit 1
        done
        echo "$want" >"$stamp"
    ) || return 1
    INTEROP_ROOT=$root
}

interop_need_libs()
{
    local b missing=
    for b in "$@"; do
        missing="$missing $(ldd "$b" 2>/dev/null |
            sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' | xargs)"
    done
    missing=$(echo "$missing" | xargs -n1 2>/dev/null | sort -u | xargs)
    [ -z "$missing" ] && return 0
    echo "missing libraries (scripts/check installs them): $missing" >&2
    return 1
}

interop_user()
{
    if [ "$(id -u)" -eq 0 ] && id "${MPOP_TEST_USER:-mpoptest}" \
        >/dev/null 2>&1; then
        echo "${MPOP_TEST_USER:-mpoptest}"
    else
        id -un
    fi
}

interop_wait_socket()
{
    local i n=$(( ${2:-10} * 20 ))
    for ((i = 0; i < n; i++)); do
        [ -S "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

interop_spawn()
{
    local log=$1
    shift
    # exec: $! is then the server's own pid, not that of a subshell.
    (exec >"$log" 2>&1 </dev/null; interop_exec_as_user "$@") &
    INTEROP_PID=$!
    at_exit "kill_wait $INTEROP_PID"
}

interop_exec_as_user()
{
    local u
    u=$(interop_user)
    if [ "$(id -u)" -eq 0 ] && [ "$u" != root ]; then
        exec setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
            --inh-caps=-all -- "$@"
    fi
    exec "$@"
}

interop_mails()
{
    local d=$1
    mkdir -p "$d"
    printf '%s\n' "From: Alice <alice@example.org>" "To: bob@example.org" \
        "Subject: plain" "Message-ID: <m1@example.org>" "" \
        "A plain mail." "Two lines." >"$d/m1.eml"
    printf '%s\n' "From: Alice <alice@example.org>" "To: bob@example.org" \
        "Subject: dots" "Message-ID: <m2@example.org>" "" \
        "." ".." "...three" ".leading dot" "From the start of a line" \
        "last line" >"$d/m2.eml"
    {
        printf '%s\n' "From: Alice <alice@example.org>" \
            "To: bob@example.org" "Subject: big" \
            "Message-ID: <m3@example.org>" ""
        for i in $(seq 1 200); do
            printf 'line %04d %0900d\n' "$i" 0
            printf '.dotted %d\n' "$i"
        done
    } >"$d/m3.eml"
    printf '%s\n' "From: Alice <alice@example.org>" "To: bob@example.org" \
        "Subject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=" "Message-ID: <m4@example.org>" \
        "MIME-Version: 1.0" "Content-Type: text/plain; charset=UTF-8" \
        "Content-Transfer-Encoding: 8bit" "" "Grüße aus Köln." \
        "Ünïcödé ☃" >"$d/m4.eml"
}

interop_hashes()
{
    local f
    for f in "$@"; do
        sed 's/\r$//' "$f" | sha256sum | cut -d' ' -f1
    done | sort | xargs
}

interop_fetch()
{
    local label=$1 want=$2 hashes=$3 d st=0 got
    shift 3
    d=$T/fetch-$label
    mkdir -p "$d/Maildir/new" "$d/Maildir/cur" "$d/Maildir/tmp"
    {
        echo "account s"
        echo "$INTEROP_RC"
        echo "keep on"
        echo "received_header off"
        echo "timeout 20"
        echo "delivery maildir $d/Maildir"
        echo "uidls_file $d/uidls"
        printf '%s\n' "$@"
    } >"$d/rc"
    chmod 600 "$d/rc"
    # INTEROP_BEFORE: a command of the test's own (a server check).
    [ -z "${INTEROP_BEFORE:-}" ] || "$INTEROP_BEFORE"
    HOME=$d "$MPOP" -C "$d/rc" s >"$T/$label.out" 2>&1 </dev/null || st=$?
    # INTEROP_RETRY: a command of the test's own that says (status 0)
    # that the server itself went away during the fetch and was started
    # again; the fetch then runs once more from scratch.
    if [ "$st" != "$want" ] && [ -n "${INTEROP_RETRY:-}" ] &&
        "$INTEROP_RETRY"; then
        diag "$label: the server ended during the fetch; once more:"
        diag "$(cat "$T/$label.out")"
        rm -rf "$d/uidls" "$d/Maildir"
        mkdir -p "$d/Maildir/new" "$d/Maildir/cur" "$d/Maildir/tmp"
        st=0
        HOME=$d "$MPOP" -C "$d/rc" s >"$T/$label.out" 2>&1 </dev/null ||
            st=$?
    fi
    is "$st" "$want" "$label: exit status $want"
    if [ "$st" != "$want" ]; then
        diag_file "$T/$label.out"
        # The server's side of it (INTEROP_LOG: the log its test named).
        [ -z "${INTEROP_LOG:-}" ] || diag_file "$INTEROP_LOG"
        HOME=$d "$MPOP" -C "$d/rc" --debug s >"$T/$label.debug" 2>&1 \
            </dev/null
        diag "again, with --debug:"
        diag_file "$T/$label.debug"
    fi
    if [ -n "${INTEROP_FILTER:-}" ]; then
        find "$d/Maildir/new" "$d/Maildir/cur" -type f \
            -exec sed -i -e "$INTEROP_FILTER" {} +
    fi
    # shellcheck disable=SC2046 # maildir names have no blanks
    got=$(interop_hashes $(find "$d/Maildir/new" "$d/Maildir/cur" -type f))
    if [ "$want" = 0 ]; then
        is "$got" "$hashes" \
            "$label: delivered the server's mails byte for byte"
    else
        is "$got" "" "$label: delivered nothing"
    fi
}
