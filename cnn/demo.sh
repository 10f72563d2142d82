#!/usr/bin/env bash
# The main job, end to end on one machine over loopback: the dealer writes the two
# parties' keys; party 0 (the model owner, with the trained LeNet) and party 1 (the
# data owner, with Fashion-MNIST test images) run a secure inference; party 1 prints
# the predicted labels and the accuracy; a clear fixed-point run checks the revealed
# logits bit for bit.
#   cnn/demo.sh [BUILD_DIR] [IMAGES]     (defaults: build, 32 images)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
n=${2:-32}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 30000))
images=$here/fashion-test-100.npy
labels=$here/fashion-test-100-labels.npy
weights=$here/lenet-fashion.safetensors

echo "== dealer: keys for LeNet, batch $n"
"$build/dealer/dealer" --model lenet --batch "$n" --out "$work/keys" --quiet
echo "== party 0 (weights) and party 1 (images) over 127.0.0.1:$port"
"$build/online/online" --party 0 --keys "$work/keys/p0.bin" --peer 127.0.0.1:$port --weights "$weights" \
    --quiet --json --threads 1 >"$work/p0.json" &
p0=$!
"$build/online/online" --party 1 --keys "$work/keys/p1.bin" --peer 127.0.0.1:$port --input "$images" --first "$n" \
    --output "$work/secure.npy" --labels "$labels" --json --threads 1 | tee "$work/p1.out"
wait $p0
echo "party 0: $(cat "$work/p0.json")"
echo "== clear fixed-point run of the same model"
"$build/online/online" --clear --model lenet --weights "$weights" --input "$images" --first "$n" \
    --output "$work/clear.npy" --labels "$labels" >/dev/null
if cmp -s "$work/secure.npy" "$work/clear.npy"; then
    echo "secure output equals the clear run bit for bit"
else
    echo "secure output DIFFERS from the clear run" >&2
    exit 1
fi
