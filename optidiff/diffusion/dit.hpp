// optidiff/diffusion/dit.hpp: a class-conditional Diffusion Transformer (DiT; Peebles & Xie 2023,
// "Scalable Diffusion Models with Transformers", Sec. 3.2), the backbone of every diffusion demo.
//
// Layout (the paper's Fig. 3, "adaLN-Zero" variant):
//   x [B,C,H,W] -> patchify (conv p x p, stride p) -> N = (H/p)(W/p) tokens of width d, + fixed 2-D
//   sin-cos position embedding;  c = MLP(sinusoidal(t * time_scale)) + label_embedding(y)
//   -> depth x Block(tokens, c) -> FinalLayer(tokens, c) -> unpatchify -> [B,C,H,W]
// Block (adaLN-Zero): (shift1, scale1, gate1, shift2, scale2, gate2) = Linear(SiLU(c)), zero-initialised,
//   h = h + gate1 * Attn(LN(h) * (1 + scale1) + shift1);  h = h + gate2 * MLP(LN(h) * (1 + scale2) + shift2)
// Labels: 0..num_classes-1, and num_classes is the null label of classifier-free guidance (Ho & Salimans
// 2022): the training loop replaces 10% of the labels by it.
// Time t is continuous in [0, 1] (t = 1: pure noise) and enters the sinusoidal embedding unscaled
// (time_scale = 1, as SiT does) [recalled: verify].
//
// Reaching inside (RAPID3 needs both): forward() is embed() + block(i) for each i + head(); a caller can
// run the pieces itself to cache or reuse per-block outputs, or pass a vector to forward() to record them.
// Every block's attention core (softmax(q k^T / sqrt(d_h)) v) is an AttentionKernel that
// set_attention_kernel() replaces, e.g. by a block-sparse one.
//   DiT model(dit_config("small"));
//   torch::Tensor v = model->forward(x, t, labels);   // x [B,1,28,28], t [B] float, labels [B] int64
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "optidiff/core/json.hpp"

namespace optidiff::diffusion {

struct DiTConfig {
  std::string name = "small";  // the preset it came from ("custom" otherwise)
  int image_size = 28;
  int channels = 1;
  int patch = 4;
  int width = 128;  // d, the token width
  int depth = 6;
  int heads = 4;
  int mlp_ratio = 4;
  int num_classes = 10;  // + 1 null label (index num_classes)
  int frequency_dim = 256;  // size of the sinusoidal timestep features
  double time_scale = 1.0;  // t enters the embedding as t * time_scale
  int tokens() const { return (image_size / patch) * (image_size / patch); }
  int null_label() const { return num_classes; }
  // Throws kInvalidArgument naming the field if the shape does not work (patch must divide image_size, ...).
  void validate() const;
  bool operator==(const DiTConfig&) const = default;
};

// Presets: "tiny" (width 32, depth 2, 2 heads, patch 7; for tests), "small" (width 128, depth 6, 4 heads,
// patch 4; ~1.9M parameters, the shipped model), "base" (width 256, depth 8, 8 heads, patch 4).
DiTConfig dit_config(const std::string& name);
// Floating-point operations (2 x multiply-adds) of the matrix products of one image's forward pass:
// patch embedding, timestep MLP, per block adaLN, qkv, q k^T, attention x v, projection and MLP, and
// the final layer; elementwise work (norms, activations, softmax) is not counted. The speed benchmarks
// divide by it (GFLOP/s); RAPID3's cost model uses the blocks' share.
double forward_flops(const DiTConfig& c);
std::vector<std::string> dit_config_names();
Json to_json(const DiTConfig& c);
DiTConfig dit_config_from_json(const Json& j, const std::string& what);  // throws kDataLoss naming `what`

// The attention core: q, k, v [B, heads, N, d_h] -> [B, heads, N, d_h].
class AttentionKernel {
 public:
  virtual ~AttentionKernel() = default;
  virtual torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) const = 0;
};
// softmax(q k^T / sqrt(d_h)) v, the default.
class DenseAttention : public AttentionKernel {
 public:
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) const override;
};

// Sinusoidal features of t [B] (DiT's TimestepEmbedder / "Attention is all you need" Sec. 3.5):
// [cos(t f_i), sin(t f_i)], f_i = max_period^(-i/half), i < half = dim/2.
torch::Tensor timestep_features(const torch::Tensor& t, int dim, double max_period = 10000.0);
// Fixed 2-D sin-cos position embedding of a grid x grid token layout: [grid*grid, width] (MAE/DiT).
torch::Tensor sincos_position_embedding(int width, int grid);

class DiTBlockImpl : public torch::nn::Module {
 public:
  DiTBlockImpl(int width, int heads, int mlp_ratio);
  // h [B,N,d], c [B,d] -> [B,N,d]
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& c);
  void set_attention_kernel(std::shared_ptr<const AttentionKernel> kernel);

 private:
  int heads_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, fc1_{nullptr}, fc2_{nullptr}, ada_{nullptr};
  std::shared_ptr<const AttentionKernel> kernel_;
};
TORCH_MODULE(DiTBlock);

class DiTImpl : public torch::nn::Module {
 public:
  explicit DiTImpl(const DiTConfig& config);

  // The model's prediction (velocity for flow matching, eps for the eps objective), shape of x.
  // block_outputs, if given, receives the tokens after each block (depth tensors [B,N,d]).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels,
                        std::vector<torch::Tensor>* block_outputs = nullptr);

  // The pieces of forward(), for callers that cache or skip blocks.
  struct Embedded {
    torch::Tensor tokens;  // [B,N,d]: patch embedding + position embedding
    torch::Tensor c;       // [B,d]: timestep embedding + label embedding
  };
  Embedded embed(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels);
  torch::Tensor block(int i, const torch::Tensor& tokens, const torch::Tensor& c);
  torch::Tensor head(const torch::Tensor& tokens, const torch::Tensor& c);  // final adaLN + unpatchify

  // Replaces the attention core of block i (i = -1: every block); nullptr restores dense attention.
  void set_attention_kernel(int i, std::shared_ptr<const AttentionKernel> kernel);

  const DiTConfig& config() const { return config_; }
  std::int64_t parameter_count() const;

 private:
  void check_inputs(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels) const;
  DiTConfig config_;
  torch::nn::Conv2d patch_embed_{nullptr};
  torch::nn::Linear t_fc1_{nullptr}, t_fc2_{nullptr};
  torch::nn::Embedding label_embed_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  std::vector<DiTBlock> block_list_;
  torch::nn::LayerNorm final_norm_{nullptr};
  torch::nn::Linear final_ada_{nullptr}, final_linear_{nullptr};
  torch::Tensor pos_embed_;  // buffer [1,N,d]
};
TORCH_MODULE(DiT);

// All parameters and buffers by name, in registration order (what checkpoints store).
std::vector<std::pair<std::string, torch::Tensor>> named_state(torch::nn::Module& module);

}  // namespace optidiff::diffusion
