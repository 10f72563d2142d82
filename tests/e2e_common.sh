# Sourced by the e2e_*.sh tests after setting build and src: the programs, a scratch
# directory removed (and background parties killed) at exit, pass/fail counters.
dealer=$build/dealer/dealer
online=$build/online/online
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null' EXIT
# the parties' ledger of spent runs goes here, not under the user's home
export XDG_STATE_HOME=$work/state
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
port() { echo $((20000 + RANDOM % 30000)); }
# The summary line and the exit status: call last.
finish() {
    echo "$passed passed, $failed failed"
    [ $failed = 0 ]
}
# A key file's state word (io/include/fss/keyfile.h): 0 fresh, 1 in use or used.
key_state() { od -An -tu4 -j64 -N4 "$1" | tr -d ' '; }
