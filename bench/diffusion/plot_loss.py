#!/usr/bin/python3
"""The training curve of a DiT run: loss against steps from OUT/loss.csv (`optidiff diffusion train`).

  python3 bench/diffusion/plot_loss.py RUN/loss.csv --out docs/diffusion-teacher-loss.png \
      [--label "warm start from 3,032 steps"] [--offset 3032] [--compare OTHER/loss.csv --compare-label fp32]

Each row of loss.csv is the mean flow-matching loss of 10 steps (noisy: the timestep t is random); the
plot shows those points faintly and a moving average of 20 rows (200 steps) on top. --offset shifts the
steps (a warm-started run counts from 0; offset it by the steps of the model it started from).
"""
import argparse
import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read(path):
    rows = list(csv.DictReader(open(path)))
    return [int(r["step"]) for r in rows], [float(r["loss"]) for r in rows]


def smooth(v, k=20):
    out, acc = [], 0.0
    for i, x in enumerate(v):
        acc += x
        if i >= k:
            acc -= v[i - k]
        out.append(acc / min(i + 1, k))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("--out", required=True)
    ap.add_argument("--label", default="training loss")
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--compare")
    ap.add_argument("--compare-label", default="other run")
    ap.add_argument("--title", default="DiT small, flow matching, batch 128")
    a = ap.parse_args()
    fig, ax = plt.subplots(figsize=(7, 4))
    runs = [(a.csv, a.label, "C0")] + ([(a.compare, a.compare_label, "C1")] if a.compare else [])
    for path, label, color in runs:
        steps, loss = read(path)
        steps = [s + a.offset for s in steps]
        ax.plot(steps, loss, color=color, alpha=0.2, lw=0.8)
        ax.plot(steps, smooth(loss), color=color, lw=1.8, label=label + " (200-step mean)")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss |v - (eps - x0)|^2")
    ax.set_title(a.title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
