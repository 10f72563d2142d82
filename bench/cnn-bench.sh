#!/usr/bin/env bash
# Secure CNN inference figures: for each model and batch, the dealer's time, peak memory
# and key bytes, and both parties' online time, bytes, rounds and key bytes, over
# loopback with one thread a party (the machines have 2 cores), after checking that the
# secure logits equal the clear run's bit for bit. Prints a markdown table
# on stderr and one JSON object a line on stdout. Online seconds count from the
# connection to the output (setup_s: loading and connecting before that); the last
# column splits party 1's time in gates by phase (online --json's phases).
#   bench/cnn-bench.sh [BUILD_DIR] [MODEL:BATCH ...]     (default: lenet:1 lenet:32)
# Models other than lenet run with random weights and random images. BACKEND=cuda runs
# both parties with --backend cuda (default cpu); THREADS=N gives each party N threads
# (default 1: the CI machines have 2 cores). ONCE=1 inputs the weights once: dealer --setup
# and the setup run first (apart: setup_*_once fields), then the run's keys under the model
# key and party 1 with the setup's --masked-weights.
set -euo pipefail
once=${ONCE:-0}
source "$(dirname "$0")/weights-once.sh"
backend=${BACKEND:-cpu}
threads=${THREADS:-1}
build=${1:-build}
shift || true
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(lenet:1 lenet:32)
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME=$work/state # the parties' ledger of spent runs: throwaway keys
echo "| model | backend | batch | dealer s | dealer peak MB | keys/party MB | online s (p1) | s/image | sent+recv MB (p1) | rounds | party peak MB | p1 s: keys/parse/fss/prod/net |" >&2
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |" >&2
for r in "${runs[@]}"; do
    model=${r%%:*}
    batch=${r##*:}
    rm -rf "$work/k"
    weights=(--random-weights 1)
    # a build from before --random-weights (an A/B baseline) took seed 1 without a flag
    [[ $("$build/online/online" --help) == *--random-weights* ]] || weights=()
    images=random
    if [ "$model" = lenet ]; then
        weights=(--weights "$src/cnn/lenet-fashion.safetensors")
        images=$src/cnn/fashion-test-100.npy
    fi
    weights_once "$build" "$work" "$model" "$threads" "${weights[@]}" # the setup, apart (ONCE=1)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f "%e %M" -o "$work/dt" "$build/dealer/dealer" --model "$model" --batch "$batch" \
            --out "$work/k" "${wk[@]}" --quiet 2>/dev/null
        read -r dsec dkb <"$work/dt"
    else # no GNU time (some images): wall clock only, peak memory unknown (0)
        t0=$(date +%s.%N)
        "$build/dealer/dealer" --model "$model" --batch "$batch" --out "$work/k" "${wk[@]}" --quiet 2>/dev/null
        dsec=$(echo "$(date +%s.%N) - $t0" | bc -l 2>/dev/null || python3 -c "print($(date +%s.%N) - $t0)")
        dkb=0
    fi
    port=$((20000 + RANDOM % 30000))
    tm0=() tm1=()
    echo 0 >"$work/m0"
    echo 0 >"$work/m1"
    if [ -x /usr/bin/time ]; then # the parties' peak memory
        tm0=(/usr/bin/time -f "%M" -o "$work/m0")
        tm1=(/usr/bin/time -f "%M" -o "$work/m1")
    fi
    "${tm0[@]}" "$build/online/online" --party 0 --keys "$work/k/p0.bin" --peer 127.0.0.1:$port "${weights[@]}" --quiet --json \
        --threads "$threads" --backend "$backend" >"$work/p0.json" &
    pid=$!
    "${tm1[@]}" "$build/online/online" --party 1 --keys "$work/k/p1.bin" --peer 127.0.0.1:$port --input "$images" \
        --first "$batch" --output "$work/out.npy" --quiet --json --threads "$threads" --backend "$backend" "${mw1[@]}" \
        >"$work/p1.json"
    wait $pid
    "$build/online/online" --clear --model "$model" "${weights[@]}" --input "$images" --first "$batch" \
        --output "$work/clear.npy" --quiet
    cmp -s "$work/out.npy" "$work/clear.npy" || { echo "cnn-bench: $model batch $batch: secure output differs from the clear run" >&2; exit 1; }
    python3 - "$model" "$batch" "$dsec" "$dkb" "$work/p0.json" "$work/p1.json" "$work/m0" "$work/m1" "$work/s1.json" \
        "$once" <<'PY'
import json, sys
model, batch, dsec, dkb = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
p0, p1 = (json.load(open(p)) for p in sys.argv[5:7])
s1 = json.load(open(sys.argv[9]))
m0, m1 = (int(open(p).read().split()[-1]) / 1024 for p in sys.argv[7:9])
row = {"model": model, "batch": batch, "dealer_s": dsec, "dealer_peak_mb": dkb / 1024,
       "key_bytes_p0": p0["key_bytes"], "key_bytes_p1": p1["key_bytes"], "online_s_p0": p0["seconds"],
       "online_s_p1": p1["seconds"], "setup_s_p0": p0["setup_seconds"], "setup_s_p1": p1["setup_seconds"],
       "party_peak_mb_p0": m0, "party_peak_mb_p1": m1, "bytes_sent_p1": p1["bytes_sent"],
       "bytes_received_p1": p1["bytes_received"], "rounds": p1["rounds"], "backend": p1["backend"],
       "phases_p0": p0.get("phases"), "phases_p1": p1.get("phases"), "weights_once": sys.argv[10] == "1",
       "setup_s_once": s1["seconds"], "setup_bytes_once": s1["bytes_received"]}
ph = p1.get("phases") or {}
phases = "/".join("%.2f" % ph.get(k, 0) for k in ("keys", "parse", "fss", "prod", "net"))
print(json.dumps(row))
sys.stderr.write("| %s | %s | %d | %.2f | %.0f | %.1f | %.3f | %.4f | %.2f | %d | %.0f | %s |\n" % (
    model, p1["backend"], batch, dsec, dkb / 1024, max(p0["key_bytes"], p1["key_bytes"]) / 1e6, p1["seconds"],
    p1["seconds"] / batch, (p1["bytes_sent"] + p1["bytes_received"]) / 1e6, p1["rounds"], max(m0, m1), phases))
PY
done
