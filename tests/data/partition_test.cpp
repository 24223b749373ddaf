#include "optidiff/data/partition.hpp"

#include <gtest/gtest.h>

#include "optidiff/core/error.hpp"

namespace optidiff::data {
namespace {

std::vector<std::uint8_t> balanced_labels(int n, int classes) {
  std::vector<std::uint8_t> l(n);
  for (int i = 0; i < n; ++i) l[i] = static_cast<std::uint8_t>((i * 7) % classes);
  return l;
}

void expect_exact_cover(const Partition& p, std::size_t n) {
  std::vector<int> seen(n, 0);
  for (const auto& idx : p.client_indices)
    for (auto i : idx) {
      ASSERT_LT(i, n);
      ++seen[i];
    }
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(seen[i], 1) << "sample " << i;
}

class EveryScheme : public ::testing::TestWithParam<PartitionScheme> {};

TEST_P(EveryScheme, UsesEverySampleExactlyOnceAndIsSeeded) {
  const auto labels = balanced_labels(1003, 10);
  PartitionOptions o{.scheme = GetParam(), .clients = 17, .alpha = 0.3, .shards_per_client = 2, .seed = 5};
  const Partition p = make_partition(labels, 10, o);
  ASSERT_EQ(p.client_indices.size(), 17u);
  expect_exact_cover(p, labels.size());
  EXPECT_EQ(make_partition(labels, 10, o).client_indices, p.client_indices);
  o.seed = 6;
  EXPECT_NE(make_partition(labels, 10, o).client_indices, p.client_indices);
}

INSTANTIATE_TEST_SUITE_P(Partition, EveryScheme,
                         ::testing::Values(PartitionScheme::kIid, PartitionScheme::kDirichlet,
                                           PartitionScheme::kShards));

TEST(Partition, IidIsBalancedAndCloseToGlobal) {
  const auto labels = balanced_labels(10000, 10);
  const auto p = make_partition(labels, 10, {.scheme = PartitionScheme::kIid, .clients = 10});
  const auto s = summarize(p, labels, 10);
  for (auto n : s.samples) EXPECT_EQ(n, 1000u);
  EXPECT_LT(s.mean_tv_distance, 0.05);
}

TEST(Partition, DirichletSkewGrowsAsAlphaFalls) {
  const auto labels = balanced_labels(20000, 10);
  double previous = 1.0;
  for (double alpha : {0.05, 0.5, 5.0, 100.0}) {
    const auto p = make_partition(labels, 10, {.scheme = PartitionScheme::kDirichlet, .clients = 50, .alpha = alpha, .seed = 1});
    const double tv = summarize(p, labels, 10).mean_tv_distance;
    EXPECT_LT(tv, previous) << "alpha " << alpha;
    previous = tv;
  }
  EXPECT_LT(previous, 0.1);  // alpha = 100 is close to IID
}

TEST(Partition, ShardsGiveFewClassesPerClient) {
  const auto labels = balanced_labels(6000, 10);
  const auto p = make_partition(labels, 10, {.scheme = PartitionScheme::kShards, .clients = 100, .shards_per_client = 2});
  const auto s = summarize(p, labels, 10);
  for (const auto& h : s.histogram) {
    int classes = 0;
    for (auto c : h) classes += c > 0;
    EXPECT_LE(classes, 4);  // two shards, each spanning at most two classes
  }
}

TEST(Partition, BadOptions) {
  const auto labels = balanced_labels(100, 10);
  EXPECT_THROW(make_partition(labels, 10, {.clients = 0}), Error);
  EXPECT_THROW(make_partition(labels, 10, {.clients = 101}), Error);
  EXPECT_THROW(make_partition(labels, 10, {.scheme = PartitionScheme::kDirichlet, .alpha = -1}), Error);
  EXPECT_THROW(make_partition(labels, 10, {.scheme = PartitionScheme::kDirichlet, .alpha = 0}), Error);
  EXPECT_THROW(make_partition(labels, 10, {.scheme = PartitionScheme::kShards, .clients = 60, .shards_per_client = 2}),
               Error);
  EXPECT_THROW(make_partition(labels, 5, {}), Error);  // labels >= 5 present
  EXPECT_THROW(parse_partition_scheme("random"), Error);
}

}  // namespace
}  // namespace optidiff::data
