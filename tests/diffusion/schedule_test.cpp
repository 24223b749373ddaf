// Schedules, timestep spacings and prediction converters, checked against diffusers' formulas and exact
// algebra.
#include <gtest/gtest.h>

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/diffusion/prediction.hpp"
#include "optidiff/diffusion/schedule.hpp"

namespace optidiff::diffusion {
namespace {

TEST(Schedule, LinearBetasMatchDdpmTable) {
  const Schedule s = Schedule::vp(ScheduleKind::kLinear);
  ASSERT_EQ(s.alphas_cumprod().size(), 1000u);
  // abar_n = prod_{i<=n} (1 - beta_i), beta = linspace(1e-4, 0.02, 1000).
  double abar = 1;
  for (int i = 0; i < 1000; ++i) {
    abar *= 1 - (1e-4 + i * (0.02 - 1e-4) / 999);
    if (i == 0 || i == 499 || i == 999) {
      EXPECT_NEAR(s.alphas_cumprod()[i], abar, 1e-12 * abar) << i;
    }
  }
  // On the grid, alpha(t_n)^2 = alphas_cumprod[n]; t = 0 is clean.
  for (int n : {0, 10, 500, 999}) {
    const NoiseLevel lv = s.at(s.t_of_timestep(n));
    EXPECT_NEAR(lv.alpha * lv.alpha, s.alphas_cumprod()[n], 1e-12);
    EXPECT_NEAR(lv.alpha * lv.alpha + lv.sigma * lv.sigma, 1.0, 1e-12);
  }
  EXPECT_EQ(s.at(0.0).alpha, 1.0);
  EXPECT_EQ(s.at(0.0).sigma, 0.0);
}

TEST(Schedule, CosineFollowsNicholDhariwal) {
  const Schedule s = Schedule::vp(ScheduleKind::kSquaredCosCapV2);
  auto f = [](double u) { return std::pow(std::cos((u + 0.008) / 1.008 * M_PI / 2), 2); };
  // Away from the 0.999 clip, abar_n = f((n + 1) / N) / f(0).
  for (int n : {0, 100, 500, 900}) EXPECT_NEAR(s.alphas_cumprod()[n], f((n + 1) / 1000.0) / f(0), 1e-9) << n;
}

TEST(Schedule, DerivativesMatchFiniteDifferences) {
  for (const Schedule& s : {Schedule::vp(ScheduleKind::kLinear), Schedule::vp(ScheduleKind::kSquaredCosCapV2),
                            Schedule::rectified_flow()}) {
    for (double t : {0.1234, 0.5555, 0.9001}) {
      const double h = 1e-7;
      const NoiseLevel lv = s.at(t);
      EXPECT_NEAR(lv.alpha_dot, (s.alpha(t + h) - s.alpha(t - h)) / (2 * h), 1e-5) << s.name() << " t " << t;
      EXPECT_NEAR(lv.sigma_dot, (s.sigma(t + h) - s.sigma(t - h)) / (2 * h), 1e-5) << s.name() << " t " << t;
    }
  }
}

TEST(Schedule, RejectsBadInput) {
  EXPECT_THROW(Schedule::from_name("karras"), Error);
  EXPECT_THROW(Schedule::rectified_flow().at(1.5), Error);
  EXPECT_THROW(Schedule::rectified_flow().at(NAN), Error);
  EXPECT_THROW(parse_timestep_spacing("middle"), Error);
}

TEST(TimestepSpacing, MatchesDiffusersSetTimesteps) {
  // Values printed by diffusers' DDIMScheduler.set_timesteps(10) with N = 1000.
  EXPECT_EQ(discrete_timesteps(1000, 10, TimestepSpacing::kLeading),
            (std::vector<int>{900, 800, 700, 600, 500, 400, 300, 200, 100, 0}));
  EXPECT_EQ(discrete_timesteps(1000, 10, TimestepSpacing::kLeading, 1),
            (std::vector<int>{901, 801, 701, 601, 501, 401, 301, 201, 101, 1}));
  EXPECT_EQ(discrete_timesteps(1000, 10, TimestepSpacing::kTrailing),
            (std::vector<int>{999, 899, 799, 699, 599, 499, 399, 299, 199, 99}));
  EXPECT_EQ(discrete_timesteps(1000, 10, TimestepSpacing::kLinspace),
            (std::vector<int>{999, 888, 777, 666, 555, 444, 333, 222, 111, 0}));
  // trailing with a non-divisor: round(arange(1000, 0, -1000/3)) - 1 = [999, 666, 332].
  EXPECT_EQ(discrete_timesteps(1000, 3, TimestepSpacing::kTrailing), (std::vector<int>{999, 666, 332}));
  EXPECT_THROW(discrete_timesteps(1000, 0, TimestepSpacing::kLeading), Error);
  EXPECT_THROW(discrete_timesteps(1000, 1001, TimestepSpacing::kLeading), Error);
  const std::vector<double> grid = sampling_times(Schedule::rectified_flow(), 4, TimestepSpacing::kTrailing);
  EXPECT_EQ(grid, (std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0}));
}

TEST(Prediction, ConvertersRoundTripAndAreExact) {
  torch::manual_seed(0);
  const torch::Tensor x0 = torch::randn({5, 3}, torch::kFloat64), eps = torch::randn({5, 3}, torch::kFloat64);
  const torch::Tensor t = torch::tensor({0.05, 0.3, 0.5, 0.77, 0.99}, torch::kFloat64);
  for (const Schedule& s : {Schedule::vp(ScheduleKind::kLinear), Schedule::rectified_flow()}) {
    std::vector<double> al, si, ad, sd;
    for (int i = 0; i < 5; ++i) {
      const NoiseLevel lv = s.at(t[i].item<double>());
      al.push_back(lv.alpha), si.push_back(lv.sigma), ad.push_back(lv.alpha_dot), sd.push_back(lv.sigma_dot);
    }
    const auto col = [&](const std::vector<double>& v) { return row_coefficients(v, x0); };
    const torch::Tensor x = col(al) * x0 + col(si) * eps;
    // The true value of every kind at (x0, eps).
    const torch::Tensor truth[] = {eps, x0, col(al) * eps - col(si) * x0, col(ad) * x0 + col(sd) * eps};
    for (int from = 0; from < 4; ++from) {
      for (int to = 0; to < 4; ++to) {
        const torch::Tensor got = convert_prediction(truth[from], Prediction(from), Prediction(to), x, t, s);
        EXPECT_LT((got - truth[to]).abs().max().item<double>(), 1e-9)
            << s.name() << " " << kPredictionNames[from] << " -> " << kPredictionNames[to];
        const torch::Tensor back = convert_prediction(got, Prediction(to), Prediction(from), x, t, s);
        EXPECT_LT((back - truth[from]).abs().max().item<double>(), 1e-9);
      }
    }
  }
  // Rectified flow: velocity = eps - x0 exactly.
  const NoiseLevel lv = Schedule::rectified_flow().at(0.3);
  const AffineCoefficients v = prediction_from_x0_eps(Prediction::kVelocity, lv);
  EXPECT_EQ(v.x_coef, -1.0);
  EXPECT_EQ(v.f_coef, 1.0);
}

TEST(Prediction, SingularConversionIsAClearError) {
  // At t = 1 on rectified flow alpha = 0: x_0 cannot come from eps.
  const NoiseLevel lv = Schedule::rectified_flow().at(1.0);
  try {
    x0_from(Prediction::kEpsilon, lv);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("division by zero"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(x0_from(Prediction::kVelocity, lv));
  EXPECT_THROW(parse_prediction("flow"), Error);
}

}  // namespace
}  // namespace optidiff::diffusion
