#!/usr/bin/python3
"""scikit-learn's DictionaryLearning and MiniBatchDictionaryLearning on the same corrupted training sets as
optidiff's bench/sparse (called by spsc_bench in the same run). Reads each INPUT.csv (one sample per line),
writes INPUT.dl.csv and INPUT.mbdl.csv (one atom per line) and a JSON of fit times to --out-json.

Objective (both): 1/2 ||X - U V||_F^2 + alpha ||U||_{1,1}, ||V_k||_2 <= 1: the same as optidiff's with
alpha = lambda. Run single-threaded (the caller sets OMP/OPENBLAS_NUM_THREADS=1), as optidiff's Eigen code is.
"""
import argparse
import json
import time
import warnings

import numpy as np
from sklearn.decomposition import DictionaryLearning, MiniBatchDictionaryLearning

parser = argparse.ArgumentParser()
parser.add_argument("--atoms", type=int, required=True)
parser.add_argument("--alpha", type=float, required=True)
parser.add_argument("--max-iter", type=int, required=True)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out-json", required=True)
parser.add_argument("inputs", nargs="+")
args = parser.parse_args()

times = {}
for path in args.inputs:
    X = np.loadtxt(path, delimiter=",", ndmin=2)
    base = path[:-4]
    entry = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached / future-default warnings
        dl = DictionaryLearning(n_components=args.atoms, alpha=args.alpha, max_iter=args.max_iter, tol=1e-4,
                                fit_algorithm="cd", transform_algorithm="lasso_cd", random_state=args.seed)
        t, c = time.perf_counter(), time.process_time()
        dl.fit(X)
        entry["dl_seconds"] = time.perf_counter() - t
        entry["dl_cpu_seconds"] = time.process_time() - c
        entry["dl_iterations"] = int(dl.n_iter_)
        np.savetxt(base + ".dl.csv", dl.components_, delimiter=",", fmt="%.17g")
        mb = MiniBatchDictionaryLearning(n_components=args.atoms, alpha=args.alpha, max_iter=args.max_iter,
                                         batch_size=64, fit_algorithm="cd", transform_algorithm="lasso_cd",
                                         random_state=args.seed)
        t, c = time.perf_counter(), time.process_time()
        mb.fit(X)
        entry["mbdl_seconds"] = time.perf_counter() - t
        entry["mbdl_cpu_seconds"] = time.process_time() - c
        entry["mbdl_iterations"] = int(mb.n_iter_)
        np.savetxt(base + ".mbdl.csv", mb.components_, delimiter=",", fmt="%.17g")
    times[path] = entry
with open(args.out_json, "w") as f:
    json.dump(times, f, indent=1)
