#include "optidiff/diffusion/metrics.hpp"

#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff::diffusion {

FeatureStats feature_stats(const torch::Tensor& features) {
  if (features.dim() != 2 || features.size(0) < 2)
    throw_invalid("feature_stats: features have shape " + std::string(c10::str(features.sizes())) +
                  "; expected [n, d] with n >= 2");
  auto f = features.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const auto n = f.size(0), d = f.size(1);
  // Row-major [n, d] seen as a column-major d x n matrix: one sample per column.
  Eigen::Map<const Eigen::MatrixXd> x(f.data_ptr<double>(), d, n);
  FeatureStats s;
  s.n = n;
  s.mean = x.rowwise().mean();
  const Eigen::MatrixXd centred = x.colwise() - s.mean;
  s.cov = centred * centred.transpose() / double(n - 1);
  return s;
}

Eigen::MatrixXd sqrt_psd(const Eigen::MatrixXd& m) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m);
  if (es.info() != Eigen::Success) throw Error(ErrorCode::kInternal, "sqrt_psd: eigendecomposition failed");
  const Eigen::VectorXd root = es.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return es.eigenvectors() * root.asDiagonal() * es.eigenvectors().transpose();
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  if (a.mean.size() != b.mean.size())
    throw_invalid("frechet_distance: feature sizes differ (" + std::to_string(a.mean.size()) + " vs " +
                  std::to_string(b.mean.size()) + ")");
  const Eigen::MatrixXd r = sqrt_psd(a.cov);
  const Eigen::MatrixXd m = r * b.cov * r;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (m + m.transpose()), Eigen::EigenvaluesOnly);
  const double tr_sqrt = es.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  return (a.mean - b.mean).squaredNorm() + a.cov.trace() + b.cov.trace() - 2.0 * tr_sqrt;
}

}  // namespace optidiff::diffusion
