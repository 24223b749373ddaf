#!/usr/bin/python3
"""Plots of the ranking-service benchmarks (bench/feedback): latency of the load test, and the target
class score of the images a simulated rater steers.
    python3 bench/feedback/plot_feedback.py --load load.json --steer steer.json --out docs/img
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_load(data, path):
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for key, label in (("ask_ms", "ask (POST .../ask)"), ("tell_ms", "tell (POST .../tell, fsynced)")):
        v = np.sort(np.asarray(data[key]))
        if len(v):
            ax.plot(v, np.arange(1, len(v) + 1) / len(v), label=label)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of requests")
    ax.set_title(f"{data['raters']} raters, {data['requests_per_second']:.0f} req/s, "
                 f"{data['answers_accepted']} answers, store exact: {data['store_exact']}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_steer(data, path):
    fig, ax = plt.subplots(figsize=(6, 3.8))
    it = np.arange(data["iterations"] + 1)
    for name, color, style in (("ranked", "tab:blue", "-"), ("random", "tab:gray", "--")):
        runs = np.asarray([r["best_p"] for r in data[name]])
        for r in runs:
            ax.plot(it, r, color=color, alpha=0.25, lw=0.8, ls=style)
        label = "rater ranks by classifier score" if name == "ranked" else "control: random answers"
        ax.plot(it, runs.mean(axis=0), color=color, lw=2.2, ls=style, label=f"{label} (mean of {len(runs)})")
    ax.set_xlabel("iteration (one ranking round + one line-search round)")
    ax.set_ylabel(f"classifier p({data['target']} | best image)")
    ax.set_ylim(0, 1)
    ax.set_title(f"Steering the unconditional DiT toward '{data['target']}' "
                 f"(euler {data['steps']} steps, m={data['m']}, k={data['k']})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--load")
    ap.add_argument("--steer")
    ap.add_argument("--out", default=".")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.load:
        with open(a.load) as f:
            plot_load(json.load(f), os.path.join(a.out, "feedback-load.png"))
    if a.steer:
        with open(a.steer) as f:
            plot_steer(json.load(f), os.path.join(a.out, "feedback-steering.png"))


if __name__ == "__main__":
    main()
