#!/bin/bash
# --log=FILE and --summary=json against dovecot: one log line per mail
# (delivered, skipped, killed, filtered, deleted) and one per account; the
# JSON parsed with python3 and its facts checked; the account totals of
# both agree with their per-mail records (delete, skip, kill and both
# filter outcomes); the normal output is the same with and without these
# options.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

: "${MPOP:=${top_builddir:-.}/src/mpop}"
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
dovecot_start plain "$T/dc" >"$T/dc.err" 2>&1 ||
    skip_all "dovecot does not start: $(head -c 300 "$T/dc.err")"

plan 20

fill()
{
    rm -f "$DOVECOT_MAILDIR"/new/* "$DOVECOT_MAILDIR"/cur/*
    printf 'Subject: small\n\nsmall\n' >"$T/m1"
    printf 'Subject: big\n\n%s\n' "$(head -c 5000 /dev/zero | tr '\0' x)" >"$T/m2"
    printf 'Subject: drop me\n\nfiltered\n' >"$T/m3"
    printf 'Subject: medium\n\n%s\n' "$(head -c 1500 /dev/zero | tr '\0' y)" >"$T/m4"
    printf 'Subject: keep me\n\nleft\n' >"$T/m5"
    for f in m1 m2 m3 m4 m5; do
        maildir_add "$DOVECOT_DIR" "$T/$f"
        sleep 0.01
    done
}
fill
mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
# The filter: exit 1 (delete) for the "drop me" mail, 2 (skip) for the
# "keep me" mail, 0 otherwise.
cat >"$T/filter" <<'EOF2'
#!/bin/sh
h=$(cat)
case $h in
*"Subject: drop me"*) exit 1 ;;
*"Subject: keep me"*) exit 2 ;;
esac
exit 0
EOF2
chmod +x "$T/filter"
cat >"$T/rc" <<EOF2
defaults
host 127.0.0.1
port $DOVECOT_PORT
user $DOVECOT_USER
password $DOVECOT_PASS
auth user
tls off
received_header off
uidls_file $T/uidls
account "my acct"
delivery maildir $T/md
killsize 4000
skipsize 1000
filter $T/filter
account other
host 127.0.0.1
port $(free_port)
delivery maildir $T/md
EOF2
chmod 600 "$T/rc"

"$MPOP" -C "$T/rc" -Q "my acct" other --log="$T/log" --summary=json \
    >"$T/out" 2>"$T/err"
is "$?" 75 "exit code of the first failing account (other: refused)"

# The JSON is what follows the normal output: from the line "[" on.
sed -n '/^\[$/,$p' "$T/out" >"$T/json"
sed '/^\[$/,$d' "$T/out" >"$T/normal"
ok "python3 -m json.tool '$T/json'" "the summary is valid JSON"

facts=$(python3 - "$T/json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a, b = d
print(len(d), a['account'], a['exit_code'], a['mails'], a['delivered'],
      a['skipped'], a['killed'], a['filtered'], a['deleted'],
      a['where'] == 'maildir:' + sys.argv[1].rsplit('/', 1)[0] + '/md')
print(' '.join(m['action'] for m in a['messages']))
print(' '.join(str(m['deleted']) for m in a['messages']))
print(all(m['uid'] for m in a['messages']), a['bytes_delivered'] > 0,
      a['duration_seconds'] >= 0, isinstance(a['messages'][0]['size'], int))
print(b['account'], b['exit_code'], b['mails'], b['messages'], b['host'])
PY
)
is "$(sed -n 1p <<<"$facts")" "2 my acct 0 5 1 2 1 2 3 True" \
    "JSON: per-account totals"
is "$(sed -n 2p <<<"$facts")" "delivered killed filtered skipped filtered" \
    "JSON: per-mail actions in server order"
is "$(sed -n 3p <<<"$facts")" "True True True False False" \
    "JSON: deleted: delivered (keep off), killed, filtered (exit 1); not the skipped ones"

# Each total is what the per-mail records say (issue 20): deleted = records
# with deleted true, skipped = neither delivered nor deleted, delivered,
# killed and filtered by action.
# totals_agree: "ok" or what differs, for JSON objects on stdin (one per
# line: totals and records with keys as in the JSON).
totals_agree()
{
    python3 -c '
import json, sys
bad = []
for line in sys.stdin:
    a = json.loads(line)
    m = a["messages"]
    want = {
        "mails": len(m),
        "delivered": sum(x["action"] == "delivered" for x in m),
        "deleted": sum(x["deleted"] for x in m),
        "skipped": sum(x["action"] != "delivered" and not x["deleted"]
                       for x in m),
        "killed": sum(x["action"] == "killed" for x in m),
        "filtered": sum(x["action"] == "filtered" for x in m),
    }
    for k, v in want.items():
        if a[k] != v:
            bad.append("%s: %s=%s, records say %s" % (a["account"], k, a[k], v))
print("; ".join(bad) or "ok")'
}
is "$(python3 -c 'import json,sys
for a in json.load(open(sys.argv[1])): print(json.dumps(a))' "$T/json" |
    totals_agree)" ok "JSON: the totals agree with the per-mail records"
is "$(sed -n 4p <<<"$facts")" "True True True True" "JSON: uid, bytes, duration, size"
is "$(sed -n 5p <<<"$facts")" "other 75 0 [] 127.0.0.1" "JSON: the failed account"

"$MPOP" -C "$T/rc" -Q -s "my acct" >/dev/null 2>&1
fill
rm -rf "$T/md"; mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"; rm -f "$T/uidls"
"$MPOP" -C "$T/rc" -Q "my acct" >"$T/plain.out" 2>&1
is "$(cat "$T/normal")" "$(cat "$T/plain.out")" \
    "the normal output is unchanged by --log and --summary"

# The log file: 4 mail lines and 2 account lines, with time and pid.
is "$(grep -c . "$T/log")" 7 "log: one line per mail and per account"
like "$(sed -n 1p "$T/log")" \
    "20[0-9][0-9]-*T*mpop\[[0-9]*\]: account=\"my acct\" uid=* size=* action=delivered deleted=yes where=maildir:$T/md" \
    "log: the delivered mail with where it went"
like "$(sed -n 2p "$T/log")" "*account=\"my acct\" uid=* size=5* action=killed deleted=yes" \
    "log: the killed mail"
like "$(sed -n 3p "$T/log")" "*action=filtered deleted=yes" "log: the filtered mail"
like "$(sed -n 4p "$T/log")" "*size=1* action=skipped deleted=no" "log: the skipped mail"
like "$(sed -n 5p "$T/log")" "*action=filtered deleted=no" "log: the mail the filter skipped"
like "$(sed -n 6p "$T/log")" \
    "*account=\"my acct\" host=127.0.0.1 user=$DOVECOT_USER mails=5 delivered=1 skipped=2 deleted=3 killed=1 filtered=2 bytes=* exit=0 duration=*" \
    "log: the account line"
# The log's account line agrees with its own mail lines.
is "$(python3 - "$T/log" <<'PY' | totals_agree
import json, re, sys
mails, accts = [], []
for line in open(sys.argv[1]):
    kv = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line))
    if "action" in kv:
        mails.append({"action": kv["action"], "deleted": kv["deleted"] == "yes",
                      "account": kv["account"]})
    elif "mails" in kv:
        a = {k: int(kv[k]) for k in ("mails", "delivered", "deleted",
                                     "skipped", "killed", "filtered")}
        a["account"] = kv["account"]
        a["messages"] = [m for m in mails if m["account"] == kv["account"]]
        print(json.dumps(a))
PY
)" ok "log: the account lines agree with the mail lines"
like "$(sed -n 7p "$T/log")" "*account=other host=127.0.0.1 user=$DOVECOT_USER mails=0 * exit=75 duration=*" \
    "log: the failed account's line"

# -j with --summary: the same facts come back from the workers.
fill
rm -f "$T/uidls"
"$MPOP" -C "$T/rc" -q -j 2 "my acct" other --summary=json >"$T/j.out" 2>/dev/null
is "$?" 75 "-j 2 --summary: exit code"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([(a["account"], a["delivered"], a["exit_code"]) for a in d])' "$T/j.out")" \
    "[('my acct', 1, 0), ('other', 0, 75)]" "-j 2 --summary: the workers' facts"

done_testing
