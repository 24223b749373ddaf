// Samplers as plans, checked against direct step formulas and the exact Gaussian-mixture oracle.
#include <gtest/gtest.h>

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/diffusion/gmm.hpp"
#include "optidiff/diffusion/sampler.hpp"

namespace optidiff::diffusion {
namespace {

torch::Tensor labels_of(int64_t n, int64_t label) { return torch::full({n}, label, torch::kInt64); }

TEST(Plan, DdimCoefficientsMatchDiffusersStep) {
  // diffusers DDIMScheduler.step, written out: x0 = (x - sqrt(1 - ab) eps) / sqrt(ab);
  // std = eta sqrt((1 - ab') / (1 - ab) (1 - ab / ab')); x' = sqrt(ab') x0 + sqrt(1 - ab' - std^2) eps + std xi.
  const Schedule s = Schedule::vp(ScheduleKind::kScaledLinear, 1000, 0.00085, 0.012);
  for (double eta : {0.0, 0.5, 1.0}) {
    const Plan plan = make_plan(s, {.steps = 20, .eta = eta, .spacing = TimestepSpacing::kLeading, .steps_offset = 1,
                                    .set_alpha_to_one = false});
    const std::vector<int> ts = discrete_timesteps(1000, 20, TimestepSpacing::kLeading, 1);
    torch::manual_seed(5);
    const torch::Tensor x = torch::randn({2, 3}, torch::kFloat64), eps = torch::randn({2, 3}, torch::kFloat64),
                        xi = torch::randn({2, 3}, torch::kFloat64);
    for (int i = 0; i < 20; ++i) {
      const int s_idx = 19 - i;  // plan step index of diffusers' i-th step
      const double ab = s.alphas_cumprod()[ts[i]];
      const double ab_prev = i + 1 < 20 ? s.alphas_cumprod()[ts[i + 1]] : s.alphas_cumprod()[0];
      const double std = eta * std::sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev));
      const torch::Tensor x0 = (x - std::sqrt(1 - ab) * eps) / std::sqrt(ab);
      const torch::Tensor expect = std::sqrt(ab_prev) * x0 + std::sqrt(1 - ab_prev - std * std) * eps + std * xi;
      EXPECT_NEAR(plan.tau(s_idx), (ts[i] + 1) / 1000.0, 1e-15);
      EXPECT_LT((plan_step(plan, s_idx, x, eps, xi) - expect).abs().max().item<double>(), 1e-9)
          << "eta " << eta << " step " << i;
      // ParaTAA's closed form (research note Sec. 1.1): a = sqrt(ab'/ab), b = sqrt(1 - ab' - c^2) - sqrt(1 - ab) a.
      EXPECT_NEAR(plan.a[s_idx], std::sqrt(ab_prev / ab), 1e-9);
      EXPECT_NEAR(plan.b[s_idx], std::sqrt(1 - ab_prev - std * std) - std::sqrt(1 - ab) * std::sqrt(ab_prev / ab), 1e-9);
    }
  }
}

TEST(Plan, DdpmMatchesPosteriorMeanFormula) {
  // Ho et al. 2020, Eq. 7 with strided steps: beta = 1 - ab / ab', mean = sqrt(ab') beta / (1 - ab) x0 +
  // sqrt(1 - beta) (1 - ab') / (1 - ab) x, variance = (1 - ab') / (1 - ab) beta.
  const Schedule s = Schedule::vp(ScheduleKind::kLinear);
  const Plan plan = make_plan(s, {.sampler = SamplerKind::kDdpm, .steps = 25});
  torch::manual_seed(6);
  const torch::Tensor x = torch::randn({4}, torch::kFloat64).view({1, 4}), eps = torch::randn({1, 4}, torch::kFloat64),
                      xi = torch::randn({1, 4}, torch::kFloat64);
  for (int k = 0; k < 25; ++k) {
    const double ab = std::pow(s.alpha(plan.tau(k)), 2), ab_prev = std::pow(s.alpha(plan.t[k]), 2);
    const double beta = 1 - ab / ab_prev;
    const torch::Tensor x0 = (x - std::sqrt(1 - ab) * eps) / std::sqrt(ab);
    const torch::Tensor mean =
        std::sqrt(ab_prev) * beta / (1 - ab) * x0 + std::sqrt(1 - beta) * (1 - ab_prev) / (1 - ab) * x;
    const double stdev = std::sqrt((1 - ab_prev) / (1 - ab) * beta);
    EXPECT_LT((plan_step(plan, k, x, eps, xi) - (mean + stdev * xi)).abs().max().item<double>(), 1e-9) << k;
  }
}

TEST(Plan, DdimOnRectifiedFlowIsEuler) {
  const Schedule rf = Schedule::rectified_flow();
  const Plan ddim = make_plan(rf, {.sampler = SamplerKind::kDdim, .steps = 13});
  const Plan euler = make_plan(rf, {.sampler = SamplerKind::kEuler, .steps = 13});
  EXPECT_EQ(ddim.output, Prediction::kVelocity);
  for (int s = 0; s < 13; ++s) {
    EXPECT_NEAR(ddim.a[s], euler.a[s], 1e-12);
    EXPECT_NEAR(ddim.b[s], euler.b[s], 1e-12);
    EXPECT_NEAR(euler.b[s], euler.t[s] - euler.t[s + 1], 1e-15);
  }
  const Plan heun = make_plan(rf, {.sampler = SamplerKind::kHeun, .steps = 13});
  EXPECT_EQ(heun.evaluations(), 25);
}

TEST(Plan, BadOptionsAreClearErrors) {
  const Schedule rf = Schedule::rectified_flow();
  EXPECT_THROW(make_plan(rf, {.steps = 0}), Error);
  EXPECT_THROW(make_plan(rf, {.eta = 1.5}), Error);
  EXPECT_THROW(make_plan(rf, {.sampler = SamplerKind::kEuler, .eta = 0.5}), Error);
  // eps cannot give x_0 at t = 1 on rectified flow.
  EXPECT_THROW(make_plan(rf, {.output = Prediction::kEpsilon}), Error);
  EXPECT_THROW(parse_sampler("dpm++"), Error);
}

TEST(Sampler, NoiseOfSampleIDoesNotDependOnN) {
  const Plan plan = make_plan(Schedule::rectified_flow(), {.steps = 5});
  const torch::Tensor a = draw_noise(plan, 3, {2}, 42), b = draw_noise(plan, 7, {2}, 42);
  EXPECT_TRUE(torch::equal(a, b.slice(1, 0, 3)));
  EXPECT_FALSE(torch::equal(a, draw_noise(plan, 3, {2}, 43)));
}

// Single Gaussian N(mu, s^2 I): the probability-flow ODE maps x_T to x_0 = mu + s / sqrt(alpha_T^2 s^2 +
// sigma_T^2) (x_T - alpha_T mu) (research note Sec. 5, test 5). DDIM/Euler converge at first order, Heun at second.
TEST(Sampler, ConvergesToTheExactFlowMapAtTheRightOrder) {
  MixtureSpec spec;
  spec.dim = 3;
  spec.components.push_back({.label = 0, .weight = 1, .mean = Eigen::Vector3d(0.5, -1.0, 2.0),
                             .variances = Eigen::Vector3d::Constant(0.09)});
  for (const Schedule& sch : {Schedule::rectified_flow(), Schedule::vp(ScheduleKind::kLinear)}) {
    GaussianMixtureDenoiser gmm(spec, sch);
    const auto error = [&](SamplerKind kind, int steps) {
      const Plan plan = make_plan(sch, {.sampler = kind, .steps = steps, .spacing = TimestepSpacing::kLinspace});
      const torch::Tensor noise = draw_noise(plan, 4, {3}, 9);
      const torch::Tensor out = sample(plan, make_denoise_fn(gmm, plan.output), noise, labels_of(4, 0));
      const NoiseLevel top = sch.at(plan.t.back());
      const torch::Tensor mu = torch::tensor({0.5, -1.0, 2.0}, torch::kFloat64);
      const torch::Tensor exact = mu + 0.3 / std::sqrt(top.alpha * top.alpha * 0.09 + top.sigma * top.sigma) *
                                           (noise[steps] - top.alpha * mu);
      return (out - exact).abs().max().item<double>();
    };
    for (SamplerKind kind : {SamplerKind::kEuler, SamplerKind::kDdim}) {
      const double e1 = error(kind, 20), e2 = error(kind, 80);
      EXPECT_LT(e2, e1 / 2.5) << sch.name() << " " << sampler_name(kind) << " " << e1 << " -> " << e2;
      EXPECT_LT(e2, 5e-2) << sch.name() << " " << sampler_name(kind);
    }
    if (sch.is_flow()) {
      // Heun is second order on the flow ODE: halving the step divides the error by about 4.
      const double h1 = error(SamplerKind::kHeun, 10), h2 = error(SamplerKind::kHeun, 20);
      EXPECT_LT(h2, h1 / 3.0) << h1 << " -> " << h2;
      EXPECT_LT(h2, error(SamplerKind::kEuler, 20) / 10);
    }
  }
}

TEST(Sampler, EtaZeroIsDeterministicAndInvertible) {
  GaussianMixtureDenoiser gmm(toy_mixture_2d(4), Schedule::vp(ScheduleKind::kLinear));
  const Plan plan = make_plan(gmm.schedule(), {.steps = 100});
  const DenoiseFn fn = make_denoise_fn(gmm, plan.output, {.scale = 2.0});
  const torch::Tensor noise = draw_noise(plan, 16, {2}, 3);
  const torch::Tensor labels = torch::arange(16, torch::kInt64).remainder(4);
  const torch::Tensor x0 = sample(plan, fn, noise, labels);
  EXPECT_TRUE(torch::equal(x0, sample(plan, fn, draw_noise(plan, 16, {2}, 3), labels)));
  const torch::Tensor xt = invert(plan, fn, x0, labels, 20);
  EXPECT_LT((xt - noise[100]).abs().max().item<double>(), 1e-4);
  // A stochastic plan cannot be inverted.
  EXPECT_THROW(invert(make_plan(gmm.schedule(), {.steps = 10, .eta = 1.0}), fn, x0, labels), Error);
}

// With the exact denoiser and many steps, samples have the mixture's mean and covariance.
void expect_moments(SamplerKind kind, const Schedule& schedule, int steps, double eta) {
  GaussianMixtureDenoiser gmm(toy_mixture_2d(4), schedule);
  const int label = 1;
  const int64_t n = 3000;
  const Plan plan = make_plan(schedule, {.sampler = kind, .steps = steps, .eta = eta});
  const torch::Tensor x = sample(plan, make_denoise_fn(gmm, plan.output), draw_noise(plan, n, {2}, 17), labels_of(n, label));
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;
  gmm.moments(label, mean, cov);
  const torch::Tensor m = x.mean(0);
  const torch::Tensor c = (x - m).t().matmul(x - m) / double(n);
  const std::string what = std::string(sampler_name(kind)) + " on " + schedule.name();
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(m[i].item<double>(), mean[i], 4 * std::sqrt(cov(i, i) / n) + 5e-3) << what;
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(c[i][j].item<double>(), cov(i, j), 0.12 * cov.norm()) << what << i << j;
  }
}

TEST(Sampler, DdimReproducesMixtureMoments) { expect_moments(SamplerKind::kDdim, Schedule::vp(ScheduleKind::kLinear), 200, 0.0); }
TEST(Sampler, DdpmOnRectifiedFlowReproducesMixtureMoments) {
  expect_moments(SamplerKind::kDdpm, Schedule::rectified_flow(), 200, 0.0);
}
TEST(Sampler, HeunReproducesMixtureMoments) { expect_moments(SamplerKind::kHeun, Schedule::rectified_flow(), 50, 0.0); }

TEST(Sampler, ImageShapedMixtureMeansAreReproduced) {
  // D = 784, diagonal: per-pixel mean and variance of 200 DDIM samples within Monte-Carlo error of the
  // exact ones.
  MixtureSpec spec;
  spec.dim = 784;
  spec.num_classes = 2;
  Rng rng(8);
  for (int c = 0; c < 2; ++c) {
    GaussianComponent g;
    g.label = c;
    g.mean.resize(784);
    g.variances.resize(784);
    for (int p = 0; p < 784; ++p) g.mean[p] = rng.uniform(-1, 1), g.variances[p] = rng.uniform(0.02, 0.06);
    spec.components.push_back(g);
  }
  GaussianMixtureDenoiser gmm(spec, Schedule::rectified_flow());
  const Plan plan = make_plan(gmm.schedule(), {.steps = 100});
  const torch::Tensor x = sample(plan, make_denoise_fn(gmm, plan.output, {.scale = 1.0}), draw_noise(plan, 200, {1, 28, 28}, 1),
                                 labels_of(200, 1));
  const torch::Tensor m = x.flatten(1).mean(0);
  const torch::Tensor exact = torch::from_blob(spec.components[1].mean.data(), {784}, torch::kFloat64);
  const torch::Tensor var = torch::from_blob(spec.components[1].variances.data(), {784}, torch::kFloat64);
  EXPECT_LT(((m - exact).abs() / (var / 200).sqrt()).max().item<double>(), 5.0);
  // DDIM's first-order error shrinks narrow pixels by a few percent at 100 steps (measured 0.952); a wrong
  // noise scale or posterior variance moves this ratio far outside the band.
  const double var_ratio = x.flatten(1).var(0).div(var).mean().item<double>();
  EXPECT_GT(var_ratio, 0.92);
  EXPECT_LT(var_ratio, 1.02);
}

}  // namespace
}  // namespace optidiff::diffusion
