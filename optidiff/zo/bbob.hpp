// optidiff/zo/bbob.hpp: the 24 noiseless BBOB functions (Hansen, Finck, Ros & Auger, "Real-Parameter
// Black-Box Optimization Benchmarking 2009: Noiseless Functions Definitions", INRIA RR-6829), with the
// instance generation of the COCO platform's bbob suite, re-implemented from its description:
// seed = function + 10000 * instance (f4 uses 3, f18 uses 17 for x_opt/R), x_opt from the legacy
// Park-Miller uniform generator ("bbob2009_unif"), f_opt = clamp(round(100 * g1/g2) / 100, +-1000)
// from two Box-Muller Gaussians, rotations by Gram-Schmidt of a Gaussian matrix (seed + 1000000 for R,
// seed for Q), and the per-function transformation chains of COCO's f_*.c (including COCO's deviations
// from RR-6829, e.g. f8's x_opt scaled by 0.75 and f5 without clipping). docs/zo-ranksgd.md says how
// the agreement was checked.
//   zo::Bbob f(10, 40, 1);      // f10 (rotated ellipsoid), d = 40, instance 1
//   double v = f(x);            // v >= f.f_opt(); f(f.x_opt()) == f.f_opt() up to rounding
// Any d >= 2 is accepted (COCO stops at 40; larger d uses the same generators without their array caps).
#pragma once

#include <Eigen/Dense>
#include <string>
#include <vector>

namespace optidiff::zo {

class Bbob {
 public:
  Bbob(int function, int dim, int instance);  // function 1..24, dim >= 2, instance >= 1
  double operator()(const Eigen::VectorXd& x) const;
  int function() const { return function_; }
  int dim() const { return dim_; }
  int instance() const { return instance_; }
  double f_opt() const { return f_opt_; }
  const Eigen::VectorXd& x_opt() const { return x_opt_; }
  static const char* name(int function);  // "sphere", ..., "lunacek-bi-rastrigin"

 private:
  int function_, dim_, instance_;
  double f_opt_;
  Eigen::VectorXd x_opt_;
  Eigen::MatrixXd R_, Q_, M_;  // rotations and their composite (per function)
  Eigen::VectorXd lambda_;     // per-coordinate scaling where used
  // Gallagher (f21, f22)
  std::vector<double> peak_values_;
  Eigen::MatrixXd x_local_, arr_scales_;
};

namespace bbob_internal {
// Legacy generators of COCO's bbob suite (suite_bbob_legacy_code.c), exposed for tests.
std::vector<double> unif(std::size_t n, long seed);
std::vector<double> gauss(std::size_t n, long seed);
Eigen::MatrixXd rotation(long seed, int dim);
Eigen::VectorXd compute_xopt(long seed, int dim);
double compute_fopt(int function, int instance);
}  // namespace bbob_internal

}  // namespace optidiff::zo
