#include "optidiff/matrix/problem.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::matrix {

int Observation::block_start(int b) const {
  return std::accumulate(blocks.begin(), blocks.begin() + b, 0);
}

namespace {
std::string block_name(int b) {
  return b == 0 ? "block 1 (reference)" : "block " + std::to_string(b + 1);
}
std::string shape(Eigen::Index r, Eigen::Index c) {
  return std::to_string(r) + "x" + std::to_string(c);
}
}  // namespace

Observation observation_from_blocks(const std::vector<Eigen::MatrixXd>& blocks,
                                    const std::vector<Eigen::MatrixXd>& masks) {
  if (blocks.size() < 2)
    throw_invalid("got " + std::to_string(blocks.size()) +
                  " block(s); expected a reference block and at least one shuffled block");
  if (!masks.empty() && masks.size() != blocks.size())
    throw_invalid("got " + std::to_string(masks.size()) + " masks for " +
                  std::to_string(blocks.size()) + " blocks; expected one mask per block");
  const Eigen::Index n = blocks[0].rows();
  Eigen::Index m = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    if (blocks[b].rows() != n)
      throw_invalid(block_name(int(b)) + " has " + std::to_string(blocks[b].rows()) +
                    " rows; expected " + std::to_string(n) +
                    " rows, as the reference block (all blocks share the rows)");
    if (!masks.empty() && (masks[b].rows() != n || masks[b].cols() != blocks[b].cols()))
      throw_invalid("the mask of " + block_name(int(b)) + " is " +
                    shape(masks[b].rows(), masks[b].cols()) + "; expected " +
                    shape(n, blocks[b].cols()) + ", the shape of the block");
    m += blocks[b].cols();
  }
  Observation o;
  o.values.resize(n, m);
  o.mask = Eigen::MatrixXd::Ones(n, m);
  Eigen::Index c = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    o.values.middleCols(c, blocks[b].cols()) = blocks[b];
    if (!masks.empty()) o.mask.middleCols(c, blocks[b].cols()) = masks[b];
    o.blocks.push_back(static_cast<int>(blocks[b].cols()));
    c += blocks[b].cols();
  }
  validate(o);
  return o;
}

void validate(const Observation& o) {
  const Eigen::Index n = o.values.rows(), m = o.values.cols();
  if (n < 2) throw_invalid("the matrix has " + std::to_string(n) + " row(s); expected at least 2");
  if (o.blocks.size() < 2)
    throw_invalid("the block layout has " + std::to_string(o.blocks.size()) +
                  " block(s); expected a reference block and at least one shuffled block");
  long total = 0;
  for (std::size_t b = 0; b < o.blocks.size(); ++b) {
    if (o.blocks[b] < 1)
      throw_invalid(block_name(int(b)) + " has width " + std::to_string(o.blocks[b]) +
                    "; expected >= 1 column");
    total += o.blocks[b];
  }
  if (total != m)
    throw_invalid("the block widths sum to " + std::to_string(total) + " columns; the matrix has " +
                  std::to_string(m));
  if (o.mask.rows() != n || o.mask.cols() != m)
    throw_invalid("the mask is " + shape(o.mask.rows(), o.mask.cols()) + "; expected " +
                  shape(n, m) + ", the shape of the matrix");
  for (Eigen::Index j = 0; j < m; ++j)
    for (Eigen::Index i = 0; i < n; ++i) {
      const double w = o.mask(i, j);
      if (w != 0 && w != 1)
        throw_invalid("mask entry (" + std::to_string(i + 1) + ", " + std::to_string(j + 1) +
                      ") is " + std::to_string(w) + "; expected 0 (missing) or 1 (observed)");
      if (w == 1 && !std::isfinite(o.values(i, j)))
        throw_invalid("observed entry (" + std::to_string(i + 1) + ", " + std::to_string(j + 1) +
                      ") is not finite; expected a number (mark missing entries in the mask)");
    }
  for (std::size_t b = 0, c = 0; b < o.blocks.size(); c += o.blocks[b], ++b)
    for (Eigen::Index i = 0; i < n; ++i)
      if (o.mask.row(i).segment(c, o.blocks[b]).sum() == 0)
        throw_invalid(
            "row " + std::to_string(i + 1) + " of " + block_name(int(b)) +
            " has all entries missing; expected at least one observed entry per row and block "
            "(such a row cannot be matched)");
}

void validate(const SimulationOptions& o) {
  if (o.rows < 2) throw_invalid("--rows is " + std::to_string(o.rows) + "; expected >= 2");
  if (o.groups < 1) throw_invalid("--groups is " + std::to_string(o.groups) + "; expected >= 1");
  if (!(o.shuffled > 0 && o.shuffled < 1))
    throw_invalid("--shuffled is " + std::to_string(o.shuffled) +
                  "; expected a fraction in (0, 1)");
  const int shuffled_cols = static_cast<int>(std::lround(o.shuffled * o.cols));
  if (o.cols < 2 || shuffled_cols < o.groups || o.cols - shuffled_cols < 1)
    throw_invalid("--cols is " + std::to_string(o.cols) + " with --shuffled " +
                  std::to_string(o.shuffled) + " and --groups " + std::to_string(o.groups) +
                  "; expected at least one reference column and one column per group");
  if (o.rank < 1 || o.rank > std::min(o.rows, o.cols))
    throw_invalid(
        "--rank is " + std::to_string(o.rank) + "; expected 1 <= rank <= min(rows, cols) = " +
        std::to_string(std::min(o.rows, o.cols)) + " (the rank cannot exceed the matrix size)");
  if (!(o.noise >= 0) || !std::isfinite(o.noise))
    throw_invalid("--noise is " + std::to_string(o.noise) + "; expected a finite value >= 0");
  if (!(o.missing >= 0 && o.missing < 1))
    throw_invalid("--missing is " + std::to_string(o.missing) + "; expected a fraction in [0, 1)");
}

std::vector<int> random_permutation(int n, std::uint64_t seed) {
  std::vector<int> p(n);
  std::iota(p.begin(), p.end(), 0);
  Rng rng(seed);
  for (int i = n - 1; i > 0; --i) std::swap(p[i], p[rng.uniform_int(i + 1)]);
  return p;
}

Simulation simulate(const SimulationOptions& o) {
  validate(o);
  const int n = o.rows, m = o.cols;
  const Rng root(o.seed);
  Eigen::MatrixXd U(n, o.rank), V(o.rank, m), noise(n, m);
  Rng r_factors = root.stream(1), r_noise = root.stream(2);
  r_factors.fill_normal(U.data(), U.size());
  r_factors.fill_normal(V.data(), V.size());
  r_noise.fill_normal(noise.data(), noise.size());
  const double scale = 2.0 / std::max(n, m);
  const Eigen::MatrixXd truth = scale * (U * V);
  const Eigen::MatrixXd noisy = truth + scale * o.noise * noise;

  const int shuffled_cols = static_cast<int>(std::lround(o.shuffled * m));
  std::vector<int> blocks = {m - shuffled_cols};
  for (int g = 0; g < o.groups; ++g)
    blocks.push_back(shuffled_cols / o.groups + (g < shuffled_cols % o.groups ? 1 : 0));
  return shuffle_blocks(truth, noisy, blocks, o.missing, o.seed);
}

Simulation shuffle_blocks(const Eigen::MatrixXd& truth, const Eigen::MatrixXd& noisy,
                          const std::vector<int>& blocks, double missing, std::uint64_t seed) {
  const int n = static_cast<int>(noisy.rows());
  if (truth.rows() != noisy.rows() || truth.cols() != noisy.cols())
    throw_invalid("truth is " + shape(truth.rows(), truth.cols()) + " but the observation is " +
                  shape(noisy.rows(), noisy.cols()) + "; expected the same shape");
  if (!(missing >= 0 && missing < 1))
    throw_invalid("--missing is " + std::to_string(missing) + "; expected a fraction in [0, 1)");
  const Rng root(seed);
  Simulation s;
  s.truth = truth;
  s.observed.blocks = blocks;
  s.observed.values = noisy;
  s.observed.mask = Eigen::MatrixXd::Ones(n, noisy.cols());
  if (std::accumulate(blocks.begin(), blocks.end(), 0L) != noisy.cols() || blocks.size() < 2)
    throw_invalid("block widths do not cover the " + std::to_string(noisy.cols()) + " columns");
  for (int g = 0; g + 1 < static_cast<int>(blocks.size()); ++g) {
    const int c = s.observed.block_start(g + 1), w = blocks[g + 1];
    s.observed_row.push_back(random_permutation(n, mix64(seed) ^ (3 + g)));
    for (int i = 0; i < n; ++i)
      s.observed.values.block(s.observed_row[g][i], c, 1, w) = noisy.block(i, c, 1, w);
  }
  // Missing entries, block by block: exactly round(missing * size) of them, uniformly at random.
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const int c = s.observed.block_start(int(b)), w = blocks[b];
    const long size = long(n) * w, hide = std::lround(missing * size);
    Rng rng = root.stream(100, b);
    std::vector<long> idx(size);
    std::iota(idx.begin(), idx.end(), 0);
    for (long k = 0; k < hide; ++k) {
      std::swap(idx[k], idx[k + long(rng.uniform_int(size - k))]);
      s.observed.mask(idx[k] % n, c + idx[k] / n) = 0;
    }
    for (int i = 0; i < n; ++i)
      if (s.observed.mask.row(i).segment(c, w).sum() == 0)
        s.observed.mask(i, c + long(rng.uniform_int(w))) = 1;
  }
  // Hidden entries carry no information.
  s.observed.values = s.observed.values.cwiseProduct(s.observed.mask);
  return s;
}

Metrics evaluate(const Eigen::MatrixXd& truth, const std::vector<int>& blocks,
                 const std::vector<std::vector<int>>& true_observed_row, const RecoveryResult& r) {
  if (r.estimate.rows() != truth.rows() || r.estimate.cols() != truth.cols())
    throw_invalid("estimate is " + shape(r.estimate.rows(), r.estimate.cols()) + "; expected " +
                  shape(truth.rows(), truth.cols()));
  Metrics m;
  const Eigen::MatrixXd diff = r.estimate - truth;
  m.rmse = std::sqrt(diff.squaredNorm() / double(diff.size()));
  double sum_mse = 0;
  for (std::size_t b = 0, c = 0; b < blocks.size(); c += blocks[b], ++b)
    sum_mse += diff.middleCols(c, blocks[b]).squaredNorm() / double(diff.rows() * blocks[b]);
  m.rmse_blocks = std::sqrt(sum_mse);
  OPTIDIFF_CHECK(r.observed_row.size() == true_observed_row.size());
  for (std::size_t g = 0; g < true_observed_row.size(); ++g)
    for (std::size_t i = 0; i < true_observed_row[g].size(); ++i)
      m.permutation_errors += r.observed_row[g][i] != true_observed_row[g][i];
  return m;
}

Metrics evaluate(const Simulation& s, const RecoveryResult& r) {
  return evaluate(s.truth, s.observed.blocks, s.observed_row, r);
}

}  // namespace optidiff::matrix
