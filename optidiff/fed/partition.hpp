// optidiff/fed/partition.hpp: client splits for federated runs: the three of optidiff::data (iid,
// per-class Dirichlet "dirichlet", sorted shards) plus the authors' column-normalised Dirichlet
// ("dirichlet-columns", TZW1998/FedLion and SignOpt data_distribution = 4; research note Sec. 4.1):
//   1. sort the sample indices by label (stable);
//   2. draw W in R^{clients x classes}, each row ~ Dir(alpha * 1);
//   3. normalise each column of W to sum to 1;
//   4. for each class j with n_j samples, hand clients 0..N-2 consecutive ranges of round(n_j W[i, j])
//      samples; the last client gets the remainder. A range that would run past the class end is cut
//      there (the authors' numpy slicing does the same), so client sizes are unequal and may be 0.
// The numpy draws cannot be reproduced in C++; the scheme, not the bits, is the authors'.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "optidiff/data/partition.hpp"

namespace optidiff::fed {

enum class PartitionKind { kIid, kShards, kDirichlet, kDirichletColumns };
PartitionKind parse_partition(std::string_view name);  // iid | shards | dirichlet | dirichlet-columns
std::string partition_name(PartitionKind kind);

data::Partition column_normalised_dirichlet(std::span<const std::uint8_t> labels, int num_classes, int clients,
                                            double alpha, std::uint64_t seed);

// Dispatches to optidiff::data for iid / shards (2 shards per client) / dirichlet.
data::Partition make_client_partition(std::span<const std::uint8_t> labels, int num_classes, PartitionKind kind,
                                      int clients, double alpha, std::uint64_t seed);

}  // namespace optidiff::fed
