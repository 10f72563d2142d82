#!/usr/bin/env python3
"""Two hospitals' tabular models: hospital A trains a logistic regression and a small MLP on
its half of the breast-cancer table (Debian's python3-sklearn: 569 patients, 30 features,
diagnosis 0 malignant / 1 benign), and hospital B holds the other half, labelled. The
models then run securely on B's half (`--task probability` or `--task accuracy`).

    python3 cnn/train_tabular.py [--data DIR] [--out DIR] [--seed S]

DIR: stats/sklearn-data.sh's folder (the default asks it). Numpy only. Writes into --out
(default: next to this script):
  logreg-cancer.safetensors  fc: Linear(30, 2), logits [0, w.z + b]: sigma(z1 - z0) is the
                             logistic regression's probability of benign
  mlp-cancer.safetensors     fc1: Linear(30, 16), ReLU, fc2: Linear(16, 2)
  cancer-b.npy               B's half, float32 [n][1][1][30] (raw features, as B holds them)
  cancer-b-labels.npy        its diagnoses, int64 [n]
  cancer-b-float.json        the float models' probabilities of benign and accuracy on B's
                             half (the secure runs' reference)
The features are standardized with A's means and standard deviations, folded into the
first layer (w' = w / sigma, b' = b - sum w mu / sigma), so B gives its raw values.
The split: a seeded permutation, A the first half (284), B the rest (285).
"""
import argparse
import csv
import json
import os
import subprocess
import sys

import numpy as np

from safetensors_io import save_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))


def train_logreg(z, y, l2=1e-3, steps=50):
    """Newton's method on the regularized log-loss."""
    n, d = z.shape
    x = np.hstack([z, np.ones((n, 1))])
    w = np.zeros(d + 1)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        g = x.T @ (p - y) / n + l2 * np.r_[w[:-1], 0]
        h = (x.T * (p * (1 - p))) @ x / n + l2 * np.diag(np.r_[np.ones(d), 0])
        w -= np.linalg.solve(h, g)
    return w[:-1], w[-1]


def train_mlp(z, y, hidden=16, epochs=2000, lr=0.01, l2=1e-4, seed=0):
    """Full-batch Adam on the softmax cross-entropy of Linear-ReLU-Linear."""
    rng = np.random.default_rng(seed)
    n, d = z.shape
    params = [rng.normal(0, np.sqrt(2 / d), (hidden, d)), np.zeros(hidden),
              rng.normal(0, np.sqrt(2 / hidden), (2, hidden)), np.zeros(2)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(2)[y]
    for t in range(1, epochs + 1):
        w1, b1, w2, b2 = params
        h = np.maximum(z @ w1.T + b1, 0)
        logits = h @ w2.T + b2
        e = np.exp(logits - logits.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
        dl = (p - onehot) / n
        gw2 = dl.T @ h + l2 * w2
        gb2 = dl.sum(0)
        dh = (dl @ w2) * (h > 0)
        gw1 = dh.T @ z + l2 * w1
        gb1 = dh.sum(0)
        for i, g in enumerate([gw1, gb1, gw2, gb2]):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            params[i] = params[i] - lr * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
    return params


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--seed", type=int, default=19)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    data = a.data or subprocess.check_output(
        ["bash", os.path.join(HERE, "..", "stats", "sklearn-data.sh")], text=True).strip()
    with open(os.path.join(data, "breast_cancer.csv")) as f:
        rows = list(csv.reader(f))[1:]
    x = np.array([[float(v) for v in r[:30]] for r in rows])
    y = np.array([int(r[30]) for r in rows])
    perm = np.random.default_rng(a.seed).permutation(len(y))
    ia, ib = perm[:len(y) // 2], perm[len(y) // 2:]
    mu, sd = x[ia].mean(0), x[ia].std(0)
    za, zb = (x[ia] - mu) / sd, (x[ib] - mu) / sd
    ref = {"rows_a": len(ia), "rows_b": len(ib), "seed": a.seed}

    w, b = train_logreg(za, y[ia])
    wf, bf = w / sd, b - (w * mu / sd).sum()  # on raw features
    fc_w = np.vstack([np.zeros(30), wf])
    fc_b = np.array([0.0, bf])
    save_safetensors(os.path.join(a.out, "logreg-cancer.safetensors"),
                     [("fc.weight", fc_w), ("fc.bias", fc_b)], {"format": "pt", "model": "logreg-cancer"})
    p = 1 / (1 + np.exp(-(x[ib] @ wf + bf)))
    ref["logreg-cancer"] = {"probability": p.tolist(), "accuracy": float(((p > 0.5) == y[ib]).mean()),
                            "correct": int(((p > 0.5) == y[ib]).sum())}

    w1, b1, w2, b2 = train_mlp(za, y[ia])
    w1f, b1f = w1 / sd, b1 - (w1 * mu / sd).sum(1)
    save_safetensors(os.path.join(a.out, "mlp-cancer.safetensors"),
                     [("fc1.weight", w1f), ("fc1.bias", b1f), ("fc2.weight", w2), ("fc2.bias", b2)],
                     {"format": "pt", "model": "mlp-cancer"})
    h = np.maximum(x[ib] @ w1f.T + b1f, 0)
    lg = h @ w2.T + b2
    p = 1 / (1 + np.exp(-(lg[:, 1] - lg[:, 0])))
    ref["mlp-cancer"] = {"probability": p.tolist(), "accuracy": float((lg.argmax(1) == y[ib]).mean()),
                         "correct": int((lg.argmax(1) == y[ib]).sum())}

    np.save(os.path.join(a.out, "cancer-b.npy"), x[ib].astype(np.float32).reshape(-1, 1, 1, 30))
    np.save(os.path.join(a.out, "cancer-b-labels.npy"), y[ib].astype(np.int64))
    with open(os.path.join(a.out, "cancer-b-float.json"), "w") as f:
        json.dump(ref, f)
    print(f"train_tabular.py: A {len(ia)} rows, B {len(ib)}; on B: logistic regression "
          f"{ref['logreg-cancer']['accuracy']:.4f}, MLP {ref['mlp-cancer']['accuracy']:.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
