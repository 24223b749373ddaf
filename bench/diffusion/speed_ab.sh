#!/bin/sh
# Before/after speed of the DiT through the CLI, alternating the two binaries (this VM's speed drifts):
# sampling (64 images, 50 Euler steps, CFG w = 3, the shipped model) and training (12 steps of the small
# config, batch 128; the CLI's steps/s excludes nothing, so the rate is taken from --json seconds/steps of
# two runs of 2 and 12 steps: (12 - 2) / (t12 - t2)).
#   sh bench/diffusion/speed_ab.sh OLD_BINARY NEW_BINARY ROUNDS OUT.jsonl [--precision P]
set -eu
old=$1; new=$2; rounds=$3; out=$4; shift 4
tmp=$(mktemp -d)
: > "$out"
r=1
while [ "$r" -le "$rounds" ]; do
  for side in old new; do
    bin=$old; [ "$side" = new ] && bin=$new
    extra=""; [ "$side" = new ] && extra="$*"
    "$bin" --threads 2 sample --class sneaker --n 64 --steps 50 --cfg 3 --sampler euler --out "$tmp/s.png" \
      --json "$tmp/s.json" $extra > /dev/null 2>&1
    for steps in 2 12; do
      rm -rf "$tmp/run$steps"
      "$bin" --threads 2 -q diffusion train --config small --steps $steps --checkpoint-minutes 1000 \
        --out "$tmp/run$steps" --json "$tmp/t$steps.json" $extra > /dev/null 2>&1
    done
    python3 - "$tmp" "$side" "$r" >> "$out" <<'PY'
import json, sys
tmp, side, r = sys.argv[1:]
s = json.load(open(tmp + "/s.json"))
t2, t12 = (json.load(open(f"{tmp}/t{n}.json"))["seconds"] for n in (2, 12))
print(json.dumps({"side": side, "round": int(r), "sample_images_per_s": 64 / s["seconds"],
                  "train_steps_per_s": 10 / (t12 - t2)}))
PY
    tail -1 "$out"
  done
  r=$((r + 1))
done
rm -rf "$tmp"
