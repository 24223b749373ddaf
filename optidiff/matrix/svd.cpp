#include "optidiff/matrix/svd.hpp"

#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/core/timing.hpp"

namespace optidiff::matrix {

ProxKind parse_prox_kind(std::string_view name) {
  if (name == "soft") return ProxKind::kSoft;
  if (name == "hard") return ProxKind::kHard;
  if (name == "rank") return ProxKind::kRank;
  throw_invalid("--prox is '" + std::string(name) + "'; expected soft, hard or rank");
}

std::string_view prox_kind_name(ProxKind kind) {
  switch (kind) {
    case ProxKind::kSoft:
      return "soft";
    case ProxKind::kHard:
      return "hard";
    case ProxKind::kRank:
      return "rank";
  }
  return "?";
}

SvdMode parse_svd_mode(std::string_view name) {
  if (name == "auto") return SvdMode::kAuto;
  if (name == "full") return SvdMode::kFull;
  if (name == "randomized") return SvdMode::kRandomized;
  throw_invalid("--svd is '" + std::string(name) + "'; expected auto, full or randomized");
}

std::string_view svd_mode_name(SvdMode mode) {
  switch (mode) {
    case SvdMode::kAuto:
      return "auto";
    case SvdMode::kFull:
      return "full";
    case SvdMode::kRandomized:
      return "randomized";
  }
  return "?";
}

void validate(const ProxOptions& o) {
  if (!(o.lambda >= 0) || !std::isfinite(o.lambda))
    throw_invalid("--lambda is " + std::to_string(o.lambda) + "; expected a finite value >= 0");
  if (o.rank < 1) throw_invalid("--rank-k is " + std::to_string(o.rank) + "; expected >= 1");
}

TruncatedSvd full_svd(const Eigen::MatrixXd& A) {
  Eigen::BDCSVD<Eigen::MatrixXd> svd(A, Eigen::ComputeThinU | Eigen::ComputeThinV);
  return {svd.matrixU(), svd.singularValues(), svd.matrixV()};
}

namespace {
Eigen::MatrixXd orthonormal_basis(const Eigen::MatrixXd& Y) {
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(Y);
  return qr.householderQ() * Eigen::MatrixXd::Identity(Y.rows(), Y.cols());
}
}  // namespace

TruncatedSvd randomized_svd(const Eigen::MatrixXd& A, int k, Rng& rng, int oversample,
                            int power_iterations) {
  const Eigen::Index min_dim = std::min(A.rows(), A.cols());
  if (k < 1 || k > min_dim)
    throw_invalid("randomized SVD rank is " + std::to_string(k) +
                  "; expected 1 <= k <= " + std::to_string(min_dim));
  const Eigen::Index l = std::min<Eigen::Index>(k + std::max(0, oversample), min_dim);
  Eigen::MatrixXd omega(A.cols(), l);
  rng.fill_normal(omega.data(), omega.size());
  Eigen::MatrixXd Q = orthonormal_basis(A * omega);
  for (int q = 0; q < power_iterations; ++q) {
    const Eigen::MatrixXd Z = orthonormal_basis(A.transpose() * Q);
    Q = orthonormal_basis(A * Z);
  }
  const Eigen::MatrixXd B = Q.transpose() * A;  // l x cols
  Eigen::BDCSVD<Eigen::MatrixXd> svd(B, Eigen::ComputeThinU | Eigen::ComputeThinV);
  return {Q * svd.matrixU().leftCols(k), svd.singularValues().head(k), svd.matrixV().leftCols(k)};
}

Prox::Prox(const ProxOptions& options, std::uint64_t seed) : options_(options), rng_(seed) {
  validate(options_);
}

ProxResult Prox::operator()(const Eigen::MatrixXd& Y) {
  const int min_dim = static_cast<int>(std::min(Y.rows(), Y.cols()));
  const ProxOptions& o = options_;
  // Partial SVD pays off while the kept rank stays well below the full one.
  const int partial_limit =
      o.svd == SvdMode::kRandomized ? min_dim : (o.svd == SvdMode::kAuto ? min_dim / 4 : 0);
  Stopwatch sw;
  TruncatedSvd t;
  bool have = false;
  if (o.kind == ProxKind::kRank) {
    const int k = std::min(o.rank, min_dim);
    if (k + 10 <= partial_limit) {
      t = randomized_svd(Y, k, rng_);
      have = true;
    }
  } else {
    // Thresholding: grow k until the smallest computed singular value falls below lambda.
    int k = std::max(8, rank_hint_ + 5);
    while (k + 10 <= partial_limit) {
      t = randomized_svd(Y, k, rng_);
      if (t.s[k - 1] <= o.lambda) {
        have = true;
        break;
      }
      k *= 2;
    }
  }
  if (!have) t = full_svd(Y);
  ProxResult r;
  r.svd_seconds = sw.seconds();

  Eigen::VectorXd s = t.s;
  const int k_max = o.kind == ProxKind::kRank ? std::min<int>(o.rank, static_cast<int>(s.size()))
                                              : static_cast<int>(s.size());
  int kept = 0;
  double nuclear = 0;
  for (int i = 0; i < s.size(); ++i) {
    double si = s[i];
    if (i >= k_max)
      si = 0;
    else if (o.kind == ProxKind::kSoft)
      si = std::max(0.0, si - o.lambda);
    else if (o.kind == ProxKind::kHard && !(si > o.lambda))
      si = 0;
    s[i] = si;
    if (si > 0) ++kept, nuclear += si;
  }
  r.rank = kept;
  if (o.kind == ProxKind::kSoft)
    r.penalty = o.lambda * nuclear;
  else if (o.kind == ProxKind::kHard)
    r.penalty = 0.5 * o.lambda * o.lambda * kept;
  r.X = t.U.leftCols(kept) * s.head(kept).asDiagonal() * t.V.leftCols(kept).transpose();
  if (o.kind != ProxKind::kRank) rank_hint_ = kept;
  return r;
}

}  // namespace optidiff::matrix
