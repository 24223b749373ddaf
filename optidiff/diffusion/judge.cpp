#include "optidiff/diffusion/judge.hpp"

namespace optidiff::diffusion {
namespace {

torch::nn::Conv2d conv(int in, int out, int kernel, int stride) {
  // No bias: each conv is followed by BatchNorm, whose shift plays that part.
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(int in, int out, int stride) {
  conv1_ = register_module("conv1", conv(in, out, 3, stride));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", conv(out, out, 3, 1));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
  if (in != out || stride != 1) {
    project_ = register_module("project", conv(in, out, 1, stride));
    project_bn_ = register_module("project_bn", torch::nn::BatchNorm2d(out));
  }
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  auto h = torch::relu(bn1_(conv1_(x)));
  h = bn2_(conv2_(h));
  // He et al. 2016, Eq. 2: y = F(x) + W_s x, with W_s a projection only where the shape changes.
  return torch::relu(h + (project_ ? project_bn_(project_(x)) : x));
}

ResNetClassifierImpl::ResNetClassifierImpl() {
  stem_ = register_module("stem", conv(1, 24, 3, 1));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(24));
  block1_ = register_module("block1", ResidualBlock(24, 48, 2));
  block2_ = register_module("block2", ResidualBlock(48, 96, 2));
  block3_ = register_module("block3", ResidualBlock(96, 96, 1));
  fc1_ = register_module("fc1", torch::nn::Linear(96, kClassifierFeatures));
  fc2_ = register_module("fc2", torch::nn::Linear(kClassifierFeatures, kClassifierClasses));
}

torch::Tensor ResNetClassifierImpl::features(const torch::Tensor& x) {
  check_classifier_input(x, "judge");
  auto h = torch::relu(stem_bn_(stem_(x)));
  h = block3_(block2_(block1_(h)));
  return torch::relu(fc1_(h.mean({2, 3})));  // global average pooling over the 7x7 map
}

torch::Tensor ResNetClassifierImpl::logits_from_features(const torch::Tensor& f) { return fc2_(f); }

}  // namespace optidiff::diffusion
