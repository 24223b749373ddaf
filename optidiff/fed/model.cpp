#include "optidiff/fed/model.hpp"

#include <cstring>

#include "optidiff/core/error.hpp"

namespace optidiff::fed {
namespace {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

struct Cnn final : Net {
  Cnn()
      : conv1(register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 16, 8).stride(2).padding(3)))),
        conv2(register_module("conv2", nn::Conv2d(nn::Conv2dOptions(16, 32, 4).stride(2)))),
        fc1(register_module("fc1", nn::Linear(512, 32))),
        fc2(register_module("fc2", nn::Linear(32, 10))) {}
  torch::Tensor forward(torch::Tensor x) override {
    x = F::max_pool2d(torch::relu(conv1(x)), F::MaxPool2dFuncOptions(2).stride(1));  // 28 -> 14 -> 13
    x = F::max_pool2d(torch::relu(conv2(x)), F::MaxPool2dFuncOptions(2).stride(1));  // 13 -> 5 -> 4
    return fc2(torch::relu(fc1(x.flatten(1))));
  }
  nn::Conv2d conv1, conv2;
  nn::Linear fc1, fc2;
};

nn::Conv2d conv3x3(int in, int out, int stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

struct BasicBlock : nn::Module {
  BasicBlock(int in, int out, int stride)
      : conv1(register_module("conv1", conv3x3(in, out, stride))),
        gn1(register_module("gn1", nn::GroupNorm(out / 4, out))),
        conv2(register_module("conv2", conv3x3(out, out, 1))),
        gn2(register_module("gn2", nn::GroupNorm(out / 4, out))),
        stride_(stride),
        pad_(out - in) {}
  torch::Tensor forward(torch::Tensor x) {
    auto y = torch::relu(gn1(conv1(x)));
    y = gn2(conv2(y));
    // Option A: subsample by the stride and zero-pad the new channels, half on each side; no parameters.
    auto shortcut = x;
    if (stride_ != 1 || pad_ != 0) {
      using torch::indexing::None;
      using torch::indexing::Slice;
      shortcut = x.index({Slice(), Slice(), Slice(None, None, stride_), Slice(None, None, stride_)});
      shortcut = F::pad(shortcut, F::PadFuncOptions({0, 0, 0, 0, pad_ / 2, pad_ - pad_ / 2}));
    }
    return torch::relu(y + shortcut);
  }
  nn::Conv2d conv1;
  nn::GroupNorm gn1;
  nn::Conv2d conv2;
  nn::GroupNorm gn2;
  int stride_, pad_;
};

struct ResNet20 final : Net {
  ResNet20()
      : conv1(register_module("conv1", conv3x3(1, 16, 1))),
        gn1(register_module("gn1", nn::GroupNorm(4, 16))),
        fc(register_module("fc", nn::Linear(64, 10))) {
    int in = 16, index = 0;
    for (int stage = 0; stage < 3; ++stage) {
      const int out = 16 << stage;
      for (int b = 0; b < 3; ++b, ++index) {
        blocks.push_back(register_module("block" + std::to_string(index),
                                         std::make_shared<BasicBlock>(in, out, b == 0 && stage > 0 ? 2 : 1)));
        in = out;
      }
    }
    torch::NoGradGuard no_grad;
    for (auto& m : modules(false)) {
      if (auto* conv = m->as<nn::Conv2d>()) nn::init::kaiming_normal_(conv->weight);
      if (auto* linear = m->as<nn::Linear>()) nn::init::kaiming_normal_(linear->weight);
    }
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::relu(gn1(conv1(x)));
    for (auto& b : blocks) x = b->forward(x);
    return fc(F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1));
  }
  nn::Conv2d conv1;
  nn::GroupNorm gn1;
  nn::Linear fc;
  std::vector<std::shared_ptr<BasicBlock>> blocks;
};

}  // namespace

std::shared_ptr<Net> make_net(ModelKind kind) {
  if (kind == ModelKind::kResNet20) return std::make_shared<ResNet20>();
  return std::make_shared<Cnn>();
}

std::size_t num_parameters(torch::nn::Module& net) { return layout_of(net).dim(); }

ModelLayout layout_of(torch::nn::Module& net) {
  ModelLayout l;
  for (const auto& p : net.parameters()) l.tensor_sizes.push_back(std::size_t(p.numel()));
  return l;
}

void get_flat(torch::nn::Module& net, std::span<float> out) {
  std::size_t offset = 0;
  for (const auto& p : net.parameters()) {
    const auto n = std::size_t(p.numel());
    OPTIDIFF_CHECK(offset + n <= out.size());
    const auto c = p.detach().contiguous();
    std::memcpy(out.data() + offset, c.data_ptr<float>(), n * sizeof(float));
    offset += n;
  }
  OPTIDIFF_CHECK(offset == out.size());
}

void set_flat(torch::nn::Module& net, std::span<const float> x) {
  torch::NoGradGuard no_grad;
  std::size_t offset = 0;
  for (auto& p : net.parameters()) {
    const auto n = std::size_t(p.numel());
    if (offset + n > x.size())
      throw_invalid("parameter vector has " + std::to_string(x.size()) + " entries; the model needs more");
    OPTIDIFF_CHECK(p.is_contiguous());
    std::memcpy(p.data_ptr<float>(), x.data() + offset, n * sizeof(float));
    offset += n;
  }
  if (offset != x.size())
    throw_invalid("parameter vector has " + std::to_string(x.size()) + " entries; expected " + std::to_string(offset));
}

void get_flat_grad(torch::nn::Module& net, std::span<float> out) {
  std::size_t offset = 0;
  for (const auto& p : net.parameters()) {
    const auto n = std::size_t(p.numel());
    OPTIDIFF_CHECK(offset + n <= out.size());
    if (p.grad().defined()) {
      const auto g = p.grad().contiguous();
      std::memcpy(out.data() + offset, g.data_ptr<float>(), n * sizeof(float));
    } else {
      std::fill(out.begin() + std::ptrdiff_t(offset), out.begin() + std::ptrdiff_t(offset + n), 0.0f);
    }
    offset += n;
  }
  OPTIDIFF_CHECK(offset == out.size());
}

}  // namespace optidiff::fed
