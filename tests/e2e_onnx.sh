#!/usr/bin/env bash
# End to end for ONNX models: the project's trained LeNet exported to ONNX
# (cnn/export_lenet_onnx.py, committed) must give the built-in lenet's bits in the clear run
# and, through the dealer and two online processes, in a secure run where party 1 has no
# model file (the key file carries the graph's plan); a party 0 with another model, and a
# dealer given a graph this version cannot run, are refused before a key is spent.
#   e2e_onnx.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
source "$src/tests/e2e_common.sh"
model=$src/cnn/lenet-fashion.onnx
x=$src/cnn/fashion-test-4.npy
fx=(--bits 40 --scale 12)

"$online" --clear --onnx "$model" "${fx[@]}" --input "$x" --output "$work/onnx.npy" --quiet 2>"$work/log" ||
    { bad "clear run of the ONNX LeNet"; cat "$work/log"; }
"$online" --clear --model lenet --weights "$src/cnn/lenet-fashion.safetensors" --input "$x" --output "$work/lenet.npy" \
    --quiet 2>/dev/null || bad "clear run of the built-in lenet"
cmp -s "$work/onnx.npy" "$work/lenet.npy" && ok || bad "the ONNX LeNet's clear logits differ from the built-in lenet's"

"$dealer" --onnx "$model" "${fx[@]}" --batch 4 --out "$work/k" --quiet >/dev/null 2>&1 || bad "dealer --onnx"
# party 0 with another model: refused, nothing spent
"$online" --party 0 --keys "$work/k/p0.bin" --peer 127.0.0.1:1 --onnx "$src/tests/fuzz/corpus/onnx/tiny" \
    >"$work/log" 2>&1
[ $? != 0 ] && grep -q "is not the model these keys were dealt for" "$work/log" && [ "$(key_state "$work/k/p0.bin")" = 0 ] &&
    ok || { bad "party 0 with another model"; cat "$work/log"; }
p=$(port)
"$online" --party 0 --keys "$work/k/p0.bin" --peer 127.0.0.1:$p --onnx "$model" --quiet --timeout 30 >"$work/log0" 2>&1 &
pid=$!
"$online" --party 1 --keys "$work/k/p1.bin" --peer 127.0.0.1:$p --input "$x" --output "$work/secure.npy" --quiet \
    --timeout 30 >"$work/log1" 2>&1
rc1=$?
wait $pid
[ $? = 0 ] && [ $rc1 = 0 ] && cmp -s "$work/secure.npy" "$work/lenet.npy" && ok ||
    { bad "the secure ONNX LeNet differs from the built-in lenet"; cat "$work/log0" "$work/log1"; }
# a model whose first node reads an initializer: refused by the dealer, with the node named
"$dealer" --onnx "$src/tests/fuzz/corpus/onnx/cut" --out "$work/c" >"$work/log" 2>&1
[ $? != 0 ] && grep -q "not an ONNX model\|the graph" "$work/log" && [ ! -e "$work/c/p0.bin" ] && ok ||
    { bad "a cut model"; cat "$work/log"; }
finish
