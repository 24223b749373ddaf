#include "optidiff/diffusion/dit.hpp"

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/diffusion/gelu.hpp"

namespace optidiff::diffusion {

void DiTConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw_invalid("DiT config: " + what);
  };
  need(image_size >= 1, "image_size is " + std::to_string(image_size) + "; expected >= 1");
  need(channels >= 1, "channels is " + std::to_string(channels) + "; expected >= 1");
  need(patch >= 1 && image_size % patch == 0, "patch is " + std::to_string(patch) +
                                                  "; expected a divisor of image_size (" +
                                                  std::to_string(image_size) + ")");
  need(width >= 2 && heads >= 1 && width % heads == 0,
       "width " + std::to_string(width) + " and heads " + std::to_string(heads) +
           "; expected width >= 2 divisible by heads");
  need(width % 4 == 0,
       "width is " + std::to_string(width) + "; expected a multiple of 4 (2-D sin-cos positions)");
  need(depth >= 1, "depth is " + std::to_string(depth) + "; expected >= 1");
  need(mlp_ratio >= 1, "mlp_ratio is " + std::to_string(mlp_ratio) + "; expected >= 1");
  need(num_classes >= 1, "num_classes is " + std::to_string(num_classes) + "; expected >= 1");
  need(frequency_dim >= 2 && frequency_dim % 2 == 0,
       "frequency_dim is " + std::to_string(frequency_dim) + "; expected an even number >= 2");
  need(std::isfinite(time_scale) && time_scale > 0, "time_scale must be finite and > 0");
}

DiTConfig dit_config(const std::string& name) {
  DiTConfig c;
  c.name = name;
  if (name == "tiny") {
    c.patch = 7;
    c.width = 32;
    c.depth = 2;
    c.heads = 2;
    c.frequency_dim = 64;
  } else if (name == "small") {
    // the defaults
  } else if (name == "base") {
    c.width = 256;
    c.depth = 8;
    c.heads = 8;
  } else {
    throw_invalid("--config is '" + name + "'; expected one of: tiny, small, base");
  }
  return c;
}

double forward_flops(const DiTConfig& c) {
  const double n = c.tokens(), d = c.width, pp = double(c.patch) * c.patch * c.channels;
  const double block = d * 6 * d + n * d * 3 * d + 2 * n * n * d + n * d * d + 2 * n * d * c.mlp_ratio * d;
  const double macs = n * d * pp + c.frequency_dim * d + d * d + c.depth * block + d * 2 * d + n * d * pp;
  return 2 * macs;
}

std::vector<std::string> dit_config_names() { return {"tiny", "small", "base"}; }

Json to_json(const DiTConfig& c) {
  return {{"name", c.name},
          {"image_size", c.image_size},
          {"channels", c.channels},
          {"patch", c.patch},
          {"width", c.width},
          {"depth", c.depth},
          {"heads", c.heads},
          {"mlp_ratio", c.mlp_ratio},
          {"num_classes", c.num_classes},
          {"frequency_dim", c.frequency_dim},
          {"time_scale", c.time_scale}};
}

DiTConfig dit_config_from_json(const Json& j, const std::string& what) {
  DiTConfig c;
  c.name = json_get<std::string>(j, "name", what);
  c.image_size = json_get<int>(j, "image_size", what);
  c.channels = json_get<int>(j, "channels", what);
  c.patch = json_get<int>(j, "patch", what);
  c.width = json_get<int>(j, "width", what);
  c.depth = json_get<int>(j, "depth", what);
  c.heads = json_get<int>(j, "heads", what);
  c.mlp_ratio = json_get<int>(j, "mlp_ratio", what);
  c.num_classes = json_get<int>(j, "num_classes", what);
  c.frequency_dim = json_get<int>(j, "frequency_dim", what);
  c.time_scale = json_get<double>(j, "time_scale", what);
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(ErrorCode::kDataLoss, what + ": " + e.what());
  }
  return c;
}

torch::Tensor DenseAttention::attend(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v) const {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return torch::matmul(torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * scale, -1), v);
}

torch::Tensor timestep_features(const torch::Tensor& t, int dim, double max_period) {
  const int half = dim / 2;
  auto freqs = torch::exp(-std::log(max_period) * torch::arange(half, torch::kFloat32) / half);
  auto args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::cos(args), torch::sin(args)}, 1);
}

torch::Tensor sincos_position_embedding(int width, int grid) {
  // MAE's get_2d_sincos_pos_embed: half the channels encode the row, half the column; each half is
  // [sin(pos w_i), cos(pos w_i)] with w_i = 10000^(-i / (width/4)).
  const int quarter = width / 4;
  auto omega = 1.0 / torch::pow(10000.0, torch::arange(quarter, torch::kFloat64) / quarter);
  auto pos = torch::arange(grid, torch::kFloat64);
  auto rows = pos.repeat_interleave(grid);  // token index = row * grid + col
  auto cols = pos.repeat({grid});
  auto enc = [&](const torch::Tensor& p) {
    auto out = p.unsqueeze(1) * omega.unsqueeze(0);
    return torch::cat({torch::sin(out), torch::cos(out)}, 1);
  };
  // DiT feeds grid_w ("col" after meshgrid(w, h)) first, then grid_h.
  return torch::cat({enc(cols), enc(rows)}, 1).to(torch::kFloat32);
}

namespace {
// libtorch 1.13's C++ nn::Linear (torch/nn/functional/linear.h) runs a [B, N, D] input as matmul,
// then
// `+= bias`: a GEMM with beta = 0 (OpenBLAS zeroes the output first) and a second pass over the
// output. ATen's at::linear, which Python's nn.Linear calls, folds a contiguous [B, N, D] into one
// addmm. Calling it directly made the DiT forward 12% faster (docs/diffusion.md, Benchmark).
torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return at::linear(x, layer->weight, layer->bias);
}
// x (1 + scale) + shift, as one pass over x (addcmul) instead of two.
torch::Tensor modulate(const torch::Tensor& x, const torch::Tensor& shift,
                       const torch::Tensor& scale) {
  return torch::addcmul(shift.unsqueeze(1), x, 1 + scale.unsqueeze(1));
}
void xavier(torch::nn::Linear& l) {
  torch::nn::init::xavier_uniform_(l->weight);
  torch::nn::init::zeros_(l->bias);
}
void zero(torch::nn::Linear& l) {
  torch::nn::init::zeros_(l->weight);
  torch::nn::init::zeros_(l->bias);
}
}  // namespace

DiTBlockImpl::DiTBlockImpl(int width, int heads, int mlp_ratio)
    : heads_(heads), kernel_(std::make_shared<DenseAttention>()) {
  auto ln = torch::nn::LayerNormOptions({width}).elementwise_affine(false).eps(1e-6);
  norm1_ = register_module("norm1", torch::nn::LayerNorm(ln));
  qkv_ = register_module("qkv", torch::nn::Linear(width, 3 * width));
  proj_ = register_module("proj", torch::nn::Linear(width, width));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(ln));
  fc1_ = register_module("fc1", torch::nn::Linear(width, mlp_ratio * width));
  fc2_ = register_module("fc2", torch::nn::Linear(mlp_ratio * width, width));
  ada_ = register_module("ada", torch::nn::Linear(width, 6 * width));
  xavier(qkv_);
  xavier(proj_);
  xavier(fc1_);
  xavier(fc2_);
  zero(ada_);  // adaLN-Zero: every block starts as the identity
}

void DiTBlockImpl::set_attention_kernel(std::shared_ptr<const AttentionKernel> kernel) {
  kernel_ = kernel ? std::move(kernel) : std::make_shared<DenseAttention>();
}

torch::Tensor DiTBlockImpl::forward(const torch::Tensor& h, const torch::Tensor& c) {
  const auto mod = linear(ada_, torch::silu(c)).chunk(6, 1);
  const int64_t B = h.size(0), N = h.size(1), D = h.size(2);
  auto a = modulate(norm1_(h), mod[0], mod[1]);
  auto qkv = linear(qkv_, a).reshape({B, N, 3, heads_, D / heads_}).permute({2, 0, 3, 1, 4});
  auto att = kernel_->attend(qkv[0], qkv[1], qkv[2]).transpose(1, 2).reshape({B, N, D});
  auto out = torch::addcmul(h, mod[2].unsqueeze(1), linear(proj_, att));  // h + gate1 * proj(att)
  auto m = modulate(norm2_(out), mod[3], mod[4]);
  return torch::addcmul(out, mod[5].unsqueeze(1), linear(fc2_, gelu_tanh(linear(fc1_, m))));
}

DiTImpl::DiTImpl(const DiTConfig& config) : config_(config) {
  config_.validate();
  const int d = config_.width, p = config_.patch;
  patch_embed_ = register_module(
      "patch_embed", torch::nn::Conv2d(torch::nn::Conv2dOptions(config_.channels, d, p).stride(p)));
  t_fc1_ = register_module("t_fc1", torch::nn::Linear(config_.frequency_dim, d));
  t_fc2_ = register_module("t_fc2", torch::nn::Linear(d, d));
  label_embed_ = register_module("label_embed", torch::nn::Embedding(config_.num_classes + 1, d));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int i = 0; i < config_.depth; ++i) {
    block_list_.emplace_back(d, config_.heads, config_.mlp_ratio);
    blocks_->push_back(block_list_.back());
  }
  final_norm_ = register_module(
      "final_norm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).elementwise_affine(false).eps(1e-6)));
  final_ada_ = register_module("final_ada", torch::nn::Linear(d, 2 * d));
  final_linear_ = register_module("final_linear", torch::nn::Linear(d, p * p * config_.channels));
  pos_embed_ = register_buffer("pos_embed",
                               sincos_position_embedding(d, config_.image_size / p).unsqueeze(0));
  // DiT's initialize_weights(): xavier patch embedding (as a linear map), N(0, 0.02) embeddings,
  // zero adaLN modulations and a zero output layer, so the untrained model predicts 0.
  torch::NoGradGuard no_grad;
  auto w = patch_embed_->weight;
  torch::nn::init::xavier_uniform_(w.view({w.size(0), -1}));
  torch::nn::init::zeros_(patch_embed_->bias);
  torch::nn::init::normal_(t_fc1_->weight, 0.0, 0.02);
  torch::nn::init::zeros_(t_fc1_->bias);
  torch::nn::init::normal_(t_fc2_->weight, 0.0, 0.02);
  torch::nn::init::zeros_(t_fc2_->bias);
  torch::nn::init::normal_(label_embed_->weight, 0.0, 0.02);
  zero(final_ada_);
  zero(final_linear_);
}

void DiTImpl::check_inputs(const torch::Tensor& x, const torch::Tensor& t,
                           const torch::Tensor& labels) const {
  const auto& c = config_;
  if (x.dim() != 4 || x.size(1) != c.channels || x.size(2) != c.image_size ||
      x.size(3) != c.image_size)
    throw_invalid("DiT input x has shape " + std::string(c10::str(x.sizes())) + "; expected [B," +
                  std::to_string(c.channels) + "," + std::to_string(c.image_size) + "," +
                  std::to_string(c.image_size) + "]");
  const auto B = x.size(0);
  if (t.dim() != 1 || t.size(0) != B)
    throw_invalid("DiT time t has shape " + std::string(c10::str(t.sizes())) + "; expected [" +
                  std::to_string(B) + "]");
  if (labels.dim() != 1 || labels.size(0) != B || labels.scalar_type() != torch::kInt64)
    throw_invalid("DiT labels have shape " + std::string(c10::str(labels.sizes())) + " and type " +
                  std::string(c10::toString(labels.scalar_type())) + "; expected int64 [" +
                  std::to_string(B) + "]");
  if (B > 0) {
    const auto lo = labels.min().item<int64_t>(), hi = labels.max().item<int64_t>();
    if (lo < 0 || hi > c.num_classes)
      throw_invalid("DiT label " + std::to_string(lo < 0 ? lo : hi) +
                    " out of range; expected 0.." + std::to_string(c.num_classes) + " (" +
                    std::to_string(c.num_classes) + " = null label)");
  }
}

DiTImpl::Embedded DiTImpl::embed(const torch::Tensor& x, const torch::Tensor& t,
                                 const torch::Tensor& labels) {
  check_inputs(x, t, labels);
  auto tokens = patch_embed_(x).flatten(2).transpose(1, 2) + pos_embed_;
  auto temb = linear(t_fc2_, torch::silu(linear(t_fc1_, timestep_features(t * config_.time_scale,
                                                                          config_.frequency_dim))));
  return {tokens, temb + label_embed_(labels)};
}

torch::Tensor DiTImpl::block(int i, const torch::Tensor& tokens, const torch::Tensor& c) {
  OPTIDIFF_CHECK(i >= 0 && i < config_.depth);
  return block_list_[i]->forward(tokens, c);
}

torch::Tensor DiTImpl::head(const torch::Tensor& tokens, const torch::Tensor& c) {
  const auto mod = linear(final_ada_, torch::silu(c)).chunk(2, 1);
  auto out = linear(final_linear_, modulate(final_norm_(tokens), mod[0], mod[1]));  // [B,N,p*p*C]
  const int64_t B = tokens.size(0), g = config_.image_size / config_.patch, p = config_.patch,
                C = config_.channels;
  // unpatchify: token (r, c) holds the p x p x C patch at rows r*p.., cols c*p.. ("nhwpqc->nchpwq")
  return out.reshape({B, g, g, p, p, C}).permute({0, 5, 1, 3, 2, 4}).reshape({B, C, g * p, g * p});
}

torch::Tensor DiTImpl::forward(const torch::Tensor& x, const torch::Tensor& t,
                               const torch::Tensor& labels,
                               std::vector<torch::Tensor>* block_outputs) {
  auto e = embed(x, t, labels);
  auto h = e.tokens;
  if (block_outputs) block_outputs->clear();
  for (int i = 0; i < config_.depth; ++i) {
    h = block_list_[i]->forward(h, e.c);
    if (block_outputs) block_outputs->push_back(h);
  }
  return head(h, e.c);
}

void DiTImpl::set_attention_kernel(int i, std::shared_ptr<const AttentionKernel> kernel) {
  if (i < -1 || i >= config_.depth)
    throw_invalid("attention block index is " + std::to_string(i) + "; expected -1 (all) or 0.." +
                  std::to_string(config_.depth - 1));
  for (int b = 0; b < config_.depth; ++b)
    if (i == -1 || b == i) block_list_[b]->set_attention_kernel(kernel);
}

std::int64_t DiTImpl::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

std::vector<std::pair<std::string, torch::Tensor>> named_state(torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : module.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

}  // namespace optidiff::diffusion
