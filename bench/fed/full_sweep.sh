#!/bin/sh
# The full benchmark of issue 8 (hours on 2 cores): Fashion-MNIST, CNN, 100 clients, 10 per round,
# column-normalised Dirichlet alpha in {0.1, 1}, E in {1, 5}, 500 rounds, 3 seeds, every strategy.
# Resumable only per run; run it in the background:  nohup sh bench/fed/full_sweep.sh &
set -e
BIN=${OPTIDIFF:-build/tools/optidiff/optidiff}
nice -n 15 "$BIN" --threads 1 fed bench --rounds 500 --seeds 3 --alphas 0.1,1 --local-steps 1,5 \
  --eval-every 10 --json bench/fed/fed_bench_full.json | tee bench/fed/fed_bench_full.txt
python3 bench/fed/plot_fed.py bench/fed/fed_bench_full.json bench/fed/fed_bench_full.png
