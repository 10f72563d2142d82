#!/usr/bin/env bash
# A model's accuracy on the other party's labelled data (--task accuracy): fsskit's LeNet
# (trained weights, cnn/lenet-fashion.safetensors) on all 10,000 Fashion-MNIST test images
# (Debian's dataset-fashion-mnist), party 1's images and labels private, only the counts
# opened. The keys of one run over all 10,000 would take 59 GB a party, more than this
# machine's disk, so the images go in runs of CHUNK (each run's count opened, to party 1).
# Each run: the dealer, both parties over loopback (one thread each), and the clear run's
# count, which must be the same; the plain run's logits give the float-free reference.
# One JSON line a run on stdout, then the total.
#   bench/accuracy-bench.sh [BUILD_DIR] [CHUNK] [IMAGES]     (default 1000 and 10000)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
chunk=${2:-1000}
total=${3:-10000}
data=/usr/share/datasets/fashion-mnist
[ -f "$data/t10k-images-idx3-ubyte.gz" ] || { echo "accuracy-bench.sh: apt-get install dataset-fashion-mnist" >&2; exit 2; }
py=$(bash "$src/tests/numpy-python.sh") || { echo "accuracy-bench.sh: needs python3 with numpy" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
export XDG_STATE_HOME=$work/state
w=$src/cnn/lenet-fashion.safetensors
"$py" - "$data" "$work" "$chunk" "$total" <<'PY'
import gzip, struct, sys
import numpy as np
data, out, chunk, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def idx(p):
    raw = gzip.open(p).read()
    nd = raw[3]
    shape = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(shape)
x = idx(f"{data}/t10k-images-idx3-ubyte.gz")[:total].astype(np.float32)[:, None] / 255.0
y = idx(f"{data}/t10k-labels-idx1-ubyte.gz")[:total].astype(np.int64)
for i in range(0, total, chunk):
    np.save(f"{out}/x{i // chunk}.npy", x[i:i + chunk])
    np.save(f"{out}/y{i // chunk}.npy", y[i:i + chunk])
PY
right=0
n=0
runs=$(( (total + chunk - 1) / chunk ))
for ((i = 0; i < runs; i++)); do
    b=$(( total - i * chunk < chunk ? total - i * chunk : chunk ))
    t0=$(date +%s.%N)
    "$build/dealer/dealer" --model lenet --batch "$b" --task accuracy --out "$work/k" --quiet 2>/dev/null
    d=$(echo "$(date +%s.%N) - $t0" | bc)
    p=$((20000 + RANDOM % 30000))
    "$build/online/online" --party 0 --keys "$work/k/p0.bin" --peer 127.0.0.1:$p --weights "$w" --threads 1 --json \
        --quiet >"$work/j0" 2>/dev/null &
    "$build/online/online" --party 1 --keys "$work/k/p1.bin" --peer 127.0.0.1:$p --input "$work/x$i.npy" \
        --labels "$work/y$i.npy" --output "$work/a$i.json" --threads 1 --json --quiet >"$work/j1" 2>/dev/null
    wait
    rm -rf "$work/k"
    "$build/online/online" --clear --model lenet --weights "$w" --input "$work/x$i.npy" --labels "$work/y$i.npy" \
        --task accuracy --output "$work/c$i.json" --quiet >/dev/null 2>&1
    "$build/online/online" --clear --model lenet --weights "$w" --input "$work/x$i.npy" --labels "$work/y$i.npy" \
        --output "$work/l$i.npy" --quiet >"$work/plain" 2>&1
    k=$("$py" -c "import json; print(json.load(open('$work/a$i.json'))['correct'])")
    plain=$(sed -n 's/^accuracy: \([0-9]*\) of.*/\1/p' "$work/plain")
    same=false
    cmp -s "$work/a$i.json" "$work/c$i.json" && same=true
    "$py" - "$work/j0" "$work/j1" "$i" "$b" "$k" "$plain" "$same" "$d" <<'PY'
import json, sys
j0, j1 = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:3])
i, b, k, plain, same, d = sys.argv[3:9]
print(json.dumps({"run": int(i), "images": int(b), "correct": int(k), "plain_run_correct": int(plain),
                  "secure_equals_clear": same == "true", "dealer_seconds": float(d),
                  "seconds": [j0["seconds"], j1["seconds"]], "key_bytes": [j0["key_bytes"], j1["key_bytes"]],
                  "bytes_sent": [j0["bytes_sent"], j1["bytes_sent"]], "rounds": j1["rounds"]}))
PY
    right=$((right + k))
    n=$((n + b))
done
echo "{\"images\": $n, \"correct\": $right, \"accuracy\": $(echo "scale=4; $right / $n" | bc)}"
