#!/usr/bin/env bash
# Secure transformer inference figures: for each model, the dealer's time, peak memory and
# key bytes, and both parties' online time, bytes, rounds and key bytes, over loopback with
# one thread a party (the machines have 2 cores), after checking that party 1's hidden
# states equal the clear run's bit for bit. Random weights (seed 1) and random embeddings;
# minilm and smollm2 (text in) take a long clinical note cut to SEQ tokens (TEXT_FILE:
# another text); smollm2 reveals the next token (GEN=N: generates N).
# Prints a markdown table on stderr and one JSON object a line on stdout. BACKEND=cuda runs
# both parties with --backend cuda; THREADS=N gives each party N threads (default 1).
# ONCE=1 inputs the weights once: dealer --setup and the setup run first (their seconds and
# bytes in the row's setup_* fields, not in the online figures), then the inference's keys
# under the model key, and both parties with the setup's --masked-weights.
#   bench/tf-bench.sh [BUILD_DIR] [MODEL:SEQ[:BATCH[:LAYERS]] ...]   (default bert-tiny:128)
set -euo pipefail
threads=${THREADS:-1}
once=${ONCE:-0}
source "$(dirname "$0")/weights-once.sh"
backend=${BACKEND:-cpu} # both parties' --backend
build=${1:-build}
shift || true
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(bert-tiny:128)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME=$work/state # the parties' ledger of spent runs: throwaway keys
echo "| model | seq | batch | blocks | dealer s | dealer peak MB | keys/party MB | online s (p1) | sent+recv MB (p1) | rounds | party peak MB | p1 s: keys/parse/fss/prod/net |" >&2
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |" >&2
for r in "${runs[@]}"; do
    IFS=: read -r model seq batch layers <<<"$r"
    batch=${batch:-1}
    shape=(--seq "$seq" --batch "$batch")
    inp=(--input random)
    if [ "$model" = smollm2 ]; then # a long prompt cut to SEQ tokens; the next token (GEN=N: N tokens)
        shape+=(--next-token)
        [ -n "${GEN:-}" ] && shape+=(--generate "$GEN")
    fi
    if [ "$model" = minilm ] || [ "$model" = smollm2 ]; then # one text a line, as many as the batch
        sed -n 58p "$(dirname "$0")/data/minilm-sentences.txt" >"$work/one.txt"
        for _ in $(seq "$batch"); do cat "${TEXT_FILE:-$work/one.txt}"; done >"$work/text.txt"
        inp=(--text-file "$work/text.txt")
    fi
    [ -n "${layers:-}" ] && shape+=(--layers "$layers")
    rm -rf "$work/k"
    weights_once "$build" "$work" "$model" "$threads" --random-weights 1 # the setup, apart (ONCE=1)
    /usr/bin/time -f "%e %M" -o "$work/dt" "$build/dealer/dealer" --model "$model" "${shape[@]}" --out "$work/k" \
        "${wk[@]}" --quiet 2>/dev/null
    read -r dsec dkb <"$work/dt"
    port=$((20000 + RANDOM % 30000))
    /usr/bin/time -f "%M" -o "$work/m0" "$build/online/online" --party 0 --keys "$work/k/p0.bin" \
        --peer 127.0.0.1:$port --random-weights 1 --quiet --json --threads "$threads" --backend "$backend" \
        >"$work/p0.json" &
    pid=$!
    /usr/bin/time -f "%M" -o "$work/m1" "$build/online/online" --party 1 --keys "$work/k/p1.bin" \
        --peer 127.0.0.1:$port "${inp[@]}" --output "$work/out.npy" --quiet --json --threads "$threads" \
        --backend "$backend" "${mw1[@]}" >"$work/p1.json" 2>/dev/null
    wait $pid
    "$build/online/online" --clear --model "$model" "${shape[@]}" --random-weights 1 "${inp[@]}" \
        --output "$work/clear.npy" --quiet 2>/dev/null
    cmp -s "$work/out.npy" "$work/clear.npy" ||
        { echo "tf-bench: $r: secure output differs from the clear run" >&2; exit 1; }
    python3 - "$dsec" "$dkb" "$work/p0.json" "$work/p1.json" "$work/m0" "$work/m1" "$work/s1.json" "$once" <<'PY'
import json, sys
dsec, dkb = float(sys.argv[1]), int(sys.argv[2])
p0, p1 = (json.load(open(p)) for p in sys.argv[3:5])
s1 = json.load(open(sys.argv[7]))
m0, m1 = (int(open(p).read().split()[-1]) / 1024 for p in sys.argv[5:7])
row = {"model": p1["model"], "seq": p1["seq"], "batch": p1["batch"], "blocks": p1["layers"], "dealer_s": dsec,
       "dealer_peak_mb": dkb / 1024, "key_bytes_p0": p0["key_bytes"], "key_bytes_p1": p1["key_bytes"],
       "online_s_p0": p0["seconds"], "online_s_p1": p1["seconds"], "setup_s_p1": p1["setup_seconds"],
       "party_peak_mb_p0": m0, "party_peak_mb_p1": m1, "bytes_sent_p1": p1["bytes_sent"],
       "bytes_received_p1": p1["bytes_received"], "rounds": p1["rounds"], "phases_p1": p1.get("phases"),
       "phases_p0": p0.get("phases"),
       "weights_once": sys.argv[8] == "1", "setup_s_once": s1["seconds"], "setup_bytes_once": s1["bytes_received"]}
ph = p1.get("phases") or {}
phases = "/".join("%.2f" % ph.get(k, 0) for k in ("keys", "parse", "fss", "prod", "net"))
print(json.dumps(row))
sys.stderr.write("| %s | %d | %d | %d | %.2f | %.0f | %.1f | %.3f | %.2f | %d | %.0f | %s |\n" % (
    p1["model"], p1["seq"], p1["batch"], p1["layers"], dsec, dkb / 1024,
    max(p0["key_bytes"], p1["key_bytes"]) / 1e6, p1["seconds"], (p1["bytes_sent"] + p1["bytes_received"]) / 1e6,
    p1["rounds"], max(m0, m1), phases))
PY
done
