#!/bin/bash
# Translations (issue 19): po/POTFILES.in names every source file with
# translatable strings; po/LINGUAS names every po/*.po; every catalog
# there has a correct header (its language, UTF-8, the plural rule of its
# language), passes msgfmt --check (which also checks format strings) and
# is complete: no fuzzy or untranslated entries, also once merged with a
# template made from the current sources.
#
# Then src/mpop runs under each language's own locale (LC_ALL=ll_CC.UTF-8,
# no LANGUAGE), generated with localedef into $T when the system lacks it,
# and must print a translated configuration error, a translated --help
# line and a translated --version line; its --help stays within 80
# columns in every language.  Finally some fixed German and French texts
# under LANGUAGE= (glibc honours LANGUAGE in any locale but C/POSIX, so
# C.UTF-8 is enough there).
#
# The catalogs are compiled from po/*.po into $T and found through
# MPOP_LOCALEDIR, so the test runs before "make install".
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

: "${MPOP:=${top_builddir:-.}/src/mpop}"
: "${top_srcdir:=$(dirname "$0")/../..}"
[ -x "$MPOP" ] || bail_out "$MPOP not built"
command -v msgfmt >/dev/null 2>&1 || bail_out "msgfmt (gettext) not found"

PO="$top_srcdir/po"
LANGS=$(sed -e 's/#.*//' "$PO/LINGUAS" | tr -s ' \t' '\n\n' | grep -v '^$')
NL=$(printf '%s\n' $LANGS | wc -l)

export HOME="$T/home"
unset XDG_CONFIG_HOME LANGUAGE LOCPATH
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

# has GOT TEXT MSG: pass when GOT contains TEXT (no pattern characters).
has()
{
    if [[ $1 == *"$2"* ]]; then
        tap_result 0 "$3"
    else
        tap_result 1 "$3" || true
        diag "       got: '$1'"
        diag "  expected: a text containing '$2'"
    fi
    return 0
}

# msgstr FILE.po MSGID: the translation of MSGID in FILE.po, or of the
# message whose first line is MSGID.
cat >"$T/pick" <<'EOF'
#!/bin/bash
[ "$MSGEXEC_MSGID" = "$1" ] || [ "${MSGEXEC_MSGID%%$'\n'*}" = "$1" ] || exit 0
cat
EOF
chmod +x "$T/pick"
msgstr()
{
    LC_ALL=$LOC msggrep --msgid -F -e "$2" "$1" |
        LC_ALL=$LOC msgexec "$T/pick" "$2"
}

# empty_plurals FILE.po: " N empty plural forms" when there are any.
empty_plurals()
{
    LC_ALL=$LOC msgattrib --no-obsolete --no-wrap "$1" |
        awk 'e && !/^"/ { n++ }
             { e = /^msgstr\[[0-9]+\] ""$/ }
             END { n += e; if (n) printf " %d empty plural forms", n }'
}

# plural_sig EXPR: the plural form EXPR picks for n = 0 1 2 5 11 21 22 101.
plural_sig()
{
    local n sig=
    # Only C arithmetic on n: bash would expand anything else.
    [[ $1 =~ ^[n0-9\ ()%?:\<\>=!\&\|+*/-]+$ ]] || return 1
    for n in 0 1 2 5 11 21 22 101; do
        sig="$sig$(( $1 ))"
    done
    echo "$sig"
}

# want_plural LANG: the plural forms of LANG as plural_sig shows them
# (gettext's and CLDR's rules: one/other, French one/other with 0 in one,
# Romanian one/few/other, East Slavic and Serbian one/few/many).
want_plural()
{
    case $1 in
        de|en|eo|es|sv|ka|ta) echo 10111111 ;;
        fr|pt_BR) echo 00111111 ;;
        ro) echo 10111221 ;;
        ru|uk|sr) echo 20122010 ;;
        *) echo "(no rule for $1 in nls.sh)" ;;
    esac
}

# locale_of LANG: the locale (without .UTF-8) whose messages are in LANG.
locale_of()
{
    case $1 in
        *_*|eo) echo "$1" ;;
        uk) echo uk_UA ;;
        sv) echo sv_SE ;;
        ka) echo ka_GE ;;
        ta) echo ta_IN ;;
        sr) echo sr_RS ;;
        *) echo "${1}_$(echo "$1" | tr '[:lower:]' '[:upper:]')" ;;
    esac
}

plan $((3 + 2 + 4 * NL + 4 + 6 * NL + 14))

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

# 4: LINGUAS names exactly the catalogs in po/.
have=$(cd "$PO" && for f in *.po; do echo "${f%.po}"; done | LC_ALL=C sort)
is "$(printf '%s\n' $LANGS | LC_ALL=C sort)" "$have" \
    "po/LINGUAS names every po/*.po and nothing else"

# Each language's locale, or where it is being generated (in the
# background, two at a time, while the catalogs are checked): the
# "locales" package has the sources; only this test sees the result.
declare -A LOCN LP
mkdir -p "$T/locales"
njobs=0
for l in $LANGS; do
    loc=$(locale_of "$l").UTF-8
    LOCN[$l]=$loc
    LP[$l]=
    if [ "$(LC_ALL=$loc locale charmap 2>"$T/locale.err")" != UTF-8 ] ||
       [ -s "$T/locale.err" ]; then
        LP[$l]="$T/locales"
        localedef -i "${loc%.UTF-8}" -f UTF-8 "$T/locales/$loc" \
            >"$T/localedef.$l.err" 2>&1 &
        njobs=$((njobs + 1))
        [ $((njobs % 2)) -ne 0 ] || wait
    fi
done

# 1: the manual and README name every language.
undoc=
for l in $LANGS; do
    grep -q "($l)" "$top_srcdir/doc/mpop.texi" || undoc="$undoc $l (doc/mpop.texi)"
    grep -q "[ (]$l[,)]" "$top_srcdir/README" || undoc="$undoc $l (README)"
done
is "$undoc" "" "doc/mpop.texi and README name every language of LINGUAS"

# 4 per language: header, completeness, completeness against the current
# template, and the compiled catalog.  CUR[l] is the catalog merged with
# the current template (the catalog itself when there is no template).
declare -A CUR
for l in $LANGS; do
    f="$PO/$l.po"
    CUR[$l]=$f
    hdr=$(LC_ALL=$LOC msggrep --msgid -E -e '^$' "$f" |
          LC_ALL=$LOC msgexec "$T/pick" "" 2>&1)
    pf=$(sed -n 's/^Plural-Forms: *nplurals=[0-9]*; *plural=\(.*\);.*/\1/p' \
         <<<"$hdr")
    sig=$(plural_sig "${pf:-x}" 2>/dev/null) || sig="(bad expression '$pf')"
    if [[ $hdr == *"Project-Id-Version: mpop"*"Language: $l"$'\n'* &&
          $hdr == *"charset=UTF-8"* ]]; then
        is "$sig" "$(want_plural "$l")" \
            "$l.po: header names mpop, $l, UTF-8 and $l's plural rule"
    else
        fail "$l.po: header names mpop, $l, UTF-8 and $l's plural rule"
        diag "$hdr"
    fi
    # msgfmt counts a plural entry as translated when msgstr[0] is.
    s="$(stats "$f")$(empty_plurals "$f")"
    like "$s" "+([0-9]) translated messages." \
        "$l.po: msgfmt --check passes; no fuzzy or untranslated entries"
    if [ -n "$POT" ]; then
        CUR[$l]="$T/$l.merged.po"
        msgmerge --quiet --lang="$l" -o "${CUR[$l]}" "$f" "$POT" \
            2>"$T/msgmerge.err"
        s=$(stats "${CUR[$l]}")
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
w=$(LC_ALL=$LOC wc -L <"$T/out")
[ "$w" -le 80 ] && [ "$w" -gt 0 ]
tap_result $? "English --help is $w columns wide (at most 80)" || true

# A configuration error: an unknown command on line 3.
RC_BAD="$T/rc-bad"
printf 'account one\nhost pop.example.org\nbogus x\n' >"$RC_BAD"
chmod 600 "$RC_BAD"

# 6 per language: mpop under the language's own locale, LANGUAGE unset.
# The expected texts come from the catalog merged with the current
# sources, and must differ from the English ones.
wait
LOCDEF=
for l in $LANGS; do
    loc=${LOCN[$l]}
    lp=${LP[$l]}
    [ -z "$lp" ] || LOCDEF="$LOCDEF $loc"
    if [ "$(LOCPATH=$lp LC_ALL=$loc locale charmap 2>&1)" = UTF-8 ]; then
        pass "$l: locale $loc${lp:+ (generated)}"
    else
        fail "$l: locale $loc${lp:+ (generated)}"
        diag "$(cat "$T/localedef.$l.err" 2>/dev/null)"
    fi
    # lrun ARGS...: mpop under $loc; sets OUT, ERR and CODE.
    lrun()
    {
        CODE=0
        env -u LANGUAGE ${lp:+LOCPATH="$lp"} LC_ALL="$loc" LANG="$loc" \
            MPOP_LOCALEDIR="$T/locale" \
            "$MPOP" "$@" >"$T/out" 2>"$T/err" || CODE=$?
        OUT=$(cat "$T/out")
        ERR=$(cat "$T/err")
    }
    cur=${CUR[$l]}

    tr=$(msgstr "$cur" "unknown command %s")
    lrun -C "$RC_BAD" one
    isnt "$tr" "unknown command %s" "$l: 'unknown command' is translated"
    has "$ERR" "$RC_BAD:3: ${tr//%s/bogus}" \
        "$l: configuration error under $loc"

    tr=$(msgstr "$cur" "Configuration options:" | head -n 1)
    lrun --help
    if [ -n "$tr" ] && [ "$tr" != "Configuration options:" ]; then
        has "$OUT" "$tr" "$l: --help under $loc"
    else
        fail "$l: --help under $loc: no translation of 'Configuration options:'"
    fi
    w=$(env ${lp:+LOCPATH="$lp"} LC_ALL="$loc" wc -L <"$T/out")
    [ "$w" -le 80 ] && [ "$w" -gt 0 ]
    tap_result $? "$l: --help is $w columns wide (at most 80)" || {
        while IFS= read -r line; do
            [ "$(printf '%s\n' "$line" |
                 env ${lp:+LOCPATH="$lp"} LC_ALL="$loc" wc -L)" -le 80 ] ||
                diag "too wide: $line"
        done <"$T/out"
    }

    tr=$(msgstr "$cur" "NLS: enabled, LOCALEDIR is %s" | head -n 1)
    lrun --version
    if [ -n "$tr" ] && [ "$tr" != "NLS: enabled, LOCALEDIR is %s" ]; then
        has "$OUT" "${tr%%%s*}" "$l: --version under $loc"
    else
        fail "$l: --version under $loc: no translation of the NLS line"
    fi
done
[ -z "$LOCDEF" ] || diag "generated locales:$LOCDEF"

# 15-21: German.
run de -C "$RC" nosuch
is "$ERR" "mpop: $RC: kein Konto nosuch" \
    "LANGUAGE=de: unknown account in German"
is "$CODE" "$C_NOACC" "LANGUAGE=de: same exit code ($C_NOACC)"
run de --bogus
like "$ERR" "*unbekannte Option „--bogus“*" "LANGUAGE=de: usage error in German"
like "$ERR" "*Weitere Informationen erhalten Sie mit „mpop --help“.*" \
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
like "$ERR" "*option « --bogus » non reconnue*" \
    "LANGUAGE=fr: usage error in French"
like "$ERR" "*Essayez « mpop --help » pour plus d'informations.*" \
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
