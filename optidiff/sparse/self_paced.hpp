// optidiff/sparse/self_paced.hpp: self-paced regularisers f(v; age) and their closed-form weights.
//
// The V-step of SPSC is separable: each unit (a sample, a feature or an element) with loss l gets
//     v*(l) = argmin_{v in [0,1]}  v l + f(v; age)
// Research note section 3.3 (standard self-paced learning, [derived]: SPSC's exact form is not verified):
//   hard    (Kumar et al. 2010)     f = -age v                 v* = 1 if l < age else 0
//   linear  (Jiang et al. 2014)     f = age (v^2/2 - v)        v* = max(0, 1 - l / age)
//   mixture (Zhao et al. 2015)      f = gamma^2 / (v + gamma/age)
//            v* = 1 if l <= (age gamma / (age + gamma))^2, 0 if l >= age^2, else gamma (1/sqrt(l) - 1/age)
// For hard and linear the age is a loss threshold; for the mixture it is a threshold on sqrt(loss). In
// every case units with l >= zero_weight_loss(age) get weight 0: the "not yet admitted" data.
#pragma once

#include <Eigen/Dense>
#include <string_view>

namespace optidiff::sparse {

enum class Regularizer { kHard, kLinear, kMixture };
Regularizer parse_regularizer(std::string_view name);  // "hard" | "linear" | "mixture"
std::string_view regularizer_name(Regularizer r);

struct SelfPacedAge {
  double age = 1;    // lambda of the table above, > 0
  double gamma = 0;  // mixture only: gamma > 0 (research note: gamma = age / 2)
};

// v*(loss) for one unit; loss >= 0.
double self_paced_weight(Regularizer r, const SelfPacedAge& a, double loss);
// f(v; age): the regulariser's value, so the full objective can be reported and tested.
double self_paced_penalty(Regularizer r, const SelfPacedAge& a, double v);
// The loss at and above which v* = 0 (age for hard/linear, age^2 for the mixture).
double zero_weight_loss(Regularizer r, const SelfPacedAge& a);
// The age whose zero-weight loss is `loss` (inverse of the above); the mixture's gamma is age / 2.
SelfPacedAge age_for_zero_weight_loss(Regularizer r, double loss);

// Applies v* to every entry of a loss array (any shape).
Eigen::ArrayXXd self_paced_weights(Regularizer r, const SelfPacedAge& a, const Eigen::ArrayXXd& losses);

// The q-quantile (0 <= q <= 1, linear interpolation) of the entries; used to set the age so that a given
// fraction of units is admitted.
double quantile(const Eigen::ArrayXXd& values, double q);

}  // namespace optidiff::sparse
