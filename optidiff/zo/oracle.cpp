#include "optidiff/zo/oracle.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/table.hpp"

namespace optidiff::zo {
namespace {

// The k smallest keys, in order (ties broken by id, so answers are deterministic).
std::vector<int> smallest(const std::vector<double>& key, int k) {
  std::vector<int> ids(key.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                    [&](int a, int b) { return key[a] < key[b] || (key[a] == key[b] && a < b); });
  ids.resize(k);
  return ids;
}

double parse_param(const std::string& spec, const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw_invalid("--noise " + spec + ": \"" + text + "\" is not a number");
}

}  // namespace

FunctionOracle::FunctionOracle(Objective f, bool maximize, std::uint64_t seed)
    : rng_(seed), f_(std::move(f)), maximize_(maximize) {}

Feedback FunctionOracle::answer(const Round& round) {
  const int m = round.m();
  if (m < 1) throw_invalid("oracle: round " + std::to_string(round.id) + " has no candidates");
  std::vector<double> f(m), score(m);
  Eigen::VectorXd x;
  for (int i = 0; i < m; ++i) {
    x = round.points.col(i);
    f[i] = f_(x);
    if (!std::isfinite(f[i]))
      throw_invalid("oracle: f is " + format_double(f[i]) + " at candidate " + std::to_string(i) + " of round " +
                    std::to_string(round.id) + "; expected a finite value");
    score[i] = maximize_ ? -f[i] : f[i];
  }
  ++calls_;
  queries_ += static_cast<std::uint64_t>(m);
  true_values_ = f;
  if (round.want == Want::kValues) {
    Values v;
    v.f.resize(m);
    for (int i = 0; i < m; ++i) v.f[i] = observed_value(f[i]);
    return v;
  }
  if (round.k < 1 || round.k > m)
    throw_invalid("oracle: round " + std::to_string(round.id) + " asks for k = " + std::to_string(round.k) +
                  " of " + std::to_string(m) + " candidates; expected 1 <= k <= m");
  Feedback out;
  if (round.accepts_edges && answer_edges(score, out)) return out;
  return TopK{order(score, round.k)};
}

std::vector<int> ExactOracle::order(const std::vector<double>& score, int k) { return smallest(score, k); }

ThurstoneOracle::ThurstoneOracle(Objective f, double sigma, std::uint64_t seed, bool maximize)
    : FunctionOracle(std::move(f), maximize, seed), sigma_(sigma) {
  if (!(sigma >= 0)) throw_invalid("thurstone noise sigma is " + format_double(sigma) + "; expected >= 0");
}

std::vector<int> ThurstoneOracle::order(const std::vector<double>& score, int k) {
  std::vector<double> noisy(score);
  for (auto& s : noisy) s += sigma_ * rng_.normal();
  return smallest(noisy, k);
}

PlackettLuceOracle::PlackettLuceOracle(Objective f, double temperature, std::uint64_t seed, bool maximize)
    : FunctionOracle(std::move(f), maximize, seed), tau_(temperature) {
  if (!(temperature > 0)) throw_invalid("pl temperature is " + format_double(temperature) + "; expected > 0");
}

std::vector<int> PlackettLuceOracle::order(const std::vector<double>& score, int k) {
  // Gumbel-max: sorting s/tau - Gumbel is exactly sequential Plackett-Luce sampling with weights
  // exp(-s/tau) (Yellott 1977), with no overflow for large |s|/tau.
  std::vector<double> key(score.size());
  for (std::size_t i = 0; i < score.size(); ++i) {
    const double u = 1.0 - rng_.uniform();  // (0, 1]
    key[i] = score[i] / tau_ + std::log(-std::log(u) + 1e-300);
  }
  return smallest(key, k);
}

FlipOracle::FlipOracle(Objective f, double p, std::uint64_t seed, bool maximize)
    : FunctionOracle(std::move(f), maximize, seed), p_(p) {
  if (!(p >= 0 && p <= 1)) throw_invalid("flip probability is " + format_double(p) + "; expected 0 <= p <= 1");
}

std::vector<int> FlipOracle::order(const std::vector<double>& score, int k) {
  std::vector<int> full = smallest(score, static_cast<int>(score.size()));
  for (std::size_t i = 0; i + 1 < full.size(); ++i)
    if (rng_.uniform() < p_) std::swap(full[i], full[i + 1]);
  full.resize(k);
  return full;
}

PairwiseOracle::PairwiseOracle(Objective f, int pairs, std::uint64_t seed, bool maximize)
    : FunctionOracle(std::move(f), maximize, seed), pairs_(pairs) {
  if (pairs < 0) throw_invalid("pairwise: pairs is " + std::to_string(pairs) + "; expected >= 0");
}

std::vector<int> PairwiseOracle::order(const std::vector<double>& score, int k) {
  std::vector<int> ids(score.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int a, int b) {
    ++comparisons_;
    return score[a] < score[b] || (score[a] == score[b] && a < b);
  });
  ids.resize(k);
  return ids;
}

bool PairwiseOracle::answer_edges(const std::vector<double>& score, Feedback& out) {
  const int m = static_cast<int>(score.size());
  const int total = m * (m - 1) / 2;
  if (pairs_ == 0 || m < 2) return false;
  // A uniform sample of distinct unordered pairs (partial Fisher-Yates over the pair index).
  std::vector<int> pair_ids(total);
  std::iota(pair_ids.begin(), pair_ids.end(), 0);
  const int n = std::min(pairs_, total);
  Edges e;
  for (int s = 0; s < n; ++s) {
    std::swap(pair_ids[s], pair_ids[s + rng_.uniform_int(static_cast<std::uint64_t>(total - s))]);
    int p = pair_ids[s], a = 0;
    while (p >= m - 1 - a) p -= m - 1 - a++;
    const int b = a + 1 + p;
    ++comparisons_;
    if (score[a] == score[b]) continue;  // "no preference": no edge
    e.better_worse.emplace_back(score[a] < score[b] ? a : b, score[a] < score[b] ? b : a);
  }
  if (e.better_worse.empty()) return false;
  out = std::move(e);
  return true;
}

std::unique_ptr<FunctionOracle> make_oracle(Objective f, const std::string& spec, std::uint64_t seed, bool maximize) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const bool has_param = colon != std::string::npos;
  const std::string param = has_param ? spec.substr(colon + 1) : "";
  if (name == "exact" && !has_param) return std::make_unique<ExactOracle>(std::move(f), maximize);
  if (name == "thurstone" && has_param)
    return std::make_unique<ThurstoneOracle>(std::move(f), parse_param(spec, param), seed, maximize);
  if (name == "pl" && has_param)
    return std::make_unique<PlackettLuceOracle>(std::move(f), parse_param(spec, param), seed, maximize);
  if (name == "flip" && has_param)
    return std::make_unique<FlipOracle>(std::move(f), parse_param(spec, param), seed, maximize);
  if (name == "pairwise") {
    const double pairs = has_param ? parse_param(spec, param) : 0.0;
    if (pairs != std::floor(pairs) || pairs < 0) throw_invalid("--noise " + spec + ": pairs must be an integer >= 0");
    return std::make_unique<PairwiseOracle>(std::move(f), static_cast<int>(pairs), seed, maximize);
  }
  throw_invalid("--noise is \"" + spec +
                "\"; expected exact, thurstone:SIGMA, pl:TAU, flip:P or pairwise[:PAIRS]");
}

}  // namespace optidiff::zo
