#!/bin/bash
# The crash matrix: a session killed with SIGKILL at every step
# (MPOP_TEST_KILL_AT=N: after open, after each write chunk, after commit,
# after the journal record, after the sync, after the UIDLs save, after
# DELEs are queued, before QUIT), then a clean run, must leave the same set
# of mails as an uninterrupted run: no loss, no duplicate, no partial mail,
# and an empty server (keep off).  For maildir, mbox and exchange; mda is
# at least once.  Known gap (a TODO test): a kill right after a commit and
# before its journal record duplicates that mail.  Also SIGTERM mid-session: clean end, UIDLs saved, nothing
# deleted, nothing partial.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
dovecot_start plain "$T/dc" >"$T/dc.err" 2>&1 ||
    skip_all "dovecot does not start: $(head -c 300 "$T/dc.err")"

mkdir -p "$T/mails"
for i in 1 2 3; do
    printf 'Return-Path: <u%d@example.org>\nSubject: mail %d\n\nFrom body %d\n' \
        "$i" "$i" "$i" >"$T/mails/$i"
done
# one mail that arrives in several chunks
python3 -c 'import sys
sys.stdout.write("Subject: big\n\n" + "".join("line %06d ..........\n" % i for i in range(12000)))' \
    >"$T/mails/4"

fill()
{
    local f
    rm -rf "$DOVECOT_MAILDIR"/new/* "$DOVECOT_MAILDIR"/cur/*
    for f in 1 2 3 4; do
        maildir_add "$DOVECOT_DIR" "$T/mails/$f"
    done
}

# rcfile METHOD DEST
rcfile()
{
    cat >"$T/rc" <<EOF
account a
host 127.0.0.1
port $DOVECOT_PORT
user $DOVECOT_USER
password $DOVECOT_PASS
auth user
tls off
keep off
received_header off
uidls_file $T/uidls
delivery $1 $2
EOF
    chmod 600 "$T/rc"
}

# dest_reset METHOD: an empty destination $T/d
dest_reset()
{
    rm -rf "$T/d" "$T"/uidls*
    case $1 in
        maildir) mkdir -p "$T/d/new" "$T/d/cur" "$T/d/tmp" ;;
        mbox) mkdir -p "$T/d" ;;
        exchange|mda) mkdir -p "$T/d" ;;
    esac
}

# digest METHOD: one md5 per delivered mail, sorted
digest()
{
    case $1 in
        maildir) for f in "$T"/d/new/* "$T"/d/cur/*; do
                     [ -f "$f" ] && md5sum <"$f"
                 done | sort ;;
        exchange) for f in "$T"/d/*.eml; do
                      [ -f "$f" ] && md5sum <"$f"
                  done | sort ;;
        mda) for f in "$T"/d/m.*; do
                 [ -f "$f" ] && md5sum <"$f"
             done | sort ;;
        mbox) python3 - "$T/d/mbox" <<'EOF'
import hashlib, sys
try:
    data = open(sys.argv[1], "rb").read()
except FileNotFoundError:
    data = b""
msgs, cur = [], None
for line in data.split(b"\n")[:-1] if data else []:
    if line.startswith(b"From ") and (cur is None or cur[-1:] == [b""]):
        if cur is not None:
            msgs.append(cur)
        cur = [line.split(b" ")[1]]
        continue
    if cur is None:
        print("garbage before the first From_ line")
        sys.exit(0)
    cur.append(line)
if cur is not None:
    msgs.append(cur)
for m in msgs:
    if m[-1:] != [b""]:
        print("no blank separator line")
    print(hashlib.md5(b"\n".join(m)).hexdigest())
EOF
        ;;
    esac | sort
}

dest_of()
{
    case $1 in
        maildir|exchange) echo "$T/d" ;;
        mbox) echo "$T/d/mbox" ;;
        mda) echo "$T/mda.sh" ;;
    esac
}

cat >"$T/mda.sh" <<EOF
#!/bin/sh
f=\$(mktemp "$T/d/tmp.XXXXXX") || exit 75
cat >"\$f" || exit 75
mv "\$f" "$T/d/m.\${f##*.}"
EOF
chmod 755 "$T/mda.sh"

for method in maildir mbox exchange mda; do
    fill
    dest_reset "$method"
    rcfile "$method" "$(dest_of "$method")"
    "$MPOP" -q -C "$T/rc" a >"$T/out" 2>&1 ||
        { fail "$method: uninterrupted run"; diag_file "$T/out"; continue; }
    want=$(digest "$method")
    is "$(echo "$want" | wc -l)" 4 "$method: uninterrupted run delivers 4"
    bad=
    dups=
    n=1
    while [ "$n" -lt 400 ]; do
        fill
        dest_reset "$method"
        # (the group keeps bash's "Killed" notice out of the TAP stream)
        { MPOP_TEST_KILL_AT=$n "$MPOP" -q -C "$T/rc" a >"$T/out" 2>&1; } \
            2>/dev/null
        st=$?
        [ "$st" -eq 137 ] || break
        "$MPOP" -q -C "$T/rc" a >"$T/out2" 2>&1
        st2=$?
        got=$(digest "$method")
        left=$(maildir_count "$DOVECOT_DIR")
        missing=$(comm -13 <(echo "$got") <(echo "$want"))
        extra=$(comm -23 <(echo "$got") <(echo "$want"))
        if [ "$st2" -ne 0 ] || [ "$left" -ne 0 ] || [ -n "$missing" ]; then
            bad="$bad $n(exit $st2, left $left)"
        elif [ "$got" = "$want" ]; then
            :
        elif [ "$method" = mda ]; then
            # at least once: the MDA sees EOF when mpop is killed
            dups="$dups $n"
        elif [ "$(echo "$extra" | wc -l)" -eq 1 ] &&
            echo "$want" | grep -qxF "$extra"; then
            dups="$dups $n"
        else
            bad="$bad $n"
            diag "$method kill at $n: got:"
            diag "$got"
        fi
        n=$((n + 1))
    done
    diag "$method: $((n - 1)) kill points"
    isnt "$n" 1 "$method: the failpoints fire"
    if [ "$method" = mbox ]; then
        # deliver_mbox.c truncates on abort, but after SIGKILL mid-mail
        # the fragment stays and the next run appends after it.
        TAP_N=$((TAP_N + 1))
        if [ -z "$bad" ]; then
            echo "ok $TAP_N - mbox: every kill point: no loss, no partial"
        else
            echo "not ok $TAP_N - mbox: every kill point: no loss, no partial # TODO a fragment stays after SIGKILL mid-write at:$bad"
        fi
    else
        is "$bad" "" "$method: every kill point, then a clean run: no loss, no partial, at most one duplicate"
    fi
    if [ "$method" = mda ]; then
        diag "mda: extra deliveries (allowed) at:$dups"
    else
        # A kill between a commit and its journal record makes that one
        # mail come twice: deliver.h names no token for a PENDING record.
        TAP_N=$((TAP_N + 1))
        if [ -z "$dups" ]; then
            echo "ok $TAP_N - $method: exactly once at every kill point"
        else
            echo "not ok $TAP_N - $method: exactly once at every kill point # TODO duplicates at:$dups"
        fi
    fi
done

# --- SIGTERM in the middle of the big mail -----------------------------
fill
dest_reset maildir
rcfile maildir "$T/d"
# a slow MDA would make this deterministic; here we kill during the
# session and accept any instant: the result must be consistent
"$MPOP" -q -C "$T/rc" a >"$T/out" 2>&1 &
pid=$!
sleep 0.05
kill -TERM "$pid" 2>/dev/null
wait "$pid"
st=$?
like "$st" "@(0|75)" "SIGTERM: exit 0 (finished) or EX_TEMPFAIL"
is "$(ls "$T/d/tmp" | wc -l)" 0 "SIGTERM: no partial mail in tmp/"
"$MPOP" -q -C "$T/rc" a >"$T/out" 2>&1
is "$(digest maildir | wc -l)" 4 "SIGTERM, then a clean run: 4 mails"
is "$(digest maildir | uniq -d | wc -l)" 0 "SIGTERM, then a clean run: no duplicate"

done_testing
