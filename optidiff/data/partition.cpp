#include "optidiff/data/partition.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "optidiff/core/error.hpp"

namespace optidiff::data {

PartitionScheme parse_partition_scheme(std::string_view name) {
  if (name == "iid") return PartitionScheme::kIid;
  if (name == "dirichlet") return PartitionScheme::kDirichlet;
  if (name == "shards") return PartitionScheme::kShards;
  throw_invalid("partition scheme \"" + std::string(name) + "\" is unknown; expected iid, dirichlet or shards");
}

std::string_view partition_scheme_name(PartitionScheme scheme) {
  switch (scheme) {
    case PartitionScheme::kIid: return "iid";
    case PartitionScheme::kDirichlet: return "dirichlet";
    case PartitionScheme::kShards: return "shards";
  }
  return "?";
}

namespace {
// Fisher-Yates with our own Rng, so the permutation is the same on every standard library.
void shuffle(std::vector<std::size_t>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.uniform_int(i)]);
}

// Cuts [0, n) into `parts` contiguous ranges whose sizes differ by at most one; returns the starts.
std::vector<std::size_t> even_cuts(std::size_t n, std::size_t parts) {
  std::vector<std::size_t> starts(parts + 1);
  for (std::size_t i = 0; i <= parts; ++i) starts[i] = i * n / parts;
  return starts;
}
}  // namespace

Partition make_partition(std::span<const std::uint8_t> labels, int num_classes, const PartitionOptions& o) {
  const std::size_t n = labels.size();
  if (o.clients < 1) throw_invalid("--clients is " + std::to_string(o.clients) + "; expected >= 1");
  if (static_cast<std::size_t>(o.clients) > n)
    throw_invalid("--clients is " + std::to_string(o.clients) + "; expected at most the " + std::to_string(n) +
                  " samples");
  if (o.scheme == PartitionScheme::kDirichlet && !(o.alpha > 0 && std::isfinite(o.alpha)))
    throw_invalid("--alpha is " + std::to_string(o.alpha) + "; expected a finite alpha > 0");
  if (o.scheme == PartitionScheme::kShards &&
      (o.shards_per_client < 1 || static_cast<std::size_t>(o.clients) * o.shards_per_client > n))
    throw_invalid("--shards-per-client is " + std::to_string(o.shards_per_client) +
                  "; expected >= 1 with clients * shards <= samples");
  for (std::size_t i = 0; i < n; ++i)
    if (labels[i] >= num_classes)
      throw_invalid("label " + std::to_string(labels[i]) + " at index " + std::to_string(i) + " is not below " +
                    std::to_string(num_classes) + " classes");

  Rng rng(o.seed);
  const auto clients = static_cast<std::size_t>(o.clients);
  Partition p;
  p.client_indices.resize(clients);
  switch (o.scheme) {
    case PartitionScheme::kIid: {
      std::vector<std::size_t> perm(n);
      std::iota(perm.begin(), perm.end(), 0);
      shuffle(perm, rng);
      const auto cuts = even_cuts(n, clients);
      for (std::size_t c = 0; c < clients; ++c)
        p.client_indices[c].assign(perm.begin() + cuts[c], perm.begin() + cuts[c + 1]);
      break;
    }
    case PartitionScheme::kDirichlet: {
      for (int k = 0; k < num_classes; ++k) {
        std::vector<std::size_t> members;
        for (std::size_t i = 0; i < n; ++i)
          if (labels[i] == k) members.push_back(i);
        shuffle(members, rng);
        // Shares ~ Dir(alpha): normalised Gamma(alpha) draws.
        std::vector<double> share(clients);
        double total = 0;
        for (auto& s : share) total += (s = rng.gamma(o.alpha));
        if (!(total > 0)) share.assign(clients, 1.0), total = double(clients);  // all underflowed
        // Cumulative cut points, rounded; the last client takes the remainder so every sample is used.
        double acc = 0;
        std::size_t begin = 0;
        for (std::size_t c = 0; c < clients; ++c) {
          acc += share[c] / total;
          const std::size_t end =
              c + 1 == clients ? members.size()
                               : std::min(members.size(), static_cast<std::size_t>(std::llround(acc * members.size())));
          for (std::size_t j = begin; j < end; ++j) p.client_indices[c].push_back(members[j]);
          begin = std::max(begin, end);
        }
      }
      break;
    }
    case PartitionScheme::kShards: {
      std::vector<std::size_t> order(n);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return labels[a] < labels[b]; });
      const std::size_t shards = clients * static_cast<std::size_t>(o.shards_per_client);
      const auto cuts = even_cuts(n, shards);
      std::vector<std::size_t> shard_ids(shards);
      std::iota(shard_ids.begin(), shard_ids.end(), 0);
      shuffle(shard_ids, rng);
      for (std::size_t s = 0; s < shards; ++s) {
        auto& dst = p.client_indices[s / static_cast<std::size_t>(o.shards_per_client)];
        const std::size_t id = shard_ids[s];
        dst.insert(dst.end(), order.begin() + cuts[id], order.begin() + cuts[id + 1]);
      }
      break;
    }
  }
  for (auto& idx : p.client_indices) std::sort(idx.begin(), idx.end());
  return p;
}

PartitionSummary summarize(const Partition& p, std::span<const std::uint8_t> labels, int num_classes) {
  PartitionSummary s;
  std::vector<double> global(num_classes, 0.0);
  for (auto l : labels) global[l] += 1.0 / double(labels.size());
  double tv_sum = 0;
  std::size_t nonempty = 0;
  for (const auto& idx : p.client_indices) {
    std::vector<std::size_t> h(num_classes, 0);
    for (auto i : idx) ++h[labels[i]];
    s.samples.push_back(idx.size());
    if (idx.empty()) {
      ++s.empty_clients;
    } else {
      double tv = 0;
      for (int k = 0; k < num_classes; ++k) tv += std::abs(double(h[k]) / double(idx.size()) - global[k]);
      tv_sum += 0.5 * tv;
      ++nonempty;
    }
    s.histogram.push_back(std::move(h));
  }
  s.mean_tv_distance = nonempty ? tv_sum / double(nonempty) : 0.0;
  return s;
}

Json to_json(const PartitionSummary& s) {
  return Json{{"clients", s.samples.size()},
              {"samples_per_client", s.samples},
              {"label_histogram", s.histogram},
              {"mean_tv_distance", s.mean_tv_distance},
              {"empty_clients", s.empty_clients}};
}

}  // namespace optidiff::data
