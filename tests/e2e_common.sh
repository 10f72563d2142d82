# Sourced by the e2e_*.sh tests after setting build and src: the programs, a scratch
# directory removed (and background parties killed) at exit, pass/fail counters.
dealer=$build/dealer/dealer
online=$build/online/online
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
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
# Both parties over loopback on a fresh port: party 0 with the arguments before "--",
# party 1 with those after (each gets --party and --peer), logs in $work/log0 and log1.
# Succeeds when both do.
pair() {
    local a=() p pid rc1
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    p=$(port)
    "$online" --party 0 --peer 127.0.0.1:$p "${a[@]}" >"$work/log0" 2>&1 &
    pid=$!
    "$online" --party 1 --peer 127.0.0.1:$p "$@" >"$work/log1" 2>&1
    rc1=$?
    wait $pid && [ $rc1 = 0 ]
}
# A key file's state word (io/include/fss/keyfile.h): 0 fresh, 1 in use or used.
key_state() { od -An -tu4 -j64 -N4 "$1" | tr -d ' '; }
