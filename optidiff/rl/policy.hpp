// optidiff/rl/policy.hpp: policies as one flat parameter vector, with ARS's observation
// normalisation.
//
//   linear:  a = M z            M is act_dim x obs_dim, row-major in the flat vector (no bias, as
//   in ARS) mlp:     a = W2 tanh(W1 z + b1) + b2     (one hidden layer; W row-major, then b, layer
//   by layer) z = (o - mean) / std with the running statistics of the observations seen in training
//   (ARS V2, Mania et al. 2018, Algorithm 1 line 7: mu_j and Sigma_j of all states encountered so
//   far), or z = o when normalisation is off (ARS V1). A std below 1e-8 counts as 1, so a constant
//   feature stays put.
//
// Saved as JSON ("optidiff-rl-policy" v1) with the environment, sizes, parameters and the
// normaliser, and validated on load: another env's policy or one of the wrong size is refused with
// kDataLoss.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <string>

namespace optidiff::rl {

// Running mean and variance (Welford; Chan et al.'s merge), for observation normalisation.
class RunningStat {
 public:
  RunningStat() = default;
  explicit RunningStat(int dim);
  void push(const Eigen::VectorXd& x);
  void merge(const RunningStat& other);  // as if other's samples were pushed after ours
  long long count() const { return n_; }
  const Eigen::VectorXd& mean() const { return mean_; }
  Eigen::VectorXd std() const;  // sample standard deviation; ones before two samples
  int dim() const { return static_cast<int>(mean_.size()); }
  void set(long long n, const Eigen::VectorXd& mean, const Eigen::VectorXd& m2);
  const Eigen::VectorXd& m2() const { return m2_; }

 private:
  long long n_ = 0;
  Eigen::VectorXd mean_, m2_;
};

enum class PolicyKind { kLinear, kMlp };
PolicyKind parse_policy_kind(
    const std::string& name);  // "linear" or "mlp"; kInvalidArgument otherwise
const char* policy_kind_name(PolicyKind kind);

struct PolicySpec {
  PolicyKind kind = PolicyKind::kLinear;
  int obs_dim = 0, act_dim = 0;
  int hidden = 16;        // mlp only
  bool normalize = true;  // ARS V2's observation normalisation
};

class Policy {
 public:
  explicit Policy(const PolicySpec& spec);  // kInvalidArgument on bad sizes
  const PolicySpec& spec() const { return spec_; }
  int num_params() const;
  // Starting parameters: zeros for linear (as ARS); for mlp small N(0, 1/obs_dim) first-layer
  // weights from `seed` and zeros elsewhere, so that the hidden units are not all equal.
  Eigen::VectorXd initial_params(std::uint64_t seed) const;
  // The action for observation `obs` under parameters `theta` and normaliser snapshot (mean,
  // inv_std).
  Eigen::VectorXd act(const Eigen::VectorXd& theta, const Eigen::VectorXd& obs) const;

  // The normaliser used by act(); update_normalizer folds new statistics in (between rounds only).
  void update_normalizer(const RunningStat& seen);
  const RunningStat& normalizer() const { return stat_; }
  void set_normalizer(const RunningStat& stat);

 private:
  void refresh();
  PolicySpec spec_;
  RunningStat stat_;
  Eigen::VectorXd mean_, inv_std_;
};

struct SavedPolicy {
  std::string env;
  PolicySpec spec;
  Eigen::VectorXd params;
  RunningStat normalizer;
  std::string method;
  double final_return = 0;
};

void save_policy(const std::string& path, const SavedPolicy& p);
// Reads and validates; if expect_env is not empty, the file must be for that env (kDataLoss
// otherwise).
SavedPolicy load_policy(const std::string& path, const std::string& expect_env = "");

}  // namespace optidiff::rl
