// DiT, checkpoints, training and the denoiser adapter: shapes, exact identities, bit-exact round trips.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "optidiff/core/error.hpp"
#include "optidiff/diffusion/checkpoint.hpp"
#include "optidiff/diffusion/dit.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
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

}  // namespace
}  // namespace optidiff::diffusion
