#!/usr/bin/env bash
# Greedy continuations of SmolLM2-135M-Instruct: fsskit's clear fixed-point run with
# --generate N against the float model's (bench/smollm2_ref.py generate) on the first K
# prompts of bench/data/smollm2-prompts.txt; prints how many continuations are identical
# and, for the others, the first step where they part.
#   bench/smollm2-generate-check.sh [BUILD_DIR] [N] [K]   (default 20 tokens, 10 prompts)
set -euo pipefail
build=${1:-build}
n=${2:-20}
k=${3:-10}
src=$(cd "$(dirname "$0")/.." && pwd)
source "$src/bench/models.sh"
fetch_smollm2
ref_venv
gguf=$smollm2_gguf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -"$k" "$src/bench/data/smollm2-prompts.txt" >"$work/prompts.txt"
"$venv/bin/python" "$src/tests/bpe_ref.py" "$gguf" ids "$work/prompts.txt" "$work/ids.txt"
GENERATE=$n "$venv/bin/python" "$src/bench/smollm2_ref.py" "$gguf" "$work/ids.txt" "$work/ref.json"
i=0
while IFS= read -r line; do
    "$build/online/online" --clear --model smollm2 --weights "$gguf" --text "${line//\\n/$'\n'}" --generate "$n" \
        --output "$work/g$i.npy" --quiet 2>/dev/null
    i=$((i + 1))
done <"$work/prompts.txt"
"$venv/bin/python" - "$work" "$i" <<'PY'
import json, sys
import numpy as np
work, n = sys.argv[1], int(sys.argv[2])
ref = json.load(open(work + "/ref.json"))
same = 0
for i in range(n):
    ours, theirs = [int(t) for t in np.load("%s/g%d.npy" % (work, i))[0]], ref[i]["generated"]
    same += ours == theirs
    if ours != theirs:
        j = next(j for j in range(len(ours)) if ours[j] != theirs[j])
        print("prompt %d parts at step %d: ours %d, float %d" % (i + 1, j + 1, ours[j], theirs[j]))
print("%d prompts: %d greedy continuations of %d tokens identical to the float model's" % (n, same, len(ref[0]["generated"])))
print(json.dumps({"prompts": n, "identical": same, "tokens": len(ref[0]["generated"])}))
PY
