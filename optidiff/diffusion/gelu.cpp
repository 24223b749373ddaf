#include "optidiff/diffusion/gelu.hpp"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <Eigen/Core>
#include <cmath>

namespace optidiff::diffusion {
namespace {

constexpr float kBeta = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kKappa = 0.044715f;
constexpr int64_t kGrain = 16384;

using Array = Eigen::Map<Eigen::ArrayXf>;
using ConstArray = Eigen::Map<const Eigen::ArrayXf>;

torch::Tensor forward_kernel(const torch::Tensor& input) {
  const auto x = input.contiguous();
  auto y = torch::empty_like(x);
  const float* px = x.data_ptr<float>();
  float* py = y.data_ptr<float>();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    ConstArray v(px + begin, end - begin);
    Array out(py + begin, end - begin);
    out = 0.5f * v * (1.0f + (kBeta * (v + kKappa * v.cube())).tanh());
  });
  return y;
}

torch::Tensor backward_kernel(const torch::Tensor& grad_output, const torch::Tensor& input) {
  const auto x = input.contiguous();
  const auto g = grad_output.contiguous();
  auto dx = torch::empty_like(x);
  const float* px = x.data_ptr<float>();
  const float* pg = g.data_ptr<float>();
  float* pd = dx.data_ptr<float>();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    ConstArray v(px + begin, end - begin), gv(pg + begin, end - begin);
    Array out(pd + begin, end - begin);
    const Eigen::ArrayXf th = (kBeta * (v + kKappa * v.cube())).tanh();
    out = gv * (0.5f * (1.0f + th) +
                0.5f * v * (1.0f - th.square()) * kBeta * (1.0f + 3.0f * kKappa * v.square()));
  });
  return dx;
}

struct GeluTanhFunction : torch::autograd::Function<GeluTanhFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    ctx->save_for_backward({x});
    return forward_kernel(x);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad) {
    const auto x = ctx->get_saved_variables()[0];
    // create_graph (double backward): the differentiable formula in torch ops.
    if (torch::GradMode::is_enabled()) {
      const auto th = torch::tanh(kBeta * (x + kKappa * x.pow(3)));
      return {grad[0] * (0.5 * (1 + th) +
                         0.5 * x * (1 - th.square()) * kBeta * (1 + 3 * kKappa * x.square()))};
    }
    return {backward_kernel(grad[0], x)};
  }
};

}  // namespace

torch::Tensor gelu_tanh(const torch::Tensor& x) {
  const bool fast = x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
                    !at::autocast::is_cpu_enabled() && !x._fw_grad(/*level=*/0).defined();
  if (!fast) return at::gelu(x, "tanh");
  if (x.requires_grad() && torch::GradMode::is_enabled()) return GeluTanhFunction::apply(x);
  return forward_kernel(x);
}

}  // namespace optidiff::diffusion
