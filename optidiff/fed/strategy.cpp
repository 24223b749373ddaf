#include "optidiff/fed/strategy.hpp"

#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/fed/internal/base.hpp"
#include "optidiff/fed/noise.hpp"

namespace optidiff::fed {

std::size_t ModelLayout::dim() const { return std::accumulate(tensor_sizes.begin(), tensor_sizes.end(), std::size_t(0)); }

std::vector<int> Strategy::configure_round(int /*round*/, std::span<const int> available, int per_round, Rng& rng) {
  if (per_round < 1 || std::size_t(per_round) > available.size())
    throw_invalid("--per-round is " + std::to_string(per_round) + "; expected 1 <= per-round <= " +
                  std::to_string(available.size()) + " (the clients with data)");
  // Partial Fisher-Yates: the first per_round entries are a uniform sample without replacement.
  std::vector<int> pool(available.begin(), available.end());
  for (int i = 0; i < per_round; ++i) std::swap(pool[std::size_t(i)], pool[i + rng.uniform_int(pool.size() - i)]);
  pool.resize(std::size_t(per_round));
  return pool;
}

void Strategy::check_reply(const Reply& reply) const {
  const auto spec = uplink_spec();
  const std::string who = "client " + std::to_string(reply.client);
  if (reply.uplink.size() != spec.size())
    throw_data_loss(who + " sent " + std::to_string(reply.uplink.size()) + " payloads; expected " +
                    std::to_string(spec.size()));
  for (std::size_t i = 0; i < spec.size(); ++i)
    check_payload(reply.uplink[i], spec[i], who + ": uplink payload " + std::to_string(i));
}

namespace internal {

Json BaseStrategy::describe() const {
  return {{"strategy", name_},      {"local_steps", o_.local_steps},         {"lr", o_.lr},
          {"momentum", o_.momentum}, {"server_lr", o_.server_lr},           {"server_momentum", o_.server_momentum},
          {"z", o_.z == kZInfinity ? Json("inf") : Json(o_.z)},             {"sigma", o_.sigma},
          {"debias", o_.debias},    {"majority_vote", o_.majority_vote},    {"beta1", o_.beta1},
          {"beta2", o_.beta2},      {"weight_decay", o_.weight_decay},      {"eps", o_.eps},
          {"tau", o_.tau}};
}

void BaseStrategy::initialize(std::span<const float> x0) {
  if (x0.size() != d_)
    throw_invalid("initial model has " + std::to_string(x0.size()) + " parameters; expected " + std::to_string(d_));
  x_.assign(x0.begin(), x0.end());
  for (auto& [name, array] : server_arrays()) array->assign(d_, 0.0f);
  reset();
}

Message BaseStrategy::downlink(int /*round*/) const {
  Message m{encode_dense(x_)};
  for (const auto* extra : downlink_extras()) m.push_back(encode_dense(*extra));
  return m;
}

void BaseStrategy::save(StateDict& out) const {
  out.arrays["server/x"] = x_;
  for (auto& [name, array] : const_cast<BaseStrategy*>(this)->server_arrays()) out.arrays["server/" + name] = *array;
}

void BaseStrategy::load(const StateDict& in) {
  x_ = in.at("server/x", d_);
  for (auto& [name, array] : server_arrays()) *array = in.at("server/" + name, array->size());
}

std::vector<float> dense_at(const Message& m, std::size_t i, std::size_t d, const char* what) {
  if (i >= m.size())
    throw_data_loss(std::string("message has ") + std::to_string(m.size()) + " payloads; expected " + what +
                    " at position " + std::to_string(i));
  check_payload(m[i], PayloadSpec{Encoding::kDenseF32, d, 32}, what);
  return decode(m[i]);
}

std::vector<float> mean_of(std::span<const Reply> replies, std::size_t i, std::size_t d) {
  std::vector<double> acc(d, 0.0);
  for (const auto& r : replies) {
    const auto v = decode(r.uplink.at(i));
    for (std::size_t j = 0; j < d; ++j) acc[j] += v[j];
  }
  std::vector<float> out(d);
  const double n = double(std::max<std::size_t>(1, replies.size()));
  for (std::size_t j = 0; j < d; ++j) out[j] = float(acc[j] / n);
  return out;
}

LocalRun local_sgd(std::span<const float> x0, int steps, double lr, double momentum, ClientContext& ctx) {
  const std::size_t d = x0.size();
  LocalRun run;
  run.y.assign(x0.begin(), x0.end());
  std::vector<float> g(d), buf;
  if (momentum > 0) buf.assign(d, 0.0f);
  const auto flr = float(lr), fmu = float(momentum);
  for (int s = 0; s < steps; ++s) {
    run.mean_loss += ctx.objective.gradient(run.y, g, ctx.rng) / steps;
    if (momentum > 0) {
      for (std::size_t j = 0; j < d; ++j) run.y[j] -= flr * (buf[j] = fmu * buf[j] + g[j]);
    } else {
      for (std::size_t j = 0; j < d; ++j) run.y[j] -= flr * g[j];
    }
  }
  run.delta.resize(d);
  for (std::size_t j = 0; j < d; ++j) run.delta[j] = run.y[j] - x0[j];
  return run;
}

Reply DenseDeltaStrategy::fit(const Message& down, ClientContext& ctx) const {
  const auto x = dense_at(down, 0, d_, "global model");
  auto run = local_sgd(x, o_.local_steps, o_.lr, o_.momentum, ctx);
  return {ctx.client, {encode_dense(run.delta)}, ctx.objective.num_examples(), run.mean_loss};
}

std::vector<PayloadSpec> DenseDeltaStrategy::uplink_spec() const {
  return {{Encoding::kDenseF32, d_, 32}};
}

}  // namespace internal
}  // namespace optidiff::fed
