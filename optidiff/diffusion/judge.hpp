// optidiff/diffusion/judge.hpp: C_B, the independent judge: a small residual network.
//
// Another architecture than C_A (classifier.hpp), so that a sampler or a noise optimised against
// C_A's gradients is graded by a network that shares neither its weights nor its inductive bias
// (pno-rapid3-distill.md section 4.0, the answer to PNO's "optimise and evaluate with the same Q16"
// objection). Residual blocks are the post-activation basic blocks of He et al. 2016 ("Deep
// Residual Learning for Image Recognition", Fig. 2 and Eq. 2), with a 1x1 strided projection
// shortcut where the shape changes (their option B); the head is global average pooling (Lin et al.
// 2014) and a 128-d feature layer, the size of C_A's, so that both feed the same metrics.
//   stem    conv3x3(1->24) BN ReLU                                      28x28
//   stage 1 block(24->48, stride 2)                                     14x14
//   stage 2 block(48->96, stride 2), block(96->96)                       7x7
//   head    global average pool -> Linear(96, 128) ReLU [features] -> Linear(128, 10) [logits]
// About 21 M multiply-adds (42 MFLOP) per image and 342,386 parameters (C_A: 4.2 M multiply-adds,
// 0.42 M parameters, most in its 3136x128 layer).
#pragma once

#include <torch/torch.h>

#include <string>

#include "optidiff/diffusion/classifier.hpp"

namespace optidiff::diffusion {

inline const std::string kJudgeArch = "resnet24-48-96";  // C_B's config "arch"

// relu(BN(conv3x3(relu(BN(conv3x3_stride(x))))) + shortcut(x)), shortcut = identity or
// BN(conv1x1_stride).
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int in, int out, int stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, project_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, project_bn_{nullptr};
};
TORCH_MODULE(ResidualBlock);

class ResNetClassifierImpl : public ImageClassifierImpl {
 public:
  ResNetClassifierImpl();
  torch::Tensor features(const torch::Tensor& x) override;
  torch::Tensor logits_from_features(const torch::Tensor& features) override;
  std::string arch() const override { return kJudgeArch; }

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  ResidualBlock block1_{nullptr}, block2_{nullptr}, block3_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(ResNetClassifier);

}  // namespace optidiff::diffusion
