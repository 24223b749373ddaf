// tests/fed/synthetic.hpp: a closed-form federated problem for strategy tests: client i holds rows
// (a_k, b_k) of a linear least-squares problem, F_i(x) = (1/2m) sum_k (a_k . x - b_k)^2, with a
// client-specific optimum (heterogeneous data: a shared optimum plus a 0.3-scale client part). Minibatches are drawn with replacement from rng.
#pragma once

#include <cmath>
#include <vector>

#include "optidiff/fed/simulation.hpp"

namespace optidiff::fed::testing {

class LeastSquares final : public Objective {
 public:
  LeastSquares(std::size_t d, std::size_t m, int batch, std::uint64_t seed) : d_(d), batch_(batch) {
    // The clients' optima share a common part (seed / 1000) and differ by a smaller client part.
    Rng common(seed / 1000), rng(seed);
    std::vector<float> x_star(d);
    for (auto& v : x_star) v = float(common.normal() + 0.3 * rng.normal());
    a_.resize(m * d);
    b_.resize(m);
    for (std::size_t k = 0; k < m; ++k) {
      double dot = 0;
      for (std::size_t j = 0; j < d; ++j) dot += (a_[k * d + j] = float(rng.normal() / std::sqrt(double(d)))) * x_star[j];
      b_[k] = float(dot + 0.1 * rng.normal());
    }
  }
  std::size_t dim() const override { return d_; }
  std::size_t num_examples() const override { return b_.size(); }
  double gradient(std::span<const float> x, std::span<float> grad, Rng& rng) override {
    std::fill(grad.begin(), grad.end(), 0.0f);
    double loss = 0;
    for (int s = 0; s < batch_; ++s) {
      const std::size_t k = batch_ >= int(b_.size()) ? std::size_t(s) % b_.size() : rng.uniform_int(b_.size());
      double r = -b_[k];
      for (std::size_t j = 0; j < d_; ++j) r += double(a_[k * d_ + j]) * x[j];
      loss += 0.5 * r * r / batch_;
      for (std::size_t j = 0; j < d_; ++j) grad[j] += float(r * a_[k * d_ + j] / batch_);
    }
    return loss;
  }
  double full_loss(std::span<const float> x) const {
    double loss = 0;
    for (std::size_t k = 0; k < b_.size(); ++k) {
      double r = -b_[k];
      for (std::size_t j = 0; j < d_; ++j) r += double(a_[k * d_ + j]) * x[j];
      loss += 0.5 * r * r;
    }
    return loss / double(b_.size());
  }

 private:
  std::size_t d_;
  int batch_;
  std::vector<float> a_, b_;
};

// n clients of LeastSquares; evaluation = mean full loss (accuracy reported as -loss).
class SyntheticTask final : public Task {
 public:
  SyntheticTask(int clients, std::size_t d, std::size_t rows, int batch, std::uint64_t seed,
                std::vector<std::size_t> tensor_sizes = {})
      : d_(d), tensor_sizes_(std::move(tensor_sizes)) {
    for (int c = 0; c < clients; ++c) clients_.emplace_back(d, rows, batch, seed * 1000 + std::uint64_t(c));
    if (tensor_sizes_.empty()) tensor_sizes_ = {d};
    x0_.assign(d, 0.0f);
  }
  int num_clients() const override { return int(clients_.size()); }
  Objective& client(int i) override { return clients_.at(std::size_t(i)); }
  ModelLayout layout() const override { return {tensor_sizes_}; }
  std::vector<float> initial_model() const override { return x0_; }
  Evaluation evaluate(std::span<const float> x) override {
    double loss = 0;
    for (const auto& c : clients_) loss += c.full_loss(x);
    loss /= double(clients_.size());
    return {-loss, loss};
  }
  LeastSquares& least_squares(int i) { return clients_.at(std::size_t(i)); }

 private:
  std::size_t d_;
  std::vector<std::size_t> tensor_sizes_;
  std::vector<LeastSquares> clients_;
  std::vector<float> x0_;
};

}  // namespace optidiff::fed::testing
