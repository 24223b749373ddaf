#!/bin/sh
# The full benchmark of issue 8: Fashion-MNIST, CNN, 100 clients, 10 per round, column-normalised Dirichlet
# alpha in {0.1, 1}, E in {1, 5}, 300 rounds, 3 seeds, all 12 entries: 144 runs, about 5 h of one quiet core.
# Resumable: every finished run is appended to bench/fed/fed_bench_full.jsonl and a rerun of this script
# skips those (seed 0 of every cell first, then seed 1, then seed 2). Start it in its own session, then give
# that session's autogroup the lowest weight so that it only takes idle CPU:
#   setsid nohup sh bench/fed/full_sweep.sh > /tmp/fed_sweep.log 2>&1 &  echo 19 > /proc/$!/autogroup
# OPTIDIFF: a binary that is not rebuilt while the sweep runs (e.g. a copy in /tmp); PYTHON: one with matplotlib.
set -e
cd "$(dirname "$0")/../.."
BIN=${OPTIDIFF:-/tmp/optidiff-sweep}
[ -x "$BIN" ] || BIN=build/tools/optidiff/optidiff
nice -n 19 "$BIN" --threads 1 fed bench --resume --rounds 300 --seeds 3 --alphas 0.1,1 --local-steps 1,5 \
  --eval-every 10 --json bench/fed/fed_bench_full.json | tee -a bench/fed/fed_bench_full.txt
"${PYTHON:-python3}" bench/fed/plot_fed.py bench/fed/fed_bench_full.json bench/fed/fed_bench_full.png
