// The closed-form Gaussian-mixture denoiser: its score is the gradient of its log-density, Tweedie holds,
// CFG is exact, and bad specs are clear errors.
#include <gtest/gtest.h>

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/diffusion/denoiser.hpp"
#include "optidiff/diffusion/gmm.hpp"

namespace optidiff::diffusion {
namespace {

torch::Tensor full_t(int64_t n, double t) { return torch::full({n}, t, torch::kFloat64); }

// An image-shaped (D = 784) mixture with diagonal covariances, 3 classes, 2 components each.
MixtureSpec image_mixture() {
  MixtureSpec spec;
  spec.dim = 784;
  spec.num_classes = 3;
  Rng rng(7);
  for (int c = 0; c < 3; ++c)
    for (int j = 0; j < 2; ++j) {
      GaussianComponent g;
      g.label = c;
      g.weight = 1.0 + j;
      g.mean.resize(784);
      g.variances.resize(784);
      for (int p = 0; p < 784; ++p) {
        g.mean[p] = rng.uniform(-0.8, 0.8);
        g.variances[p] = rng.uniform(0.01, 0.05);
      }
      spec.components.push_back(g);
    }
  return spec;
}

TEST(GaussianMixture, ScoreIsGradientOfLogDensityByFiniteDifferences) {
  for (const Schedule& schedule : {Schedule::vp(ScheduleKind::kLinear), Schedule::rectified_flow()}) {
    const GaussianMixtureDenoiser gmm(toy_mixture_2d(4), schedule);
    torch::manual_seed(1);
    const torch::Tensor x = 1.5 * torch::randn({6, 2}, torch::kFloat64);
    const torch::Tensor t = torch::tensor({0.02, 0.1, 0.3, 0.5, 0.8, 0.97}, torch::kFloat64);
    for (int64_t label : {0, 2, 4 /* null */}) {
      const torch::Tensor labels = torch::full({6}, label, torch::kInt64);
      const torch::Tensor score = gmm.score(x, t, labels);
      const double h = 1e-6;
      for (int d = 0; d < 2; ++d) {
        torch::Tensor e = torch::zeros({6, 2}, torch::kFloat64);
        e.select(1, d).fill_(h);
        const torch::Tensor fd = (gmm.log_density(x + e, t, labels) - gmm.log_density(x - e, t, labels)) / (2 * h);
        const torch::Tensor err = (fd - score.select(1, d)).abs() / (1 + score.select(1, d).abs());
        EXPECT_LT(err.max().item<double>(), 1e-5) << schedule.name() << " label " << label << " dim " << d;
      }
    }
  }
}

TEST(GaussianMixture, ImageShapedScoreMatchesDirectionalDerivative) {
  const GaussianMixtureDenoiser gmm(image_mixture(), Schedule::rectified_flow());
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({4, 1, 28, 28}, torch::kFloat64);
  const torch::Tensor v = torch::randn({4, 1, 28, 28}, torch::kFloat64);
  const torch::Tensor t = torch::tensor({0.2, 0.4, 0.6, 0.9}, torch::kFloat64);
  const torch::Tensor labels = torch::tensor({0, 1, 2, 3}, torch::kInt64);
  const double h = 1e-5;
  const torch::Tensor fd = (gmm.log_density(x + h * v, t, labels) - gmm.log_density(x - h * v, t, labels)) / (2 * h);
  const torch::Tensor exact = (gmm.score(x, t, labels) * v).flatten(1).sum(1);
  EXPECT_LT(((fd - exact).abs() / (1 + exact.abs())).max().item<double>(), 1e-6);
}

TEST(GaussianMixture, TweedieAndNativePredictionAgree) {
  const Schedule vp = Schedule::vp(ScheduleKind::kLinear);
  GaussianMixtureDenoiser gmm(toy_mixture_2d(3), vp, Prediction::kSample);
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({5, 2}, torch::kFloat64);
  const torch::Tensor t = torch::tensor({0.05, 0.25, 0.5, 0.75, 0.95}, torch::kFloat64);
  const torch::Tensor labels = torch::tensor({0, 1, 2, 3, 1}, torch::kInt64);
  const auto post = gmm.posterior(x, t, labels);
  const torch::Tensor score = gmm.score(x, t, labels);
  for (int i = 0; i < 5; ++i) {
    const NoiseLevel lv = vp.at(t[i].item<double>());
    // Tweedie: E[x_0 | x] = (x + sigma^2 score) / alpha.
    const torch::Tensor tw = (x[i] + lv.sigma * lv.sigma * score[i]) / lv.alpha;
    EXPECT_LT((tw - post.x0[i]).abs().max().item<double>(), 1e-10);
  }
  // The native prediction (x_0 here) converted to eps equals the exact eps.
  const torch::Tensor eps = gmm.predict_as(Prediction::kEpsilon, x, t, labels);
  EXPECT_LT((eps - post.eps).abs().max().item<double>(), 1e-10);
  EXPECT_EQ(gmm.nfe(), 5);
  EXPECT_EQ(gmm.calls(), 1);
}

TEST(GaussianMixture, CfgAtScaleOneEqualsConditionalPrediction) {
  GaussianMixtureDenoiser gmm(image_mixture(), Schedule::rectified_flow());
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({3, 1, 28, 28}, torch::kFloat64);
  const torch::Tensor t = torch::tensor({0.3, 0.6, 1.0}, torch::kFloat64);
  const torch::Tensor labels = torch::tensor({0, 2, 1}, torch::kInt64);
  const torch::Tensor cond = gmm.predict(x, t, labels);
  const torch::Tensor uncond = gmm.predict(x, t, torch::full({3}, gmm.null_label(), torch::kInt64));
  gmm.reset_counters();
  const GuidedPrediction g1 = ClassifierFreeGuidance(gmm, {.scale = 1.0}).predict(x, t, labels, gmm.prediction());
  EXPECT_TRUE(torch::equal(g1.pred, g1.pred_cond));
  EXPECT_LT((g1.pred - cond).abs().max().item<double>(), 1e-12);
  EXPECT_LT((g1.pred_uncond - uncond).abs().max().item<double>(), 1e-12);
  EXPECT_EQ(gmm.nfe(), 6);   // both halves count
  EXPECT_EQ(gmm.calls(), 1); // in one batch
  // w = 3 in eps space equals w = 3 in velocity space converted (guidance is affine).
  ClassifierFreeGuidance cfg3(gmm, {.scale = 3.0});
  const torch::Tensor in_eps = cfg3.predict(x, t.clamp_max(0.99), labels, Prediction::kEpsilon).pred;
  const torch::Tensor in_vel = cfg3.predict(x, t.clamp_max(0.99), labels, Prediction::kVelocity).pred;
  const torch::Tensor vel_as_eps =
      convert_prediction(in_vel, Prediction::kVelocity, Prediction::kEpsilon, x, t.clamp_max(0.99), gmm.schedule());
  EXPECT_LT((in_eps - vel_as_eps).abs().max().item<double>(), 1e-9);
  // The guided prediction is u + w (c - u).
  const GuidedPrediction g3 = cfg3.predict(x, t, labels, gmm.prediction());
  EXPECT_LT((g3.pred - (uncond + 3.0 * (cond - uncond))).abs().max().item<double>(), 1e-9);
  // keep_halves = false at w = 1 skips the unconditional half.
  gmm.reset_counters();
  const GuidedPrediction g = ClassifierFreeGuidance(gmm, {.scale = 1.0, .keep_halves = false}).predict(x, t, labels, gmm.prediction());
  EXPECT_EQ(gmm.nfe(), 3);
  EXPECT_FALSE(g.pred_uncond.defined());
}

TEST(GaussianMixture, BadInputIsAClearError) {
  MixtureSpec spec = toy_mixture_2d(2);
  spec.components[1].covariance << 1.0, 2.0, 2.0, 1.0;  // eigenvalues 3 and -1
  try {
    validate_mixture_spec(spec);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("component 1: covariance is not positive definite"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(GaussianMixtureDenoiser(spec, Schedule::rectified_flow()), Error);
  const Json bad = parse_json(R"({"dim": 2, "components": [{"mean": [0, 0], "variances": [1, 0]}]})", "test");
  EXPECT_THROW(parse_mixture_spec(bad), Error);
  const Json ok = parse_json(R"({"dim": 2, "num_classes": 2, "components": [
      {"class": 0, "mean": [0, 0], "std": 0.5}, {"class": 1, "mean": [1, 1], "covariance": [[1, 0.5], [0.5, 1]]}]})",
                             "test");
  const MixtureSpec parsed = parse_mixture_spec(ok);
  EXPECT_EQ(parsed.components.size(), 2u);
  EXPECT_EQ(parse_mixture_spec(mixture_spec_to_json(parsed)).components[1].covariance, parsed.components[1].covariance);
  // A class with no component, and a wrong label at predict time.
  const Json orphan = parse_json(R"({"dim": 1, "num_classes": 2, "components": [{"mean": [0], "std": 1}]})", "test");
  EXPECT_THROW(parse_mixture_spec(orphan), Error);
  GaussianMixtureDenoiser gmm(toy_mixture_2d(2), Schedule::rectified_flow());
  EXPECT_THROW(gmm.predict(torch::zeros({1, 2}, torch::kFloat64), full_t(1, 0.5), torch::full({1}, 3, torch::kInt64)),
               Error);
  EXPECT_THROW(gmm.predict(torch::zeros({1, 3}, torch::kFloat64), full_t(1, 0.5), torch::zeros({1}, torch::kInt64)),
               Error);
  EXPECT_THROW(gmm.predict(torch::zeros({1, 2}, torch::kFloat64), full_t(1, 1.5), torch::zeros({1}, torch::kInt64)),
               Error);
  EXPECT_THROW(ClassifierFreeGuidance(gmm, {.scale = -1.0}), Error);
  EXPECT_THROW(ClassifierFreeGuidance(gmm, {.scale = NAN}), Error);
}

TEST(GaussianMixture, DataSamplesHaveTheExactMoments) {
  const GaussianMixtureDenoiser gmm(toy_mixture_2d(5), Schedule::rectified_flow());
  Rng rng(11);
  const torch::Tensor xs = gmm.sample_data(20000, 2, rng);
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;
  gmm.moments(2, mean, cov);
  const torch::Tensor m = xs.mean(0);
  EXPECT_NEAR(m[0].item<double>(), mean[0], 0.01);
  EXPECT_NEAR(m[1].item<double>(), mean[1], 0.01);
  const torch::Tensor c = ((xs - m).t().matmul(xs - m)) / 20000.0;
  EXPECT_NEAR(c[0][0].item<double>(), cov(0, 0), 0.05 * cov(0, 0));
  EXPECT_NEAR(c[1][1].item<double>(), cov(1, 1), 0.05 * cov(1, 1));
}

}  // namespace
}  // namespace optidiff::diffusion
