#include "optidiff/matrix/internal/blocks.hpp"

#include <numeric>
#include <string>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::matrix::matrix_internal {

std::vector<Group> shuffled_groups(const Observation& o) {
  std::vector<Group> groups;
  for (int b = 1; b < static_cast<int>(o.blocks.size()); ++b) {
    Group g;
    g.start = o.block_start(b);
    g.width = o.blocks[b];
    g.observed = o.values.middleCols(g.start, g.width);
    g.mask = o.mask.middleCols(g.start, g.width);
    g.masked = g.observed.cwiseProduct(g.mask);
    g.observed_sq = g.masked.cwiseProduct(g.observed).rowwise().sum().transpose();
    groups.push_back(std::move(g));
  }
  return groups;
}

Eigen::MatrixXd group_cost(const Eigen::MatrixXd& x, const Group& g) {
  Eigen::MatrixXd c = x.cwiseProduct(x) * g.mask.transpose();
  c.noalias() -= 2.0 * x * g.masked.transpose();
  c.rowwise() += g.observed_sq;
  return c.cwiseMax(0.0);
}

Eigen::MatrixXd initial_estimate(const Observation& o, std::uint64_t seed) {
  Eigen::MatrixXd x = o.values.cwiseProduct(o.mask);
  const double count = o.mask.sum();
  const double c = count > 0 ? x.cwiseAbs().sum() / count : 1.0;
  Rng rng = Rng(seed).stream(7);
  const int start = o.blocks[0];
  Eigen::MatrixXd noise(x.rows(), x.cols() - start);
  rng.fill_normal(noise.data(), noise.size());
  x.rightCols(x.cols() - start) = c * noise;
  return x;
}

Eigen::MatrixXd starting_estimate(const Observation& o, const Eigen::MatrixXd& start,
                                  std::uint64_t seed) {
  if (start.size() == 0) return initial_estimate(o, seed);
  if (start.rows() != o.values.rows() || start.cols() != o.values.cols())
    throw_invalid("the starting estimate is " + std::to_string(start.rows()) + "x" +
                  std::to_string(start.cols()) + "; expected " + std::to_string(o.values.rows()) +
                  "x" + std::to_string(o.values.cols()) + ", the shape of the matrix");
  if (!start.allFinite())
    throw_invalid("the starting estimate has a non-finite entry; expected finite values");
  return start;
}

void impose_reference(Eigen::MatrixXd& x, const Observation& o) {
  const int w = o.blocks[0];
  x.leftCols(w) = (o.mask.leftCols(w).array() != 0)
                      .select(o.values.leftCols(w).array(), x.leftCols(w).array())
                      .matrix();
}

double reference_misfit(const Eigen::MatrixXd& x, const Observation& o) {
  const int w = o.blocks[0];
  return 0.5 *
         (x.leftCols(w) - o.values.leftCols(w)).cwiseProduct(o.mask.leftCols(w)).squaredNorm();
}

Observation unshuffle(const Observation& o, const std::vector<std::vector<int>>& observed_row) {
  Observation u = o;
  for (int g = 0; g < o.groups(); ++g) {
    const int c = o.block_start(g + 1), w = o.blocks[g + 1];
    for (int i = 0; i < o.rows(); ++i) {
      u.values.block(i, c, 1, w) = o.values.block(observed_row[g][i], c, 1, w);
      u.mask.block(i, c, 1, w) = o.mask.block(observed_row[g][i], c, 1, w);
    }
  }
  return u;
}

std::vector<int> identity_permutation(int n) {
  std::vector<int> p(n);
  std::iota(p.begin(), p.end(), 0);
  return p;
}

}  // namespace optidiff::matrix::matrix_internal
