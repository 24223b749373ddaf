// optidiff/zo/problems.hpp: test problems that know their answer.
//
// The paper's synthetic problems (research note, section 3.4: d = 100, x0 ~ N(0, I)):
//   quadratic:  f(x) = (x - x*)^T A (x - x*),  A = G G^T / (2d), G a d x 2d Gaussian matrix, x* ~ N(0, I)
//               (a well-posed variant of the early code's x^T G G^T x + b^T x, whose rank-deficient A left
//               it unbounded below; cond(A) is about 34 for any d), f_opt = 0;
//   rosenbrock: f(x) = sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, f_opt = 0 at x = 1.
// and the 24 BBOB functions (bbob.hpp) by number ("f8", "8") or name ("rosenbrock-rotated").
//   zo::Problem p = zo::make_problem("f10", 10, 3);   // BBOB f10, instance 3, d = 10
//   double gap = p.f(p.x0) - p.f_opt;
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <string>

#include "optidiff/zo/oracle.hpp"

namespace optidiff::zo {

struct Problem {
  std::string name;       // "quadratic", "rosenbrock", "bbob-f8-i1"
  int dim = 0;
  Objective f;
  double f_opt = 0;
  Eigen::VectorXd x_opt;  // a minimiser
  Eigen::VectorXd x0;     // the start all methods share
  double lo = -5, hi = 5; // the region of interest (BBOB: [-5, 5]^d), used for restarts
};

// `instance` seeds the random parts (the quadratic's A and x*, x0 ~ N(0, I); the BBOB instance).
// Throws kInvalidArgument naming `name` if it is unknown, or on dim < 1 (BBOB: dim >= 2).
Problem make_problem(const std::string& name, int dim, std::uint64_t instance);

// The names make_problem accepts, for --help and errors.
std::string problem_names();

}  // namespace optidiff::zo
