#!/usr/bin/python3
"""Learning curves and speed for docs/rl.md: ZO-RankSGD (exact and noisy rankings, k in {1, m}), ARS V2-t and
CMA-ES on CartPole, Pendulum, Swimmer, Hopper and HalfCheetah, several seeds each, through the CLI.

    /usr/bin/python3 bench/rl/run_bench.py --bin build-rl/tools/optidiff/optidiff \
        --speed-bin build-rl/bench/rl/rl_speed_bench --out bench-rl-out [--seeds 5] [--scale 1.0]

(/usr/bin/python3: Debian's python3 with python3-matplotlib.) Every run is one `optidiff --threads 1 rank rl`
process, one after another (per-core numbers; the returns do not depend on the thread count). The budgets
are far below the paper's (see BUDGET; --scale multiplies them). Results: OUT/runs/*.json, OUT/summary.json,
OUT/curves.png, OUT/speed.json.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

# Training episodes per run (ARS's paper uses thousands to hundreds of thousands; we have a shared 2-core box).
BUDGET = {"cartpole": 400, "pendulum": 1000, "swimmer": 200, "hopper": 400, "halfcheetah": 200}
ENVS = list(BUDGET)
# (label, method, k: "m" or a number, noise)
VARIANTS = [
    ("ZO-RankSGD k=m", "ranksgd", "m", "exact"),
    ("ZO-RankSGD k=1", "ranksgd", "1", "exact"),
    ("ZO-RankSGD k=m, noisy (flip:0.2)", "ranksgd", "m", "flip:0.2"),
    ("ARS V2-t (returns)", "ars", "0", "exact"),
    ("CMA-ES (ranks)", "cmaes", "0", "exact"),
]
MODELS = {"swimmer": "swimmer.xml", "hopper": "hopper.xml", "halfcheetah": "half_cheetah.xml"}


def run_one(binary, out_dir, env, label, method, k, noise, seed, budget):
    tag = f"{env}-{method}-k{k}-{noise.replace(':', '')}-s{seed}"
    path = os.path.join(out_dir, "runs", tag + ".json")
    if os.path.exists(path):  # resume: a finished run is not repeated
        with open(path) as f:
            return json.load(f)
    cmd = [binary, "-q", "--threads", "1", "rank", "rl", "--env", env, "--method", method, "--episodes", str(budget),
           "--noise", noise, "--seed", str(seed), "--eval-points", "5", "--eval-episodes", "2", "--json", path]
    if k == "1":
        cmd += ["--k", "1"]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        return json.load(f)


def testspeed(model_dir):
    exe = shutil.which("mujoco-testspeed")
    if not exe:
        return None
    rows = {}
    for env, xml in MODELS.items():
        out = subprocess.run([exe, os.path.join(model_dir, xml), "20000", "1", "0.01"], check=True,
                             capture_output=True, text=True).stdout
        m = re.search(r"Time per step\s*:\s*([0-9.]+)\s*ms", out)
        rows[env] = {"ms_per_mj_step": float(m.group(1)), "mj_step_per_s": 1000.0 / float(m.group(1))}
    return rows


def plot(summary, envs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    fig, axes = plt.subplots(1, len(envs), figsize=(4 * len(envs), 3.6), squeeze=False)
    axes = axes[0]
    for ax, env in zip(axes, envs):
        for label, *_ in VARIANTS:
            runs = summary["curves"][env].get(label, [])
            if not runs:
                continue
            x = np.array([p[0] for p in runs[0]])
            ys = np.array([[p[1] for p in r] for r in runs if len(r) == len(runs[0])])
            mean, lo, hi = ys.mean(0), ys.min(0), ys.max(0)
            line, = ax.plot(x, mean, label=label)
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15)
        ax.set_title(env)
        ax.set_xlabel("training episodes")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("return (mean of seeds; band: min-max)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(summary, speed, path):
    """The markdown tables of docs/rl.md."""
    envs = list(summary["final"])
    lines = ["| env (budget) | " + " | ".join(label for label, *_ in VARIANTS) + " |",
             "|---|" + "---|" * len(VARIANTS)]
    for env in envs:
        cells = []
        for label, *_ in VARIANTS:
            f = summary["final"][env].get(label)
            cells.append("-" if f is None else f"{f['mean']:.1f} [{f['min']:.1f}, {f['max']:.1f}]")
        lines.append(f"| {env} ({summary['budget'][env]}) | " + " | ".join(cells) + " |")
    lines += ["", "| env | frame skip | ours: env steps/s | raw mj_step loop: env steps/s | ours / raw | "
              "raw mj_step/s | mujoco-testspeed mj_step/s |", "|---|---|---|---|---|---|---|"]
    ts = speed.get("testspeed") or {}
    for r in speed.get("ours", []):
        t = ts.get(r["env"], {}).get("mj_step_per_s")
        lines.append(f"| {r['env']} | {r['frame_skip']} | {r['env_steps_per_s']:.0f} | {r['raw_env_steps_per_s']:.0f} | "
                     f"{r['wrapper_over_raw']:.2f} | {r['raw_mj_step_per_s']:.0f} | {'-' if t is None else f'{t:.0f}'} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--speed-bin")
    ap.add_argument("--out", default="bench-rl-out")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--envs", default=",".join(ENVS))
    ap.add_argument("--report-only", action="store_true", help="rewrite report.md and curves.png from OUT")
    args = ap.parse_args()
    if args.report_only:
        with open(os.path.join(args.out, "summary.json")) as f:
            summary = json.load(f)
        with open(os.path.join(args.out, "speed.json")) as f:
            speed = json.load(f)
        plot(summary, list(summary["final"]), os.path.join(args.out, "curves.png"))
        report(summary, speed, os.path.join(args.out, "report.md"))
        return 0
    os.makedirs(os.path.join(args.out, "runs"), exist_ok=True)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    start = time.time()
    speed = {}
    if args.speed_bin:
        subprocess.run([args.speed_bin, "--json", os.path.join(args.out, "speed_ours.json")], check=True)
        with open(os.path.join(args.out, "speed_ours.json")) as f:
            speed["ours"] = json.load(f)["speed"]
    speed["testspeed"] = testspeed(os.path.join(root, "optidiff", "rl", "models"))
    with open(os.path.join(args.out, "speed.json"), "w") as f:
        json.dump(speed, f, indent=1)
    print(json.dumps(speed, indent=1), flush=True)

    summary = {"budget": {}, "seeds": args.seeds, "curves": {}, "final": {}, "seconds": {}, "steps_per_second": {}}
    envs = args.envs.split(",")
    for env in envs:
        budget = int(BUDGET[env] * args.scale)
        summary["budget"][env] = budget
        summary["curves"][env], summary["final"][env], summary["seconds"][env] = {}, {}, {}
        summary["steps_per_second"][env] = {}
        for label, method, k, noise in VARIANTS:
            runs = [run_one(args.bin, args.out, env, label, method, k, noise, s, budget) for s in range(args.seeds)]
            summary["curves"][env][label] = [r["history"] for r in runs]
            finals = [r["final_return"] for r in runs]
            summary["final"][env][label] = {"mean": sum(finals) / len(finals), "min": min(finals), "max": max(finals),
                                            "per_seed": finals}
            summary["seconds"][env][label] = sum(r["seconds"] for r in runs)
            summary["steps_per_second"][env][label] = sum(r["steps_per_second"] for r in runs) / len(runs)
            print(f"{env:12s} {label:34s} final {summary['final'][env][label]['mean']:10.2f} "
                  f"[{min(finals):.1f}, {max(finals):.1f}]", flush=True)
        with open(os.path.join(args.out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1)
    plot(summary, envs, os.path.join(args.out, "curves.png"))
    summary["wall_seconds"] = time.time() - start
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    report(summary, speed, os.path.join(args.out, "report.md"))
    print("wrote", os.path.join(args.out, "summary.json"), "and curves.png;", round(summary["wall_seconds"]), "s")


if __name__ == "__main__":
    sys.exit(main())
