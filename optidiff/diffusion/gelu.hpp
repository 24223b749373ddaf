// optidiff/diffusion/gelu.hpp: the tanh approximation of GELU (Hendrycks & Gimpel 2016, Sec. 2;
// the DiT MLP's activation), computed in one pass with a rational tanh.
//   gelu(x) = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
// Why not at::gelu(x, "tanh"): libtorch 1.13 evaluates the tanh with SLEEF's 1-ulp tanhf, and on
// this project's 2-core machine that was 14 ms for one DiT MLP activation (6,272 x 512 floats), as
// long as the GEMM before it (perf: 11% of a sampling run in Sleef_finz_tanhf8_u10). Eigen's
// vectorised rational tanh (the 13/6 minimax approximation of its `tanh()`, a few ulp) runs the
// same in a few ms. Same formula, so outputs agree with at::gelu(x, "tanh") to float rounding
// (tested), and old checkpoints are unchanged. Float32 CPU tensors take the fast path, with its own
// backward (d/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) u'); anything else (other dtypes,
// autocast, forward-mode dual tensors, double backward) goes to at::gelu.
#pragma once

#include <torch/torch.h>

namespace optidiff::diffusion {

torch::Tensor gelu_tanh(const torch::Tensor& x);

}  // namespace optidiff::diffusion
