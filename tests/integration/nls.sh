#!/bin/bash
# Translations: po/POTFILES.in names every source file with translatable
# strings; the German and French catalogs are complete (no fuzzy or
# untranslated entries, also against a template made from the current
# sources) and pass msgfmt --check; src/mpop run under LANGUAGE=de and
# LANGUAGE=fr prints its errors and help in that language.
#
# The catalogs are compiled from po/*.po into $T and found through
# MPOP_LOCALEDIR, so the test runs before "make install".  No de_DE or
# fr_FR locale is needed: glibc honours LANGUAGE in any locale other than
# C/POSIX, and C.UTF-8 is enough.
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

: "${MPOP:=${top_builddir:-.}/src/mpop}"
: "${top_srcdir:=$(dirname "$0")/../..}"
[ -x "$MPOP" ] || bail_out "$MPOP not built"
command -v msgfmt >/dev/null 2>&1 || bail_out "msgfmt (gettext) not found"

PO="$top_srcdir/po"
LANGS="de fr"

export HOME="$T/home"
unset XDG_CONFIG_HOME LANGUAGE
export LC_ALL=C
mkdir -p "$HOME"

# A UTF-8 locale that is not C/POSIX (glibc ignores LANGUAGE in "C").
LOC=
for l in C.UTF-8 C.utf8 en_US.UTF-8 de_DE.UTF-8 fr_FR.UTF-8; do
    if [ "$(LC_ALL=$l locale charmap 2>"$T/locale.err")" = UTF-8 ] &&
       [ ! -s "$T/locale.err" ]; then
        LOC=$l
        break
    fi
done

# run LANGUAGE ARGS...: run mpop translated; sets OUT, ERR and CODE.
run()
{
    local lang=$1
    shift
    CODE=0
    LC_ALL=$LOC LANG=$LOC LANGUAGE=$lang MPOP_LOCALEDIR="$T/locale" \
        "$MPOP" "$@" >"$T/out" 2>"$T/err" || CODE=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}

# stats FILE.po: msgfmt's statistics line (with --check).
stats()
{
    msgfmt --check --statistics -o /dev/null "$1" 2>&1
}

plan 28

# 1-2: POTFILES.in lists exactly the files that use _(), N_() or ngettext().
want=$(cd "$top_srcdir" &&
       grep -lE '(^|[^[:alnum:]_])(N?_|n?gettext)\(' src/*.c | LC_ALL=C sort)
have=$(grep -v '^[[:space:]]*\(#\|$\)' "$PO/POTFILES.in" | LC_ALL=C sort)
missing=$(LC_ALL=C comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$have"))
stale=$(LC_ALL=C comm -13 <(printf '%s\n' "$want") <(printf '%s\n' "$have"))
is "$missing" "" "POTFILES.in names every source file with messages"
is "$stale" "" "POTFILES.in names no file without messages"

# 3: the template from the current sources, with po/Makevars' options.
POT=
read -r -a xopts <<<"$(sed -n 's/^XGETTEXT_OPTIONS *= *//p' "$PO/Makevars")"
if command -v xgettext >/dev/null 2>&1 &&
   (cd "$top_srcdir" && xgettext --default-domain=mpop --language=C \
        --package-name=mpop "${xopts[@]}" \
        --files-from=po/POTFILES.in -o "$T/mpop.pot") 2>"$T/xgettext.err"
then
    POT="$T/mpop.pot"
    pass "xgettext makes a template from POTFILES.in"
else
    fail "xgettext makes a template from POTFILES.in"
    diag "$(cat "$T/xgettext.err" 2>/dev/null)"
fi

# 4-11 (4 per language): header, completeness, completeness against the
# current template, and the compiled catalog.
for l in $LANGS; do
    f="$PO/$l.po"
    hdr=$(sed -n '/^msgid ""$/,/^$/p' "$f")
    want="*Project-Id-Version: mpop*Language: $l\\\\n*charset=UTF-8"
    like "$hdr" "$want*Plural-Forms: nplurals=2;*" \
        "$l.po: header names mpop, $l, UTF-8 and the plural forms"
    s=$(stats "$f")
    like "$s" "+([0-9]) translated messages." \
        "$l.po: msgfmt --check passes; no fuzzy or untranslated entries"
    if [ -n "$POT" ]; then
        msgmerge --quiet --lang="$l" -o "$T/$l.merged.po" "$f" "$POT" \
            2>"$T/msgmerge.err"
        s=$(stats "$T/$l.merged.po")
        like "$s" "+([0-9]) translated messages." \
            "$l.po translates every message of the current sources"
        [[ $s == +([0-9])\ translated\ messages. ]] ||
            diag "run 'make -C po update-po' and translate po/$l.po"
    else
        skip "$l.po against the current sources: no template"
    fi
    mkdir -p "$T/locale/$l/LC_MESSAGES"
    ok "msgfmt --check -o '$T/locale/$l/LC_MESSAGES/mpop.mo' '$f'" \
        "$l.po compiles"
done

# skip_rest REASON: skip the tests left in the plan, then finish.
skip_rest()
{
    while [ "$TAP_N" -lt "$TAP_PLAN" ]; do
        skip "$1"
    done
    done_testing
}

[ -n "$LOC" ] || skip_rest "no UTF-8 locale other than C/POSIX (locale -a)"
diag "locale: $LOC"

run "" --version
[[ $OUT == *"NLS: enabled"* ]] || skip_rest "mpop built without NLS"

RC="$T/rc"
cat >"$RC" <<'EOF'
account one
host pop.example.org
user joe
delivery mbox ~/mbox
EOF
chmod 600 "$RC"

# 12-14: untranslated without LANGUAGE (and the exit codes to compare).
run "" -C "$RC" nosuch
is "$ERR" "mpop: $RC: no account nosuch" "no LANGUAGE: English error"
C_NOACC=$CODE
run "" --bogus
like "$ERR" "*unrecognized option '--bogus'*" "no LANGUAGE: English usage error"
C_BOGUS=$CODE
run "" --help
like "$OUT" "*Configuration options:*" "no LANGUAGE: English help"

# 15-21: German.
run de -C "$RC" nosuch
is "$ERR" "mpop: $RC: kein Konto nosuch" \
    "LANGUAGE=de: unknown account in German"
is "$CODE" "$C_NOACC" "LANGUAGE=de: same exit code ($C_NOACC)"
run de --bogus
like "$ERR" "*unbekannte Option '--bogus'*" "LANGUAGE=de: usage error in German"
like "$ERR" "*Weitere Informationen erhalten Sie mit 'mpop --help'.*" \
    "LANGUAGE=de: the --help hint in German"
is "$CODE" "$C_BOGUS" "LANGUAGE=de: usage error exit code ($C_BOGUS)"
run de --help
like "$OUT" \
    "*Konfigurationsoptionen:*--tls-min-dh-prime-bits=*Optionen für den*" \
    "LANGUAGE=de: help in German, option names kept"
run de --pretend -C "$RC" one
like "$OUT" "*verwende Konto one aus $RC*timeout = 180 Sekunden*" \
    "LANGUAGE=de: --pretend in German, plural form"

# 22-28: French (plural=(n > 1): a different rule from German).
run fr -C "$RC" nosuch
is "$ERR" "mpop: $RC : aucun compte nosuch" \
    "LANGUAGE=fr: unknown account in French"
is "$CODE" "$C_NOACC" "LANGUAGE=fr: same exit code ($C_NOACC)"
run fr --bogus
like "$ERR" "*option '--bogus' non reconnue*" \
    "LANGUAGE=fr: usage error in French"
like "$ERR" "*Essayez 'mpop --help' pour plus d'informations.*" \
    "LANGUAGE=fr: the --help hint in French"
is "$CODE" "$C_BOGUS" "LANGUAGE=fr: usage error exit code ($C_BOGUS)"
run fr --help
like "$OUT" \
    "*Options de configuration :*--tls-min-dh-prime-bits=*Options propres*" \
    "LANGUAGE=fr: help in French, option names kept"
run fr --pretend -C "$RC" one
like "$OUT" "*utilisation du compte one de $RC*timeout = 180 secondes*" \
    "LANGUAGE=fr: --pretend in French, plural form"

done_testing
