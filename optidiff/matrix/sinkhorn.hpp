// optidiff/matrix/sinkhorn.hpp: log-domain Sinkhorn for the entropic assignment problem, the soft
// Max-Oracle of M3O (research note section 2.2 and 2.3 step 4).
//
// For a square cost C (n x n) and temperature eps > 0 it solves
//   min_{pi >= 0, pi 1 = 1, pi^T 1 = 1} <C, pi> - eps H(pi)
// through the dual potentials f, g:  pi_ij = exp((f_i + g_j - C_ij) / eps). Each iteration is
//   f_i <- softmin_eps,j (C_ij - g_j),   g_j <- softmin_eps,i (C_ij - f_i),
// with softmin_eps(x) = min x - eps log sum exp(-(x - min x) / eps), stable for any eps (1e-6
// included). After the g update the columns sum to 1 exactly; iteration stops once ||pi 1 - 1||_2 <
// tolerance (0.01, the official code's rule). The row error is read from the f update's
// log-sum-exp, so it is checked every iteration at no cost (the official code forms pi every 10
// iterations).
//   matrix::SinkhornResult r = matrix::sinkhorn(cost, {.epsilon = 0.01});
//   matrix::SinkhornResult warm = matrix::sinkhorn(cost, {.epsilon = 0.005}, &r);   // warm start
#pragma once

#include <Eigen/Core>

namespace optidiff::matrix {

struct SinkhornOptions {
  double epsilon = 0.1;        // temperature (absolute, in cost units); > 0
  int max_iterations = 10000;  // max_in_iter of exp_simulate.m
  double tolerance = 0.01;     // on ||pi 1 - 1||_2
};

struct SinkhornResult {
  Eigen::MatrixXd plan;  // n x n, doubly stochastic up to `marginal_error`
  Eigen::VectorXd f, g;  // dual potentials
  int iterations = 0;
  double marginal_error = 0;  // ||pi 1 - 1||_2 (columns are exact)
  bool converged = false;
};

// Throws kInvalidArgument on a non-square or empty cost, a non-finite entry, or epsilon <= 0.
// `warm` (optional) supplies starting potentials f, g from an earlier call on a cost of the same
// size.
SinkhornResult sinkhorn(const Eigen::MatrixXd& cost, const SinkhornOptions& options,
                        const SinkhornResult* warm = nullptr);

// The temperature schedule of the official code (CD_complete.m): start at `initial`, halve after
// `patience` outer iterations without improvement, stop the outer loop once below `minimum`.
struct TemperatureSchedule {
  double initial = 0.1;
  double decay = 0.5;
  double minimum = 1e-6;
  int patience = 100;  // `tol`: halve after this many stale iterations; stop after 5x this
};

}  // namespace optidiff::matrix
