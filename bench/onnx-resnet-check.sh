#!/usr/bin/env bash
# torchvision's ResNet-18 and ResNet-50 as ONNX models (onnx/make_resnet.py: seeded random
# weights, written both as torchvision's state dict and as the ONNX graph of Conv,
# BatchNormalization, Relu, MaxPool, Add, GlobalAveragePool, Gemm) against the built-in
# resnet18 / resnet50 on the same weights: the clear fixed point's logits must be the same
# bits, and the dealer's dry run gives both models' keys and rounds. One JSON line a model.
# Where a Python with torch, torchvision, onnxscript and onnxruntime is at hand ($TORCH_PYTHON,
# or the venv ~/.cache/fsskit-torch-venv), the same for torchvision's own modules exported by
# torch.onnx.export (onnx/export_torchvision.py): "torch_same_bits", "torch_vs_onnxruntime"
# (the clear fixed point's largest logit error against onnxruntime's float run) and
# "torch_key_bytes", "torch_rounds".
#   bench/onnx-resnet-check.sh [BUILD_DIR]      (a Python with numpy and onnx: $PYTHON, or
#                                               the venv ~/.cache/fsskit-onnx-venv)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
py=${PYTHON:-$HOME/.cache/fsskit-onnx-venv/bin/python}
if ! "$py" -c "import numpy, onnx" 2>/dev/null; then
    python3 -m venv "$HOME/.cache/fsskit-onnx-venv" && "$HOME/.cache/fsskit-onnx-venv/bin/pip" install -q numpy onnx
    py=$HOME/.cache/fsskit-onnx-venv/bin/python
fi
tpy=${TORCH_PYTHON:-$HOME/.cache/fsskit-torch-venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/t"
"$py" -c "import numpy as np; np.save('$work/x.npy', np.random.default_rng(1).uniform(0, 1, (1, 3, 224, 224)).astype(np.float32))"
cp "$work/x.npy" "$work/t/x.npy" # export_torchvision.py: the reference logits for it
# same_bits WEIGHTS ONNX TAG: model $m's clear logits, built-in (WEIGHTS) and ONNX (to
# $work/$m-TAG.npy): true when they are the same bits
same_bits() {
    "$build/online/online" --clear --model $m --weights "$1" --input "$work/x.npy" --output "$work/$m-$3-builtin.npy" \
        --quiet 2>/dev/null
    "$build/online/online" --clear --onnx "$2" --bits 48 --scale 14 --input "$work/x.npy" --output "$work/$m-$3.npy" \
        --quiet 2>/dev/null
    cmp -s "$work/$m-$3-builtin.npy" "$work/$m-$3.npy" && echo true || echo false
}
for m in resnet18 resnet50; do
    "$py" "$src/onnx/make_resnet.py" $m "$work" 7
    same=$(same_bits "$work/$m.safetensors" "$work/$m.onnx" onnx)
    b=$("$build/dealer/dealer" --model $m --dry-run --json 2>/dev/null)
    o=$("$build/dealer/dealer" --onnx "$work/$m.onnx" --bits 48 --scale 14 --dry-run --json 2>/dev/null)
    tsame=null terr=null t=null
    if "$tpy" -c "import torch, torchvision, onnxscript, onnxruntime" 2>/dev/null; then
        "$tpy" "$src/onnx/export_torchvision.py" $m "$work/t" 7 2>/dev/null | grep -v '^\[torch' || true
        tsame=$(same_bits "$work/t/$m.safetensors" "$work/t/$m-torch.onnx" torch)
        terr=$("$py" -c "import numpy as np; print(float(np.abs(np.load('$work/$m-torch.npy') - np.load('$work/t/$m-torch-ref.npy')).max()))")
        t=$("$build/dealer/dealer" --onnx "$work/t/$m-torch.onnx" --bits 48 --scale 14 --dry-run --json 2>/dev/null)
        rm -f "$work/t/$m-torch.onnx" "$work/t/$m.safetensors"
    fi
    "$py" - "$m" "$same" "$b" "$o" "$tsame" "$terr" "${t:-null}" <<'PY'
import json, sys
m, same, b, o = sys.argv[1], sys.argv[2] == "true", json.loads(sys.argv[3]), json.loads(sys.argv[4])
r = {"model": m, "same_bits": same, "key_bytes": {"builtin": b["key_bytes"], "onnx": o["key_bytes"]},
     "rounds": {"builtin": b["rounds"], "onnx": o["rounds"]}}
t = json.loads(sys.argv[7])
if t:
    r.update(torch_same_bits=json.loads(sys.argv[5]), torch_vs_onnxruntime=json.loads(sys.argv[6]),
             torch_key_bytes=t["key_bytes"], torch_rounds=t["rounds"])
print(json.dumps(r))
PY
    rm -f "$work/$m.onnx" "$work/$m.safetensors"
done
