#!/bin/bash
# The bash completion (scripts/completion/mpop.bash) tried in a real
# interactive bash inside a tmux pseudo-terminal: account names from
# ~/.mpoprc and from -C FILE, and options completing to "--timeout=".
. "${TESTLIB:-$(dirname "$0")/../lib}/common.sh"

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
COMPLETION="$top_srcdir/scripts/completion/mpop.bash"
[ -r "$COMPLETION" ] || bail_out "$COMPLETION missing"
command -v tmux >/dev/null 2>&1 || skip_all "tmux is not installed"
command -v bash >/dev/null 2>&1 || skip_all "bash is not installed"

H="$T/home"
mkdir -p "$H"
cat >"$H/.mpoprc" <<'RC'
# two accounts; the second inherits from the first
defaults
tls on
account alphamail
host pop.alpha.example
account betamail : alphamail
host pop.beta.example
RC
chmod 600 "$H/.mpoprc"
printf 'account gammamail\nhost pop.gamma.example\n' >"$T/other.rc"

cat >"$T/bashrc" <<RC
PS1='PROMPT\$ '
bind 'set bell-style none'
bind 'set show-all-if-ambiguous off'
. '$COMPLETION'
RC

SOCK="$T/tmux.sock"
TM() { tmux -S "$SOCK" "$@"; }
# A private tmux server on its own socket; only it is killed at exit.
TM -f /dev/null new-session -d -x 160 -y 40 \
    "env -i HOME='$H' TERM=xterm PATH='$PATH' bash --noprofile --rcfile '$T/bashrc' -i" \
    || skip_all "tmux cannot start a session"
at_exit "tmux -S '$SOCK' kill-server"

# screen: the visible pane text.
screen() { TM capture-pane -p -J 2>/dev/null; }

# wait_for GLOB: wait up to 5 s until the screen matches GLOB.
wait_for()
{
    local i
    for ((i = 0; i < 100; i++)); do
        # shellcheck disable=SC2053
        [[ $(screen) == $1 ]] && return 0
        sleep 0.05
    done
    return 1
}

# clear_line: empty the input line and the screen, and wait until the
# screen shows nothing but a bare prompt.  C-e C-u go through readline in
# order with the keys typed before them (C-c is a signal and races with
# them on a loaded machine).
clear_line()
{
    local i
    TM send-keys C-e C-u C-l
    for ((i = 0; i < 200; i++)); do
        [[ $(screen | sed -e 's/[[:space:]]*$//' | grep -v '^$') == 'PROMPT$' ]] \
            && return 0
        sleep 0.05
    done
}

plan 6

wait_for "*PROMPT\$*" || bail_out "bash did not show its prompt"

clear_line
TM send-keys -l 'mpop '
TM send-keys Tab Tab
if wait_for "*alphamail*betamail*"; then
    pass "mpop <TAB><TAB> lists both accounts of ~/.mpoprc"
else
    fail "mpop <TAB><TAB> lists both accounts of ~/.mpoprc"
    diag "$(screen)"
fi

clear_line
TM send-keys -l 'mpop be'
TM send-keys Tab
if wait_for "*PROMPT\$ mpop betamail *"; then
    pass "mpop be<TAB> completes to betamail"
else
    fail "mpop be<TAB> completes to betamail"
    diag "$(screen)"
fi

clear_line
TM send-keys -l 'mpop --ti'
TM send-keys Tab
if wait_for "*PROMPT\$ mpop --timeout=*" \
    && ! [[ $(screen) == *"--timeout= "* ]]; then
    pass "mpop --ti<TAB> completes to --timeout= without a space"
else
    fail "mpop --ti<TAB> completes to --timeout= without a space"
    diag "$(screen)"
fi

clear_line
TM send-keys -l "mpop -C $T/other.rc g"
TM send-keys Tab
if wait_for "*mpop -C $T/other.rc gammamail *"; then
    pass "account names come from the -C file"
else
    fail "account names come from the -C file"
    diag "$(screen)"
fi

clear_line
TM send-keys -l 'mpop --pipelining=of'
TM send-keys Tab
if wait_for "*PROMPT\$ mpop --pipelining=off *"; then
    pass "option values complete (--pipelining=off)"
else
    fail "option values complete (--pipelining=off)"
    diag "$(screen)"
fi

clear_line
TM send-keys -l 'mpopd --max-s'
TM send-keys Tab
if wait_for "*PROMPT\$ mpopd --max-sessions=*"; then
    pass "mpopd --max-s<TAB> completes to --max-sessions="
else
    fail "mpopd --max-s<TAB> completes to --max-sessions="
    diag "$(screen)"
fi

done_testing
