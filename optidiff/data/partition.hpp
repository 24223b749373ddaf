// optidiff/data/partition.hpp: splits of a labelled dataset across federated clients.
//
// Every scheme is seeded and uses each sample exactly once (clients' index sets are disjoint and
// their union is 0..n-1).
//   - iid:       a random permutation cut into near-equal parts.
//   - dirichlet: label skew; for each class, the shares of the clients are drawn from Dir(alpha * 1)
//                and the class's samples are dealt out in those proportions (Yurochkin et al. 2019,
//                as Flower's DirichletPartitioner). Small alpha: each client sees few classes. A client
//                can end up empty at small alpha; the summary counts such clients.
//   - shards:    McMahan et al. 2017: sort by label, cut into clients * shards_per_client shards of
//                near-equal size, deal each client shards_per_client of them at random.
// The authors' column-normalised Dirichlet of the FedLion code lives with the federated module.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::data {

enum class PartitionScheme { kIid, kDirichlet, kShards };
PartitionScheme parse_partition_scheme(std::string_view name);  // "iid" | "dirichlet" | "shards"
std::string_view partition_scheme_name(PartitionScheme scheme);

struct PartitionOptions {
  PartitionScheme scheme = PartitionScheme::kIid;
  int clients = 10;           // >= 1 and <= number of samples
  double alpha = 0.5;         // dirichlet: > 0
  int shards_per_client = 2;  // shards: >= 1
  std::uint64_t seed = 0;
};

struct Partition {
  std::vector<std::vector<std::size_t>> client_indices;  // one sorted list of sample indices per client
};

Partition make_partition(std::span<const std::uint8_t> labels, int num_classes, const PartitionOptions& options);

struct PartitionSummary {
  std::vector<std::size_t> samples;               // per client
  std::vector<std::vector<std::size_t>> histogram;  // per client, per class
  double mean_tv_distance = 0;  // mean over non-empty clients of TV(client label dist., global label dist.)
  std::size_t empty_clients = 0;
};
PartitionSummary summarize(const Partition& p, std::span<const std::uint8_t> labels, int num_classes);
Json to_json(const PartitionSummary& s);

}  // namespace optidiff::data
