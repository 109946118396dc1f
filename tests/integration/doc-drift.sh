#!/bin/bash
# The documentation cannot drift from the programs: every option that
# `mpop --help` (and `mpopd --help`) lists, and every configuration command
# the parser accepts (read from src/conf.c's command table), must appear in
# doc/mpop.texi and in the man pages; the completions and the vim syntax
# must know them too.  In reverse, every command the manual indexes must be
# one the parser accepts, and every option it indexes must exist (or be
# listed below as planned).
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MPOP:=${top_builddir:-.}/src/mpop}"
: "${MPOPD:=${top_builddir:-.}/src/mpopd}"
[ -x "$MPOP" ] || bail_out "$MPOP not built"

TEXI="$top_srcdir/doc/mpop.texi"
MAN="$top_srcdir/doc/mpop.1"
MAND="$top_srcdir/doc/mpopd.1"
CONF_C="$top_srcdir/src/conf.c"
BASHC="$top_srcdir/scripts/completion/mpop.bash"
ZSHC="$top_srcdir/scripts/completion/_mpop"
VIM="$top_srcdir/scripts/vim/syntax/mpoprc.vim"
for f in "$TEXI" "$MAN" "$MAND" "$CONF_C" "$BASHC" "$ZSHC" "$VIM"; do
    [ -r "$f" ] || bail_out "$f missing"
done

# Options documented ahead of their implementation (issue 9).  Each is
# tolerated in the manual only while --help does not list it yet; remove
# it from here once it is built.
PLANNED_MPOP="--mda"
PLANNED_MPOPD="--tls-cert --tls-key --tls-implicit"

# man_text FILE: the page with escapes undone, so "\-\-tls" reads "--tls".
man_text()
{
    sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' \
        -e 's/\\(em/--/g' "$1"
}

# long_opts: the long options in the help text on stdin, sorted, unique.
long_opts()
{
    grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u
}

# short_opts: "-X" for each "  -X, --long" line of the help text on stdin.
short_opts()
{
    sed -n 's/^ *\(-[A-Za-z0-9]\), --.*/\1/p' | sort -u
}

# has_opt TEXT OPT: OPT occurs in TEXT as a whole option name.
has_opt()
{
    grep -Eq -- "(^|[^a-zA-Z0-9-])$2([^a-zA-Z0-9-]|\$)" <<<"$1"
}

# missing TEXT ITEMS...: print the items that TEXT lacks.
missing()
{
    local text=$1 item
    shift
    for item in "$@"; do
        has_opt "$text" "$item" || printf '%s ' "$item"
    done
}

# check NAME MISSING: one TAP result; MISSING is the list of what lacks.
check()
{
    if [ -z "$2" ]; then
        pass "$1"
    else
        fail "$1"
        diag "  missing: $2"
    fi
}

HELP=$("$MPOP" --help) || bail_out "$MPOP --help failed"
# The long options: those --help lists, plus those src/cli.c's table
# accepts without listing them (obsolete ones kept for old scripts).
mapfile -t LONG < <(
    {
        long_opts <<<"$HELP"
        sed -n '/long_options\[\] = {/,/^};/p' "$top_srcdir/src/cli.c" \
            | sed -n 's/^ *{ *"\([a-z0-9-]*\)".*/--\1/p'
    } | sort -u)
mapfile -t SHORT < <(short_opts <<<"$HELP")

# The configuration commands: the names in the `commands[]` table, plus
# those parse_line() handles itself (strcmp(cmd, "...")).
mapfile -t CMDS < <(
    {
        sed -n '/^} commands\[\] = {/,/^};/p' "$CONF_C" \
            | sed -n 's/^ *{ *"\([a-z_0-9]*\)".*/\1/p'
        sed -n 's/.*strcmp(cmd, "\([a-z_0-9]*\)").*/\1/p' "$CONF_C"
    } | sort -u)

TEXI_TEXT=$(cat "$TEXI")
MAN_TEXT=$(man_text "$MAN")
MAND_TEXT=$(man_text "$MAND")
BASH_TEXT=$(cat "$BASHC")
ZSH_TEXT=$(cat "$ZSHC")

plan 20

ok "[ ${#LONG[@]} -ge 40 ]" "found the long options in --help (${#LONG[@]})"
ok "[ ${#CMDS[@]} -ge 30 ]" \
    "found the configuration commands in src/conf.c (${#CMDS[@]})"

check "every long option is in doc/mpop.texi" \
    "$(missing "$TEXI_TEXT" "${LONG[@]}")"
check "every long option is in doc/mpop.1" \
    "$(missing "$MAN_TEXT" "${LONG[@]}")"
check "every --help short option is in doc/mpop.texi and doc/mpop.1" \
    "$(missing "$TEXI_TEXT" "${SHORT[@]}")$(missing "$MAN_TEXT" "${SHORT[@]}")"
check "every long option is completed by bash and zsh" \
    "$(missing "$BASH_TEXT" "${LONG[@]}")$(missing "$ZSH_TEXT" "${LONG[@]}")"

# A command counts as documented in the manual when it is indexed
# (@findex), in the man page when it starts a bold term, and in the vim
# syntax when it is one of the alternatives of a command pattern.
miss_texi= miss_man= miss_vim=
for c in "${CMDS[@]}"; do
    grep -Eq "^@findex $c\$" "$TEXI" || miss_texi+="$c "
    grep -Eq "^\.(B|BR|BI|TP)[[:space:]](.*[[:space:]\"])?$c([[:space:]\"]|\$)" \
        <<<"$MAN_TEXT" || miss_man+="$c "
    grep -Fq -e "|$c\\" -e "($c\\" -e "*$c\\" "$VIM" || miss_vim+="$c "
done
check "every configuration command is indexed in doc/mpop.texi" "$miss_texi"
check "every configuration command is described in doc/mpop.1" "$miss_man"
check "every configuration command is highlighted by the vim syntax" \
    "$miss_vim"

# In reverse: what the manual indexes exists.
extra=
while read -r c; do
    printf '%s\n' "${CMDS[@]}" | grep -qx -- "$c" || extra+="$c "
done < <(sed -n 's/^@findex \([^ ]*\)$/\1/p' "$TEXI")
check "the manual indexes no configuration command the parser rejects" \
    "$extra"

# in_list ITEM LIST...: ITEM is one of LIST.
in_list()
{
    local x=$1
    shift
    printf '%s\n' "$@" | grep -qx -- "$x"
}

extra=
while read -r o; do
    in_list "$o" "${LONG[@]}" && continue
    # shellcheck disable=SC2086
    in_list "$o" $PLANNED_MPOP && { diag "planned, not yet in --help: $o"; continue; }
    extra+="$o "
done < <(sed -n 's/^@opindex \(--[a-z0-9-]*\).*/\1/p' "$TEXI" | sort -u)
check "every option the manual indexes is accepted by mpop" "$extra"

# The list really is the parser's: each command, given an empty argument,
# is either accepted or refused for its argument, never as unknown.
unknown=
for c in "${CMDS[@]}"; do
    case $c in account|defaults|eval) continue ;; esac
    printf 'account drift\nhost h.example\ndelivery mda cat\n%s\n' "$c" \
        >"$T/rc"
    chmod 600 "$T/rc"
    err=$(LC_ALL=C LANGUAGE= "$MPOP" -C "$T/rc" --pretend drift 2>&1 >/dev/null)
    [[ $err == *"unknown command"* ]] && unknown+="$c "
done
printf 'account drift\nhost h.example\nno_such_command_x\n' >"$T/rc"
err=$(LC_ALL=C LANGUAGE= "$MPOP" -C "$T/rc" --pretend drift 2>&1 >/dev/null)
if [ -z "$unknown" ] && [[ $err == *"unknown command"* ]]; then
    pass "the parser knows every command of the list (and rejects others)"
else
    fail "the parser knows every command of the list (and rejects others)"
    diag "  unknown to the parser: $unknown; for a bogus command: $err"
fi

# mpopd
if [ -x "$MPOPD" ]; then
    DHELP=$("$MPOPD" --help) || bail_out "$MPOPD --help failed"
    mapfile -t DLONG < <(long_opts <<<"$DHELP")
    ok "[ ${#DLONG[@]} -ge 8 ]" "found the mpopd options (${#DLONG[@]})"
    check "every mpopd --help option is in doc/mpopd.1" \
        "$(missing "$MAND_TEXT" "${DLONG[@]}")"
    check "every mpopd --help option is in doc/mpop.texi" \
        "$(missing "$TEXI_TEXT" "${DLONG[@]}")"
    check "every mpopd --help option is completed by bash and zsh" \
        "$(missing "$BASH_TEXT" "${DLONG[@]}")$(missing "$ZSH_TEXT" "${DLONG[@]}")"
    extra=
    while read -r o; do
        in_list "$o" "${DLONG[@]}" && continue
        # shellcheck disable=SC2086
        in_list "$o" $PLANNED_MPOPD && { diag "planned, not yet in mpopd --help: $o"; continue; }
        extra+="$o "
    done < <(sed -n 's/^\.\(TP\|TQ\)$//; s/^\.B[IR]\? \(--[a-z0-9-]*\).*/\1/p' <<<"$MAND_TEXT" | sort -u)
    check "every option doc/mpopd.1 describes exists in mpopd --help" "$extra"
else
    for i in 1 2 3 4 5; do skip "$MPOPD not built"; done
fi

# The manual builds from the source tree alone (no version.texi from a
# build), and its version is the program's.
if command -v makeinfo >/dev/null 2>&1; then
    ok "cd '$T' && makeinfo --no-split -o '$T/mpop.info' '$TEXI'" \
        "makeinfo doc/mpop.texi works in the source tree"
else
    fail "makeinfo is not installed (texinfo)"
fi
is "$(sed -n 's/^@set VERSION //p' "$TEXI")" \
    "$("$MPOP" --version | sed -n '1s/^mpop version //p')" \
    "doc/mpop.texi's VERSION is mpop --version's"

# The man pages and the manual render without warnings.
if command -v groff >/dev/null 2>&1; then
    w=$(groff -man -ww -z "$MAN" 2>&1; groff -man -ww -z "$MAND" 2>&1)
    is "$w" "" "groff renders doc/mpop.1 and doc/mpopd.1 without warnings"
else
    skip "groff is not installed"
fi

done_testing
