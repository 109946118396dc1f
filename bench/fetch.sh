#!/bin/bash
# Retrieval benchmark (issue 4): our mpop against Debian's mpop 1.4.18 (and
# fetchmail/getmail for the 2000-mail maildir run), same local dovecot,
# same mails, no added delay.
#
#   bench/fetch.sh [--quick]
#
#   maildir 2000 x 4 KiB   keep off, into an empty maildir
#   mbox    2000 x 4 KiB   keep off, into an empty mbox
#   maildir 20 x 5 MiB     keep off
#   rescan  20,000 seen    keep on, every mail already in the UIDLs file
#   instructions per MiB   callgrind, client process only, maildir 2000 run
#   peak memory            max RSS fetching one 5 MiB and one 500 MiB mail
#   mda     2000 x 4 KiB   delivery mda (an MDA that writes into a maildir)
#   peak memory, mda       max RSS of one 5 MiB and one 500 MiB mail through
#                          `delivery mda "cat >/dev/null"`
#
# Times are medians of REPS (default 5) paired runs; the order of the two
# mpops alternates from pair to pair.  CPU is user+sys of the client and
# its children (wait4).  --quick: REPS=1, no 500 MiB mail, no callgrind.
# --mda: only the mda rows (with ORIG_MPOP=another build of ours, the
# before/after of a change in one run).
# The W_, C_, R_, E_, I_ and M_ variables are set through eval.
# shellcheck disable=SC2154
. "$(dirname "$0")/lib.sh"

REPS=${REPS:-5}
BIG=${BIG_MIB:-500}
CALLGRIND=1
MDA_ONLY=0
case ${1:-} in
    --quick) REPS=1 BIG=0 CALLGRIND=0 ;;
    --mda) MDA_ONLY=1 ;;
esac

bench_need python3 "$ORIG_MPOP" || exit 1
bench_dovecot "$T/dovecot"

# row LABEL OURS ORIG TARGET: one table line with the ratio ours/orig.
row()
{
    printf '%-28s %10s %10s %7s  %s\n' "$1" "$2" "$3" "$(bench_ratio "$2" "$3")" "$4"
}

# client_run WHO KIND EXPECT LOG: run one fetch of WHO (ours|orig) with the
# configuration $T/rc-WHO; print "WALL CPU MAXRSS OK" where OK is 1 if it
# exited 0 and delivered EXPECT mails (KIND maildir|mbox|none).
client_run()
{
    local who=$1 kind=$2 expect=$3 log=$4 prog m wall cpu rss rc got ok=1
    [ "$who" = ours ] && prog=$MPOP || prog=$ORIG_MPOP
    m=$(bench_run "$log" "$prog" -C "$T/rc-$who" -q bench)
    read -r wall u s rss rc <<<"$m"
    cpu=$(python3 -c "print('%.4f' % ($u + $s))")
    case $kind in
        maildir|rescan) got=$(bench_count_new "$T/md-$who") ;;
        mbox) got=$(grep -c '^From ' "$T/mbox-$who" 2>/dev/null) ;;
        *) got=$expect ;;
    esac
    if [ "$rc" -ne 0 ] || [ "$got" -ne "$expect" ]; then
        ok=0
        echo "(exit $rc, $got of $expect mails)" >>"$log"
    fi
    echo "$wall $cpu $rss $ok"
}

# pairs NAME TEMPLATE KIND EXPECT: REPS paired runs with the mailbox
# restored before each; sets W_ours W_orig C_ours C_orig R_ours R_orig
# (medians; "fail" when a run failed) and E_ours (the failing run's last
# line of output).
pairs()
{
    local name=$1 tpl=$2 kind=$3 expect=$4 i who order
    local -A wl cl rl bad
    E_ours='' E_orig=''
    for ((i = 0; i < REPS; i++)); do
        if ((i % 2)); then order="orig ours"; else order="ours orig"; fi
        for who in $order; do
            [ -n "$tpl" ] && bench_restore "$tpl"
            if [ "$kind" = maildir ]; then
                bench_maildir "$T/md-$who"
                rm -f "$T/uidls-$who"
            elif [ "$kind" = rescan ]; then
                bench_maildir "$T/md-$who"
            elif [ "$kind" = mbox ]; then
                rm -f "$T/mbox-$who" "$T/uidls-$who"
            fi
            read -r w c r ok <<<"$(client_run "$who" "$kind" "$expect" \
                "$T/log-$who")"
            if [ "$ok" = 1 ]; then
                wl[$who]+="$w " cl[$who]+="$c " rl[$who]+="$r "
            else
                bad[$who]=1
                eval "E_$who=\$(grep -v '^ *\$' \"\$T/log-$who\" | tail -n 2 | cut -c1-60 | tr '\n' ' ')"
            fi
        done
    done
    for who in ours orig; do
        if [ -n "${bad[$who]:-}" ] || [ -z "${wl[$who]:-}" ]; then
            eval "W_$who=fail C_$who=fail R_$who=fail"
        else
            # shellcheck disable=SC2086
            eval "W_$who=\$(bench_median ${wl[$who]})"
            # shellcheck disable=SC2086
            eval "C_$who=\$(bench_median ${cl[$who]})"
            eval "R_$who=\$(echo ${rl[$who]} | tr ' ' '\n' | sort -n | tail -n 1)"
        fi
    done
}

note_fail()
{
    [ -z "$E_ours" ] || echo "   ours failed: $E_ours"
    [ -z "$E_orig" ] || echo "   1.4.18 failed: $E_orig"
}

config()
{
    # config DELIVERY-OF-ours DELIVERY-OF-orig MORE...
    local d1=$1 d2=$2
    shift 2
    bench_mpoprc "$T/rc-ours" "$DOVECOT_PORT" "$d1" "$T/uidls-ours" "$@"
    bench_mpoprc "$T/rc-orig" "$DOVECOT_PORT" "$d2" "$T/uidls-orig" "$@"
}

echo "fetch.sh: $REPS paired runs per figure; ours: $MPOP; the other: $ORIG_MPOP"
bench_template "$T/tpl-2000" 2000 4096
MIB_2000=$(python3 -c "print(2000 * 4096 / 1048576)")

bench_hr "Retrieval, local dovecot, no delay (issue 4); medians of $REPS"
printf '%-28s %10s %10s %7s  %s\n' figure ours 1.4.18 ratio target

cat >"$T/md-mda" <<'EOF'
#!/bin/sh
f=$(mktemp "$1/tmp/mda.XXXXXXXX") && cat >"$f" && mv "$f" "$1/new/"
EOF
chmod 755 "$T/md-mda"

# mda_rows: 2000 x 4 KiB through an MDA that writes into a maildir.
mda_rows()
{
    config "mda $T/md-mda $T/md-ours" "mda $T/md-mda $T/md-orig" "keep off"
    pairs maildir "$T/tpl-2000" maildir 2000
    row "mda 2000x4K wall s" "$W_ours" "$W_orig" ""
    row "mda 2000x4K CPU s" "$C_ours" "$C_orig" ""
    note_fail
}

if [ "$MDA_ONLY" = 1 ]; then
    mda_rows
else
# --- 2000 x 4 KiB into a maildir -----------------------------------------
config "maildir $T/md-ours" "maildir $T/md-orig" "keep off"
pairs maildir "$T/tpl-2000" maildir 2000
row "maildir 2000x4K wall s" "$W_ours" "$W_orig" "<= 0.8"
row "maildir 2000x4K CPU s" "$C_ours" "$C_orig" "<= 0.5"
note_fail

# --- 2000 x 4 KiB into an mbox -------------------------------------------
config "mbox $T/mbox-ours" "mbox $T/mbox-orig" "keep off"
pairs mbox "$T/tpl-2000" mbox 2000
row "mbox 2000x4K wall s" "$W_ours" "$W_orig" "<= 0.8"
row "mbox 2000x4K CPU s" "$C_ours" "$C_orig" "<= 0.5"
note_fail

# --- 20 x 5 MiB ----------------------------------------------------------
bench_template "$T/tpl-5m" 20 $((5 << 20))
config "maildir $T/md-ours" "maildir $T/md-orig" "keep off"
pairs maildir "$T/tpl-5m" maildir 20
row "maildir 20x5M wall s" "$W_ours" "$W_orig" "<= 1.0"
row "maildir 20x5M CPU s" "$C_ours" "$C_orig" ""
note_fail
rm -rf "$T/tpl-5m"

# --- rescan of 20,000 seen mails -----------------------------------------
bench_template "$T/tpl-20k" 20000 1024
bench_restore "$T/tpl-20k"
rm -rf "$T/tpl-20k"
config "maildir $T/md-ours" "maildir $T/md-orig" "keep on"
# Mark every mail as seen without fetching (killsize 0 under keep).
for who in ours orig; do
    rm -f "$T/uidls-$who"
    bench_maildir "$T/md-$who"
    [ "$who" = ours ] && prog=$MPOP || prog=$ORIG_MPOP
    bench_run "$T/log-$who" "$prog" -C "$T/rc-$who" -q --killsize=0 bench \
        >/dev/null
done
pairs rescan "" rescan 0
row "rescan 20000 seen wall s" "$W_ours" "$W_orig" "<= 1.0"
row "rescan 20000 seen CPU s" "$C_ours" "$C_orig" ""
note_fail

# --- instructions per MiB ------------------------------------------------
if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
    config "maildir $T/md-ours" "maildir $T/md-orig" "keep off"
    for who in ours orig; do
        [ "$who" = ours ] && prog=$MPOP || prog=$ORIG_MPOP
        bench_restore "$T/tpl-2000"
        bench_maildir "$T/md-$who"
        rm -f "$T/uidls-$who" "$T/cg-$who"
        m=$(bench_run "$T/log-$who" valgrind --tool=callgrind \
            --callgrind-out-file="$T/cg-$who" "$prog" -C "$T/rc-$who" -q bench)
        got=$(bench_count_new "$T/md-$who")
        if [ "$(echo "$m" | cut -d' ' -f5)" -eq 0 ] && [ "$got" -eq 2000 ]; then
            eval "I_$who=\$(python3 -c \"print('%.1f' % (\$($BL ir "$T/cg-$who") / $MIB_2000 / 1e6))\")"
        else
            eval "I_$who=fail"
        fi
    done
    row "Minstr per MiB (callgrind)" "$I_ours" "$I_orig" "<= 0.25"
fi

# --- mda ---------------------------------------------------------------------
mda_rows
fi

# --- peak memory ---------------------------------------------------------
big_rss()
{
    # big_rss BYTES [mda]: max RSS (KiB) of each client fetching one mail
    # of BYTES into a maildir, or with mda through `cat >/dev/null`
    local bytes=$1 via=${2:-maildir} who
    rm -rf "$T/tpl-big"
    mkdir -p "$T/tpl-big/new" "$T/tpl-big/cur" "$T/tpl-big/tmp"
    $BL genbig "$T/tpl-big/new/1700000000.M1P1.big,S=$bytes" "$bytes"
    bench_own "$T/tpl-big"
    if [ "$via" = mda ]; then
        config "mda cat >/dev/null" "mda cat >/dev/null" "keep off"
    else
        config "maildir $T/md-ours" "maildir $T/md-orig" "keep off"
    fi
    for who in ours orig; do
        bench_restore "$T/tpl-big"
        bench_maildir "$T/md-$who"
        rm -f "$T/uidls-$who"
        read -r w c r ok <<<"$(client_run "$who" "$via" 1 "$T/log-$who")"
        [ "$ok" = 1 ] && eval "M_$who=$r" || eval "M_$who=fail"
        rm -rf "$T/md-$who"
    done
    rm -rf "$T/tpl-big" "$DOVECOT_MAILDIR"
    mkdir -p "$DOVECOT_MAILDIR"
}
for via in maildir mda; do
    [ "$MDA_ONLY" = 1 ] && [ "$via" = maildir ] && continue
    big_rss $((5 << 20)) "$via"
    row "max RSS KiB, 5 MiB, $via" "$M_ours" "$M_orig" "flat"
    if [ "$BIG" -gt 0 ]; then
        need=$(( BIG * 3 * 1024 ))
        avail=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
        if [ "$avail" -gt "$need" ]; then
            big_rss $((BIG << 20)) "$via"
            row "max RSS KiB, $BIG MiB, $via" "$M_ours" "$M_orig" \
                "= 5 MiB row"
        else
            echo "(skipped the $BIG MiB mail: only $((avail / 1024)) MiB free)"
        fi
    fi
done
[ "$MDA_ONLY" = 1 ] && exit 0

# --- other clients, 2000 x 4 KiB into a maildir --------------------------
bench_hr "Other clients, maildir 2000x4K, one run each"
printf '%-28s %10s %10s\n' client "wall s" "CPU s"
cat >"$T/fm-mda" <<'EOF'
#!/bin/sh
f=$(mktemp "$1/tmp/fm.XXXXXXXX") && cat >"$f" && mv "$f" "$1/new/"
EOF
chmod 755 "$T/fm-mda"
other()
{
    local name=$1 m w u s r rc got
    shift
    m=$(bench_run "$T/log-other" "$@")
    read -r w u s r rc <<<"$m"
    got=$(bench_count_new "$T/md-other")
    if [ "$rc" -eq 0 ] && [ "$got" -eq 2000 ]; then
        printf '%-28s %10.2f %10.2f\n' "$name" "$w" \
            "$(python3 -c "print($u + $s)")"
    else
        printf '%-28s %10s   exit %s, %s mails: %s\n' "$name" fail "$rc" \
            "$got" "$(tail -n 1 "$T/log-other" | cut -c1-50)"
    fi
}
if command -v fetchmail >/dev/null; then
    bench_restore "$T/tpl-2000"
    bench_maildir "$T/md-other"
    cat >"$T/fetchmailrc" <<EOF
set no syslog
poll 127.0.0.1 service $DOVECOT_PORT protocol pop3 auth password
    user "$DOVECOT_USER" there with password "$DOVECOT_PASS" is root here
    mda "$T/fm-mda $T/md-other"
    fetchall nokeep sslproto ''
EOF
    chmod 600 "$T/fetchmailrc"
    HOME=$T other "fetchmail (mda per mail)" fetchmail -f "$T/fetchmailrc" \
        -i "$T/fm.ids" --nosyslog --silent
fi
if command -v getmail >/dev/null; then
    bench_restore "$T/tpl-2000"
    bench_maildir "$T/md-other"
    bench_own "$T/md-other"
    mkdir -p "$T/gm"
    cat >"$T/getmailrc" <<EOF
[retriever]
type = SimplePOP3Retriever
server = 127.0.0.1
port = $DOVECOT_PORT
username = $DOVECOT_USER
password = $DOVECOT_PASS

[destination]
type = Maildir
path = $T/md-other/
user = $(dovecot_mail_user)

[options]
delete = true
read_all = true
verbose = 0
EOF
    HOME=$T other "getmail" getmail --getmaildir="$T/gm" \
        --rcfile="$T/getmailrc"
fi
echo "ratio = ours / 1.4.18; targets from issue 4 (CPU and wall at equal"
echo "durability; instructions per MiB of mail; memory flat with mail size)."
