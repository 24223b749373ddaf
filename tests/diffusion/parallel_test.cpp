// Parallel sampling (ParaTAA, FP, ParaDiGMS) against the exact reference: sequential sampling of the same plan
// with the same pre-drawn noise on the closed-form Gaussian-mixture oracle (float64).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/diffusion/gmm.hpp"
#include "optidiff/diffusion/parallel/mixtures.hpp"
#include "optidiff/diffusion/parallel/solver.hpp"
#include "optidiff/diffusion/sampler.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::diffusion {
namespace {

constexpr int kDim = 8;

double max_abs(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// The easy mixture of note Sec. 7 (K = 8, 2 classes, std 0.15-0.5) on the linear VP schedule.
struct Oracle {
  GaussianMixtureDenoiser gmm{random_mixture({.dim = kDim, .classes = 2, .components = 8}), Schedule::vp()};
  torch::Tensor labels = torch::tensor({0, 1}, torch::kInt64);
};

struct Config {
  SamplerKind sampler;
  double cfg;
  int window;  // vs T = 20
  int memory;
};

std::string config_name(const ::testing::TestParamInfo<Config>& info) {
  const Config& c = info.param;
  return std::string(sampler_name(c.sampler)) + "_cfg" + std::to_string(static_cast<int>(c.cfg)) + "_W" +
         std::to_string(c.window) + "_m" + std::to_string(c.memory);
}

class ParaTaaMatchesSequential : public ::testing::TestWithParam<Config> {};

// tol1 = tol2 = 1e-7 on the one-step residual: the output (and the whole trajectory) equals the sequential
// trajectory to within what the tolerance allows after the steps amplify it, and the safeguard holds.
TEST_P(ParaTaaMatchesSequential, OnTheMixtureOracle) {
  const Config c = GetParam();
  Oracle o;
  const int steps = 20;
  const Plan plan = make_plan(o.gmm.schedule(), {.sampler = c.sampler, .steps = steps});
  const torch::Tensor noise = draw_noise(plan, 2, {kDim}, 11);
  const DenoiseFn fn = make_denoise_fn(o.gmm, plan.output, {.scale = c.cfg, .keep_halves = false});
  const torch::Tensor reference = sequential_trajectory(plan, fn, noise, o.labels);
  ParallelOptions opt = parallel_defaults(ParallelMethod::kParaTaa);
  opt.window = c.window;
  opt.memory = c.memory;
  opt.tol1 = opt.tol2 = 1e-7;
  o.gmm.reset_counters();
  const ParallelResult r = solve_parallel(plan, fn, noise, o.labels, opt, nullptr, &o.gmm);
  EXPECT_TRUE(r.converged) << r.stop_reason;
  EXPECT_LE(r.rounds, steps);
  EXPECT_LT(max_abs(r.x0, reference[0]), 1e-5);
  EXPECT_LT(max_abs(r.trajectory, reference), 1e-5);
  // One batched call per round; with CFG each row is evaluated twice.
  EXPECT_EQ(o.gmm.calls(), r.rounds);
  std::int64_t rows = 0;
  for (const RoundRecord& rec : r.history) rows += rec.rows;
  EXPECT_EQ(r.nfe, (c.cfg == 1.0 ? 1 : 2) * rows);
  EXPECT_EQ(r.history.back().finished, 0);
}

INSTANTIATE_TEST_SUITE_P(Parallel, ParaTaaMatchesSequential,
                         ::testing::Values(Config{SamplerKind::kDdim, 1, 20, 1}, Config{SamplerKind::kDdim, 1, 20, 2},
                                           Config{SamplerKind::kDdim, 1, 20, 3}, Config{SamplerKind::kDdim, 3, 20, 2},
                                           Config{SamplerKind::kDdim, 3, 30, 3}, Config{SamplerKind::kDdim, 3, 6, 1},
                                           Config{SamplerKind::kDdim, 3, 6, 2}, Config{SamplerKind::kDdim, 3, 6, 3},
                                           Config{SamplerKind::kDdpm, 1, 20, 2}, Config{SamplerKind::kDdpm, 3, 20, 1},
                                           Config{SamplerKind::kDdpm, 3, 20, 3}, Config{SamplerKind::kDdpm, 1, 7, 3},
                                           Config{SamplerKind::kDdpm, 3, 7, 2}, Config{SamplerKind::kDdpm, 3, 5, 1}),
                         config_name);

TEST(ParaTaa, EveryOrderHasTheSequentialFixedPoint) {
  Oracle o;
  const Plan plan = make_plan(o.gmm.schedule(), {.sampler = SamplerKind::kDdim, .steps = 16});
  const torch::Tensor noise = draw_noise(plan, 2, {kDim}, 3);
  const DenoiseFn fn = make_denoise_fn(o.gmm, plan.output, {.scale = 2.0});
  const torch::Tensor reference = sample(plan, fn, noise, o.labels);
  for (int order : {1, 2, 5, 16}) {
    for (int memory : {1, 2, 4}) {
      ParallelOptions opt{.window = 16, .order = order, .memory = memory, .tol1 = 1e-9, .tol2 = 1e-9};
      const ParallelResult r = solve_parallel(plan, fn, noise, o.labels, opt);
      EXPECT_TRUE(r.converged);
      EXPECT_LE(r.rounds, 16);
      EXPECT_LT(max_abs(r.x0, reference), 1e-7) << "order " << order << " memory " << memory;
    }
  }
}

// Plain FP on the one-step equations makes exactly one more step exact per round (the Jacobi sweep), so a tiny
// tolerance takes T rounds and reproduces the sequential result to rounding; the safeguard never allows more.
TEST(ParaTaa, SafeguardBoundsRoundsByT) {
  Oracle o;
  const int steps = 12;
  const Plan plan = make_plan(o.gmm.schedule(), {.sampler = SamplerKind::kDdpm, .steps = steps});
  const torch::Tensor noise = draw_noise(plan, 2, {kDim}, 4);
  const DenoiseFn fn = make_denoise_fn(o.gmm, plan.output, {.scale = 4.0});
  const torch::Tensor reference = sample(plan, fn, noise, o.labels);
  for (ParallelMethod m : {ParallelMethod::kFp, ParallelMethod::kParaTaa, ParallelMethod::kParadigms}) {
    ParallelOptions opt = parallel_defaults(m);
    opt.tol1 = opt.tol2 = opt.tolerance = 1e-300;
    opt.window = steps;
    const ParallelResult r = solve_parallel(plan, fn, noise, o.labels, opt);
    EXPECT_TRUE(r.converged);
    EXPECT_LE(r.rounds, steps) << parallel_method_name(m);
    EXPECT_LT(max_abs(r.x0, reference), 1e-10) << parallel_method_name(m);
    for (std::size_t i = 1; i < r.history.size(); ++i) EXPECT_LT(r.history[i].finished, r.history[i - 1].finished);
  }
  ParallelOptions fp = parallel_defaults(ParallelMethod::kFp);
  fp.tol1 = fp.tol2 = 1e-300;
  EXPECT_EQ(solve_parallel(plan, fn, noise, o.labels, fp).rounds, steps);
}

// Note Sec. 7: TAA's advantage shows on hard, strongly guided, multimodal problems. Sharp mixture (K = 32 in 4
// classes, std 0.02-0.1), w = 7.5, DDIM 100 steps, tol 1e-3: TAA converges in far fewer rounds than FP and FP+.
TEST(ParaTaa, NeedsFewerRoundsThanFpOnASharpGuidedMixture) {
  GaussianMixtureDenoiser gmm(random_mixture({.dim = 16, .classes = 4, .components = 32, .std_lo = 0.02, .std_hi = 0.1,
                                              .seed = 1}),
                              Schedule::vp());
  const Plan plan = make_plan(gmm.schedule(), {.sampler = SamplerKind::kDdim, .steps = 100});
  const torch::Tensor labels = torch::tensor({0, 3}, torch::kInt64);
  const torch::Tensor noise = draw_noise(plan, 2, {16}, 2);
  const DenoiseFn fn = make_denoise_fn(gmm, plan.output, {.scale = 7.5, .keep_halves = false});
  const torch::Tensor reference = sample(plan, fn, noise, labels);
  auto run = [&](int order, int memory) {
    const ParallelResult r =
        solve_parallel(plan, fn, noise, labels, {.window = 100, .order = order, .memory = memory});
    EXPECT_TRUE(r.converged);
    EXPECT_LT(max_abs(r.x0, reference), 5e-2) << "order " << order << " memory " << memory;
    return r.rounds;
  };
  const int fp = run(1, 1), fp_plus = run(0, 1), taa2 = run(0, 2), taa3 = run(0, 3);
  EXPECT_LT(taa2, fp);
  EXPECT_LT(taa3, fp);
  EXPECT_LT(taa2, fp_plus);
  EXPECT_LT(taa3, fp_plus);
  RecordProperty("rounds", "fp " + std::to_string(fp) + " fp+ " + std::to_string(fp_plus) + " taa2 " +
                               std::to_string(taa2) + " taa3 " + std::to_string(taa3));
}

TEST(Paradigms, MatchesSequentialWithinItsTolerance) {
  Oracle o;
  const int steps = 20;
  for (SamplerKind sampler : {SamplerKind::kDdim, SamplerKind::kDdpm}) {
    for (double cfg : {1.0, 3.0}) {
      for (int window : {5, 20}) {
        const Plan plan = make_plan(o.gmm.schedule(), {.sampler = sampler, .steps = steps});
        const torch::Tensor noise = draw_noise(plan, 2, {kDim}, 8);
        const DenoiseFn fn = make_denoise_fn(o.gmm, plan.output, {.scale = cfg});
        const torch::Tensor reference = sample(plan, fn, noise, o.labels);
        ParallelOptions opt = parallel_defaults(ParallelMethod::kParadigms);
        opt.window = window;
        opt.tolerance = 1e-6;
        const ParallelResult r = solve_parallel(plan, fn, noise, o.labels, opt);
        EXPECT_TRUE(r.converged);
        EXPECT_LE(r.rounds, steps);
        EXPECT_LT(max_abs(r.x0, reference), 1e-5) << sampler_name(sampler) << " cfg " << cfg << " W " << window;
      }
    }
  }
}

TEST(Parallel, MaxItersStopsEarlyAndReportsIt) {
  Oracle o;
  const Plan plan = make_plan(o.gmm.schedule(), {.steps = 30});
  const torch::Tensor noise = draw_noise(plan, 2, {kDim}, 1);
  const DenoiseFn fn = make_denoise_fn(o.gmm, plan.output);
  ParallelOptions opt = parallel_defaults(ParallelMethod::kFp);
  opt.max_iters = 3;
  const ParallelResult r = solve_parallel(plan, fn, noise, o.labels, opt);
  EXPECT_EQ(r.rounds, 3);
  EXPECT_FALSE(r.converged);
  EXPECT_NE(r.stop_reason.find("max_iters"), std::string::npos);
  EXPECT_EQ(r.x0.sizes(), noise[0].sizes());
  // The observer sees every round and can stop the solver.
  int seen = 0;
  const ParallelResult s = solve_parallel(plan, fn, noise, o.labels, parallel_defaults(ParallelMethod::kParaTaa),
                                          [&](const RoundRecord& rec, const torch::Tensor& traj) {
                                            EXPECT_EQ(traj.size(0), 31);
                                            EXPECT_EQ(rec.round, ++seen);
                                            return seen == 2;
                                          });
  EXPECT_EQ(s.rounds, 2);
}

// Note Sec. 1.5: a pure warm start from a neighbouring class keeps this run's fixed point; variation mode
// freezes x_{>= v} and solves the last v steps, i.e. continues the warm-start trajectory from x_v.
TEST(Parallel, WarmStartPureAndVariation) {
  Oracle o;
  const int steps = 25;
  const Plan plan = make_plan(o.gmm.schedule(), {.sampler = SamplerKind::kDdim, .steps = steps});
  const torch::Tensor noise = draw_noise(plan, 2, {kDim}, 6);
  const DenoiseFn fn = make_denoise_fn(o.gmm, plan.output, {.scale = 3.0});
  const torch::Tensor other = torch::tensor({1, 0}, torch::kInt64);
  const torch::Tensor neighbour = sequential_trajectory(plan, fn, noise, other);
  const torch::Tensor reference = sample(plan, fn, noise, o.labels);
  for (ParallelMethod m : {ParallelMethod::kParaTaa, ParallelMethod::kParadigms}) {
    ParallelOptions opt = parallel_defaults(m);
    opt.window = steps;
    opt.tol1 = opt.tol2 = opt.tolerance = 1e-7;
    opt.warm_start = WarmStart{.trajectory = neighbour};
    const ParallelResult pure = solve_parallel(plan, fn, noise, o.labels, opt);
    EXPECT_TRUE(pure.converged);
    EXPECT_LT(max_abs(pure.x0, reference), 1e-5) << parallel_method_name(m);
    opt.warm_start->variation_steps = 10;
    const ParallelResult variation = solve_parallel(plan, fn, noise, o.labels, opt);
    EXPECT_LE(variation.rounds, 10);
    const torch::Tensor expect = continue_sample(plan, fn, neighbour[10], 9, noise, o.labels);
    EXPECT_LT(max_abs(variation.x0, expect), 1e-5) << parallel_method_name(m);
    EXPECT_GT(max_abs(variation.x0, reference), 1e-3);  // not this run's sequential result
    EXPECT_LT(max_abs(variation.trajectory.slice(0, 10), neighbour.slice(0, 10)), 1e-15);  // frozen
  }
}

TEST(Parallel, TrajectoryFileRoundTripsAndIsChecked) {
  testing::TempDir dir;
  Oracle o;
  const Plan plan = make_plan(o.gmm.schedule(), {.steps = 10});
  const torch::Tensor noise = draw_noise(plan, 2, {kDim}, 0);
  const torch::Tensor traj = sequential_trajectory(plan, make_denoise_fn(o.gmm, plan.output), noise, o.labels);
  save_trajectory(dir.file("t.ckpt"), traj, plan, {{"class", 0}});
  EXPECT_TRUE(torch::equal(load_warm_start(dir.file("t.ckpt"), plan, 2, {kDim}), traj));
  using testing::expect_error;
  const Plan more = make_plan(o.gmm.schedule(), {.steps = 12});
  expect_error([&] { load_warm_start(dir.file("t.ckpt"), more, 2, {kDim}); }, ErrorCode::kInvalidArgument, "steps");
  const Plan ddpm = make_plan(o.gmm.schedule(), {.sampler = SamplerKind::kDdpm, .steps = 10});
  expect_error([&] { load_warm_start(dir.file("t.ckpt"), ddpm, 2, {kDim}); }, ErrorCode::kInvalidArgument, "sampler");
  const Plan flow = make_plan(Schedule::rectified_flow(), {.steps = 10});
  expect_error([&] { load_warm_start(dir.file("t.ckpt"), flow, 2, {kDim}); }, ErrorCode::kInvalidArgument, "schedule");
  expect_error([&] { load_warm_start(dir.file("t.ckpt"), plan, 2, {4, 2}); }, ErrorCode::kInvalidArgument,
               "sample_shape");
  expect_error([&] { load_warm_start(dir.file("t.ckpt"), plan, 3, {kDim}); }, ErrorCode::kInvalidArgument,
               "number of samples");
  std::ofstream(dir.file("bad.ckpt")) << "not a trajectory";
  expect_error([&] { load_warm_start(dir.file("bad.ckpt"), plan, 2, {kDim}); }, ErrorCode::kDataLoss, "bad.ckpt");
  expect_error([&] { load_warm_start(dir.file("none.ckpt"), plan, 2, {kDim}); }, ErrorCode::kNotFound, "none.ckpt");
}

TEST(Parallel, BadInputIsAClearError) {
  Oracle o;
  const Plan plan = make_plan(o.gmm.schedule(), {.steps = 10});
  const torch::Tensor noise = draw_noise(plan, 2, {kDim}, 0);
  const DenoiseFn fn = make_denoise_fn(o.gmm, plan.output);
  auto expect_invalid = [&](const ParallelOptions& opt, const std::string& fragment, const Plan& p = Plan{},
                            const torch::Tensor& z = {}) {
    try {
      solve_parallel(p.a.empty() ? plan : p, fn, z.defined() ? z : noise, o.labels, opt);
      ADD_FAILURE() << "no error; expected " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_invalid({.window = 0}, "window W is 0");
  expect_invalid({.window = 4, .order = 5}, "order k is 5");
  expect_invalid({.order = -1}, "order k is -1");
  expect_invalid({.memory = 0}, "memory m is 0");
  expect_invalid({.lambda = -1}, "lambda");
  expect_invalid({.tol1 = 0}, "tol1 is 0");
  expect_invalid({.tol2 = -1e-3}, "tol2 is -0.001");
  expect_invalid({.tol1 = NAN}, "tol1 is nan");
  expect_invalid({.method = ParallelMethod::kParadigms, .tolerance = 0}, "tolerance is 0");
  expect_invalid({.max_iters = -2}, "max_iters is -2");
  expect_invalid({.warm_start = WarmStart{.trajectory = torch::zeros({12, 2, kDim})}}, "warm-start trajectory is [12, 2, 8]");
  expect_invalid({.warm_start = WarmStart{.trajectory = torch::zeros({11, 2, kDim}), .variation_steps = 11}},
                 "variation_steps is 11");
  expect_invalid({}, "one-evaluation plan", make_plan(o.gmm.schedule(), {.sampler = SamplerKind::kHeun, .steps = 10}));
  expect_invalid({}, "noise is [10, 2, 8]", plan, noise.slice(0, 0, 10));
  EXPECT_THROW(parse_parallel_method("picard"), Error);
  EXPECT_EQ(parse_parallel_method("paratAA"), ParallelMethod::kParaTaa);
}

TEST(Parallel, ConvergencePlotHasARowPerRound) {
  Oracle o;
  const Plan plan = make_plan(o.gmm.schedule(), {.steps = 20});
  const DenoiseFn fn = make_denoise_fn(o.gmm, plan.output);
  const ParallelResult r =
      solve_parallel(plan, fn, draw_noise(plan, 2, {kDim}, 0), o.labels, parallel_defaults(ParallelMethod::kParaTaa));
  const Image img = render_convergence(r, "test");
  EXPECT_EQ(img.channels, 3);
  EXPECT_GE(img.height, 20 + static_cast<int>(r.history.size()) * 4);
  EXPECT_GE(img.width, 20 * 2);
}

#ifdef OPTIDIFF_PARALLEL_MPI_CHECK
// Issue 6: with mpirun -n R each rank evaluates a contiguous slice of every round's window, the solver state
// replicated; the output equals one process's to floating-point tolerance, and the ranks share the NFE.
TEST(ParallelMpi, TwoRanksEqualOne) {
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun is not installed";
  testing::TempDir dir;
  auto run = [&](int ranks, const std::string& out) {
    const std::string cmd = "timeout 300 mpirun --oversubscribe --allow-run-as-root -n " + std::to_string(ranks) + " '" +
                            OPTIDIFF_PARALLEL_MPI_CHECK + "' '" + out + "' > '" + out + ".log' 2>&1";
    return std::system(cmd.c_str());
  };
  ASSERT_EQ(run(1, dir.file("one.json")), 0) << read_text_file(dir.file("one.json.log"));
  ASSERT_EQ(run(2, dir.file("two.json")), 0) << read_text_file(dir.file("two.json.log"));
  const Json one = read_json_file(dir.file("one.json")), two = read_json_file(dir.file("two.json"));
  EXPECT_EQ(one["ranks"], 1);
  EXPECT_EQ(two["ranks"], 2);
  ASSERT_EQ(one["runs"].size(), 2u);
  ASSERT_EQ(two["runs"].size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(one["runs"][i]["rounds"], two["runs"][i]["rounds"]) << one["runs"][i]["method"];
    const auto a = one["runs"][i]["x0"].get<std::vector<double>>(), b = two["runs"][i]["x0"].get<std::vector<double>>();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t j = 0; j < a.size(); ++j) EXPECT_NEAR(a[j], b[j], 1e-12) << one["runs"][i]["method"] << " " << j;
  }
  const auto nfe = [&](const std::string& f) { return read_json_file(dir.file(f))["nfe"].get<std::int64_t>(); };
  EXPECT_GT(nfe("two.json.rank0"), 0);
  EXPECT_GT(nfe("two.json.rank1"), 0);
  EXPECT_EQ(nfe("two.json.rank0") + nfe("two.json.rank1"), nfe("one.json.rank0"));
}
#endif

}  // namespace
}  // namespace optidiff::diffusion
