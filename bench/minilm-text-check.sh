#!/usr/bin/env bash
# all-MiniLM-L6-v2 from text, with its real weights, against the float model: each sentence
# of a file (default bench/data/minilm-sentences.txt: clinical notes, news, code, eight
# scripts, two texts longer than 256 tokens) through fsskit's clear fixed-point run (its own
# tokenizer, a sentence a run), against sentence-transformers' pipeline in float64
# (bench/minilm_text_ref.py: the model's own tokenizer, BertModel, mean pooling, L2 norm).
# Prints each sentence's cosine similarity, their mean and worst, and one JSON line; then a
# secure run (dealer and two parties over loopback) of the first four sentences in one batch
# must equal the clear run of that batch bit for bit.
#   bench/minilm-text-check.sh [BUILD_DIR] [SENTENCES.txt]   (needs PyPI the first time)
set -euo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
text=${2:-$src/bench/data/minilm-sentences.txt}
source "$src/bench/models.sh"
fetch_minilm
ref_venv
model=$minilm_dir
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
export XDG_STATE_HOME=$work/state
"$venv/bin/python" "$src/bench/minilm_text_ref.py" "$model" "$text" "$work/ref.npy"
i=0
while IFS= read -r line || [ -n "$line" ]; do
    "$build/online/online" --clear --model minilm --weights "$model/model.safetensors" --text "$line" \
        --output "$work/c$i.npy" --quiet 2>>"$work/cuts"
    i=$((i + 1))
done <"$text"
"$venv/bin/python" - "$work" "$i" "$text" <<'PY'
import json, sys
import numpy as np
work, n, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ref = np.load(work + "/ref.npy")
ours = np.concatenate([np.load("%s/c%d.npy" % (work, i)) for i in range(n)])
lines = open(text, encoding="utf-8").read().split("\n")[:n]
cos = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
for i in np.argsort(cos)[:5]:
    print("worst: %.6f  %s" % (cos[i], lines[i][:70]))
print("%d sentences: cosine similarity mean %.6f, worst %.6f (goals 0.999, 0.995)" % (n, cos.mean(), cos.min()))
print(json.dumps({"sentences": n, "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
                  "cosine": [round(float(c), 6) for c in cos]}))
PY
cat "$work/cuts"
# secure == clear on a batch of four (padded to the longest)
head -4 "$text" >"$work/four.txt"
"$build/online/online" --clear --model minilm --weights "$model/model.safetensors" --text-file "$work/four.txt" \
    --seq 48 --output "$work/clear4.npy" --quiet
"$build/dealer/dealer" --model minilm --seq 48 --batch 4 --out "$work/k" --quiet 2>/dev/null
port=$((20000 + RANDOM % 30000))
"$build/online/online" --party 0 --keys "$work/k/p0.bin" --peer 127.0.0.1:$port --weights "$model/model.safetensors" \
    --threads 1 --quiet &
"$build/online/online" --party 1 --keys "$work/k/p1.bin" --peer 127.0.0.1:$port --text-file "$work/four.txt" \
    --output "$work/sec4.npy" --threads 1 --quiet --json | tail -1 | python3 -c "import json, sys; d = json.load(sys.stdin); print('secure batch of 4 at 48 tokens: %.2f s, %d rounds, %.1f MB sent, %.1f MB received, %.0f MB of keys' % (d['seconds'], d['rounds'], d['bytes_sent'] / 1e6, d['bytes_received'] / 1e6, d['key_bytes'] / 1e6))"
wait
cmp -s "$work/sec4.npy" "$work/clear4.npy" && echo "secure == clear, bit for bit" || { echo "secure differs from clear"; exit 1; }
