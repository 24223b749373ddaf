// optidiff/fed/objective.hpp: what a client learns on, seen from a strategy: a flat parameter vector
// x in R^d and stochastic gradients of the client's empirical risk F_i at x. Strategies stay free of
// torch; the Fashion-MNIST models (task.hpp) and the tests' closed-form problems implement this.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "optidiff/core/rng.hpp"

namespace optidiff::fed {

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::size_t dim() const = 0;
  virtual std::size_t num_examples() const = 0;
  // A minibatch gradient of F_i at x written to grad (size dim()); the batch is drawn from rng
  // (with replacement, as the authors' CIFAR scripts do). Returns the minibatch loss.
  virtual double gradient(std::span<const float> x, std::span<float> grad, Rng& rng) = 0;
};

// The shapes of the model's tensors in flat order: EF-SignSGD scales each tensor separately.
struct ModelLayout {
  std::vector<std::size_t> tensor_sizes;
  std::size_t dim() const;
};

}  // namespace optidiff::fed
