// optidiff/fed/strategies.hpp: every strategy of the module, made by name from one options struct.
//
//   name          client work                         uplink / client          server rule
//   fedavg        E SGD(M) steps                      Delta fp32               x += eta * (beta_s u + mean Delta)
//   signsgd       E SGD steps                         sign(Delta), 1 bit       x += eta * sign(sum of signs) (majority vote)
//   ef-signsgd    p = Delta + e; c = |p|_1/d sign(p)  signs + fp32 scale/tensor x += eta * mean c;  e = p - c kept by client
//   sto-signsgd   sign(Delta + B U), B = |Delta|_inf  1 bit                    majority vote, x += eta * sign(sum)
//   zsignfedavg   E SGD steps, sign(Delta + sigma xi) 1 bit                    u = beta_s u + mean (or sign of sum); x += eta kappa u
//   fedlion       E Lion steps from (x, m)            sum of signs, PackedInt  x -= lr * mean Delta; m = mean of momenta
//                                                     ceil(log2(2E+1)) + m fp32
//   fedadam|fedyogi|fedams   E SGD steps              Delta fp32               FedOpt (Reddi et al. 2021; Wang et al. 2022)
//   fafed         E AdamW steps from (x, m, v)        x, m, v fp32             averages of x, m, v ("AVG-AdamW" of the FedLion code)
//   fedda         E steps y -= lr m, m EMA of g,      P = sum m, m fp32        m = mean m; x -= eta lr mean P
//                 from the global m
// Downlink: the fp32 model (plus m for fedlion and fedda, m and v for fafed) to every sampled client.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "optidiff/fed/strategy.hpp"

namespace optidiff::fed {

struct StrategyOptions {
  int local_steps = 5;         // E
  double lr = 0.05;            // client learning rate gamma
  double momentum = 0;         // local SGD momentum (fedavg, FedOpt); FedDA's momentum beta
  double server_lr = 1.0;      // eta
  double server_momentum = 0;  // beta_s: server heavy ball (fedavg, zsignfedavg)
  int z = 1;                   // zsignfedavg noise family; kZInfinity = uniform
  double sigma = 0.01;         // zsignfedavg noise scale, >= 0
  bool debias = true;          // zsignfedavg: kappa = sigma / eta_z (paper); false: kappa = 1 (author code)
  bool majority_vote = false;  // zsignfedavg: server takes sign(sum of signs) instead of the mean
  double beta1 = 0.9, beta2 = 0.99;  // Lion, Adam, FedOpt moment decays, in [0, 1)
  double weight_decay = 0;     // Lion / AdamW decoupled decay, >= 0
  double eps = 1e-6;           // AdamW epsilon (fafed)
  double tau = 1e-3;           // FedOpt adaptivity: added to sqrt(v) (fedadam, fedyogi), floor of v_hat (fedams)
};

// All strategy names, in the order of the table above.
const std::vector<std::string>& strategy_names();
// Defaults per strategy: the author code's (FedLion repo, SignOpt) or the papers' where known.
StrategyOptions default_options(std::string_view name);
// Throws kInvalidArgument naming the option, its value and the expected range.
void validate(std::string_view name, const StrategyOptions& options);
std::unique_ptr<Strategy> make_strategy(std::string_view name, const StrategyOptions& options,
                                        const ModelLayout& layout);

}  // namespace optidiff::fed
