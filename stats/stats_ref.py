#!/usr/bin/env python3
"""The float reference of the statistics (numpy on the joined table), against a run's
results: the check of the fixed point's precision.

    python3 stats/stats_ref.py SPEC.json TABLE0.csv TABLE1.csv RESULTS.json [--json]

Joins the two parties' tables as the spec splits them (rows: party 0's then party 1's;
columns: side by side), computes every statistic of the spec with numpy in float64, and
compares: sum, mean, variance and std within 1e-4 relative error, min and max within
1e-9, count and histogram counts exactly, a linear regression's coefficients and intercept within
1e-3 of the norm of [coefficients, intercept] (the issue's bounds). Prints a line a kind of
statistic with its largest error (or, with --json, one JSON object) and exits 1 when any
is out of bounds.
"""
import argparse
import csv
import json
import sys

import numpy as np

TOL = {"sum": 1e-4, "mean": 1e-4, "variance": 1e-4, "std": 1e-4, "min": 1e-9, "max": 1e-9, "correlation": 1e-4,
       "linear_regression": 1e-3}


def columns(path, names):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    return {n: np.array([float(r[head.index(n)]) for r in rows[1:]], dtype=np.float64) for n in names}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec")
    ap.add_argument("table0")
    ap.add_argument("table1")
    ap.add_argument("results")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    spec = json.load(open(a.spec))
    res = json.load(open(a.results))
    if spec["split"] == "rows":
        t0, t1 = columns(a.table0, spec["columns"]), columns(a.table1, spec["columns"])
        data = {c: np.concatenate([t0[c], t1[c]]) for c in spec["columns"]}
    else:
        data = {**columns(a.table0, spec["columns"]["0"]), **columns(a.table1, spec["columns"]["1"])}
    worst, bad = {}, []
    assert len(res["results"]) == len(spec["stats"])
    for i, (s, r) in enumerate(zip(spec["stats"], res["results"])):
        op = s["op"]
        for k, v in s.items():
            if r.get(k) != v:
                bad.append(f"statistic {i + 1}: the result's {k} is {r.get(k)!r}, the spec's {v!r}")
        x = data[s["column"]] if "column" in s else None
        if op == "count":
            ref = len(next(iter(data.values())))
        elif op == "sum":
            ref = x.sum()
        elif op == "mean":
            ref = x.mean()
        elif op == "variance":
            ref = x.var(ddof=s.get("ddof", 0))
        elif op == "std":
            ref = x.std(ddof=s.get("ddof", 0))
        elif op == "min":
            ref = x.min()
        elif op == "max":
            ref = x.max()
        elif op == "histogram":
            ref = np.histogram(x, s["edges"])[0].tolist()
        elif op == "correlation":
            ref = np.corrcoef(np.array([data[c] for c in s["columns"]]))
        elif op == "linear_regression":
            xs = np.array([data[c] for c in s["x"]]).T
            sol = np.linalg.lstsq(np.c_[xs, np.ones(len(xs))], data[s["y"]], rcond=None)[0]
            ref = sol  # the coefficients, then the intercept
        else:
            bad.append(f"statistic {i + 1}: unknown op {op}")
            continue
        if op == "linear_regression":
            got = np.array(r["coefficients"] + [r["intercept"]])
            err = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
            if not err <= TOL[op]:
                bad.append(f"statistic {i + 1} (linear_regression of {s['y']}): relative error {err:.3g}")
        elif op == "correlation":
            got = np.array(r["matrix"])
            err = 0.0
            for i0 in range(len(ref)):
                for i1 in range(len(ref)):
                    e = abs(got[i0, i1] - ref[i0, i1]) / max(abs(ref[i0, i1]), 1e-5)
                    err = max(err, e)
            if not err <= TOL[op]:
                bad.append(f"statistic {i + 1} (correlation of {s['columns']}): relative error {err:.3g}")
        elif op in ("count", "histogram"):
            got = r["counts"] if op == "histogram" else r["value"]
            err = 0.0 if got == ref else 1.0
            if got != ref:
                bad.append(f"statistic {i + 1} ({op} of {s.get('column')}): {got}, numpy {ref}")
        else:
            got = r["value"]
            err = abs(got - ref) / abs(ref) if ref != 0 else abs(got)
            if not err <= TOL[op]:
                bad.append(f"statistic {i + 1} ({op} of {s['column']}): {got!r}, numpy {ref!r}: relative error {err:.3g}")
        worst[op] = max(worst.get(op, 0.0), err)
    if a.json:
        print(json.dumps({"spec": a.spec, "stats": len(spec["stats"]), "max_relative_error": worst,
                          "ok": not bad}))
    else:
        for op, e in worst.items():
            print(f"{op:10s} largest relative error {e:.3g}" + (f" (bound {TOL[op]:g})" if op in TOL else " (exact)"))
    for b in bad:
        print("FAIL:", b, file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
