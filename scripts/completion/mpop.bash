# bash completion for mpop and mpopd                     -*- shell-script -*-
#
# Completes options, their fixed arguments, file names, and the account
# names of the configuration file (-C/--file, else ~/.mpoprc, else
# $XDG_CONFIG_HOME/mpop/config).  Needs nothing but bash itself; works
# with or without the bash-completion package.

# Print the account names defined in config file $1, one per line.
_mpop_accounts()
{
    local f=$1 cmd name rest IFS=$' \t'
    [[ -r $f ]] || return 0
    while read -r cmd name rest; do
        [[ $cmd == account && -n $name ]] || continue
        name=${name%%:*}            # "account a: b" and "account a : b"
        name=${name#\"}
        name=${name%\"}
        [[ -n $name ]] && printf '%s\n' "$name"
    done < "$f"
}

# The configuration file mpop would read for the words in ${words[@]}.
_mpop_conffile()
{
    local i w
    for ((i = 1; i < ${#words[@]}; i++)); do
        w=${words[i]}
        case $w in
        -C|--file) printf '%s\n' "${words[i+1]/#\~/$HOME}"; return ;;
        --file=*) w=${w#--file=}; printf '%s\n' "${w/#\~/$HOME}"; return ;;
        -C?*) w=${w#-C}; printf '%s\n' "${w/#\~/$HOME}"; return ;;
        esac
    done
    if [[ -e $HOME/.mpoprc ]]; then
        printf '%s\n' "$HOME/.mpoprc"
    else
        printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/mpop/config"
    fi
}

# Split the line up to the cursor at blanks (quotes are not interpreted,
# which is good enough for options and account names), so that "=" in
# COMP_WORDBREAKS does not matter.  Sets words, cur and prev.
_mpop_split()
{
    local line=${COMP_LINE:0:COMP_POINT}
    read -ra words <<< "$line"
    if [[ $line == *[[:blank:]] || ${#words[@]} -eq 0 ]]; then
        words+=("")
    fi
    cur=${words[${#words[@]}-1]}
    prev=
    ((${#words[@]} > 1)) && prev=${words[${#words[@]}-2]}
}

# Set COMPREPLY from candidates $2.. matching $1, keeping in mind that
# bash replaces only the part after the last "=" or ":" of the word.
_mpop_reply()
{
    local word=$1 c
    shift
    COMPREPLY=()
    for c in "$@"; do
        [[ $c == "$word"* ]] && COMPREPLY+=("$c")
    done
    local pre=
    if [[ $COMP_WORDBREAKS == *=* && $word == *=* ]]; then
        pre=${word%=*}=
    fi
    if [[ $COMP_WORDBREAKS == *:* && $word == *:* ]]; then
        local p2=${word%:*}:
        ((${#p2} > ${#pre})) && pre=$p2
    fi
    if [[ -n $pre ]]; then
        local i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
        done
    fi
}

# Complete file names for the value part $2 of a word with prefix $1.
_mpop_files()
{
    local IFS=$'\n' f
    local -a all
    all=($(compgen -f -- "${2/#\~/$HOME}"))
    COMPREPLY=()
    for f in "${all[@]}"; do
        [[ -d $f ]] && f+=/
        COMPREPLY+=("$f")
    done
    if [[ -n $1 && $COMP_WORDBREAKS != *=* ]]; then
        for f in "${!COMPREPLY[@]}"; do
            COMPREPLY[f]=$1${COMPREPLY[f]}
        done
    fi
    compopt -o nospace 2>/dev/null
}

_mpop()
{
    local -a words
    local cur prev
    _mpop_split

    local onoff='on off'
    local methods='on user apop plain login scram-sha-1 scram-sha-1-plus
        scram-sha-256 scram-sha-256-plus cram-md5 digest-md5 gssapi
        external ntlm oauthbearer xoauth2'

    case $prev in
    -C|--file)
        _mpop_files "" "$cur"
        return
        ;;
    -j|--jobs)
        return
        ;;
    esac

    case $cur in
    --file=*|--tls-trust-file=*|--tls-crl-file=*|--tls-key-file=*|\
    --tls-cert-file=*|--uidls-file=*|--socket=*|--log=*)
        local opt=${cur%%=*}
        if [[ $opt == --log ]]; then
            if [[ syslog == "${cur#*=}"* && -n ${cur#*=} ]]; then
                _mpop_reply "$cur" --log=syslog
                return
            fi
        fi
        _mpop_files "$opt=" "${cur#*=}"
        return
        ;;
    --delivery=*,*)
        local v=${cur#--delivery=}
        [[ ${v%%,*} == mda ]] && return
        _mpop_files "--delivery=${v%%,*}," "${v#*,}"
        return
        ;;
    --delivery=*)
        _mpop_reply "$cur" --delivery=mda, --delivery=maildir, \
            --delivery=mbox, --delivery=exchange,
        compopt -o nospace 2>/dev/null
        return
        ;;
    --pipelining=*)
        _mpop_reply "$cur" --pipelining=auto --pipelining=on \
            --pipelining=off
        return
        ;;
    --timeout=*)
        _mpop_reply "$cur" --timeout=off
        return
        ;;
    --killsize=*|--skipsize=*)
        _mpop_reply "$cur" "${cur%%=*}=off"
        return
        ;;
    --summary=*)
        _mpop_reply "$cur" --summary=json
        return
        ;;
    --auth=*)
        local m c=()
        for m in $methods; do c+=("--auth=$m"); done
        _mpop_reply "$cur" "${c[@]}"
        return
        ;;
    --received-header=*|--tls=*|--tls-starttls=*|--tls-certcheck=*|\
    --only-new=*|--keep=*|--tls-force-sslv3=*)
        local o=${cur%%=*}
        _mpop_reply "$cur" "$o=on" "$o=off"
        return
        ;;
    --*=*)
        return
        ;;
    -*)
        local opts=(
            --version --help --pretend --debug --configure= --serverinfo
            --file= --host= --port= --source-ip= --proxy-host=
            --proxy-port= --socket= --timeout= --pipelining=
            --received-header --auth --user= --passwordeval= --tls
            --tls-starttls --tls-trust-file= --tls-crl-file=
            --tls-fingerprint= --tls-key-file= --tls-cert-file=
            --tls-certcheck --tls-priorities= --tls-host-override=
            --tls-min-dh-prime-bits= --quiet --half-quiet --all-accounts
            --auth-only --status-only --only-new --keep --killsize=
            --skipsize= --filter= --delivery= --uidls-file=
            --jobs= --log= --summary= --mda --movemail --oauth2-login
            -P -d -S -C -q -Q -a -A -s -n -k -j
        )
        _mpop_reply "$cur" "${opts[@]}"
        if ((${#COMPREPLY[@]} == 1)) && [[ ${COMPREPLY[0]} == *= ]]; then
            compopt -o nospace 2>/dev/null
        fi
        return
        ;;
    esac

    local -a accounts
    local IFS=$'\n'
    accounts=($(_mpop_accounts "$(_mpop_conffile)"))
    IFS=$' \t\n'
    _mpop_reply "$cur" "${accounts[@]}"
}

_mpopd()
{
    local -a words
    local cur prev
    _mpop_split

    case $cur in
    --maildir=*|--tls-cert=*|--tls-key=*|--port-file=*)
        _mpop_files "${cur%%=*}=" "${cur#*=}"
        return
        ;;
    --log=*)
        local v=${cur#--log=}
        if [[ -z $v || none == "$v"* || syslog == "$v"* ]]; then
            _mpop_reply "$cur" --log=none --log=syslog
            ((${#COMPREPLY[@]})) && return
        fi
        _mpop_files "--log=" "$v"
        return
        ;;
    --interface=*)
        _mpop_reply "$cur" --interface=127.0.0.1 --interface=::1
        return
        ;;
    --*=*)
        return
        ;;
    -*)
        _mpop_reply "$cur" --version --help --inetd --interface= --port= \
            --port-file= --log= --auth= --maildir= --max-sessions= \
            --timeout= --tls-cert= --tls-key= --tls-implicit
        if ((${#COMPREPLY[@]} == 1)) && [[ ${COMPREPLY[0]} == *= ]]; then
            compopt -o nospace 2>/dev/null
        fi
        return
        ;;
    esac
    COMPREPLY=()
}

complete -F _mpop mpop
complete -F _mpopd mpopd
