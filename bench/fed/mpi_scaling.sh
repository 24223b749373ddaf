#!/bin/sh
# MPI scaling of the federated runner: the same short run (Fashion-MNIST CNN, 20 clients, 10 per round,
# E = 5, batch 32, 100 rounds) in-process, then under mpirun with 1 and 2 client ranks (-n 2, -n 3; rank 0
# serves). Each configuration runs REPEATS times, alternating, so that load changes hit all of them alike.
# Client steps per second are the steady rate from round 10 to round 100 (the history's wall clock, which
# includes the same nine evaluations of 500 images in every configuration): the first rounds under mpirun
# also wait for client ranks that are still loading libtorch and Fashion-MNIST, which a 20-round run
# measured as slowness of the runner. The CPU seconds
# (user + system of all processes, from /usr/bin/time, start-up and data loading included) show the
# runner's overhead independently of the load. Writes bench/fed/mpi_scaling.json (override with OUT).
#   sh bench/fed/mpi_scaling.sh            # OPTIDIFF=path/to/optidiff REPEATS=3
set -e
cd "$(dirname "$0")/../.."
BIN=${OPTIDIFF:-build-fed/tools/optidiff/optidiff}
OUT=${OUT:-bench/fed/mpi_scaling.json}
REPEATS=${REPEATS:-3}
TMP=$(mktemp -d)
RUN="--threads 1 --quiet fed train --strategy fedavg --clients 20 --per-round 10 --local-steps 5 --batch 32 \
  --rounds 100 --eval-every 10 --partition dirichlet-columns --alpha 1 --train-samples 12000 --test-samples 500 --seed 0"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$REPEATS"); do
  /usr/bin/time -f "%U %S" -o "$TMP/sim_$r.cpu" "$BIN" $RUN --json "$TMP/sim_$r.json" > /dev/null
  for n in 2 3; do
    /usr/bin/time -f "%U %S" -o "$TMP/mpi${n}_$r.cpu" timeout 600 mpirun --oversubscribe --allow-run-as-root -n $n \
      "$BIN" $RUN --runner mpi --timeout 300 --json "$TMP/mpi${n}_$r.json" > /dev/null
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$TMP" "$OUT" "$REPEATS" "$(nproc)" "$LOAD_BEFORE" "$LOAD_AFTER" <<'PY'
import json, sys
tmp, out, repeats, cores, before, after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
steps_per_round = 10 * 5
rows = []
for name, prefix, workers in (("simulation", "sim", 0), ("mpi -n 2", "mpi2", 1), ("mpi -n 3", "mpi3", 2)):
    def steady(run):  # client steps per second from round 10 to the last round
        h = {p["round"]: p["seconds"] for p in run["history"]}
        last = max(h)
        return (last - 10) * steps_per_round / (h[last] - h[10])
    sps = [steady(json.load(open(f"{tmp}/{prefix}_{r}.json"))) for r in range(1, repeats + 1)]
    acc = json.load(open(f"{tmp}/{prefix}_1.json"))["test_accuracy"]
    cpu = [sum(map(float, open(f"{tmp}/{prefix}_{r}.cpu").read().split()[-2:])) for r in range(1, repeats + 1)]
    rows.append({"runner": name, "client_ranks": workers, "client_steps_per_second": sps,
                 "best_client_steps_per_second": max(sps), "best_rounds_per_second": max(sps) / steps_per_round,
                 "median_client_steps_per_second": sorted(sps)[len(sps) // 2], "cpu_seconds": cpu,
                 "median_cpu_seconds": sorted(cpu)[len(cpu) // 2], "test_accuracy": acc})
base = rows[0]["best_client_steps_per_second"]
for row in rows:
    row["speedup_vs_simulation"] = row["best_client_steps_per_second"] / base
    print(f'{row["runner"]:12s} {row["client_ranks"]} client rank(s): best {row["best_client_steps_per_second"]:.1f} '
          f'client steps/s ({row["best_rounds_per_second"]:.2f} rounds/s), x{row["speedup_vs_simulation"]:.2f} '
          f'of the simulation; median {row["median_client_steps_per_second"]:.1f}; runs '
          f'{[round(s, 1) for s in row["client_steps_per_second"]]}; CPU s {row["median_cpu_seconds"]:.1f} (median); '
          f'acc {row["test_accuracy"]:.4f}')
json.dump({"cores": cores, "loadavg_before": before, "loadavg_after": after, "repeats": repeats,
           "run": "fedavg, CNN, 20 clients, 10 per round, E = 5, batch 32, 100 rounds, --threads 1; steady rate rounds 10-100",
           "rows": rows}, open(out, "w"), indent=2)
print("wrote", out, "(cores", cores, ", load average before", before, "after", after, ")")
PY
rm -rf "$TMP"
