#!/bin/bash
# Emacs Rmail, for real: `emacs --batch` (Debian's emacs-nox, unmodified,
# started with -Q) with rmail-movemail-program set to mpop-movemail fetches
# from dovecot into an RMAIL file:
#   - Rmail takes us for a GNU Mailutils movemail (from the first line of
#     our --version), so it hands us pop:// and pops:// URLs unchanged and
#     passes --emacs;
#   - pop:// with the password in the URL (Rmail passes it as an argument),
#     once deleting the inbox, once with rmail-preserve-inbox;
#   - pops:// against dovecot's implicit-TLS port with a private CA, whose
#     trust file (and the password) come from the user's mpoprc account for
#     that host and user; deleted and preserved; ;AUTH=PLAIN in the URL;
#   - the old po:USER:HOST form Rmail uses when it takes a movemail for
#     Emacs's own: the mpoprc account makes it implicit TLS with the CA;
#   - a wrong password: Rmail shows our message without the error code,
#     forgets the password, and the server keeps every mail.
# What Rmail stored is compared byte for byte (its attribute header taken
# out, the From_ dates normalised).
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"
. "$TESTLIB/certs.sh"
. "$TESTLIB/dovecot.sh"

: "${MPOP:=${top_builddir:-.}/src/mpop}"
EMACS=${EMACS:-$(command -v emacs 2>/dev/null)}
[ -n "$EMACS" ] || skip_all "emacs is not installed (Debian: emacs-nox)"
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    skip_all "dovecot is not installed"

dovecot_start plain "$T/plain" >"$T/dc.err" 2>&1 ||
    skip_all "dovecot does not start: $(head -c 300 "$T/dc.err")"
P_PORT=$DOVECOT_PORT P_DIR=$DOVECOT_DIR
dovecot_start tls "$T/tls" >"$T/dc.err" 2>&1 ||
    skip_all "dovecot (TLS) does not start: $(head -c 300 "$T/dc.err")"
S_PORT=$DOVECOT_PORT S_DIR=$DOVECOT_DIR CA=$DOVECOT_CA
U=$DOVECOT_USER PW=$DOVECOT_PASS

plan 31

# Rmail finds the movemail it is given; the name matters for nothing here
# but is the one the manual recommends.
ln -s "$(cd "$(dirname "$MPOP")" && pwd)/$(basename "$MPOP")" \
    "$T/mpop-movemail"
export HOME=$T/home
mkdir -p "$HOME"

printf 'Return-Path: <alice@example.org>\nFrom: alice@example.org\nSubject: one\n\nFrom the start\n>From quoted\n.dot\n' >"$T/m1"
printf 'Return-Path: <bob@example.org>\r\nSubject: two\r\n\r\nCRLF body\r\n' >"$T/m2"
printf 'Subject: three\n\nlast one\n' >"$T/m3"
fill()
{
    rm -f "$1"/Maildir/new/* "$1"/Maildir/cur/*
    for f in m1 m2 m3; do
        maildir_add "$1" "$T/$f"
        sleep 0.01
    done
}

# What Rmail keeps of each mail: our mbox (From_ line, MBOXRD quoting, LF
# line ends), with its X-RMAIL-ATTRIBUTES header line added; we drop that
# line and normalise the date.
expect()
{
    local f
    for f in "$@"; do
        case $f in
            m1) printf 'From alice@example.org DATE\nReturn-Path: <alice@example.org>\nFrom: alice@example.org\nSubject: one\n\n>From the start\n>>From quoted\n.dot\n\n' ;;
            m2) printf 'From bob@example.org DATE\nReturn-Path: <bob@example.org>\nSubject: two\n\nCRLF body\n\n' ;;
            m3) printf 'From MAILER-DAEMON DATE\nSubject: three\n\nlast one\n\n' ;;
        esac
    done
}
norm()
{
    [ -f "$1" ] || return 0
    grep -v '^X-RMAIL-ATTRIBUTES: ' "$1" |
        sed -E 's/^(From [^ ]+) .*/\1 DATE/'
}

cat >"$T/drive.el" <<'EOF'
;; Rmail as a user sets it up in ~/.emacs: the movemail program is named
;; before rmail.el is loaded, which is when Rmail asks it what it is.
(setq rmail-movemail-program (getenv "MM_PROG"))
(setq rmail-file-name (getenv "RMAIL_FILE"))
(setq rmail-primary-inbox-list (list (getenv "INBOX")))
(setq rmail-preserve-inbox (equal (getenv "PRESERVE") "1"))
(require 'rmail)
(when (equal (getenv "VARIANT") "emacs")
  (setq rmail-movemail-variant-in-use 'emacs))
(princ (format "variant: %s\n" rmail-movemail-variant-in-use))
(rmail)
(princ (format "total: %d\n" rmail-total-messages))
(with-current-buffer rmail-buffer (save-buffer))
EOF

# rmail_run NAME INBOX PRESERVE [VARIANT]: one Emacs, output in $T/NAME.out
# (standard output: what drive.el prints) and $T/NAME.err (Emacs's
# messages), RMAIL file $T/NAME.RMAIL.
rmail_run()
{
    MM_PROG=$T/mpop-movemail RMAIL_FILE=$T/$1.RMAIL INBOX=$2 PRESERVE=$3 \
        VARIANT=${4:-} timeout 120 "$EMACS" --batch -Q -l "$T/drive.el" \
        >"$T/$1.out" 2>"$T/$1.err"
}

# --- Rmail asks what we are -------------------------------------------------
like "$("$T/mpop-movemail" --version | head -n 1)" "movemail (GNU Mailutils*" \
    "--version starts as Rmail needs"

# --- pop://, password in the URL, inbox deleted -------------------------------
fill "$P_DIR"
rmail_run pop "pop://$U:$PW@127.0.0.1:$P_PORT" 0
is "$?" 0 "pop://: emacs exits 0"
like "$(cat "$T/pop.out")" "variant: mailutils*total: 3*" \
    "pop://: Rmail took us for Mailutils' movemail and read 3 mails"
is "$(norm "$T/pop.RMAIL")" "$(expect m1 m2 m3)" "pop://: the RMAIL file, byte for byte"
is "$(maildir_count "$P_DIR")" 0 "pop://: the server deleted the mails"
is "$(grep -c 'movemail: ' "$T/pop.err")" 0 "pop://: no movemail error shown"

# --- pop://, rmail-preserve-inbox -------------------------------------------------
fill "$P_DIR"
rmail_run popkeep "pop://$U:$PW@127.0.0.1:$P_PORT" 1
is "$?" 0 "pop:// preserved: emacs exits 0"
is "$(norm "$T/popkeep.RMAIL")" "$(expect m1 m2 m3)" "pop:// preserved: the RMAIL file"
is "$(maildir_count "$P_DIR")" 3 "pop:// preserved: the server keeps the mails"
# Again: with the inbox preserved, Rmail gets the same mails once more.
rmail_run popkeep "pop://$U:$PW@127.0.0.1:$P_PORT" 1
is "$(norm "$T/popkeep.RMAIL")" "$(expect m1 m2 m3 m1 m2 m3)" \
    "pop:// preserved, second run: appended after the first three"

# --- pops:// with a private CA from the mpoprc account ---------------------------
printf 'account rmail\nhost 127.0.0.1\nuser %s\npassword %s\ntls on\ntls_starttls off\ntls_trust_file %s\n' \
    "$U" "$PW" "$CA" >"$HOME/.mpoprc"
chmod 600 "$HOME/.mpoprc"
fill "$S_DIR"
rmail_run pops "pops://$U@127.0.0.1:$S_PORT" 0
is "$?" 0 "pops://: emacs exits 0"
like "$(cat "$T/pops.out")" "variant: mailutils*total: 3*" "pops://: 3 mails read"
is "$(norm "$T/pops.RMAIL")" "$(expect m1 m2 m3)" "pops://: the RMAIL file, byte for byte"
is "$(maildir_count "$S_DIR")" 0 "pops://: the server deleted the mails"
like "$(cat "$T/tls/dovecot.log")" "*TLS*" "pops://: dovecot saw a TLS session"

fill "$S_DIR"
rmail_run popskeep "pops://$U;AUTH=PLAIN@127.0.0.1:$S_PORT" 1
is "$?" 0 "pops:// preserved, ;AUTH=PLAIN: emacs exits 0"
is "$(norm "$T/popskeep.RMAIL")" "$(expect m1 m2 m3)" "pops:// preserved: the RMAIL file"
is "$(maildir_count "$S_DIR")" 3 "pops:// preserved: the server keeps the mails"

# Without the account, the private CA is not trusted: nothing is fetched,
# and Rmail shows why.
mv "$HOME/.mpoprc" "$HOME/mpoprc.off"
rmail_run untrusted "pops://$U:$PW@127.0.0.1:$S_PORT" 1
like "$(cat "$T/untrusted.err")" "*movemail: *certificate*" \
    "pops:// without the trust file: Rmail shows the certificate error"
is "$(norm "$T/untrusted.RMAIL")" "" "pops:// untrusted: nothing in RMAIL"
is "$(maildir_count "$S_DIR")" 3 "pops:// untrusted: the server keeps the mails"
mv "$HOME/mpoprc.off" "$HOME/.mpoprc"

# --- the po: form (Rmail with Emacs's own movemail flavour) --------------------
# Rmail turns pop://USER@HOST:PORT into po:USER:HOST:PORT, which can name
# neither TLS nor a trust file: the mpoprc account for that host and user
# supplies both.
fill "$S_DIR"
rmail_run po "pop://$U@127.0.0.1:$S_PORT" 0 emacs
is "$?" 0 "po: form: emacs exits 0"
like "$(cat "$T/po.out")" "variant: emacs*total: 3*" "po: form: 3 mails read"
is "$(norm "$T/po.RMAIL")" "$(expect m1 m2 m3)" "po: form: the RMAIL file"
is "$(maildir_count "$S_DIR")" 0 "po: form over TLS: the server deleted the mails"

# --- a wrong password ---------------------------------------------------------
rm -f "$HOME/.mpoprc"
fill "$P_DIR"
rmail_run wrong "pop://$U:wrong@127.0.0.1:$P_PORT" 0
like "$(cat "$T/wrong.err")" "*movemail: *" "wrong password: Rmail shows an error"
is "$(grep -c 'MU_ERR_AUTH_FAILURE\|mpop: ' "$T/wrong.err")" 0 \
    "wrong password: Rmail stripped the prefix and the error code"
is "$(norm "$T/wrong.RMAIL")" "" "wrong password: nothing in RMAIL"
is "$(maildir_count "$P_DIR")" 3 "wrong password: the server keeps the mails"
# What Rmail matched to forget the password: our --emacs error line.
"$T/mpop-movemail" --emacs "pop://$U:wrong@127.0.0.1:$P_PORT" "$T/x.mbox" \
    >"$T/direct.out" 2>&1
is "$?" 77 "wrong password, --emacs: exit 77"
like "$(cat "$T/direct.out")" "movemail: MU_ERR_AUTH_FAILURE: *" \
    "wrong password, --emacs: the code Rmail looks for"

done_testing
