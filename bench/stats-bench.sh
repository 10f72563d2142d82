#!/usr/bin/env bash
# Joint statistics: what a run costs as the rows and columns grow, and how close the fixed
# point stays to numpy. For each table (the diabetes and breast-cancer data split both ways,
# then synthetic tables of 10^5 and 10^6 rows with 4 and 16 columns), the dealer writes the
# keys, the two parties run over loopback (one thread each), and the clear run's results go
# through stats/stats_ref.py. One JSON line a run on stdout, and a table for people.
#   bench/stats-bench.sh [BUILD_DIR]        (needs python3 with numpy)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
py=$(bash "$src/tests/numpy-python.sh") || { echo "stats-bench.sh: needs python3 with numpy" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
export XDG_STATE_HOME=$work/state
"$py" "$src/stats/hospitals.py" "$(bash "$src/stats/sklearn-data.sh")" "$work" --seed 1 2>/dev/null

# Synthetic: N rows, K columns x0.., normal(0, 20) clipped to the bounds [-100, 100], each
# column a mix of the one before and fresh noise (correlated neighbours); each column's
# mean, variance, std, min, max and a 10-bin histogram, the correlation matrix of all, and
# the regression of the last column on the others.
# Split by rows (60/40) and by columns (the first half to party 0).
synth() { # N K
    "$py" - "$work" "$1" "$2" <<'PY'
import json, sys
import numpy as np
out, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(12345)
z = rng.normal(0, 20, size=(n, k))
for j in range(1, k):
    z[:, j] = 0.6 * z[:, j - 1] + 0.8 * z[:, j]
x = np.clip(np.round(z, 4), -100, 100)
names = [f"x{j}" for j in range(k)]
stats = [{"op": "count"}]
for c in names:
    stats += [{"op": o, "column": c} for o in ("mean", "variance", "std", "min", "max")]
    stats.append({"op": "histogram", "column": c, "edges": list(range(-100, 101, 20))})
stats.append({"op": "correlation", "columns": names})
stats.append({"op": "linear_regression", "y": names[-1], "x": names[:-1]})
bounds = {c: [-100, 100] for c in names}
def write(path, cols, rows):
    with open(path, "w") as f:
        f.write(",".join(names[j] for j in cols) + "\n")
        np.savetxt(f, x[rows][:, cols], fmt="%.4f", delimiter=",")
n0 = int(0.6 * n)
base = f"{out}/synth-{n}x{k}"
write(f"{base}-rows-0.csv", list(range(k)), slice(0, n0))
write(f"{base}-rows-1.csv", list(range(k)), slice(n0, n))
json.dump({"split": "rows", "rows": [n0, n - n0], "columns": names, "bounds": bounds, "stats": stats,
           "reveal_to": [0, 1]}, open(f"{base}-rows.json", "w"))
h = k // 2
write(f"{base}-columns-0.csv", list(range(h)), slice(0, n))
write(f"{base}-columns-1.csv", list(range(h, k)), slice(0, n))
json.dump({"split": "columns", "rows": n, "columns": {"0": names[:h], "1": names[h:]}, "bounds": bounds,
           "stats": stats, "reveal_to": [0, 1]}, open(f"{base}-columns.json", "w"))
PY
}

run() { # NAME (files $work/NAME.json, NAME-0.csv, NAME-1.csv)
    local name=$1 spec=$work/$1.json p t0 d
    t0=$(date +%s.%N)
    "$build/dealer/dealer" --stats "$spec" --out "$work/k-$name" --quiet 2>/dev/null
    d=$(echo "$(date +%s.%N) - $t0" | bc)
    p=$((20000 + RANDOM % 30000))
    "$build/online/online" --party 0 --keys "$work/k-$name/p0.bin" --peer 127.0.0.1:$p --stats "$spec" \
        --table "$work/$name-0.csv" --output "$work/$name-0.out" --threads 1 --json --quiet >"$work/j0" 2>/dev/null &
    "$build/online/online" --party 1 --keys "$work/k-$name/p1.bin" --peer 127.0.0.1:$p --stats "$spec" \
        --table "$work/$name-1.csv" --output "$work/$name-1.out" --threads 1 --json --quiet >"$work/j1" 2>/dev/null
    wait
    "$build/online/online" --clear --stats "$spec" --table0 "$work/$name-0.csv" --table1 "$work/$name-1.csv" \
        --output "$work/$name-clear.out" --quiet 2>/dev/null
    local same=false
    cmp -s "$work/$name-0.out" "$work/$name-clear.out" && cmp -s "$work/$name-1.out" "$work/$name-clear.out" && same=true
    "$py" "$src/stats/stats_ref.py" "$spec" "$work/$name-0.csv" "$work/$name-1.csv" "$work/$name-clear.out" --json \
        >"$work/ref" || true
    "$py" - "$name" "$d" "$same" "$work/j0" "$work/j1" "$work/ref" <<'PY'
import json, sys
name, dealer, same = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "true"
j0, j1, ref = (json.load(open(p)) for p in sys.argv[4:7])
print(json.dumps({"run": name, "rows": j1["rows"], "split": j1["split"], "stats": j1["stats"], "dealer_seconds": round(dealer, 3),
                  "seconds": [j0["seconds"], j1["seconds"]], "setup_seconds": [j0["setup_seconds"], j1["setup_seconds"]],
                  "key_bytes": [j0["key_bytes"], j1["key_bytes"]], "bytes_sent": [j0["bytes_sent"], j1["bytes_sent"]],
                  "rounds": j1["rounds"], "secure_equals_clear": same, "max_relative_error": ref["max_relative_error"],
                  "within_bounds": ref["ok"]}))
PY
}

for n in 100000 1000000; do for k in 4 16; do synth $n $k; done; done
{
    for t in diabetes cancer; do for s in rows columns; do run "$t-$s"; done; done
    for n in 100000 1000000; do for k in 4 16; do for s in rows columns; do run "synth-${n}x$k-$s"; done; done; done
} | tee "$work/lines"
"$py" - "$work/lines" <<'PY'
import json, sys
print("\n| table | split | rows | stats | dealer s | online s (p0, p1) | setup s (reading the table) | keys/party | sent (p0, p1) | rounds | secure == clear | largest relative error: mean, variance, correlation, regression |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for line in open(sys.argv[1]):
    r = json.loads(line)
    e = r["max_relative_error"]
    print(f"| {r['run'].rsplit('-', 1)[0]} | {r['split']} | {r['rows']} | {r['stats']} | {r['dealer_seconds']:.3f} | "
          f"{r['seconds'][0]:.4f}, {r['seconds'][1]:.4f} | {max(r['setup_seconds']):.2f} | {max(r['key_bytes']) / 1e3:.1f} kB | "
          f"{r['bytes_sent'][0]}, {r['bytes_sent'][1]} B | {r['rounds']} | {r['secure_equals_clear']} | "
          f"{e.get('mean', 0):.2g}, {e.get('variance', 0):.2g}, {e.get('correlation', 0):.2g}, "
          f"{e.get('linear_regression', 0):.2g} |")
PY
