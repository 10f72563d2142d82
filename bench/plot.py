#!/usr/bin/env python3
"""Plots of the benchmark JSON lines, for a reader at a glance (PNG next to the tables in
bench/results/). Needs matplotlib, which the builds and tests do not:

    python3 -m venv /tmp/plot-venv && /tmp/plot-venv/bin/pip install matplotlib
    /tmp/plot-venv/bin/python bench/plot.py sweep RESULTS.jsonl OUT.png   # fss-bench --json --sweep
    /tmp/plot-venv/bin/python bench/plot.py once RESULTS.jsonl OUT.png    # cnn-bench.sh or tf-bench.sh rows

sweep: each primitive's eval (and keygen) as a fraction of the core's AES limit against
the batch, one line a primitive and n, with the peers' figures of ../shared/PEERS.md (myl7/fss and EzPC's LLAMA, which take
one key at a time: a level line each) against the same limit.
once: each model's online bytes and seconds without and with the weights input once (the
median of its rows)."""
import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def sweep(src, out):
    rs = rows(src)
    lines = {}
    for r in rs:
        if r.get("prim") == "aes" or "aes_frac" not in r:
            continue
        key = "%s n=%d%s%s %s" % (r["prim"], r["n"], " l=%d" % r["out_bits"] if r["prim"] == "dcf" else "",
                                  " g=%d" % r["g"] if r.get("g", 1) > 1 else "", r["op"])
        if r.get("path"):  # a run of several CPU paths: a line each
            key += " " + r["path"]
        lines.setdefault(key, []).append((r["count"], r["aes_frac"]))
    fig, ax = plt.subplots(figsize=(8, 5))
    for key in sorted(lines):
        pts = sorted(lines[key])
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o" if "eval" in key else "x",
                linestyle="-" if "eval" in key else ":", label=key)
    limit = [r["blocks_per_s"] for r in rs if r.get("prim") == "aes" and r.get("path") in ("vaes", "vaes256")]
    if limit:  # ../shared/PEERS.md: one key at a time, so any batch; AES blocks an eval as ours
        for name, blocks, ns in (("myl7/fss DCF(64) eval", 128, 1503), ("LLAMA DCF(64) eval", 128, 3996),
                                 ("myl7/fss DPF(64) eval", 64, 1469)):
            ax.axhline(blocks / (ns * 1e-9) / limit[0], linewidth=0.8, linestyle="-.", color="black")
            x0 = min(p[0] for pts in lines.values() for p in pts)  # the smallest batch plotted
            ax.annotate(name + " (PEERS.md)", (x0, blocks / (ns * 1e-9) / limit[0]), fontsize=7)
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch (instances a call)")
    ax.set_ylabel("fraction of the AES limit (VAES-512 loop or AVX2 ECB)")
    ax.set_title("FSS primitives on one core against the AES limit")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def once(src, out):
    rs = rows(src)
    models = []
    for r in rs:
        label = "%s b%d" % (r["model"], r["batch"]) if "seq" not in r else "%s s%d" % (r["model"], r["seq"])
        r["_label"] = label
        if label not in models:
            models.append(label)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, field, unit in ((axes[0], "bytes", "MB exchanged (party 1)"), (axes[1], "secs", "online s (party 1)")):
        for k, once_ in enumerate((False, True)):
            vals = []
            for m in models:
                sel = [r for r in rs if r["_label"] == m and bool(r.get("weights_once")) == once_]
                v = [(r["bytes_sent_p1"] + r["bytes_received_p1"]) / 1e6 if field == "bytes" else r["online_s_p1"]
                     for r in sel]
                vals.append(statistics.median(v) if v else 0)
            xs = [i + (k - 0.5) * 0.38 for i in range(len(models))]
            ax.bar(xs, vals, width=0.38, label="weights input once" if once_ else "weights every run")
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels(models, rotation=20, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel(unit)
        ax.legend(fontsize=8)
    fig.suptitle("Weights input once: each run's bytes and time (medians)")
    fig.tight_layout()
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("sweep", "once"):
        sys.exit(__doc__)
    (sweep if sys.argv[1] == "sweep" else once)(sys.argv[2], sys.argv[3])
