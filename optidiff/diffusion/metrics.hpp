// optidiff/diffusion/metrics.hpp: the sample-quality numbers of every diffusion benchmark.
//
// Frechet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, Eq. 6; Dowson &
// Landau 1982):  d^2 = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2}).
// The trace term is computed with two symmetric eigendecompositions (Eigen's SelfAdjointEigenSolver), so
// every matrix root is of a symmetric PSD matrix and no complex parts appear (scipy's sqrtm on S_1 S_2
// can return them). Features come from the project's classifier (classifier.hpp), so values compare
// only with each other ("FID_small"), never with published FIDs; the statistic is biased upward at small
// n, so compare at equal n (eval reports the train-vs-test distance at the same n as the floor).
#pragma once

#include <Eigen/Dense>
#include <torch/torch.h>

#include <cstdint>

namespace optidiff::diffusion {

struct FeatureStats {
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;  // unbiased (n - 1)
  std::int64_t n = 0;
};

// features: [n, d] (any floating dtype), n >= 2.
FeatureStats feature_stats(const torch::Tensor& features);
double frechet_distance(const FeatureStats& a, const FeatureStats& b);
// The principal square root of a symmetric PSD matrix (negative eigenvalues from round-off clamp to 0).
Eigen::MatrixXd sqrt_psd(const Eigen::MatrixXd& m);

}  // namespace optidiff::diffusion
