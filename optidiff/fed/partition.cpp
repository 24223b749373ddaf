#include "optidiff/fed/partition.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::fed {

PartitionKind parse_partition(std::string_view name) {
  if (name == "iid") return PartitionKind::kIid;
  if (name == "shards") return PartitionKind::kShards;
  if (name == "dirichlet") return PartitionKind::kDirichlet;
  if (name == "dirichlet-columns") return PartitionKind::kDirichletColumns;
  throw_invalid("--partition is \"" + std::string(name) + "\"; expected iid, shards, dirichlet or dirichlet-columns");
}

std::string partition_name(PartitionKind kind) {
  switch (kind) {
    case PartitionKind::kIid: return "iid";
    case PartitionKind::kShards: return "shards";
    case PartitionKind::kDirichlet: return "dirichlet";
    case PartitionKind::kDirichletColumns: return "dirichlet-columns";
  }
  return "?";
}

data::Partition column_normalised_dirichlet(std::span<const std::uint8_t> labels, int num_classes, int clients,
                                            double alpha, std::uint64_t seed) {
  if (clients < 1) throw_invalid("--clients is " + std::to_string(clients) + "; expected >= 1");
  if (!(alpha > 0 && std::isfinite(alpha)))
    throw_invalid("--alpha is " + std::to_string(alpha) + "; expected a finite alpha > 0");
  std::vector<std::size_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return labels[a] < labels[b]; });
  std::vector<std::size_t> class_begin(num_classes + 1, 0);
  for (auto l : labels) {
    if (l >= num_classes) throw_invalid("label " + std::to_string(l) + " is not below " + std::to_string(num_classes));
    ++class_begin[l + 1];
  }
  std::partial_sum(class_begin.begin(), class_begin.end(), class_begin.begin());

  // Rows of W ~ Dir(alpha): normalised Gamma(alpha) draws; then columns normalised.
  Rng rng(seed);
  const auto n = std::size_t(clients), k = std::size_t(num_classes);
  std::vector<double> w(n * k);
  for (std::size_t i = 0; i < n; ++i) {
    double row = 0;
    for (std::size_t j = 0; j < k; ++j) row += (w[i * k + j] = rng.gamma(alpha));
    for (std::size_t j = 0; j < k; ++j) w[i * k + j] = row > 0 ? w[i * k + j] / row : 1.0 / double(k);
  }
  for (std::size_t j = 0; j < k; ++j) {
    double col = 0;
    for (std::size_t i = 0; i < n; ++i) col += w[i * k + j];
    for (std::size_t i = 0; i < n; ++i) w[i * k + j] = col > 0 ? w[i * k + j] / col : 1.0 / double(n);
  }
  data::Partition p;
  p.client_indices.resize(n);
  for (std::size_t j = 0; j < k; ++j) {
    const std::size_t begin = class_begin[j], end = class_begin[j + 1], size = end - begin;
    std::size_t pos = begin;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t take =
          i + 1 == n ? end - pos : std::min(end - pos, std::size_t(std::llround(double(size) * w[i * k + j])));
      for (std::size_t t = 0; t < take; ++t) p.client_indices[i].push_back(order[pos + t]);
      pos += take;
    }
  }
  for (auto& idx : p.client_indices) std::sort(idx.begin(), idx.end());
  return p;
}

data::Partition make_client_partition(std::span<const std::uint8_t> labels, int num_classes, PartitionKind kind,
                                      int clients, double alpha, std::uint64_t seed) {
  if (kind == PartitionKind::kDirichletColumns)
    return column_normalised_dirichlet(labels, num_classes, clients, alpha, seed);
  data::PartitionOptions o{.clients = clients, .alpha = alpha, .shards_per_client = 2, .seed = seed};
  o.scheme = kind == PartitionKind::kIid       ? data::PartitionScheme::kIid
             : kind == PartitionKind::kShards ? data::PartitionScheme::kShards
                                               : data::PartitionScheme::kDirichlet;
  return data::make_partition(labels, num_classes, o);
}

}  // namespace optidiff::fed
