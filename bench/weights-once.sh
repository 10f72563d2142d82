# Sourced by tf-bench.sh and cnn-bench.sh: what ONCE=1 adds before a timed run.
#   weights_once BUILD WORK MODEL THREADS [PARTY 0'S WEIGHT FLAGS ...]
# With once=1: dealer --setup (model key WORK/model.key) and the setup run over loopback,
# party 1's figures to WORK/s1.json; wk then holds the dealer's --weights-key flags and mw1
# party 1's --masked-weights. Otherwise both empty and s1.json zeros.
weights_once() {
    local build=$1 work=$2 model=$3 threads=$4 port pid
    shift 4
    rm -rf "$work/s" "$work/model.key" "$work/m1.bin"
    wk=() mw1=()
    echo '{"seconds": 0, "bytes_received": 0}' >"$work/s1.json"
    [ "${once:-0}" = 1 ] || return 0
    "$build/dealer/dealer" --model "$model" --setup "$work/model.key" --out "$work/s" --quiet 2>/dev/null
    port=$((20000 + RANDOM % 30000))
    "$build/online/online" --party 0 --keys "$work/s/p0.bin" --peer 127.0.0.1:$port "$@" --quiet \
        --threads "$threads" &
    pid=$!
    "$build/online/online" --party 1 --keys "$work/s/p1.bin" --peer 127.0.0.1:$port --quiet --json \
        --threads "$threads" --masked-weights "$work/m1.bin" >"$work/s1.json"
    wait $pid
    wk=(--weights-key "$work/model.key") mw1=(--masked-weights "$work/m1.bin")
}
