// CFG-Rejection on the exact Gaussian-mixture oracle: the ASD equals a direct recomputation from the
// mixture's posterior, rejection keeps exactly the top K, survivors are bit-identical to running them alone,
// and the NFE count is exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/diffusion/cfg_rejection.hpp"
#include "optidiff/diffusion/gmm.hpp"

namespace optidiff::diffusion {
namespace {

struct Case {
  Schedule schedule;
  SamplerKind sampler;
  double eta;
};

std::vector<Case> cases() {
  return {{Schedule::rectified_flow(), SamplerKind::kEuler, 0.0},
          {Schedule::vp(ScheduleKind::kLinear), SamplerKind::kDdim, 0.0},
          {Schedule::vp(ScheduleKind::kLinear), SamplerKind::kDdpm, 0.0}};
}

TEST(CfgRejection, AsdEqualsDirectRecomputationFromThePosterior) {
  for (const Case& c : cases()) {
    GaussianMixtureDenoiser gmm(toy_mixture_2d(4), c.schedule);
    const Plan plan = make_plan(c.schedule, {.sampler = c.sampler, .steps = 20, .eta = c.eta});
    const int n = 6, label = 2, tau = 7;
    const torch::Tensor noise = draw_noise(plan, n, {2}, 11);
    const torch::Tensor labels = torch::full({n}, label, torch::kInt64);
    const DenoiseFn fn = make_denoise_fn(gmm, plan.output, {.scale = 3.0});
    AsdTracker paper(plan, AsdVariant::kPaper), code(plan, AsdVariant::kCode);
    std::vector<double> direct_paper(n, 0.0), direct_code(n, 0.0);
    int seen = 0;
    sample(plan, fn, noise, labels, torch::kFloat64, [&](int s, const torch::Tensor&, const GuidedPrediction& g) {
      paper.observe(s, g);
      code.observe(s, g);
      return ++seen == tau;
    });
    // Direct: rerun the first tau steps by hand, taking eps from the posterior (no converters).
    torch::Tensor x = noise[plan.steps()];
    for (int s = plan.steps() - 1; s >= plan.steps() - tau; --s) {
      const torch::Tensor t = torch::full({n}, plan.tau(s), torch::kFloat64);
      const auto pc = gmm.posterior(x, t, labels), pu = gmm.posterior(x, t, torch::full({n}, 4, torch::kInt64));
      const double sigma = c.schedule.at(plan.tau(s)).sigma;
      const torch::Tensor score_diff = -(pc.eps - pu.eps) / sigma;
      const bool flow = c.schedule.kind() == ScheduleKind::kRectifiedFlow;
      // velocity of rectified flow: v = eps - x0.
      const torch::Tensor code_diff = flow ? sigma * ((pc.eps - pc.x0) - (pu.eps - pu.x0)) : (pc.eps - pu.eps);
      for (int i = 0; i < n; ++i) {
        direct_paper[i] += score_diff[i].square().sum().item<double>();
        direct_code[i] += code_diff[i].norm().item<double>() / tau;
      }
      const GuidedPrediction g = fn(x, t, labels);
      x = plan_step(plan, s, x, g.pred, noise[s]);
    }
    const std::vector<double> got_paper = paper.asd(), got_code = code.asd();
    ASSERT_EQ(got_paper.size(), static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(got_paper[i], direct_paper[i], 1e-9 * (1 + direct_paper[i])) << c.schedule.name() << " " << i;
      EXPECT_NEAR(got_code[i], direct_code[i], 1e-9 * (1 + direct_code[i])) << c.schedule.name() << " " << i;
      EXPECT_GT(got_paper[i], 0.0);
    }
  }
}

TEST(CfgRejection, KeepsTopKAndSurvivorsAreBitIdenticalToRunningAlone) {
  for (const Case& c : cases()) {
    GaussianMixtureDenoiser gmm(toy_mixture_2d(4), c.schedule);
    const Plan plan = make_plan(c.schedule, {.sampler = c.sampler, .steps = 25, .eta = c.eta});
    const int n = 12, keep = 3, tau = 6;
    const torch::Tensor noise = draw_noise(plan, n, {2}, 3);
    const torch::Tensor labels = torch::full({n}, 1, torch::kInt64);
    const DenoiseFn fn = make_denoise_fn(gmm, plan.output, {.scale = 4.0});
    for (AsdVariant variant : {AsdVariant::kPaper, AsdVariant::kCode}) {
      gmm.reset_counters();
      const RejectionResult r =
          sample_with_rejection(plan, fn, gmm, noise, labels, torch::kFloat64, {.keep = keep, .at_step = tau, .variant = variant});
      // The ASD of every candidate is what a full run of all N reads at tau.
      AsdTracker full(plan, variant);
      int seen = 0;
      sample(plan, fn, noise, labels, torch::kFloat64, [&](int s, const torch::Tensor&, const GuidedPrediction& g) {
        if (seen++ < tau) full.observe(s, g);
        return false;
      });
      ASSERT_EQ(r.asd, full.asd());
      // Exactly the top K, by decreasing ASD.
      ASSERT_EQ(r.kept.size(), static_cast<std::size_t>(keep));
      std::vector<double> sorted = r.asd;
      std::sort(sorted.rbegin(), sorted.rend());
      for (int j = 0; j < keep; ++j) EXPECT_EQ(r.asd[r.kept[j]], sorted[j]);
      // Survivors equal the same candidates sampled on their own, bit for bit.
      const torch::Tensor idx = torch::tensor(r.kept, torch::kInt64);
      const torch::Tensor alone =
          sample(plan, fn, noise.index_select(1, idx), labels.index_select(0, idx), torch::kFloat64);
      EXPECT_TRUE(torch::equal(r.samples, alone)) << c.schedule.name() << " " << asd_variant_name(variant);
      // NFE: N candidates x tau guided steps + K survivors x (T - tau), two rows per guided step.
      EXPECT_EQ(r.nfe, 2 * (n * tau + keep * (plan.steps() - tau)));
    }
  }
}

TEST(CfgRejection, TopKOrdersTiesByIndexAndNanLast) {
  const double nan = std::nan("");
  EXPECT_EQ(top_k_indices({1, 3, nan, 3, 2}, 3), (std::vector<std::int64_t>{1, 3, 4}));
  EXPECT_EQ(top_k_indices({nan, 0.5}, 2), (std::vector<std::int64_t>{1, 0}));
}

TEST(CfgRejection, BadInputIsAClearError) {
  GaussianMixtureDenoiser gmm(toy_mixture_2d(2), Schedule::rectified_flow());
  const Plan plan = make_plan(gmm.schedule(), {.sampler = SamplerKind::kEuler, .steps = 10});
  const torch::Tensor noise = draw_noise(plan, 4, {2}, 0);
  const torch::Tensor labels = torch::zeros({4}, torch::kInt64);
  const DenoiseFn fn = make_denoise_fn(gmm, plan.output, {.scale = 2.0});
  auto expect_invalid = [&](const RejectionOptions& o, const std::string& needle) {
    try {
      sample_with_rejection(plan, fn, gmm, noise, labels, torch::kFloat64, o);
      FAIL() << "expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_invalid({.keep = 5, .at_step = 3}, "--keep is 5");
  expect_invalid({.keep = 0, .at_step = 3}, "--keep is 0");
  expect_invalid({.keep = 2, .at_step = 0}, "--at-step is 0");
  expect_invalid({.keep = 2, .at_step = 10}, "--at-step is 10");
  // Without the unconditional half there is no score difference.
  const DenoiseFn no_halves = make_denoise_fn(gmm, plan.output, {.scale = 1.0, .keep_halves = false});
  EXPECT_THROW(sample_with_rejection(plan, no_halves, gmm, noise, labels, torch::kFloat64, {.keep = 2, .at_step = 3}),
               Error);
  EXPECT_THROW(parse_asd_variant("median"), Error);
}

}  // namespace
}  // namespace optidiff::diffusion
