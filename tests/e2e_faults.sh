#!/usr/bin/env bash
# The fault matrix: the real dealer and two online processes over loopback, one fault a
# row. Each row checks both parties' exit status, a message in the log of the party that
# must say it, that party 1 left no output, and whether each key file was spent (its
# header's state: 0 fresh, 1 used). Faults during the run are injected once a party's
# progress shows a layer done, not after a fixed sleep. (The refusals of a single party,
# before it connects, are in e2e_lenet.sh.)
#   e2e_faults.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
source "$src/tests/e2e_common.sh"
weights=$src/cnn/lenet-fashion.safetensors
batch=32
"$online" --clear --model lenet --weights "$weights" --input "$src/cnn/fashion-test-100.npy" --first $batch \
    --output "$work/clear.npy" --quiet || bad "clear run failed"

deal() { "$dealer" --model lenet --batch $batch --out "$work/$1" --quiet || bad "$1: dealer failed"; }

# start_pair P0KEYS P1KEYS OUT [P0 TIMEOUT] [P1 TIMEOUT]: both parties in the background,
# with progress lines (the fault injectors wait for them); pid0 pid1, logs log0 log1
start_pair() {
    local p=$(port)
    "$online" --party 0 --keys "$1" --peer 127.0.0.1:$p --weights "$weights" --threads 1 --timeout "${4:-10}" \
        >"$work/log0" 2>&1 &
    pid0=$!
    "$online" --party 1 --keys "$2" --peer 127.0.0.1:$p --input "$src/cnn/fashion-test-100.npy" --first $batch \
        --output "$3" --threads 1 --timeout "${5:-10}" >"$work/log1" 2>&1 &
    pid1=$!
}
wait_pair() {
    wait $pid0
    rc0=$?
    wait $pid1
    rc1=$?
}
# until LOG shows a layer done (or 20 s)
await_layer() { for _ in $(seq 1000); do grep -q "layer 2/" "$1" && return; sleep 0.02; done; }

# row NAME RC0 RC1 LOG PATTERN SPENT0 SPENT1 DIR OUT: RC is a number or "x" (any nonzero)
row() {
    local name=$1 want0=$2 want1=$3 log=$4 pattern=$5 s0=$6 s1=$7 dir=$8 out=$9
    for b in 0 1; do
        local want got
        [ $b = 0 ] && want=$want0 got=$rc0 || want=$want1 got=$rc1
        if [ "$want" = x ] && [ "$got" != 0 ] || [ "$want" = "$got" ]; then ok; else bad "$name: party $b exited $got, want $want"; fi
    done
    grep -qi -- "$pattern" "$work/$log" && ok || { bad "$name: no '$pattern' in $log"; cat "$work/log0" "$work/log1"; }
    [ -e "$out" ] && bad "$name: party 1 left its output" || ok
    local k0 k1
    k0=$(key_state "$work/$dir/p0.bin")
    k1=$(key_state "$work/$dir/p1.bin")
    [ "$k0$k1" = "$s0$s1" ] && ok || bad "$name: key files spent $k0$k1, want $s0$s1"
    rm -rf "${work:?}/$dir" # 0.4 GB a row
}

# 0. the good run, for reference: both exit 0, the output equals the clear run
deal good
start_pair "$work/good/p0.bin" "$work/good/p1.bin" "$work/good.npy"
wait_pair
[ $rc0 = 0 ] && [ $rc1 = 0 ] && cmp -s "$work/good.npy" "$work/clear.npy" && ok ||
    { bad "the good run ($rc0, $rc1)"; cat "$work/log0" "$work/log1"; }
rm -rf "$work/good"

# 1. keys of two dealer runs: the TLS handshake fails, nothing is spent; party 0 waits for
# a peer that can prove the run until its timeout
deal r1a
deal r1b
start_pair "$work/r1a/p0.bin" "$work/r1b/p1.bin" "$work/o1.npy" 2
wait_pair
[ "$(key_state "$work/r1b/p1.bin")" = 0 ] && ok || bad "another run: party 1's key file was spent"
rm -rf "$work/r1b"
row "keys of another run" x x log1 "does not hold the other key file of this run" 0 0 r1a "$work/o1.npy"
grep -q "no peer proved it holds the other key file of this run within 2 s" "$work/log0" && ok ||
    { bad "another run: party 0's message"; cat "$work/log0"; }

# 2. a corrupted chunk in party 1's keys, and 3. in party 0's: caught while streaming
for b in 1 0; do
    deal r2$b
    size=$(stat -c %s "$work/r2$b/p$b.bin")
    byte=$(od -An -tu1 -j $((size / 2)) -N1 "$work/r2$b/p$b.bin" | tr -d ' ')
    printf "\\x$(printf %02x $((255 - byte)))" | dd of="$work/r2$b/p$b.bin" bs=1 seek=$((size / 2)) conv=notrunc status=none
    start_pair "$work/r2$b/p0.bin" "$work/r2$b/p1.bin" "$work/o2.npy"
    wait_pair
    row "party $b's keys corrupted" x x log$b "corrupt" 1 1 r2$b "$work/o2.npy"
done

# 4. party 0 killed mid-run, and 5. party 1 killed: the other says the peer is gone
for b in 0 1; do
    deal r4$b
    start_pair "$work/r4$b/p0.bin" "$work/r4$b/p1.bin" "$work/o4.npy"
    await_layer "$work/log$b"
    [ $b = 0 ] && kill -KILL $pid0 || kill -KILL $pid1
    wait_pair
    row "party $b killed" x x log$((1 - b)) "peer closed the connection\|the encrypted channel failed" 1 1 r4$b \
        "$work/o4.npy"
done

# 6. party 0 frozen (SIGSTOP) mid-run: party 1 gives up after its timeout
deal r6
start_pair "$work/r6/p0.bin" "$work/r6/p1.bin" "$work/o6.npy" 10 2
await_layer "$work/log0"
kill -STOP $pid0
wait $pid1
rc1=$?
kill -CONT $pid0
wait $pid0
rc0=$?
row "party 0 frozen" x x log1 "no progress from the peer for 2 s" 1 1 r6 "$work/o6.npy"

# 7. party 1 fails at the very end (its output's directory replaced by a file after the
# check at load): both exit non-zero, party 0 told by the final status
deal r7
mkdir "$work/outdir"
start_pair "$work/r7/p0.bin" "$work/r7/p1.bin" "$work/outdir/o7.npy"
await_layer "$work/log1"
rm -rf "$work/outdir" && touch "$work/outdir"
wait_pair
row "party 1 fails at the end" x x log0 "the other party failed at the end of the run" 1 1 r7 "$work/outdir/o7.npy"
grep -q "cannot" "$work/log1" && ok || { bad "the end: party 1's message"; cat "$work/log1"; }

finish
