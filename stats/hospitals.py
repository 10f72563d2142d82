#!/usr/bin/env python3
"""Two hospitals' tables from scikit-learn's bundled data (Debian's python3-sklearn):
diabetes (442 patients: age, sex, bmi, bp, s1..s6 and the disease progression `target`)
and breast cancer (569 patients, 30 features and `diagnosis`, 0 malignant, 1 benign),
each split between party 0 and party 1 both ways, with a statistics spec for each split.

    python3 stats/hospitals.py DATA_DIR OUT_DIR [--seed S]

DATA_DIR: stats/sklearn-data.sh's folder. Writes into OUT_DIR, for T in diabetes, cancer:
  T.csv                          the joined table (for checking only: no party has it)
  T-rows-0.csv, T-rows-1.csv     a random split of the patients (30 to 70 percent each)
  T-rows.json                    its spec
  T-columns-0.csv, -1.csv        the same patients in the same order, a random split of
  T-columns.json                 the columns (a `patient` number in both, not in the spec)
The seed (printed) makes the splits; the statistics: the count, then sum, mean, variance,
std (ddof 1), min and max of every column, histograms of a few, a correlation matrix
(diabetes: every column; cancer: eight) and a linear regression (diabetes: the disease
progression on all ten features; cancer: the worst area on five). The bounds are public
guesses a hospital could make without the data: 0 to the power of ten above each column's
largest value. Standard library only.
"""
import argparse
import csv
import gzip
import math
import os
import random
import sys

CANCER = [f"{kind}_{name}" for kind in ("mean", "error", "worst") for name in (
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
    "concave_points", "symmetry", "fractal_dimension")]
CANCER = [c.replace("error_", "") + "_error" if c.startswith("error_") else c for c in CANCER]
DIABETES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]

HISTOGRAMS = {
    "diabetes": {"age": [19, 30, 40, 50, 60, 70, 80], "bmi": [15, 20, 25, 30, 35, 40, 45],
                 "target": [25, 75, 125, 175, 225, 275, 350]},
    "cancer": {"mean_radius": [5, 10, 15, 20, 25, 30], "diagnosis": [0, 0.5, 1],
               "worst_area": [0, 500, 1000, 2000, 5000]},
}


CORRELATIONS = {
    "diabetes": DIABETES + ["target"],
    "cancer": ["mean_radius", "mean_texture", "mean_smoothness", "mean_concavity", "mean_fractal_dimension",
               "radius_error", "worst_area", "diagnosis"],
}


REGRESSIONS = {
    "diabetes": {"y": "target", "x": DIABETES},
    "cancer": {"y": "worst_area", "x": ["mean_radius", "mean_texture", "mean_smoothness", "mean_concavity",
                                       "radius_error"]},
}


def load(data):
    with gzip.open(os.path.join(data, "diabetes_data_raw.csv.gz"), "rt") as f:
        x = [line.split() for line in f if line.strip()]
    with gzip.open(os.path.join(data, "diabetes_target.csv.gz"), "rt") as f:
        y = [line.strip() for line in f if line.strip()]
    assert len(x) == len(y) == 442 and all(len(r) == 10 for r in x)
    # the target file holds floats written as 1.51e+02: whole numbers, written back as such
    diabetes = (DIABETES + ["target"], [r + [repr(float(t)).rstrip("0").rstrip(".")] for r, t in zip(x, y)])
    with open(os.path.join(data, "breast_cancer.csv")) as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["569", "30"] and len(rows) == 570
    cancer = (CANCER + ["diagnosis"], [r for r in rows[1:]])
    assert all(len(r) == 31 for r in cancer[1])
    return {"diabetes": diabetes, "cancer": cancer}


def write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def bounds(header, rows):
    out = {}
    for j, name in enumerate(header):
        vals = [float(r[j]) for r in rows]
        assert min(vals) >= 0
        hi = 10.0 ** math.ceil(math.log10(max(vals))) if max(vals) > 0 else 1.0
        out[name] = [0, int(hi) if hi >= 1 else hi]
    return out


def stats(table, columns):
    out = [{"op": "count"}]
    for c in columns:
        out += [{"op": "sum", "column": c}, {"op": "mean", "column": c}, {"op": "variance", "column": c},
                {"op": "std", "column": c, "ddof": 1}, {"op": "min", "column": c}, {"op": "max", "column": c}]
    for c, edges in HISTOGRAMS[table].items():
        out.append({"op": "histogram", "column": c, "edges": edges})
    out.append({"op": "correlation", "columns": CORRELATIONS[table]})
    out.append({"op": "linear_regression", **REGRESSIONS[table]})
    return out


def spec_text(spec):
    # one statistic a line: readable, and still plain JSON
    import json
    head = {k: v for k, v in spec.items() if k != "stats"}
    lines = ",\n".join("  " + json.dumps(s) for s in spec["stats"])
    return json.dumps(head)[:-1] + ',\n "stats": [\n' + lines + "\n ]}\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"hospitals.py: seed {seed}", file=sys.stderr)
    rng = random.Random(seed)
    os.makedirs(a.out, exist_ok=True)
    for table, (header, rows) in load(a.data).items():
        write(os.path.join(a.out, f"{table}.csv"), header, rows)
        b = bounds(header, rows)
        # rows: each hospital its own patients
        order = list(range(len(rows)))
        rng.shuffle(order)
        n0 = rng.randint(int(0.3 * len(rows)), int(0.7 * len(rows)))
        parts = [sorted(order[:n0]), sorted(order[n0:])]
        for p in range(2):
            write(os.path.join(a.out, f"{table}-rows-{p}.csv"), header, [rows[i] for i in parts[p]])
        spec = {"split": "rows", "rows": [len(parts[0]), len(parts[1])], "columns": header, "bounds": b,
                "stats": stats(table, header), "reveal_to": [0, 1]}
        with open(os.path.join(a.out, f"{table}-rows.json"), "w") as f:
            f.write(spec_text(spec))
        # columns: the same patients, each hospital some of the columns
        cols = header[:]
        rng.shuffle(cols)
        k = rng.randint(1, len(cols) - 1)
        mine = [sorted(cols[:k], key=header.index), sorted(cols[k:], key=header.index)]
        for p in range(2):
            idx = [header.index(c) for c in mine[p]]
            write(os.path.join(a.out, f"{table}-columns-{p}.csv"), ["patient"] + mine[p],
                  [[str(i + 1)] + [r[j] for j in idx] for i, r in enumerate(rows)])
        spec = {"split": "columns", "rows": len(rows), "columns": {"0": mine[0], "1": mine[1]}, "bounds": b,
                "stats": stats(table, header), "reveal_to": [0, 1]}
        with open(os.path.join(a.out, f"{table}-columns.json"), "w") as f:
            f.write(spec_text(spec))


if __name__ == "__main__":
    main()
