#!/usr/bin/env python3
"""Picks the tuned setting of every benchmark entry from the runs of bench/fed/tune.sh.

Score of a setting: its accuracy at the last two evaluations (rounds 75 and 100 of 100), averaged over those
two and over the alphas (two evaluations, not one, because the alpha = 0.1 curves jump by a few points
between evaluations). Prints one table per entry and the best settings, and writes them to
<dir>/tuned.json.  Usage: python3 bench/fed/pick_tuned.py [bench/fed/tune]
"""
import collections
import glob
import json
import math
import os
import sys

TUNED_KEYS = ("lr", "server_lr", "sigma")


def label_of(options):
    if options["strategy"] != "zsignfedavg":
        return options["strategy"]
    z = options["z"]
    return "zsignfedavg z=" + ("inf" if isinstance(z, str) or z > 1e6 or math.isinf(z) else str(int(z)))


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "bench/fed/tune"
    scores = collections.defaultdict(lambda: collections.defaultdict(dict))
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        if path.endswith("tuned.json"):
            continue
        run = json.load(open(path))
        options = run["config"]["options"]
        setting = tuple((k, options[k]) for k in TUNED_KEYS)
        last = [p["accuracy"] for p in run["history"][-2:]]
        scores[label_of(options)][setting][run["config"]["alpha"]] = sum(last) / len(last)
    best = {}
    for label, settings in scores.items():
        alphas = sorted({a for per_alpha in settings.values() for a in per_alpha})
        print(f"\n{label}")
        print("  " + "  ".join(f"{k:>9}" for k in TUNED_KEYS) + "".join(f"  alpha {a:<4}" for a in alphas)
              + "     mean")
        ranked = []
        for setting, per_alpha in settings.items():
            complete = len(per_alpha) == len(alphas)
            mean = sum(per_alpha.values()) / len(per_alpha)
            ranked.append((complete, mean, setting, per_alpha))
        ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
        for complete, mean, setting, per_alpha in ranked:
            cells = "".join(f"  {per_alpha[a]:10.4f}" if a in per_alpha else "           -" for a in alphas)
            print("  " + "  ".join(f"{v:9g}" for _, v in setting) + cells + f"  {mean:7.4f}"
                  + ("" if complete else "  (incomplete)"))
        complete, mean, setting, per_alpha = ranked[0]
        best[label] = dict(setting, score=mean, complete=complete)
    print("\nbest setting per entry (score: mean accuracy at rounds 75 and 100 over the alphas)")
    for label, b in sorted(best.items()):
        print(f"  {label:20s} " + "  ".join(f"{k} {b[k]:g}" for k in TUNED_KEYS) + f"  score {b['score']:.4f}"
              + ("" if b["complete"] else "  (incomplete grid)"))
    with open(os.path.join(folder, "tuned.json"), "w") as f:
        json.dump(best, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
