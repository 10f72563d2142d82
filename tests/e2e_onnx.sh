#!/usr/bin/env bash
# End to end for ONNX models: the project's trained LeNet exported to ONNX
# (cnn/export_lenet_onnx.py, committed) must give the built-in lenet's bits in the clear run
# and, through the dealer and two online processes, in a secure run where party 1 has no
# model file (the key file carries the graph's plan); small models of the other ops agree
# with onnxruntime and run securely; a party 0 with another model, and a dealer given a
# graph this version cannot run, are refused before a key is spent.
#   e2e_onnx.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
source "$src/tests/e2e_common.sh"
model=$src/cnn/lenet-fashion.onnx
x=$src/cnn/fashion-test-4.npy
fx=(--bits 40 --scale 12)
# near A.npy B.npy: the same shape, float32 values within 4e-3 (plain Python: no numpy)
near() {
    python3 - "$1" "$2" <<'PY'
import ast, struct, sys
def load(p):
    raw = open(p, "rb").read()
    n = struct.unpack("<H", raw[8:10])[0]
    shape = ast.literal_eval(raw[10:10 + n].decode())["shape"]
    return shape, struct.unpack("<%df" % (len(raw[10 + n:]) // 4), raw[10 + n:])
(sa, a), (sb, b) = load(sys.argv[1]), load(sys.argv[2])
err = max(abs(u - v) for u, v in zip(a, b))
assert sa == sb and err <= 4e-3, (sa, sb, err)
print(f"{sys.argv[1].rsplit('/', 1)[-1]}: within {err:.2g} of onnxruntime")
PY
}

"$online" --clear --onnx "$model" "${fx[@]}" --input "$x" --output "$work/onnx.npy" --quiet 2>"$work/log" ||
    { bad "clear run of the ONNX LeNet"; cat "$work/log"; }
"$online" --clear --model lenet --weights "$src/cnn/lenet-fashion.safetensors" --input "$x" --output "$work/lenet.npy" \
    --quiet 2>/dev/null || bad "clear run of the built-in lenet"
cmp -s "$work/onnx.npy" "$work/lenet.npy" && ok || bad "the ONNX LeNet's clear logits differ from the built-in lenet's"
# the clear run names its largest value and the ring that holds it: that ring gives the
# same logits (and the value's bits are fewer than it). An under-count of up to 4 bits
# would pass here: the ring is 4 bits over the count, and 2 f + 8 at least.
fit=$(sed -n 's/.*takes \([0-9]*\) of the ring.s 40 bits; at --scale 12, --bits \([0-9]*\) leaves.*/\1 \2/p' "$work/log")
used=${fit% *} fit=${fit#* }
if [ -n "$fit" ] && [ "$fit" -lt 40 ] && [ "$used" -le $((fit - 4)) ] && [ "$used" -ge 20 ]; then
    "$online" --clear --onnx "$model" --bits "$fit" --scale 12 --input "$x" --output "$work/fit.npy" --quiet 2>/dev/null &&
        cmp -s "$work/fit.npy" "$work/onnx.npy" && ok || bad "the ring the clear run advised (--bits $fit) changes the logits"
else
    bad "the clear run did not name its largest value: $(cat "$work/log")"
fi

"$dealer" --onnx "$model" "${fx[@]}" --batch 4 --out "$work/k" --quiet >/dev/null 2>&1 || bad "dealer --onnx"
# party 0 with another model: refused, nothing spent
"$online" --party 0 --keys "$work/k/p0.bin" --peer 127.0.0.1:1 --onnx "$src/tests/fuzz/corpus/onnx/tiny" \
    >"$work/log" 2>&1
[ $? != 0 ] && grep -q "is not the model these keys were dealt for" "$work/log" && [ "$(key_state "$work/k/p0.bin")" = 0 ] &&
    ok || { bad "party 0 with another model"; cat "$work/log"; }
pair --keys "$work/k/p0.bin" --onnx "$model" --quiet --timeout 30 -- \
    --keys "$work/k/p1.bin" --input "$x" --output "$work/secure.npy" --quiet --timeout 30 &&
    cmp -s "$work/secure.npy" "$work/lenet.npy" && ok ||
    { bad "the secure ONNX LeNet differs from the built-in lenet"; cat "$work/log0" "$work/log1"; }
# small models (onnx/make_models.py: an MLP of MatMul, a bias Add and Gemm; a CNN with
# BatchNormalizations folded, a residual Add, a strided Conv, MaxPool with padding,
# AveragePool, GlobalAveragePool; an MLP of Sigmoid, Tanh, Clip, Sub and Softmax; a CNN of
# Pad, LeakyRelu, Mul and Div by constants and Concat):
# secure == clear, and the clear fixed point within 4e-3 of onnxruntime's float output
# (norm: LayerNormalization and PyTorch's Erf GELU, in 52 bits; gelu: opset 20's Gelu,
# exact and tanh; grouped: a conv of two groups and a depthwise one; se: a squeeze-and-
# excitation, ReduceMean and Mul of two values; hard: HardSigmoid and HardSwish; dilated:
# dilated convolutions, one of them grouped and strided; shapes: a Reshape to a target that
# shape arithmetic makes, Transpose, Concat along the last axis; avgpad: AveragePools whose
# padding is not counted, ONNX's default, and one that counts it):
for mb in mlp:48 cnn:48 acts:48 more:48 norm:52 gelu:48 grouped:48 se:48 hard:48 dilated:48 shapes:48 avgpad:48; do
    m=${mb%%:*} bits=${mb#*:}
    d=$src/onnx/models
    "$online" --clear --onnx "$d/$m.onnx" --bits $bits --input "$d/$m-x.npy" --output "$work/$m-clear.npy" --quiet 2>"$work/log" ||
        { bad "$m: clear run"; cat "$work/log"; }
    near "$work/$m-clear.npy" "$d/$m-ref.npy" && ok || bad "$m: the clear fixed point is not within 4e-3 of onnxruntime's"
    "$dealer" --onnx "$d/$m.onnx" --bits $bits --batch 3 --out "$work/k-$m" --quiet >/dev/null 2>&1 || bad "$m: dealer"
    pair --keys "$work/k-$m/p0.bin" --onnx "$d/$m.onnx" --quiet --timeout 30 -- \
        --keys "$work/k-$m/p1.bin" --input "$d/$m-x.npy" --output "$work/$m-secure.npy" --quiet --timeout 30 &&
        cmp -s "$work/$m-secure.npy" "$work/$m-clear.npy" && ok ||
        { bad "$m: the secure output differs from the clear run's"; cat "$work/log0" "$work/log1"; }
done
# models exported by PyTorch itself (onnx/export_torch.py): torch.export's exporter and the
# TorchScript one, a dynamic batch, BatchNormalization folded by the exporter, Constant
# nodes and Identity of initializers; t-block is a BERT encoder block over [batch, seq, 32]
# (the heads split by Reshape and Transpose from shape arithmetic, Q K^T and softmax(.) V
# as products of two values, LayerNormalization over the last axis); t-causal and
# t-causal-sdpa GPT blocks (Split, a causal mask as Where of a bool constant, or as an Add
# of the 0 / -inf constant that Expand, Trilu, Equal and Where make: a causal softmax);
# t-gpt2 Hugging Face's GPT-2 blocks (Gemm over [batch seq, d], gelu_new's tanh form), and
# t-gpt2-static the same exported with fixed dimensions (the mask a float constant whose
# values the dealer does not read; party 0 and the clear run check them); t-llama Hugging
# Face's LlamaModel (RMSNorm, rotary by constants as party 0's input, grouped-query heads,
# SwiGLU, the softmax's NaN guard): within
# 4e-3 of onnxruntime, and secure == clear
d=$src/onnx/models
for mb in t-mlp:48 t-cnn:48 t-cnn-ts:48 t-block:52:--seq:8 t-block-ts:52:--seq:8 t-causal:50 t-causal-sdpa:50 t-gpt2:50 t-gpt2-static:50 t-llama:50; do
    IFS=: read -r m bits extra <<<"$mb"
    extra=${extra/:/ }
    "$online" --clear --onnx "$d/$m.onnx" --bits $bits --input "$d/$m-x.npy" --output "$work/$m-clear.npy" --quiet 2>"$work/log" ||
        { bad "$m: clear run"; cat "$work/log"; }
    near "$work/$m-clear.npy" "$d/$m-ref.npy" && ok || bad "$m: the clear fixed point is not within 4e-3 of onnxruntime's"
    # shellcheck disable=SC2086
    "$dealer" --onnx "$d/$m.onnx" --bits $bits --batch 3 $extra --out "$work/k-$m" --quiet >/dev/null 2>&1 || bad "$m: dealer"
    pair --keys "$work/k-$m/p0.bin" --onnx "$d/$m.onnx" --quiet --timeout 30 -- \
        --keys "$work/k-$m/p1.bin" --input "$d/$m-x.npy" --output "$work/$m-secure.npy" --quiet --timeout 30 &&
        cmp -s "$work/$m-secure.npy" "$work/$m-clear.npy" && ok ||
        { bad "$m: the secure output differs from the clear run's"; cat "$work/log0" "$work/log1"; }
done
# weights input once: dealer --setup, the setup run (party 1 keeps party 0's masked weights),
# then an inference dealt under the model key equals the clear run, and party 1 receives
# at least the attention's four 32 x 32 weights (52 bits each) less than in an ordinary run
w=$work/once
mkdir -p "$w"
tb=(--onnx "$d/t-block.onnx" --bits 52 --batch 3 --seq 8)
"$dealer" "${tb[@]}" --setup "$w/model.key" --out "$w/setup" --quiet >/dev/null 2>&1 &&
    pair --keys "$w/setup/p0.bin" --onnx "$d/t-block.onnx" --quiet --timeout 30 -- \
        --keys "$w/setup/p1.bin" --masked-weights "$w/m1.bin" --quiet --timeout 30 && ok ||
    { bad "t-block: the setup run of weights input once"; cat "$work/log0" "$work/log1"; }
"$dealer" "${tb[@]}" --weights-key "$w/model.key" --out "$w/inf" --quiet >/dev/null 2>&1 &&
    pair --keys "$w/inf/p0.bin" --onnx "$d/t-block.onnx" --quiet --timeout 30 -- --keys "$w/inf/p1.bin" \
        --masked-weights "$w/m1.bin" --input "$d/t-block-x.npy" --output "$w/y.npy" --quiet --timeout 30 --json &&
    cmp -s "$w/y.npy" "$work/t-block-clear.npy" && ok ||
    { bad "t-block: an inference with weights input once differs from the clear run"; cat "$work/log0" "$work/log1"; }
got=$(sed -n 's/.*"bytes_received": \([0-9]*\).*/\1/p' "$work/log1")
"$dealer" "${tb[@]}" --dry-run --json 2>/dev/null >"$w/dry.json"
full=$(sed -n 's/.*"bytes_sent": \[\([0-9]*\),.*/\1/p' "$w/dry.json")
[ -n "$got" ] && [ -n "$full" ] && [ $((full - got)) -ge $((4 * 32 * 32 * 52 / 8)) ] && ok ||
    bad "t-block: weights input once saved $((${full:-0} - ${got:-0})) bytes of party 0's sending"
# a graph without attention (its weights one input, not a step's at a time): the same
"$dealer" --onnx "$d/t-cnn.onnx" --batch 3 --setup "$w/cnn.key" --out "$w/csetup" --quiet >/dev/null 2>&1 &&
    pair --keys "$w/csetup/p0.bin" --onnx "$d/t-cnn.onnx" --quiet --timeout 30 -- \
        --keys "$w/csetup/p1.bin" --masked-weights "$w/c1.bin" --quiet --timeout 30 &&
    "$dealer" --onnx "$d/t-cnn.onnx" --batch 3 --weights-key "$w/cnn.key" --out "$w/cinf" --quiet >/dev/null 2>&1 &&
    pair --keys "$w/cinf/p0.bin" --onnx "$d/t-cnn.onnx" --quiet --timeout 30 -- --keys "$w/cinf/p1.bin" \
        --masked-weights "$w/c1.bin" --input "$d/t-cnn-x.npy" --output "$w/cy.npy" --quiet --timeout 30 &&
    cmp -s "$w/cy.npy" "$work/t-cnn-clear.npy" && ok ||
    { bad "t-cnn: weights input once differs from the clear run"; cat "$work/log0" "$work/log1"; }
# the block at another length and batch: the clear run takes both from its input
"$online" --clear --onnx "$d/t-block.onnx" --bits 52 --input "$d/t-block-x5.npy" --output "$work/b5.npy" --quiet 2>/dev/null &&
    near "$work/b5.npy" "$d/t-block-ref5.npy" && ok || bad "t-block at seq 5: not within 4e-3 of onnxruntime's"
# its dynamic length needs --seq; --seq on a model without one is refused
"$dealer" --onnx "$d/t-block.onnx" --bits 52 --out "$work/ns" >"$work/log" 2>&1
[ $? != 0 ] && grep -qF "dimension 1 is not a fixed size (give --seq N)" "$work/log" && [ ! -e "$work/ns/p0.bin" ] && ok ||
    { bad "t-block without --seq: not refused"; cat "$work/log"; }
"$dealer" --onnx "$d/t-mlp.onnx" --seq 8 --out "$work/ns" >"$work/log" 2>&1
[ $? != 0 ] && grep -qF "has no sequence axis" "$work/log" && ok || { bad "--seq on an MLP: not refused"; cat "$work/log"; }
# the LeNet as torch.export writes it: the built-in lenet's bits, clear and secure
"$online" --clear --onnx "$d/t-lenet.onnx" "${fx[@]}" --input "$x" --output "$work/tl.npy" --quiet 2>/dev/null &&
    cmp -s "$work/tl.npy" "$work/lenet.npy" && ok || bad "the torch-exported LeNet's clear logits differ from lenet's"
"$dealer" --onnx "$d/t-lenet.onnx" "${fx[@]}" --batch 4 --out "$work/ktl" --quiet >/dev/null 2>&1 || bad "dealer t-lenet"
pair --keys "$work/ktl/p0.bin" --onnx "$d/t-lenet.onnx" --quiet --timeout 30 -- \
    --keys "$work/ktl/p1.bin" --input "$x" --output "$work/tls.npy" --quiet --timeout 30 &&
    cmp -s "$work/tls.npy" "$work/lenet.npy" && ok || { bad "the secure torch-exported LeNet differs"; cat "$work/log1"; }
# nodes this version cannot run: refused with the node named, nothing written
for m in leaky:"'/act/LeakyRelu' (LeakyRelu): a slope in [0, 1)" avgceil:"'/ap/AveragePool' (AveragePool): a square window, equal strides, symmetric pads, no ceil mode" \
    maskup:"'/Where' (Where): a mask on the scores other than the causal one"; do
    "$dealer" --onnx "$src/onnx/models/${m%%:*}.onnx" --out "$work/r-${m%%:*}" >"$work/log" 2>&1
    [ $? != 0 ] && grep -qF "${m#*:}" "$work/log" && [ ! -e "$work/r-${m%%:*}/p0.bin" ] && ok ||
        { bad "${m%%:*}: not refused"; cat "$work/log"; }
done
# an additive mask of the causal shape but other values: the dealer (no float values) deals
# it as the causal mask; party 0, which reads them, refuses before a key is spent, and so
# does the clear run
"$dealer" --onnx "$src/onnx/models/maskadd.onnx" --batch 2 --out "$work/ma" --quiet >/dev/null 2>&1 ||
    bad "maskadd: the dealer refused it"
"$online" --party 0 --keys "$work/ma/p0.bin" --peer 127.0.0.1:1 --onnx "$src/onnx/models/maskadd.onnx" >"$work/log" 2>&1
[ $? != 0 ] && grep -qF "'/Add' (Add): a mask on the scores other than the causal one" "$work/log" &&
    [ "$(key_state "$work/ma/p0.bin")" = 0 ] && ok || { bad "maskadd: party 0 did not refuse it"; cat "$work/log"; }
"$online" --clear --onnx "$src/onnx/models/maskadd.onnx" --input "$d/t-block-x.npy" --output "$work/ma.npy" >"$work/log" 2>&1
[ $? != 0 ] && grep -qF "other than the causal one" "$work/log" && ok || { bad "maskadd: the clear run"; cat "$work/log"; }
# a LayerNormalization in a ring too small for it: refused by the dealer, the node named
"$dealer" --onnx "$src/onnx/models/norm.onnx" --bits 48 --out "$work/n48" >"$work/log" 2>&1
[ $? != 0 ] && grep -qF "node '/ln1/LayerNormalization': a LayerNormalization needs" "$work/log" &&
    [ ! -e "$work/n48/p0.bin" ] && ok || { bad "norm in 48 bits: not refused"; cat "$work/log"; }
# a cut model file: refused
"$dealer" --onnx "$src/tests/fuzz/corpus/onnx/cut" --out "$work/c" >"$work/log" 2>&1
[ $? != 0 ] && grep -q "not an ONNX model\|the graph" "$work/log" && [ ! -e "$work/c/p0.bin" ] && ok ||
    { bad "a cut model"; cat "$work/log"; }
finish
