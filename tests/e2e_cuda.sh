#!/usr/bin/env bash
# End to end on the CUDA backend: dealer and two online processes over loopback with
# --backend cuda (and once with one party on each backend); the revealed logits must
# equal the clear run's bit for bit. Exits 77 (skipped) where no CUDA device is visible.
#   e2e_cuda.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
source "$src/tests/e2e_common.sh"

if ! probe=$("$online" --party 0 --backend cuda --keys /nonexistent 2>&1) &&
    grep -qE 'no CUDA device|no CUDA backend' <<<"$probe"; then
    echo "$probe: skipped"
    exit 77
fi

# model batch backend0 backend1 [weights input]
case_run() {
    local model=$1 batch=$2 b0=$3 b1=$4 p name="$1 b$2 $3/$4"
    p=$(port)
    local w=(--random-weights 1) in=random
    if [ "$model" = lenet ]; then
        w=(--weights "$src/cnn/lenet-fashion.safetensors")
        in=$src/cnn/fashion-test-100.npy
    fi
    rm -rf "$work/k" "$work/secure.npy" "$work/clear.npy"
    "$dealer" --model "$model" --batch "$batch" --out "$work/k" --quiet || { bad "$name: dealer failed"; return; }
    "$online" --party 0 --keys "$work/k/p0.bin" --peer 127.0.0.1:$p "${w[@]}" --backend "$b0" --quiet \
        --timeout 60 >"$work/log0" 2>&1 &
    local pid=$!
    "$online" --party 1 --keys "$work/k/p1.bin" --peer 127.0.0.1:$p --input "$in" --first "$batch" \
        --output "$work/secure.npy" --backend "$b1" --quiet --timeout 60 >"$work/log1" 2>&1
    local rc1=$? rc0
    wait $pid
    rc0=$?
    [ $rc0 = 0 ] && [ $rc1 = 0 ] && ok || { bad "$name: secure run failed ($rc0, $rc1)"; cat "$work/log0" "$work/log1"; return; }
    "$online" --clear --model "$model" "${w[@]}" --input "$in" --first "$batch" --output "$work/clear.npy" ||
        { bad "$name: clear run failed"; return; }
    cmp -s "$work/secure.npy" "$work/clear.npy" && ok || bad "$name: secure logits differ from the clear run"
}

case_run lenet 4 cuda cuda
case_run lenet 3 cpu cuda
case_run resnet-tiny 2 cuda cuda
case_run vgg16-cifar 1 cuda cpu

# transformers: model backend0 backend1 dealer-flags... (the lookups and batched products
# fall back to the CPU under cuda; the rest runs on the device)
tf_run() {
    local model=$1 b0=$2 b1=$3 p name="$1 $2/$3"
    shift 3
    p=$(port)
    rm -rf "$work/k" "$work/secure.npy" "$work/clear.npy"
    "$dealer" --model "$model" "$@" --out "$work/k" --quiet || { bad "$name: dealer failed"; return; }
    "$online" --party 0 --keys "$work/k/p0.bin" --peer 127.0.0.1:$p --random-weights 1 --backend "$b0" --quiet \
        --timeout 60 >"$work/log0" 2>&1 &
    local pid=$!
    "$online" --party 1 --keys "$work/k/p1.bin" --peer 127.0.0.1:$p --input random --output "$work/secure.npy" \
        --backend "$b1" --quiet --timeout 60 >"$work/log1" 2>&1
    local rc1=$? rc0
    wait $pid
    rc0=$?
    [ $rc0 = 0 ] && [ $rc1 = 0 ] && ok || { bad "$name: secure run failed ($rc0, $rc1)"; cat "$work/log0" "$work/log1"; return; }
    "$online" --clear --model "$model" "$@" --random-weights 1 --input random --output "$work/clear.npy" --quiet ||
        { bad "$name: clear run failed"; return; }
    cmp -s "$work/secure.npy" "$work/clear.npy" && ok || bad "$name: secure hidden states differ from the clear run"
}

tf_run gpt2-tiny cuda cuda --seq 5 --batch 2
tf_run llama-tiny cuda cpu --seq 6
tf_run bert-tiny cpu cuda --seq 16

finish
