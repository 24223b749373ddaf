#!/usr/bin/env python3
"""Writes the manifest.json that ships beside a model file in models/.

The manifest says what the file is and how it was made, so that a new machine can check it (sha256) and
continue it (`optidiff diffusion train --init-from FILE`): the command, seed, the chain of runs (from the
checkpoint's own meta.lineage, written by `optidiff diffusion train`), and the metrics measured on it
(the JSON of `optidiff diffusion eval --json`, one or more files, e.g. one per seed).

  scripts/model_manifest.py models/dit-flow-small/model.ckpt --what "..." \
      --eval bench/diffusion/teacher_eval_seed0.json [--eval ...] [--keep-history models/dit-flow-small/manifest.json]
"""
import argparse
import datetime
import hashlib
import json
import os
import struct
import sys


def read_header(path):
    """The JSON header of an optidiff checkpoint ("ODIFCKPT" | u32 version | u64 length | JSON ...)."""
    with open(path, "rb") as f:
        head = f.read(20)
        if len(head) < 20 or head[:8] != b"ODIFCKPT":
            sys.exit(f"model_manifest: {path} is not an optidiff checkpoint")
        (length,) = struct.unpack("<Q", head[12:20])
        return json.loads(f.read(length))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--what", required=True, help="one line: what the file is")
    ap.add_argument("--eval", action="append", default=[], help="an `optidiff diffusion eval --json` file")
    ap.add_argument("--eval-command", default="", help="the command that made the --eval files")
    ap.add_argument("--keep-history", help="an older manifest whose 'history' entries come first")
    ap.add_argument("--out", help="default: manifest.json beside the model")
    a = ap.parse_args()

    header = read_header(a.model)
    meta = header.get("meta", {})
    history = []
    if a.keep_history and os.path.exists(a.keep_history):
        with open(a.keep_history) as f:
            history = json.load(f).get("history", [])
    lineage = meta.get("lineage", [])
    if history:  # the older manifest already tells the runs before the first warm start
        starts = [i for i, run in enumerate(lineage) if run.get("init_from")]
        lineage = lineage[starts[0]:] if starts else []
    history += lineage
    manifest = {
        "file": os.path.basename(a.model),
        "sha256": sha256(a.model),
        "bytes": os.path.getsize(a.model),
        "what": a.what,
        "kind": header.get("kind"),
        "config": header.get("config"),
        "command": meta.get("command"),
        "seed": meta.get("seed"),
        "steps": meta.get("step"),
        "train_wall_seconds": meta.get("seconds"),
        "precision": meta.get("precision"),
        "init_from": meta.get("init_from"),
        "history": history,
        "continue": "optidiff diffusion train --init-from " + a.model + " --out NEW_DIR ... (fresh optimiser and "
                    "warm-up); or, on the machine that holds its train_state.ckpt, the same command again",
        "written": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if a.eval:
        # "eval" keeps the shape `optidiff tour` reads (n, steps, floor_train_vs_test_frechet, results[] with
        # cfg, class_accuracy, frechet_distance): the results of every file with the first file's seed, in
        # cfg order; files with other seeds go to "other_seeds" whole.
        runs = [json.load(open(p)) for p in a.eval]
        first = runs[0]
        same = [r for r in runs if r.get("seed") == first.get("seed")]
        results = sorted((row for r in same for row in r["results"]), key=lambda row: row["cfg"])
        manifest["eval"] = {k: v for k, v in first.items() if k not in ("results", "real")}
        manifest["eval"].update({"command": a.eval_command, "files": a.eval, "floor_train_vs_test_frechet":
                                 first.get("floor"), "real": first.get("real"), "results": results,
                                 "other_seeds": [r for r in runs if r.get("seed") != first.get("seed")]})
    out = a.out or os.path.join(os.path.dirname(a.model), "manifest.json")
    with open(out, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {out} (sha256 {manifest['sha256'][:12]}..., {len(history)} runs in the history)")


if __name__ == "__main__":
    main()
