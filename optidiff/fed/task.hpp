// optidiff/fed/task.hpp: Fashion-MNIST as a federated task: the training set split across clients
// (partition.hpp), a model (model.hpp) and evaluation on the test set. Pixels are standardised by the
// training set's pixel mean and std (as the authors' EMNIST pipeline). Client minibatches of `batch`
// samples are drawn with replacement (the authors' CIFAR script).
//   auto task = fed::make_fashion_task({.model = fed::ModelKind::kCnn, .clients = 100,
//                                       .partition = fed::PartitionKind::kDirichletColumns, .alpha = 1});
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "optidiff/fed/partition.hpp"
#include "optidiff/fed/simulation.hpp"

namespace optidiff::fed {

enum class ModelKind { kCnn, kResNet20 };
ModelKind parse_model(std::string_view name);  // "cnn" | "resnet20"
std::string model_name(ModelKind kind);

struct FashionTaskOptions {
  ModelKind model = ModelKind::kCnn;
  int clients = 100;
  PartitionKind partition = PartitionKind::kIid;
  double alpha = 1.0;      // Dirichlet concentration
  int batch = 32;          // client minibatch size, >= 1
  int train_samples = 0;   // use the first n training images (0 = all 60,000)
  int test_samples = 0;    // evaluate on the first n test images (0 = all 10,000)
  std::uint64_t seed = 0;  // partition and model initialisation
  std::string data_dir = {};  // "" = $OPTIDIFF_DATA or Debian's path
};

std::unique_ptr<Task> make_fashion_task(const FashionTaskOptions& options);

}  // namespace optidiff::fed
