// optidiff/sparse/weights.hpp: per-sample, per-feature or per-element weights on a data matrix.
//
// Data X is m x n (n samples as columns, m features), as in Feng, Tang, Wu 2017, eq. (1). A weight
// matrix W (m x n, entries >= 0) turns the squared data term into 1/2 sum_ij W_ij (X - B S)_ij^2. The
// three self-paced levels of SPSC are three shapes of W: W_ij = v_i (sample), W_ij = u_j (feature), or
// free W_ij (element). Level kNone means W = 1 (plain sparse coding).
#pragma once

#include <Eigen/Dense>
#include <string_view>

namespace optidiff::sparse {

enum class Level { kNone, kSample, kFeature, kElement };
Level parse_level(std::string_view name);  // "none" | "sample" | "feature" | "element"
std::string_view level_name(Level level);

struct Weights {
  Level level = Level::kNone;
  Eigen::VectorXd sample;   // n weights, used when level == kSample
  Eigen::VectorXd feature;  // m weights, used when level == kFeature
  Eigen::MatrixXd element;  // m x n weights, used when level == kElement

  static Weights none() { return {}; }
  static Weights samples(Eigen::VectorXd v) { return {Level::kSample, std::move(v), {}, {}}; }
  static Weights features(Eigen::VectorXd u) { return {Level::kFeature, {}, std::move(u), {}}; }
  static Weights elements(Eigen::MatrixXd w) { return {Level::kElement, {}, {}, std::move(w)}; }

  // The full m x n matrix W (for tests and reporting; the solvers never form it unless level is element).
  Eigen::MatrixXd dense(Eigen::Index m, Eigen::Index n) const;
  // Throws kInvalidArgument unless the shapes fit an m x n data matrix and every weight is finite, >= 0.
  void check(Eigen::Index m, Eigen::Index n) const;
};

// 1/2 sum_ij W_ij (X - B S)_ij^2 + lambda sum_i ||s_i||_1: the weighted lasso / sparse coding objective.
double weighted_objective(const Eigen::MatrixXd& B, const Eigen::MatrixXd& S, const Eigen::MatrixXd& X,
                          const Weights& w, double lambda);

}  // namespace optidiff::sparse
