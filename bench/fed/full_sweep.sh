#!/bin/sh
# The full benchmark of issue 8: Fashion-MNIST, CNN, 100 clients, 10 per round, column-normalised Dirichlet
# alpha in {0.1, 1}, E in {1, 5}, 300 rounds, 3 seeds, all 12 entries with their tuned settings
# (bench/fed/tune.sh): 144 runs, about 2 h of one quiet core. The two alphas run as two processes (one per
# core), each with its own results file, bench/fed/fed_bench_full.alpha<A>.jsonl; when both are done they are
# merged into bench/fed/fed_bench_full.jsonl (their configuration lines are equal: the grid is not part of
# it), whose tables go to bench/fed/fed_bench_full.txt and .json, and the plot to .png.
# Progress: ${TMPDIR:-/tmp}/fed_sweep.alpha<A>.log. Resumable: every finished run is appended to its results
# file and a rerun of this script skips it.
# Start it in its own session; to make it take only idle CPU give that session's autogroup the lowest weight:
#   setsid nohup sh bench/fed/full_sweep.sh > /tmp/fed_sweep.log 2>&1 &  echo 19 > /proc/$!/autogroup
# OPTIDIFF: a binary that is not rebuilt while the sweep runs (e.g. a copy in /tmp); PYTHON: one with
# matplotlib.
set -e
cd "$(dirname "$0")/../.."
BIN=${OPTIDIFF:-/tmp/optidiff-sweep}
[ -x "$BIN" ] || BIN=build/tools/optidiff/optidiff
OUT=bench/fed/fed_bench_full
GRID="--rounds 300 --seeds 3 --local-steps 1,5 --eval-every 10"
pids=""
for alpha in 0.1 1; do
  nice -n 19 "$BIN" --threads 1 fed bench --resume $GRID --alphas $alpha --centralised-steps 0 \
    --json $OUT.alpha$alpha.json > "${TMPDIR:-/tmp}/fed_sweep.alpha$alpha.log" 2>&1 &
  pids="$pids $!"
done
for pid in $pids; do
  wait "$pid" || { echo "a part of the sweep failed: see ${TMPDIR:-/tmp}/fed_sweep.alpha*.log" >&2; exit 1; }
done
[ "$(head -n 1 $OUT.alpha0.1.jsonl)" = "$(head -n 1 $OUT.alpha1.jsonl)" ] ||
  { echo "$OUT.alpha0.1.jsonl and $OUT.alpha1.jsonl have different configurations" >&2; exit 1; }
{ cat $OUT.alpha0.1.jsonl; tail -n +2 $OUT.alpha1.jsonl; } > $OUT.jsonl
"$BIN" fed bench --summary-only $GRID --alphas 0.1,1 --json $OUT.json | tee $OUT.txt
"${PYTHON:-python3}" bench/fed/plot_fed.py $OUT.json $OUT.png
