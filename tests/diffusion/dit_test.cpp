// DiT, checkpoints, training and the denoiser adapter: shapes, exact identities, bit-exact round trips.
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "optidiff/core/error.hpp"
#include "optidiff/diffusion/checkpoint.hpp"
#include "optidiff/diffusion/dit.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
#include "optidiff/diffusion/gelu.hpp"
#include "optidiff/diffusion/precision.hpp"
#include "optidiff/diffusion/train.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::diffusion {
namespace {

// A tiny DiT whose zero-initialised adaLN and output layers are randomised, so outputs are non-trivial.
DiT random_tiny(std::uint64_t seed = 1) {
  torch::manual_seed(seed);
  DiT m(dit_config("tiny"));
  torch::NoGradGuard g;
  for (auto& p : m->parameters()) p.add_(torch::randn_like(p) * 0.05);
  return m;
}

struct Batch {
  torch::Tensor x, t, y;
};
Batch random_batch(int b, std::uint64_t seed = 2) {
  torch::manual_seed(seed);
  return {torch::randn({b, 1, 28, 28}), torch::rand({b}), torch::randint(0, 11, {b}, torch::kInt64)};
}

using testing::expect_error;

TEST(DiT, SmallConfigHasAbout1_9MParameters) {
  DiT m(dit_config("small"));
  EXPECT_GT(m->parameter_count(), 1'800'000);
  EXPECT_LT(m->parameter_count(), 2'000'000);
  EXPECT_EQ(m->config().tokens(), 49);
}

TEST(DiT, ShapesAndZeroInitialOutput) {
  DiT m(dit_config("tiny"));
  auto b = random_batch(3);
  auto out = m->forward(b.x, b.t, b.y);
  EXPECT_EQ(out.sizes(), b.x.sizes());
  EXPECT_EQ(out.abs().max().item<float>(), 0.0f);  // adaLN-Zero: the untrained model predicts 0
}

TEST(DiT, PiecesComposeToForwardAndBlockOutputsAreRecorded) {
  auto m = random_tiny();
  auto b = random_batch(4);
  std::vector<torch::Tensor> blocks;
  auto out = m->forward(b.x, b.t, b.y, &blocks);
  ASSERT_EQ(blocks.size(), 2u);
  auto e = m->embed(b.x, b.t, b.y);
  auto h = e.tokens;
  for (int i = 0; i < 2; ++i) {
    h = m->block(i, h, e.c);
    EXPECT_TRUE(torch::equal(h, blocks[i]));
  }
  EXPECT_TRUE(torch::equal(m->head(h, e.c), out));
  EXPECT_EQ(blocks[0].sizes(), (std::vector<int64_t>{4, 16, 32}));
}

// An attention core that ignores the scores (mean of v): a stand-in for a sparse kernel.
struct MeanAttention : AttentionKernel {
  torch::Tensor attend(const torch::Tensor&, const torch::Tensor&, const torch::Tensor& v) const override {
    return v.mean(2, true).expand_as(v);
  }
};

TEST(DiT, AttentionKernelIsReplaceableAndRestorable) {
  auto m = random_tiny();
  auto b = random_batch(2);
  auto dense = m->forward(b.x, b.t, b.y);
  m->set_attention_kernel(-1, std::make_shared<MeanAttention>());
  auto replaced = m->forward(b.x, b.t, b.y);
  EXPECT_GT((replaced - dense).abs().max().item<float>(), 1e-4);
  m->set_attention_kernel(-1, nullptr);
  EXPECT_TRUE(torch::equal(m->forward(b.x, b.t, b.y), dense));
  expect_error([&] { m->set_attention_kernel(5, nullptr); }, ErrorCode::kInvalidArgument, "block index");
}

TEST(DiT, DenseAttentionMatchesTheFormula) {
  torch::manual_seed(3);
  auto q = torch::randn({1, 1, 3, 2}), k = torch::randn({1, 1, 3, 2}), v = torch::randn({1, 1, 3, 2});
  auto out = DenseAttention().attend(q, k, v);
  for (int i = 0; i < 3; ++i) {
    std::vector<double> w(3);
    double z = 0;
    for (int j = 0; j < 3; ++j) z += w[j] = std::exp((q[0][0][i] * k[0][0][j]).sum().item<double>() / std::sqrt(2.0));
    for (int c = 0; c < 2; ++c) {
      double ref = 0;
      for (int j = 0; j < 3; ++j) ref += w[j] / z * v[0][0][j][c].item<double>();
      EXPECT_NEAR(out[0][0][i][c].item<double>(), ref, 1e-6);
    }
  }
}


TEST(DiT, ForwardFlopsCountEveryWeightMatrixOncePerRowItIsAppliedTo) {
  for (const std::string name : {"tiny", "small"}) {
    DiT m(dit_config(name));
    const auto& c = m->config();
    const double n = c.tokens();
    double macs = 2.0 * c.depth * n * n * c.width;  // q k^T and (attention) v, per block
    for (const auto& p : m->named_parameters()) {
      if (p.value().dim() < 2 || p.key().starts_with("label_embed")) continue;  // biases; a lookup, not a product
      const bool per_image = p.key().starts_with("t_fc") || p.key().find("ada") != std::string::npos;
      macs += p.value().numel() * (per_image ? 1.0 : n);
    }
    EXPECT_DOUBLE_EQ(forward_flops(c), 2 * macs) << name;
  }
  EXPECT_NEAR(forward_flops(dit_config("small")) / 1e6, 124.7, 0.1);  // the figure docs/diffusion.md quotes
}

TEST(DiT, BadInputsAreRejected) {
  DiT m(dit_config("tiny"));
  auto b = random_batch(2);
  expect_error([&] { m->forward(torch::zeros({2, 1, 27, 27}), b.t, b.y); }, ErrorCode::kInvalidArgument, "x has shape");
  expect_error([&] { m->forward(b.x, b.t, torch::full({2}, 11, torch::kInt64)); }, ErrorCode::kInvalidArgument,
               "out of range");
  expect_error([] { dit_config("huge"); }, ErrorCode::kInvalidArgument, "tiny, small, base");
  auto c = dit_config("tiny");
  c.patch = 5;
  expect_error([&] { c.validate(); }, ErrorCode::kInvalidArgument, "patch");
}

TEST(Checkpoint, SaveLoadRoundTripIsBitExact) {
  testing::TempDir dir;
  auto m = random_tiny();
  save_dit(dir.file("m.ckpt"), m, Objective::kFlow, {{"step", 7}});
  auto back = load_dit(dir.file("m.ckpt"));
  EXPECT_EQ(back.objective, Objective::kFlow);
  EXPECT_EQ(back.meta["step"], 7);
  EXPECT_EQ(back.model->config(), m->config());
  auto a = named_state(*m), c = named_state(*back.model);
  ASSERT_EQ(a.size(), c.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, c[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, c[i].second)) << a[i].first;
  }
  auto b = random_batch(3);
  EXPECT_TRUE(torch::equal(m->forward(b.x, b.t, b.y), back.model->forward(b.x, b.t, b.y)));
}

TEST(Checkpoint, BadFilesGiveClearErrors) {
  testing::TempDir dir;
  auto m = random_tiny();
  const auto good = dir.file("m.ckpt");
  save_dit(good, m, Objective::kFlow, {});
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  expect_error([&] { load_dit(dir.file("missing.ckpt")); }, ErrorCode::kNotFound, "does not exist");
  std::ofstream(dir.file("text.ckpt")) << "hello, I am a text file";
  expect_error([&] { load_dit(dir.file("text.ckpt")); }, ErrorCode::kDataLoss, "not an optidiff checkpoint");
  for (std::size_t cut : {bytes.size() / 2, bytes.size() - 4, std::size_t{30}}) {
    std::ofstream(dir.file("cut.ckpt"), std::ios::binary) << bytes.substr(0, cut);
    expect_error([&] { load_dit(dir.file("cut.ckpt")); }, ErrorCode::kDataLoss, "truncated");
  }
  std::string flipped = bytes;
  flipped[bytes.size() - 100] ^= 0x40;
  std::ofstream(dir.file("flip.ckpt"), std::ios::binary) << flipped;
  expect_error([&] { load_dit(dir.file("flip.ckpt")); }, ErrorCode::kDataLoss, "CRC-32");
  // Weights of another config do not load into this model.
  DiT small(dit_config("small"));
  expect_error([&] { load_into(*small, load_checkpoint(good)); }, ErrorCode::kDataLoss, "another config");
  // A checkpoint of another kind.
  Checkpoint other;
  other.kind = "classifier";
  save_checkpoint(dir.file("other.ckpt"), other);
  expect_error([&] { load_dit(dir.file("other.ckpt")); }, ErrorCode::kDataLoss, "expected dit-model");
}

TEST(Denoiser, AdapterReportsKindAndCfgAtW1EqualsConditional) {
  testing::TempDir dir;
  auto m = random_tiny();
  save_dit(dir.file("m.ckpt"), m, Objective::kFlow, {});
  auto d = load_denoiser(dir.file("m.ckpt"));
  EXPECT_EQ(d->prediction(), Prediction::kVelocity);
  EXPECT_TRUE(d->schedule().is_flow());
  EXPECT_EQ(d->null_label(), 10);
  auto b = random_batch(3);
  auto y = b.y.clamp_max(9);
  auto cond = d->predict(b.x, b.t, y);
  ClassifierFreeGuidance cfg(*d, {.scale = 1.0, .keep_halves = true});
  auto g = cfg.predict(b.x, b.t, y, Prediction::kVelocity);
  EXPECT_TRUE(torch::equal(g.pred, g.pred_cond));
  EXPECT_TRUE(torch::allclose(g.pred, cond, 1e-5, 1e-6));
  // and guidance w: pred_u + w (pred_c - pred_u), with the unconditional half = the null label
  auto un = d->predict(b.x, b.t, torch::full_like(y, 10));
  ClassifierFreeGuidance cfg3(*d, {.scale = 3.0});
  auto g3 = cfg3.predict(b.x, b.t, y, Prediction::kVelocity);
  EXPECT_TRUE(torch::allclose(g3.pred, un + 3.0 * (cond - un), 1e-4, 1e-5));
  // the weights are frozen: no graph unless an input asks for one
  EXPECT_FALSE(d->predict(b.x, b.t, y).requires_grad());
  auto x = b.x.clone().set_requires_grad(true);
  EXPECT_TRUE(d->predict(x, b.t, y).requires_grad());
}

// The training data for the tests: the first 512 training images.
const data::Dataset& small_train() {
  static const data::Dataset d = [] {
    auto all = data::load_fashion_mnist(data::resolve_data_dir(""), data::Split::kTrain);
    all.images.resize(512 * all.pixels());
    all.labels.resize(512);
    return all;
  }();
  return d;
}

TrainOptions tiny_options(const std::string& out, std::int64_t steps, Objective objective = Objective::kFlow) {
  TrainOptions o;
  o.config = dit_config("tiny");
  o.objective = objective;
  o.steps = steps;
  o.batch = 32;
  o.warmup = 5;
  o.lr = 3e-3;
  o.out_dir = out;
  o.seed = 5;
  return o;
}

TEST(Train, AFewStepsReduceTheLossOnATinyConfig) {
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  for (auto objective : {Objective::kFlow, Objective::kEps}) {
    testing::TempDir dir;
    const auto x0 = dataset_images(small_train()).slice(0, 0, 128);
    const auto y = dataset_labels(small_train()).slice(0, 0, 128);
    torch::manual_seed(11);
    const auto noise = torch::randn_like(x0);
    const auto t = torch::rand({128}) * 0.98 + 0.01;
    auto before = DiT(dit_config("tiny"));
    const double l0 = diffusion_loss(before, objective, x0, y, t, noise).item<double>();
    train_dit(small_train(), tiny_options(dir.path(), 60, objective));
    auto trained = load_dit(dir.file("train_state.ckpt"));
    EXPECT_EQ(trained.objective, objective);
    // train_state's "model." weights are the raw ones; model.ckpt holds the EMA.
    DiT raw(dit_config("tiny"));
    load_into(*raw, load_checkpoint(dir.file("train_state.ckpt")), "model.");
    const double l1 = diffusion_loss(raw, objective, x0, y, t, noise).item<double>();
    EXPECT_LT(l1, 0.8 * l0) << objective_name(objective) << ": " << l0 << " -> " << l1;
    auto d = load_denoiser(dir.file("model.ckpt"));
    EXPECT_EQ(d->prediction(), objective == Objective::kFlow ? Prediction::kVelocity : Prediction::kEpsilon);
    EXPECT_EQ(d->schedule().is_flow(), objective == Objective::kFlow);
  }
}

TEST(Train, ResumeAfterAStopContinuesBitExactly) {
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir straight, resumed;
  train_dit(small_train(), tiny_options(straight.path(), 20));  // crosses an epoch boundary (16 steps/epoch)
  train_dit(small_train(), tiny_options(resumed.path(), 9));
  const auto r = train_dit(small_train(), tiny_options(resumed.path(), 20));
  EXPECT_EQ(r.resumed_from, 9);
  EXPECT_EQ(r.steps, 20);
  EXPECT_EQ(r.timed_steps, 10);  // this run's 11 steps less its first (the benchmark's steady rate)
  EXPECT_GT(r.step_seconds, 0);
  const auto a = load_checkpoint(straight.file("train_state.ckpt"));
  const auto b = load_checkpoint(resumed.file("train_state.ckpt"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  // Weights and EMA after 11 resumed steps equal the straight run's bit for bit, which also needs the
  // AdamW moments to have been restored exactly. The optimizer entry itself is torch's serialized archive,
  // whose bytes are not canonical, so it is not compared byte-wise.
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    if (a.tensors[i].first != "optimizer") {
      EXPECT_TRUE(torch::equal(a.tensors[i].second, b.tensors[i].second)) << a.tensors[i].first;
    }
  }
}

TEST(Train, ResumingWithAnotherConfigOrSeedIsRefused) {
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir dir;
  train_dit(small_train(), tiny_options(dir.path(), 2));
  auto o = tiny_options(dir.path(), 4);
  o.config.depth = 3;
  expect_error([&] { train_dit(small_train(), o); }, ErrorCode::kInvalidArgument, "was made with config");
  o = tiny_options(dir.path(), 4);
  o.seed = 6;
  expect_error([&] { train_dit(small_train(), o); }, ErrorCode::kInvalidArgument, "was made with seed");
  o = tiny_options(dir.path(), 0);
  expect_error([&] { train_dit(small_train(), o); }, ErrorCode::kInvalidArgument, "training budget");
}


TEST(Train, WarmStartCopiesTheWeightsAndExtendsTheLineage) {
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir first, second;
  auto o = tiny_options(first.path(), 12);
  o.command = "first run";
  o.commit = "abc";
  train_dit(small_train(), o);
  auto source = load_dit(first.file("model.ckpt"));
  ASSERT_EQ(source.meta["lineage"].size(), 1u);
  EXPECT_EQ(source.meta["lineage"][0]["command"], "first run");
  EXPECT_EQ(source.meta["lineage"][0]["steps"], 12);
  EXPECT_EQ(source.meta["lineage"][0]["commit"], "abc");

  // a warm start with a one-step budget and lr ~ 0: the weights must be the source's EMA weights
  auto w = tiny_options(second.path(), 1);
  w.init_from = first.file("model.ckpt");
  w.lr = 1e-30;
  w.warmup = 0;
  w.seed = 9;  // another seed: nothing of the first run's randomness is needed
  w.command = "second run";
  const auto r = train_dit(small_train(), w);
  EXPECT_EQ(r.resumed_from, -1);
  EXPECT_EQ(r.steps, 1);
  auto warm = load_dit(second.file("model.ckpt"));
  auto a = named_state(*source.model), b = named_state(*warm.model);
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i].second, b[i].second, 1e-6, 1e-7)) << a[i].first;
  ASSERT_EQ(warm.meta["lineage"].size(), 2u);
  EXPECT_EQ(warm.meta["lineage"][0]["command"], "first run");
  EXPECT_EQ(warm.meta["lineage"][1]["command"], "second run");
  EXPECT_EQ(warm.meta["lineage"][1]["init_from"], first.file("model.ckpt"));
  EXPECT_EQ(warm.meta["init_from"], first.file("model.ckpt"));

  // resuming the warm-started run works with or without --init-from, but not with another one
  w.steps = 2;
  EXPECT_EQ(train_dit(small_train(), w).resumed_from, 1);
  w.steps = 3;
  w.init_from.clear();
  EXPECT_EQ(train_dit(small_train(), w).resumed_from, 2);
  w.steps = 4;
  w.init_from = second.file("model.ckpt");
  expect_error([&] { train_dit(small_train(), w); }, ErrorCode::kInvalidArgument, "continues a run started from");
}

TEST(Train, WarmStartFromABadFileIsRefusedClearly) {
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir dir;
  train_dit(small_train(), tiny_options(dir.file("src"), 2));
  auto o = tiny_options(dir.file("dst"), 2);
  o.init_from = dir.file("missing.ckpt");
  expect_error([&] { train_dit(small_train(), o); }, ErrorCode::kNotFound, "missing.ckpt");
  std::ofstream(dir.file("junk.ckpt")) << "not a model";
  o.init_from = dir.file("junk.ckpt");
  expect_error([&] { train_dit(small_train(), o); }, ErrorCode::kDataLoss, "not an optidiff checkpoint");
  // truncated: the first half of a real model file
  {
    std::ifstream in(dir.file("src/model.ckpt"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir.file("half.ckpt"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  o.init_from = dir.file("half.ckpt");
  expect_error([&] { train_dit(small_train(), o); }, ErrorCode::kDataLoss, "half.ckpt");
  // a train state is not a model file; a classifier is not a DiT
  o.init_from = dir.file("src/train_state.ckpt");
  expect_error([&] { train_dit(small_train(), o); }, ErrorCode::kDataLoss, "expected dit-model");
  Checkpoint other;
  other.kind = "classifier";
  save_checkpoint(dir.file("classifier.ckpt"), other);
  o.init_from = dir.file("classifier.ckpt");
  expect_error([&] { train_dit(small_train(), o); }, ErrorCode::kDataLoss, "expected dit-model");
  // another config, another objective
  o.init_from = dir.file("src/model.ckpt");
  o.config.depth = 3;
  expect_error([&] { train_dit(small_train(), o); }, ErrorCode::kInvalidArgument, "holds a DiT with config");
  o = tiny_options(dir.file("dst"), 2, Objective::kEps);
  o.init_from = dir.file("src/model.ckpt");
  expect_error([&] { train_dit(small_train(), o); }, ErrorCode::kInvalidArgument, "trained with objective 'flow'");
  EXPECT_FALSE(std::filesystem::exists(dir.file("dst/train_state.ckpt")));
}

TEST(Train, LossLogHasOneRowPerTenStepsAndSurvivesAResume) {
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir dir;
  auto rows = [&] {
    std::ifstream in(dir.file("loss.csv"));
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  train_dit(small_train(), tiny_options(dir.path(), 25));
  auto a = rows();
  ASSERT_EQ(a.size(), 3u);  // header, steps 10 and 20
  EXPECT_EQ(a[0], "step,loss,lr,seconds");
  EXPECT_EQ(a[1].substr(0, 3), "10,");
  EXPECT_EQ(a[2].substr(0, 3), "20,");
  train_dit(small_train(), tiny_options(dir.path(), 45));  // resumed at 25: rows at 35 and 45
  auto b = rows();
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(b[1], a[1]);
  EXPECT_EQ(b[3].substr(0, 3), "35,");
  EXPECT_EQ(b[4].substr(0, 3), "45,");
}


TEST(Gelu, MatchesATenTanhGeluInValueAndGradient) {
  torch::manual_seed(4);
  // typical pre-activations, large magnitudes (tanh saturates; Eigen clamps at |u| ~ 8) and exact zeros
  auto x = torch::cat({torch::randn({5000}) * 3, torch::linspace(-30, 30, 601), torch::zeros({3})});
  const auto fast = gelu_tanh(x).to(torch::kFloat64);
  const auto truth = at::gelu(x.to(torch::kFloat64), "tanh");  // the same formula in float64
  const auto aten = at::gelu(x, "tanh").to(torch::kFloat64);
  // as close to the float64 truth as ATen's float32 SLEEF path is (absolute: the tails 1 + tanh(u),
  // u << 0, lose digits to cancellation in float32 either way) ...
  const double err_fast = (fast - truth).abs().max().item<double>();
  const double err_aten = (aten - truth).abs().max().item<double>();
  EXPECT_LT(err_fast, 4e-6);
  EXPECT_LT(err_fast, 4 * err_aten + 1e-7) << err_fast << " vs ATen " << err_aten;
  // ... and relatively accurate where there is no cancellation (x > -1)
  const auto plain = x > -1;
  EXPECT_LT(((fast - truth).abs() / (truth.abs() + 1e-30)).masked_select(plain & (x.abs() > 1e-3)).max().item<double>(),
            1e-6);
  auto a = x.clone().set_requires_grad(true), b = x.clone().set_requires_grad(true);
  const auto w = torch::randn_like(x);
  (gelu_tanh(a) * w).sum().backward();
  (at::gelu(b, "tanh") * w).sum().backward();
  EXPECT_LT((a.grad() - b.grad()).abs().max().item<double>(), 1e-5);

  // double backward (create_graph) goes through the differentiable formula
  auto c = x.slice(0, 0, 50).clone().set_requires_grad(true), d = c.detach().clone().set_requires_grad(true);
  auto gc = torch::autograd::grad({gelu_tanh(c).sum()}, {c}, {}, true, true)[0];
  auto gd = torch::autograd::grad({at::gelu(d, "tanh").sum()}, {d}, {}, true, true)[0];
  auto hc = torch::autograd::grad({gc.sum()}, {c})[0], hd = torch::autograd::grad({gd.sum()}, {d})[0];
  EXPECT_LT((hc - hd).abs().max().item<double>(), 1e-4);
  // other dtypes take ATen's path: float64 is exact
  const auto x64 = x.to(torch::kFloat64);
  EXPECT_TRUE(torch::equal(gelu_tanh(x64), at::gelu(x64, "tanh")));
}

TEST(Precision, ParsesAndResolves) {
  EXPECT_EQ(parse_precision("fp32"), Precision::kFp32);
  EXPECT_EQ(parse_precision("bf16"), Precision::kBf16);
  EXPECT_EQ(resolve_precision(Precision::kAuto), cpu_has_native_bf16() ? Precision::kBf16 : Precision::kFp32);
  EXPECT_EQ(resolve_precision(Precision::kFp32), Precision::kFp32);
  expect_error([] { parse_precision("fp16"); }, ErrorCode::kInvalidArgument, "fp32, bf16 or auto");
}

TEST(Precision, Bf16AutocastStaysCloseToFp32AndRestoresTheState) {
  testing::TempDir dir;
  auto m = random_tiny();
  save_dit(dir.file("m.ckpt"), m, Objective::kFlow, {});
  auto d = load_denoiser(dir.file("m.ckpt"));
  auto b = random_batch(8);
  const auto x = b.x.to(torch::kFloat64);
  const auto y = b.y.clamp_max(9);
  const auto fp32 = d->predict(x, b.t, y);
  {
    AutocastScope none(Precision::kFp32);  // a no-op: the same bits
    EXPECT_TRUE(torch::equal(d->predict(x, b.t, y), fp32));
  }
  d->set_precision(Precision::kBf16);
  const auto bf16 = d->predict(x, b.t, y);
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat64);  // the caller's dtype, whatever ran inside
  EXPECT_FALSE(torch::equal(bf16, fp32));           // it did run in bf16 ...
  const double rel = ((bf16 - fp32).norm() / fp32.norm()).item<double>();
  EXPECT_LT(rel, 0.03) << rel;                       // ... within bf16's 8-bit mantissa
  EXPECT_FALSE(at::autocast::is_cpu_enabled());      // and left autocast as it found it
  d->set_precision(Precision::kFp32);
  EXPECT_TRUE(torch::equal(d->predict(x, b.t, y), fp32));
}

TEST(Precision, Bf16TrainingRunsAndRecordsItsPrecision) {
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir dir;
  auto o = tiny_options(dir.path(), 3);
  o.precision = Precision::kBf16;
  const auto r = train_dit(small_train(), o);
  EXPECT_TRUE(std::isfinite(r.loss));
  EXPECT_EQ(load_dit(dir.file("model.ckpt")).meta["precision"], "bf16");
  // every parameter stays float32 (autocast casts copies), so fp32 sampling of the result works
  for (const auto& p : load_dit(dir.file("model.ckpt")).model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);
}

}  // namespace
}  // namespace optidiff::diffusion
