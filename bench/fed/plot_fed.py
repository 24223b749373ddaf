#!/usr/bin/env python3
"""Plots `optidiff fed bench` results: test accuracy against rounds and against cumulative uplink bytes,
one panel pair per (alpha, E) setting, mean over the seeds done (the legend gives each curve's seed count).
Reads the summary (fed_bench.json) or the per-run results file (fed_bench.jsonl, usable while a sweep runs;
an incomplete last line is ignored). Usage: python3 bench/fed/plot_fed.py fed_bench.json|fed_bench.jsonl [out.png]"""
import json
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load_runs(path):
    if path.endswith(".jsonl"):
        runs = []
        with open(path) as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # a run being written
                j = json.loads(line)
                if "optidiff_fed_bench" not in j:  # the first line is the configuration
                    runs.append(j)
        return runs
    return json.load(open(path))["runs"]


ENTRIES = ["fedavg", "zsignfedavg z=1", "zsignfedavg z=inf", "signsgd", "ef-signsgd", "sto-signsgd", "fedlion",
           "fedadam", "fedyogi", "fedams", "fafed", "fedda"]


def order(label):
    return ENTRIES.index(label) if label in ENTRIES else len(ENTRIES) + hash(label) % 8


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "fed_bench.json"
    out = sys.argv[2] if len(sys.argv) > 2 else path.rsplit(".", 1)[0] + ".png"
    runs = load_runs(path)
    if not runs:
        sys.exit(f"{path}: no finished runs yet")
    settings = sorted({(r["alpha"], r["local_steps"]) for r in runs})
    fig, axes = plt.subplots(len(settings), 2, figsize=(12, 4 * len(settings)), squeeze=False)
    for row, (alpha, e) in enumerate(settings):
        curves = defaultdict(list)
        for r in runs:
            if (r["alpha"], r["local_steps"]) == (alpha, e):
                curves[r["label"]].append(r["history"])
        for label, histories in sorted(curves.items(), key=lambda kv: order(kv[0])):
            n = min(len(h) for h in histories)
            rounds = [histories[0][i]["round"] for i in range(n)]
            acc = [sum(h[i]["accuracy"] for h in histories) / len(histories) for i in range(n)]
            up = [sum(h[i]["uplink_bytes"] for h in histories) / len(histories) / 1e6 for i in range(n)]
            name = f"{label} ({len(histories)} seed{'s' if len(histories) > 1 else ''})"
            # The two methods of the papers solid and thick, the baselines thin (dashed: the sign baselines).
            style = dict(color=plt.cm.tab20(order(label) % 20), label=name,
                         lw=2.2 if label.startswith(("zsignfedavg", "fedlion")) else 1.1,
                         ls="--" if "signsgd" in label else "-")
            axes[row][0].plot(rounds, acc, **style)
            axes[row][1].plot(up, acc, **style)
        axes[row][0].set(xlabel="round", ylabel="test accuracy", title=f"alpha={alpha}, E={e}")
        axes[row][1].set(xlabel="cumulative uplink (MB)", ylabel="test accuracy", xscale="symlog",
                         title=f"alpha={alpha}, E={e}")
        axes[row][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print("wrote", out)


if __name__ == "__main__":
    main()
