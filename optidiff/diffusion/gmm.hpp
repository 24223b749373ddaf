// optidiff/diffusion/gmm.hpp: the closed-form Gaussian-mixture denoiser, the exact oracle that makes
// samplers and parallel solvers testable to machine precision (research note paratAA-cfgrej.md Sec. 5;
// NVlabs/edm2 toy_example.py does the same in VE form).
//
// Data p_0(x) = sum_k pi_k N(x; mu_k, Sigma_k) in R^D; component k belongs to class c_k. Under
// x_t = alpha x_0 + sigma eps, with Sigma_k = Q_k diag(lambda_k) Q_k^T and A_k = alpha^2 lambda_k + sigma^2:
//   p_t(x)              = sum_k pi_k N(x; alpha mu_k, C_k),  C_k = alpha^2 Sigma_k + sigma^2 I = Q_k diag(A_k) Q_k^T
//   w_k(x)              = pi_k N(x; alpha mu_k, C_k) / p_t(x)          (log-sum-exp)
//   score               = sum_k w_k C_k^{-1} (alpha mu_k - x)
//   E[x_0 | x]          = sum_k w_k [mu_k + alpha Sigma_k C_k^{-1} (x - alpha mu_k)]
//   E[eps | x]          = -sigma score
// The class-conditional density p_c uses only class c's components (weights renormalised); the null
// label uses all of them, so eps_cond and eps_uncond, and hence CFG, are exact. Each kind of prediction is
// formed from (E[x_0|x], E[eps|x]) directly, so no conversion divides by alpha or sigma. Computed in float64.
//   MixtureSpec spec = parse_mixture_spec(read_json_file("mix.json"));   // or toy_mixture_2d()
//   GaussianMixtureDenoiser gmm(spec, Schedule::rectified_flow());
//   torch::Tensor u = gmm.predict(x, t, labels);                          // exact velocity
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <torch/torch.h>

#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/diffusion/denoiser.hpp"

namespace optidiff::diffusion {

struct GaussianComponent {
  int label = 0;        // the class that owns it
  double weight = 1.0;  // pi_k > 0 (normalised over all components on construction)
  Eigen::VectorXd mean{};
  // Covariance: either `variances` (diagonal, size D) or `covariance` (full D x D, symmetric positive
  // definite). Exactly one is non-empty.
  Eigen::VectorXd variances{};
  Eigen::MatrixXd covariance{};
};

struct MixtureSpec {
  int dim = 2;
  int num_classes = 1;
  std::vector<GaussianComponent> components{};
};

// Validates: dim >= 1, num_classes >= 1, every class owns a component, labels in range, weights > 0 and
// finite, mean/covariance sizes equal dim, covariances symmetric and positive definite (kInvalidArgument
// naming the component and its smallest eigenvalue).
void validate_mixture_spec(const MixtureSpec& spec);
// JSON: {"dim": 2, "num_classes": 2, "components": [{"class": 0, "weight": 1, "mean": [..],
//        "std": s | "variances": [..] | "covariance": [[..], ..]}, ..]}. Bad JSON: kInvalidArgument.
MixtureSpec parse_mixture_spec(const Json& j);
Json mixture_spec_to_json(const MixtureSpec& spec);

// 2-D toy: num_classes classes on a ring of radius 2, each owning two anisotropic components.
MixtureSpec toy_mixture_2d(int num_classes = 10);
// Image-shaped: one diagonal Gaussian per class with the per-pixel mean and variance (floor
// min_variance) of Fashion-MNIST's training images scaled to [-1, 1]; D = rows * cols.
MixtureSpec fashion_mixture(const std::string& data_dir, double min_variance = 1e-3);

class GaussianMixtureDenoiser : public Denoiser {
 public:
  // native: the kind predict() returns; default: velocity for rectified flow, epsilon for VP.
  GaussianMixtureDenoiser(MixtureSpec spec, Schedule schedule, std::optional<Prediction> native = {});

  Prediction prediction() const override { return native_; }
  const Schedule& schedule() const override { return schedule_; }
  int num_classes() const override { return spec_.num_classes; }
  std::string describe() const override;
  const MixtureSpec& spec() const { return spec_; }
  int dim() const { return spec_.dim; }

  // Exact E[x_0 | x_t] and E[eps | x_t] ([B, ...] each, float64), and the score of p_t ([B, ...]).
  struct Posterior {
    torch::Tensor x0, eps;
  };
  Posterior posterior(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels) const;
  torch::Tensor score(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels) const;
  // log p_t(x | label) per row, [B] float64 (label = null: the unconditional density).
  torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels) const;

  // Exact mean [D] and covariance [D, D] of p_0(. | label).
  void moments(int label, Eigen::VectorXd& mean, Eigen::MatrixXd& covariance) const;
  // n exact draws from p_0(. | label), [n, D] float64.
  torch::Tensor sample_data(int64_t n, int label, Rng& rng) const;

 protected:
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels) override;

 private:
  struct Evaluation;
  Evaluation evaluate(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels,
                      bool need_moments) const;

  MixtureSpec spec_;
  Schedule schedule_;
  Prediction native_;
  bool diagonal_ = true;                  // every component diagonal: no rotations needed
  torch::Tensor log_weights_;             // [K] log pi_k (global normalisation)
  torch::Tensor means_;                   // [K, D]
  torch::Tensor eigenvalues_;             // [K, D] lambda_k
  std::vector<torch::Tensor> rotations_;  // Q_k [D, D] (empty if diagonal_)
  torch::Tensor class_mask_;              // [num_classes + 1, K] 0 or -inf; the last row (null) all 0
};

}  // namespace optidiff::diffusion
