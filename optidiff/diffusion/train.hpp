// optidiff/diffusion/train.hpp: training the class-conditional DiT on Fashion-MNIST.
//
// Objectives (x_0: an image in [-1, 1], eps ~ N(0, I), y: its label):
//   flow  rectified flow / flow matching (Liu et al. 2022; Lipman et al. 2023): x_t = (1 - t) x_0 + t eps,
//         loss |v_theta(x_t, t, y) - (eps - x_0)|^2, t ~ logit-normal(0, 1) (SD3, Esser et al. 2024, Eq. 19).
//   eps   DDPM (Ho et al. 2020, Eq. 14, "L_simple"): x_t = alpha_t x_0 + sigma_t eps on the linear-beta VP
//         schedule, loss |eps_theta(x_t, t, y) - eps|^2, t = (n + 1) / 1000 with n uniform in 0..999.
// Classifier-free guidance training: each label is replaced by the null label with probability
// label_dropout (Ho & Salimans 2022, Alg. 1). AdamW (Loshchilov & Hutter 2019) with linear warm-up,
// gradient clipping, and an EMA of the weights (decay min(ema_decay, (1 + s) / (10 + s))) that is what
// gets sampled.
//
// Reproducible and resumable: the batch order of epoch e comes from Rng(seed).stream(1, e), the noise,
// times and label dropout of step s from Rng(seed).stream(2, s), so a run killed and resumed from its
// last checkpoint (OUT/train_state.ckpt: weights, EMA, AdamW moments, step, elapsed time) continues
// bit for bit as if never stopped. Budgets (--steps, --minutes) are totals over all resumptions.
// Warm start (init_from): a new run whose model and EMA start from another model file's weights (same
// config and objective), with a fresh optimiser, a step counter from 0 and the warm-up again; the
// model file's meta.lineage lists every run in the chain (command, steps, seconds, commit), so a
// shipped model can be trained further on any machine without its git-ignored train_state.ckpt.
// OUT/loss.csv gets one row per 10 steps (step, mean loss of those steps, learning rate, seconds).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "optidiff/core/json.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/diffusion/dit.hpp"
#include "optidiff/diffusion/precision.hpp"
#include "optidiff/diffusion/schedule.hpp"

namespace optidiff::diffusion {

enum class Objective { kFlow, kEps };
Objective parse_objective(const std::string& name);  // "flow" | "eps"; kInvalidArgument otherwise
std::string objective_name(Objective o);
// The forward process each objective trains on: rectified flow, or the DDPM linear VP schedule.
Schedule objective_schedule(Objective o);

struct TrainOptions {
  Objective objective = Objective::kFlow;
  DiTConfig config = dit_config("small");
  std::int64_t steps = 0;        // total steps; 0: no step limit
  double minutes = 0;            // total training wall time; 0: no time limit (one of the two must be > 0)
  int batch = 128;
  double lr = 1e-3;
  int warmup = 300;              // steps of linear learning-rate warm-up
  double weight_decay = 0.0;
  double ema_decay = 0.999;
  double label_dropout = 0.1;
  double grad_clip = 1.0;        // max global gradient norm; 0: off
  double checkpoint_minutes = 5; // checkpoint period
  std::uint64_t seed = 0;
  std::string out_dir;           // writes model.ckpt (EMA weights) and train_state.ckpt
  std::string command;           // recorded in the checkpoint's metadata
  std::string commit;            // the code's git commit, recorded in the lineage
  std::string init_from;         // a model file to warm-start from (fresh runs only); empty: random init
  Precision precision = Precision::kFp32;  // of the forward pass and loss (the backward follows it)
  void validate() const;         // kInvalidArgument naming the option
};

struct TrainResult {
  std::int64_t steps = 0;          // total steps done (including earlier runs)
  std::int64_t resumed_from = -1;  // step of the state it resumed from, -1 if fresh
  double seconds = 0;              // total training wall time (including earlier runs)
  double loss = 0;                 // mean loss over the last 100 steps
  // This run's speed: wall time of its steps after the first (which allocates gradients and optimiser
  // state), checkpoint writes excluded; timed_steps / step_seconds is the steady step rate.
  double step_seconds = 0;
  std::int64_t timed_steps = 0;
  std::string model_path, state_path;
};

// Trains (or resumes) per the options; checkpoints every checkpoint_minutes and at the end.
TrainResult train_dit(const data::Dataset& train, const TrainOptions& options);

// The images of a dataset as float32 [n, 1, rows, cols] in [-1, 1], labels int64 [n].
torch::Tensor dataset_images(const data::Dataset& d);
torch::Tensor dataset_labels(const data::Dataset& d);

// The training loss of `objective` on a batch with given times t [B] and noise [B,...] (no dropout).
torch::Tensor diffusion_loss(DiT& model, Objective objective, const torch::Tensor& x0, const torch::Tensor& labels,
                             const torch::Tensor& t, const torch::Tensor& noise);

// A trained DiT read from a checkpoint written by train_dit (model.ckpt, or the EMA weights of
// train_state.ckpt). Throws kDataLoss for a foreign, truncated or inconsistent file.
struct LoadedDiT {
  DiT model{nullptr};
  Objective objective = Objective::kFlow;
  Json meta;
};
LoadedDiT load_dit(const std::string& path);
// Writes a model file holding `model`'s weights (kind "dit-model").
void save_dit(const std::string& path, DiT& model, Objective objective, const Json& meta);

}  // namespace optidiff::diffusion
