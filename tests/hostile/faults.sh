#!/bin/bash
# Fault injection (issue 8 point 4): mpop fetches two mails from the
# hostile server (faults/two-mails.pop3) while faultinject.c, preloaded,
# makes one system call fail: write/fsync/rename/open with ENOSPC, EIO or
# EDQUOT on the maildir, the mbox or the UIDLs file, short writes and
# EINTR (which must be retried), and failing malloc.  Each case asserts:
#   - the exit status (0 when the fault must be absorbed, else non-zero,
#     74 EX_IOERR for the I/O errors);
#   - no loss: every mail the client DELE'd is in the mailbox, and a
#     failed run DELE'd nothing;
#   - nothing partial: no file left in Maildir/tmp, an mbox holds only
#     whole mails;
#   - the UIDLs file is either the one from before or a complete new one.
here=$(cd "$(dirname "$0")" && pwd)
TESTLIB=${TESTLIB:-$here/../lib}
. "$TESTLIB/common.sh"

command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || skip_all "no C compiler to build the shim"
client=${MPOP:-$here/../../src/mpop}
[ -x "$client" ] || bail_out "no client to test: $client"
case $client in /*) ;; *) client=$PWD/$client ;; esac
"$CC" -shared -fPIC -o "$T/fi.so" "$here/faultinject.c" -ldl ||
    bail_out "cannot build faultinject.c"

n=0
# run_case NAME DELIVERY WANT_EXIT FI_CALL FI_MATCH FI_ERRNO FI_NTH
run_case()
{
    local name=$1 delivery=$2 want=$3 d st got_dele n_mails
    n=$((n + 1))
    d=$T/$n
    mkdir -p "$d/Maildir/new" "$d/Maildir/cur" "$d/Maildir/tmp"
    python3 "$here/hostile-server.py" "$here/faults/two-mails.pop3" \
        --port-file "$d/port" --dele-log "$d/deleted" --result "$d/result" \
        --limit 20 2>"$d/server.err" &
    local spid=$!
    if ! wait_file "$d/port" 10; then
        fail "$name: the hostile server started"
        kill_ours "$spid"
        return
    fi
    case $delivery in
        maildir) dl="maildir $d/Maildir" ;;
        mbox) dl="mbox $d/mbox" ;;
    esac
    cat >"$d/rc" <<EOR
account hostile
host 127.0.0.1
port $(cat "$d/port")
user hostile
password secret
auth user
tls off
timeout 5
received_header off
delivery $dl
uidls_file $d/uidls
EOR
    chmod 600 "$d/rc"
    st=0
    (cd "$d" && HOME=$d FI_CALL=$4 FI_MATCH=$5 FI_ERRNO=$6 FI_NTH=$7 \
        LD_PRELOAD=$T/fi.so timeout 30 "$client" -C "$d/rc" hostile \
        >"$d/out" 2>&1 </dev/null) || st=$?
    kill_wait "$spid" 5 >/dev/null 2>&1
    got_dele=$(xargs <"$d/deleted" 2>/dev/null)
    n_mails=$(find "$d/Maildir/new" -type f | wc -l)
    [ "$delivery" = mbox ] && n_mails=$(grep -c '^From ' "$d/mbox" 2>/dev/null)
    local why="exit $st, DELE [$got_dele], $n_mails delivered"
    if [ "$want" = any ]; then
        isnt "$st" 0 "$name: fails ($why)"
    else
        is "$st" "$want" "$name: exit status ($why)"
    fi
    [ "$st" = "$want" ] || [ "$want" = any ] || diag_file "$d/out"
    if [ "$st" = 0 ]; then
        is "$got_dele/$n_mails" "1 2/2" "$name: both delivered, then deleted"
    else
        is "$got_dele" "" "$name: nothing deleted after a failure"
    fi
    is "$(find "$d/Maildir/tmp" -type f | wc -l)" 0 \
        "$name: no partial file in Maildir/tmp"
    if [ "$delivery" = mbox ] && [ -s "$d/mbox" ]; then
        # whole mails only: every From_ line starts a mail that ends in
        # the body's last line plus the separator
        ok "python3 -c '
import sys
t = open(sys.argv[1], \"rb\").read()
ok = t.count(b\"\\nhello\\n\") + t.count(b\"\\nend\\n\")
sys.exit(0 if t.count(b\"From \") <= ok and t.endswith(b\"\\n\\n\") else 1)
' '$d/mbox'" "$name: the mbox holds whole mails only"
    else
        pass "$name: no mbox to check"
    fi
    if [ -e "$d/uidls" ]; then
        if [ "$st" = 0 ]; then
            ok "grep -q uid-2 '$d/uidls'" "$name: UIDLs file records both"
        else
            ok "! grep -q uid-2 '$d/uidls' || [ $n_mails = 2 ]" \
                "$name: UIDLs file records only delivered mails"
        fi
    else
        ok "[ '$n_mails' = 0 ] || [ -s '$d/uidls.journal' ]" \
            "$name: no UIDLs file: nothing delivered, or the journal has it"
    fi
    # (the journal beside it is kept on purpose: the next run replays it)
    ok "! ls '$d'/uidls?* 2>/dev/null | grep -v '\\.journal\(-[0-9a-f]*\)\?\$' | grep -q ." \
        "$name: no temporary UIDLs file left"
}

#        name                       delivery want call   match   errno  nth
run_case "no fault"                 maildir  0    none   ""      EIO    0
run_case "maildir write ENOSPC"     maildir  74   write  Maildir ENOSPC 1
run_case "maildir write EIO 2nd"    maildir  74   write  Maildir EIO    2
run_case "maildir write EDQUOT"     maildir  74   write  Maildir EDQUOT 0
run_case "maildir fsync EIO"        maildir  74   fsync  Maildir EIO    0
run_case "maildir open ENOSPC"      maildir  any  open   Maildir ENOSPC 0
run_case "maildir short writes"     maildir  0    write  Maildir SHORT  0
run_case "maildir write EINTR"      maildir  0    write  Maildir EINTR  1
run_case "mbox write ENOSPC"        mbox     74   write  mbox    ENOSPC 1
run_case "mbox write EIO 3rd"       mbox     74   write  mbox    EIO    3
run_case "mbox fsync EIO"           mbox     74   fsync  mbox    EIO    1
# A sync that failed once is not tried again: after a failed fsync the
# kernel may have dropped the dirty pages and a second fsync succeeds
# proving nothing (the UIDLs file would then make the next run DELE them).
ok "! grep -q uid- '$T/$n/uidls' 2>/dev/null" \
    "mbox fsync EIO: a mail whose sync failed is not recorded"
run_case "mbox short writes"        mbox     0    write  mbox    SHORT  0
run_case "uidls write ENOSPC"       maildir  74   write  uidls   ENOSPC 0
run_case "uidls fsync EIO"          maildir  74   fsync  uidls   EIO    0
run_case "uidls rename EIO"         maildir  74   rename uidls   EIO    0
run_case "malloc fails (10th)"      maildir  any  malloc ""      ENOMEM 10
run_case "malloc fails (40th)"      maildir  any  malloc ""      ENOMEM 40
run_case "malloc fails (70th)"      maildir  any  malloc ""      ENOMEM 70

# A journal's mail counts only once it is durable.  A run killed after
# both commits, before the batch's sync: the next run finds both mails in
# the maildir through the journal, and DELEs them as old mails at once, so
# it must first sync them (that run's fsync is their only one).  With that
# fsync failing, nothing may be deleted.
replay_case()
{
    local d=$T/replay k st got_dele
    mkdir -p "$d"
    for k in $(seq 1 40); do
        rm -rf "$d/Maildir" "$d/uidls"* "$d/deleted"
        mkdir -p "$d/Maildir/new" "$d/Maildir/cur" "$d/Maildir/tmp"
        rm -f "$d/port"
        python3 "$here/hostile-server.py" "$here/faults/two-mails.pop3" \
            --port-file "$d/port" --dele-log "$d/deleted" --limit 20 \
            2>"$d/server.err" &
        local spid=$!
        wait_file "$d/port" 10 || break
        sed "s/^port .*/port $(cat "$d/port")/; s|^delivery .*|delivery maildir $d/Maildir|; s|^uidls_file .*|uidls_file $d/uidls|" \
            "$T/1/rc" >"$d/rc"
        chmod 600 "$d/rc"
        { (cd "$d" && HOME=$d MPOP_TEST_KILL_AT=$k timeout 30 "$client" \
            -C "$d/rc" hostile >"$d/out" 2>&1 </dev/null); } 2>/dev/null
        kill_wait "$spid" 5 >/dev/null 2>&1
        # both mails committed, the UIDLs file not yet saved
        [ "$(find "$d/Maildir/new" -type f | wc -l)" = 2 ] &&
            ! grep -q uid-2 "$d/uidls" 2>/dev/null && break
    done
    is "$(find "$d/Maildir/new" -type f | wc -l)" 2 \
        "replay: a run killed (failpoint $k) after both commits"
    rm -f "$d/port" "$d/deleted"
    python3 "$here/hostile-server.py" "$here/faults/two-mails-old.pop3" \
        --port-file "$d/port" --dele-log "$d/deleted" --limit 20 \
        2>"$d/server.err" &
    spid=$!
    wait_file "$d/port" 10
    sed -i "s/^port .*/port $(cat "$d/port")/" "$d/rc"
    st=0
    (cd "$d" && HOME=$d FI_CALL=fsync FI_MATCH=Maildir/new FI_ERRNO=EIO \
        FI_NTH=0 LD_PRELOAD=$T/fi.so timeout 30 "$client" -C "$d/rc" \
        hostile >"$d/out" 2>&1 </dev/null) || st=$?
    kill_wait "$spid" 5 >/dev/null 2>&1
    got_dele=$(xargs <"$d/deleted" 2>/dev/null)
    is "$st/$got_dele" "74/" \
        "replay: the journal's mails cannot be synced: EX_IOERR, no DELE"
    [ "$st" = 74 ] || diag_file "$d/out"
    ok "ls '$d'/uidls.journal* >/dev/null 2>&1" \
        "replay: a replay that failed keeps the journal for the next run"
    # the next run, without the fault, confirms both and deletes them
    rm -f "$d/port" "$d/deleted"
    python3 "$here/hostile-server.py" "$here/faults/two-mails-old.pop3" \
        --port-file "$d/port" --dele-log "$d/deleted" --limit 20 \
        2>"$d/server.err" &
    spid=$!
    wait_file "$d/port" 10
    sed -i "s/^port .*/port $(cat "$d/port")/" "$d/rc"
    st=0
    (cd "$d" && HOME=$d timeout 30 "$client" -C "$d/rc" hostile \
        >"$d/out" 2>&1 </dev/null) || st=$?
    kill_wait "$spid" 5 >/dev/null 2>&1
    is "$st/$(xargs <"$d/deleted" 2>/dev/null)/$(find "$d/Maildir/new" -type f | wc -l)" \
        "0/1 2/2" "replay: the next run counts both once and deletes them"
}
replay_case

done_testing
