// optidiff/fed/model.hpp: the two models of the papers' experiments, for 28x28 one-channel input, and
// flat parameter vector views of any torch module (the strategies see only x in R^d).
// This header exposes torch; only .cpp files and tests include it.
//   auto net = fed::make_net(fed::ModelKind::kCnn);       // 26,010 parameters
//   std::vector<float> x(fed::num_parameters(*net));
//   fed::get_flat(*net, x);  fed::set_flat(*net, x);     // parameters() order, each tensor row-major
#pragma once

#include <torch/torch.h>

#include <memory>
#include <span>

#include "optidiff/fed/objective.hpp"
#include "optidiff/fed/task.hpp"

namespace optidiff::fed {

struct Net : torch::nn::Module {
  virtual torch::Tensor forward(torch::Tensor x) = 0;  // [B, 1, 28, 28] -> logits [B, 10]
};

// kCnn: the EMNIST CNN of the FedLion code (research note Sec. 4.1): conv(1->16, k8, s2, p3) - ReLU -
// maxpool(2, s1) - conv(16->32, k4, s2) - ReLU - maxpool(2, s1) - FC 512->32 - ReLU - FC 32->10; 26,010
// parameters. kResNet20: ResNet-20 (He et al. 2016, CIFAR variant) with GroupNorm (4 channels per
// group) instead of BatchNorm, option-A zero-padded shortcuts, no conv bias, Kaiming-normal init;
// 269,434 parameters with one input channel (269,722 with three, as the note's count).
// Initialised from torch's global generator: call torch::manual_seed first for a seeded model.
std::shared_ptr<Net> make_net(ModelKind kind);

std::size_t num_parameters(torch::nn::Module& net);
ModelLayout layout_of(torch::nn::Module& net);
void get_flat(torch::nn::Module& net, std::span<float> out);
void set_flat(torch::nn::Module& net, std::span<const float> x);
void get_flat_grad(torch::nn::Module& net, std::span<float> out);  // zeros where a grad is undefined

}  // namespace optidiff::fed
