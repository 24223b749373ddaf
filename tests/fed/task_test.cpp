// The Fashion-MNIST task: model sizes of the note, flat views, the authors' column-normalised Dirichlet,
// and a short real run that resumes bit-identically (CNN, a few hundred samples).
#include "optidiff/fed/task.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/fed/model.hpp"
#include "optidiff/fed/partition.hpp"
#include "optidiff/fed/train.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::fed {
namespace {

TEST(Models, ParameterCountsOfTheNote) {
  torch::manual_seed(0);
  EXPECT_EQ(num_parameters(*make_net(ModelKind::kCnn)), 26010u);
  // 269,722 for 3-channel CIFAR input; one input channel removes 2 * 16 * 9 = 288 first-layer weights.
  EXPECT_EQ(num_parameters(*make_net(ModelKind::kResNet20)), 269434u);
  auto net = make_net(ModelKind::kResNet20);
  const auto out = net->forward(torch::zeros({2, 1, 28, 28}));
  EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{2, 10}));
}

TEST(Models, FlatViewRoundTripsAndGradMatchesAutograd) {
  torch::manual_seed(1);
  auto net = make_net(ModelKind::kCnn);
  std::vector<float> x(num_parameters(*net));
  get_flat(*net, x);
  std::vector<float> y(x.size());
  for (std::size_t j = 0; j < x.size(); ++j) y[j] = x[j] * 0.5f + 0.001f * float(j % 7);
  set_flat(*net, y);
  std::vector<float> back(x.size());
  get_flat(*net, back);
  EXPECT_EQ(back, y);
  EXPECT_EQ(net->parameters()[0].view(-1)[3].item<float>(), y[3]);
  EXPECT_THROW(set_flat(*net, std::vector<float>(10)), Error);

  const auto input = torch::randn({4, 1, 28, 28});
  net->zero_grad();
  net->forward(input).sum().backward();
  std::vector<float> g(x.size());
  get_flat_grad(*net, g);
  const auto& last = net->parameters().back();  // fc2 bias: d(sum logits)/d b = batch size
  for (std::int64_t k = 0; k < last.numel(); ++k) EXPECT_FLOAT_EQ(g[g.size() - 10 + std::size_t(k)], 4.0f);
}

TEST(Partition, ColumnNormalisedDirichletCoversEverySampleOnceAndIsSeeded) {
  std::vector<std::uint8_t> labels(5000);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = std::uint8_t((i * 7 + i / 13) % 10);
  for (double alpha : {0.1, 1.0, 100.0}) {
    const auto p = column_normalised_dirichlet(labels, 10, 37, alpha, 3);
    ASSERT_EQ(p.client_indices.size(), 37u);
    std::vector<int> seen(labels.size(), 0);
    for (const auto& idx : p.client_indices)
      for (auto i : idx) ++seen[i];
    for (auto s : seen) ASSERT_EQ(s, 1);
    EXPECT_EQ(column_normalised_dirichlet(labels, 10, 37, alpha, 3).client_indices, p.client_indices);
    EXPECT_NE(column_normalised_dirichlet(labels, 10, 37, alpha, 4).client_indices, p.client_indices);
  }
  // Each class's column sums to 1, so every class is spread over clients: with alpha = 100 every client
  // gets about n_j / N of each class.
  const auto flat = column_normalised_dirichlet(labels, 10, 10, 100.0, 1);
  for (const auto& idx : flat.client_indices) EXPECT_NEAR(double(idx.size()), 500.0, 60.0);
  EXPECT_THROW(column_normalised_dirichlet(labels, 10, 10, 0.0, 1), Error);
  EXPECT_EQ(parse_partition("dirichlet-columns"), PartitionKind::kDirichletColumns);
  EXPECT_THROW(parse_partition("columns"), Error);
}

class FashionTask : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!optidiff::testing::have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    torch::set_num_threads(1);
  }
  static TrainConfig small(const std::string& strategy) {
    TrainConfig c;
    c.strategy = strategy;
    c.options = default_options(strategy);
    c.options.local_steps = 2;
    c.task = {.model = ModelKind::kCnn, .clients = 6, .partition = PartitionKind::kDirichletColumns, .alpha = 1.0,
              .batch = 16, .train_samples = 600, .test_samples = 200, .seed = 5};
    c.federation = {.per_round = 3, .rounds = 4, .eval_every = 2, .dropout = 0.34, .seed = 5};
    return c;
  }
};

// Sec. 7: resume equals an uninterrupted run, on the real CNN with EF residuals and dropout.
TEST_F(FashionTask, ResumeEqualsUninterruptedRun) {
  optidiff::testing::TempDir dir;
  for (const std::string name : {"ef-signsgd", "fedlion"}) {
    auto c = small(name);
    auto task = make_fashion_task(c.task);
    const auto straight = train(c, *task);
    auto first = c;
    first.federation.rounds = 2;
    first.checkpoint_dir = dir.file(name);
    train(first, *task);
    auto rest = c;
    rest.checkpoint_dir = dir.file(name);
    rest.resume = true;
    const auto resumed = train(rest, *task);
    EXPECT_EQ(resumed.rounds_run, 2);
    ASSERT_EQ(resumed.history.size(), straight.history.size());
    for (std::size_t i = 0; i < straight.history.size(); ++i) {
      EXPECT_EQ(resumed.history[i].accuracy, straight.history[i].accuracy) << name << " point " << i;
      EXPECT_EQ(resumed.history[i].loss, straight.history[i].loss) << name << " point " << i;
      EXPECT_EQ(resumed.history[i].uplink_bytes, straight.history[i].uplink_bytes);
    }
    // Not --resume over an existing checkpoint: refused, nothing overwritten.
    EXPECT_THROW(train(first, *task), Error);
  }
}

TEST_F(FashionTask, EmptyClientsAreNeverSampled) {
  auto c = small("fedavg");
  c.task.clients = 60;
  // Per-class Dirichlet over clients at small alpha leaves clients empty (the column-normalised split gives
  // every client a share of its dominant class, so it rarely does).
  c.task.partition = PartitionKind::kDirichlet;
  c.task.alpha = 0.05;
  c.federation.per_round = 5;
  c.federation.rounds = 1;
  auto task = make_fashion_task(c.task);
  int empty = 0;
  for (int i = 0; i < task->num_clients(); ++i) empty += task->client(i).num_examples() == 0;
  ASSERT_GT(empty, 0);
  auto s = make_strategy("fedavg", c.options, task->layout());
  Federation fed(*task, *s, c.federation, Json::object());
  for (int client : fed.available_clients()) EXPECT_GT(task->client(client).num_examples(), 0u);
  EXPECT_EQ(int(fed.available_clients().size()), task->num_clients() - empty);
  const auto r = fed.run_round();
  EXPECT_EQ(r.replies, 5 - 2);  // dropout 0.34 of 5 rounds to 2
  // Asking for more clients per round than have data is an error that says so.
  auto many = c.federation;
  many.per_round = task->num_clients() - empty + 1;
  try {
    Federation(*task, *s, many, Json::object());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("have data"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace optidiff::fed
