#!/usr/bin/python3
"""Runs bench/matrix/m3o_bench and the peers, and writes the numbers of docs/m3o.md.

    /usr/bin/python3 bench/matrix/run_bench.py --bin build/bench/matrix/m3o_bench --out bench-matrix-out \
        [--steps lap,timing,paper,sweep,halves] [--paper-seeds 10] [--sweep-seeds 3] [--halves-n 100]

(/usr/bin/python3: Debian's python3 with python3-scipy and python3-matplotlib.)

Steps: lap (our Jonker-Volgenant vs SciPy's linear_sum_assignment on the same matrices: same optimum,
time ratio), timing (M3O seconds per iteration, SVD share), paper (note 2.5 a, 4 methods), sweep
(rank / noise / missing, plotted to sweep.png), halves (Fashion-MNIST). Results: OUT/*.json, OUT/summary.json.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def run(binary, mode, out, *extra):
    cmd = [binary, mode, "--out", out, *extra]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    with open(os.path.join(out, mode + ".json")) as f:
        return json.load(f)


def lap_vs_scipy(lap):
    from scipy.optimize import linear_sum_assignment
    rows = []
    for r in lap["runs"]:
        n = r["n"]
        c = np.fromfile(r["file"], dtype=np.float64).reshape(n, n)
        best = float("inf")
        for _ in range(r["repetitions"]):
            t = time.perf_counter()
            i, j = linear_sum_assignment(c)
            best = min(best, time.perf_counter() - t)
        cost = float(c[i, j].sum())
        same = abs(cost - r["cost"]) <= 1e-9 * max(1.0, abs(cost))
        rows.append({"n": n, "optidiff_seconds": r["seconds"], "scipy_seconds": best,
                     "speedup_vs_scipy": best / r["seconds"], "same_optimum": same,
                     "optidiff_cost": r["cost"], "scipy_cost": cost})
        print(f"LAP n={n}: optidiff {r['seconds']:.4f} s, scipy {best:.4f} s, ratio scipy/optidiff "
              f"{best / r['seconds']:.2f}, same optimum: {same}", flush=True)
        os.remove(r["file"])
    return rows


def plot_sweep(sweep, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    axes = ["rank", "noise", "missing"]
    methods = ["m3o", "alternating", "separate", "oracle"]
    fig, ax = plt.subplots(2, 3, figsize=(13, 7))
    for k, axis in enumerate(axes):
        pts = [p for p in sweep["points"] if p["axis"] == axis]
        xs = [p["value"] for p in pts]
        for m in methods:
            rmse = [np.mean([t[m]["rmse"] for t in p["trials"]]) for p in pts]
            perr = [np.mean([t[m]["permutation_errors"] for t in p["trials"]]) for p in pts]
            ax[0][k].plot(xs, rmse, marker="o", label=m)
            ax[1][k].plot(xs, perr, marker="o", label=m)
        ax[0][k].set_yscale("log")
        ax[0][k].set_title("RMSE vs " + axis)
        ax[1][k].set_title("wrongly matched rows (of 60) vs " + axis)
        ax[1][k].set_xlabel(axis)
    ax[0][0].legend()
    fig.suptitle(sweep["base"])
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="build/bench/matrix/m3o_bench")
    p.add_argument("--out", default="bench-matrix-out")
    p.add_argument("--steps", default="lap,timing,paper,sweep,halves")
    p.add_argument("--paper-seeds", default="10")
    p.add_argument("--paper-patience", default="100")
    p.add_argument("--sweep-seeds", default="3")
    p.add_argument("--halves-n", default="100")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    summary_path = os.path.join(a.out, "summary.json")
    summary = json.load(open(summary_path)) if os.path.exists(summary_path) else {}
    steps = a.steps.split(",")
    if "lap" in steps:
        summary["lap"] = lap_vs_scipy(run(a.bin, "lap", a.out))
    if "timing" in steps:
        summary["timing"] = run(a.bin, "timing", a.out)["runs"]
    if "paper" in steps:
        summary["paper"] = run(a.bin, "paper", a.out, "--seeds", a.paper_seeds, "--patience", a.paper_patience)
    if "sweep" in steps:
        sweep = run(a.bin, "sweep", a.out, "--seeds", a.sweep_seeds)
        plot_sweep(sweep, os.path.join(a.out, "sweep.png"))
        summary["sweep"] = sweep
    if "halves" in steps:
        summary["halves"] = run(a.bin, "halves", a.out, "--n", a.halves_n)
    with open(summary_path, "w") as f:
        json.dump(summary, f, indent=1)
    print("wrote", summary_path)


if __name__ == "__main__":
    sys.exit(main())
