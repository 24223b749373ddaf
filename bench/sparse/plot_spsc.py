#!/usr/bin/python3
"""Plots bench/sparse results (spsc_bench --json) against the corruption fraction: one row of panels per
corruption kind, one column per metric, one line per method."""
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

results = json.load(open(sys.argv[1]))
out = sys.argv[2]
rows = results["rows"]
kinds = sorted({r["kind"] for r in rows if r["kind"] != "none"}) or ["none"]
metrics = [("clean_reconstruction_error", "clean held-out recon. error"), ("accuracy", "linear classifier acc."),
           ("kmeans_acc", "k-means ACC"), ("nmi", "NMI")]
methods = list(dict.fromkeys(r["method"] for r in rows))
fig, axes = plt.subplots(len(kinds), len(metrics), figsize=(4 * len(metrics), 3 * len(kinds)), squeeze=False)
for a, kind in enumerate(kinds):
    for b, (key, label) in enumerate(metrics):
        ax = axes[a][b]
        for method in methods:
            pts = sorted((r["fraction"], r[key]) for r in rows
                         if r["method"] == method and (r["kind"] == kind or r["fraction"] == 0) and r[key] is not None)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=method)
        ax.set_title(f"{kind}: {label}", fontsize=9)
        ax.set_xlabel("corruption fraction")
        ax.grid(alpha=0.3)
axes[0][0].legend(fontsize=7)
fig.suptitle(f"SPSC vs baselines on {results['data']} (K={results['atoms']}, lambda={results['lambda']})")
fig.tight_layout()
fig.savefig(out, dpi=90)
print("wrote", out)
