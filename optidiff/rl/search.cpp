#include "optidiff/rl/search.hpp"

#include <cmath>
#include <memory>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/rl/ars.hpp"
#include "optidiff/zo/factory.hpp"
#include "optidiff/zo/oracle.hpp"

namespace optidiff::rl {
namespace {

struct EnvDefaults {
  int m;
  double mu, step;
};

// Starting points for the flags, from ARS's published hyper-parameters where they exist (Mania et
// al. 2018, Table 9 as we recall it: nu 0.01-0.03, alpha 0.01-0.02 for these tasks) and a quick
// sweep on the classic tasks; docs/rl.md lists them.
EnvDefaults env_defaults(const std::string& env) {
  if (env == "cartpole") return {8, 0.1, 0.1};
  if (env == "pendulum") return {16, 0.1, 0.05};
  if (env == "swimmer") return {8, 0.03, 0.02};
  if (env == "hopper") return {8, 0.025, 0.01};
  return {8, 0.03, 0.02};  // halfcheetah
}

bool is_ars(const std::string& method) { return method == "ars" || method == "ars-v1"; }

}  // namespace

std::string rl_method_names() { return "ranksgd, ranksgd-ls, cmaes, ars, ars-v1"; }

std::uint64_t eval_seed(std::uint64_t seed, int i) {
  return mix64(mix64(seed ^ 0xe7a15eedULL) + static_cast<std::uint64_t>(i));
}

TrainOptions resolve(const TrainOptions& in) {
  TrainOptions o = in;
  make_env(o.env, o.model_file);  // validates --env and --model
  if (o.method != "ranksgd" && o.method != "ranksgd-ls" && o.method != "cmaes" && !is_ars(o.method))
    throw_invalid("--method is \"" + o.method + "\"; expected one of " + rl_method_names());
  const EnvDefaults d = env_defaults(o.env);
  if (o.m < 0 || o.k < 0) throw_invalid("--m and --k must be >= 0 (0: the default)");
  if (o.m == 0) o.m = d.m;
  if (o.mu == 0) o.mu = o.method == "cmaes" ? 2 * d.mu : d.mu;
  if (o.step == 0) o.step = d.step;
  if (!(o.mu > 0) || !(o.step > 0)) throw_invalid("--mu and --step must be > 0");
  if (is_ars(o.method)) {
    if (o.m < 2 || o.m % 2)
      throw_invalid("--m is " + std::to_string(o.m) + "; ars needs an even m = 2N >= 2");
    if (o.k == 0) o.k = std::max(1, o.m / 4);
    if (o.k > o.m / 2)
      throw_invalid(
          "--k is " + std::to_string(o.k) +
          "; for ars it is b, the top directions, at most N = m/2 = " + std::to_string(o.m / 2));
  } else {
    if (o.m < 2)
      throw_invalid("--m is " + std::to_string(o.m) + "; expected m >= 2 episodes per round");
    if (o.k == 0) o.k = o.method == "cmaes" ? o.m / 2 : o.m;
    if (o.k > o.m)
      throw_invalid("--k is " + std::to_string(o.k) + "; expected 1 <= k <= --m (" +
                    std::to_string(o.m) + ")");
    if (o.method == "ranksgd-ls" && o.m < 3)
      throw_invalid("--m is " + std::to_string(o.m) + "; ranksgd-ls needs m >= 3");
  }
  if (o.method == "ars-v1") o.normalize = false;
  zo::make_oracle([](const Eigen::VectorXd&) { return 0.0; }, o.noise, 0);  // validates --noise
  if (o.episodes < o.m)
    throw_invalid("--episodes is " + std::to_string(o.episodes) +
                  "; expected at least one round (--m = " + std::to_string(o.m) + ")");
  if (o.eval_points < 1 || o.eval_episodes < 1 || o.final_episodes < 1)
    throw_invalid("evaluation needs at least one point and one episode");
  if (o.horizon < 0)
    throw_invalid("--horizon is " + std::to_string(o.horizon) +
                  "; expected >= 0 (0: the env's limit)");
  return o;
}

EvalResult evaluate(RolloutPool& pool, const Policy& policy, const Eigen::VectorXd& theta, int n,
                    std::uint64_t seed, int horizon) {
  Eigen::MatrixXd thetas = theta.replicate(1, n);
  std::vector<std::uint64_t> seeds;
  for (int i = 0; i < n; ++i) seeds.push_back(eval_seed(seed, i));
  const auto eps = pool.run(policy, thetas, seeds, horizon);
  EvalResult r;
  for (const auto& e : eps) {
    r.returns.push_back(e.ret);
    r.steps += e.steps;
    r.failures += !e.failure.empty();
  }
  for (double x : r.returns) r.mean += x / n;
  for (double x : r.returns) r.stdev += (x - r.mean) * (x - r.mean) / n;
  r.stdev = std::sqrt(r.stdev);
  return r;
}

TrainResult train(const TrainOptions& options) {
  const TrainOptions o = resolve(options);
  Stopwatch sw;
  RolloutPool pool(env_factory(o.env, o.model_file), o.threads);
  Env& env = pool.env(0);
  Policy policy({.kind = o.policy,
                 .obs_dim = env.obs_dim(),
                 .act_dim = env.act_dim(),
                 .hidden = o.hidden,
                 .normalize = o.normalize});
  const Eigen::VectorXd theta0 = policy.initial_params(o.seed);

  std::unique_ptr<zo::AskTell> opt;
  if (is_ars(o.method)) {
    opt = std::make_unique<Ars>(
        theta0,
        ArsOptions{
            .directions = o.m / 2, .top = o.k, .step = o.step, .noise = o.mu, .seed = o.seed});
  } else {
    zo::MethodSettings s{
        .method = o.method, .m = o.m, .k = o.k, .mu = o.mu, .step = o.step, .seed = o.seed};
    if (o.method == "cmaes") s.sigma0 = o.mu;
    opt = zo::make_optimizer(theta0, s);
  }
  // The ranking oracle reads the returns of the round being answered: f(x) is the return of the
  // column equal to x (candidates with equal parameters and the same start state have equal
  // returns).
  const Eigen::MatrixXd* points = nullptr;
  const std::vector<double>* returns = nullptr;
  auto oracle = zo::make_oracle(
      [&](const Eigen::VectorXd& x) {
        for (Eigen::Index j = 0; j < points->cols(); ++j)
          if (points->col(j) == x) return (*returns)[static_cast<std::size_t>(j)];
        throw Error(ErrorCode::kInternal, "ranking oracle: a candidate that was not in the round");
      },
      o.noise, mix64(o.seed ^ 0x0a11ce), /*maximize=*/true);

  TrainResult r;
  r.env = o.env;
  r.method = o.method;
  r.spec = policy.spec();
  r.m = o.m, r.k = o.k, r.mu = o.mu, r.step = o.step;
  const long long eval_every = std::max<long long>(o.m, o.episodes / o.eval_points);
  long long next_eval = 0;
  const auto record = [&] {
    const EvalResult e =
        evaluate(pool, policy, opt->incumbent(), o.eval_episodes, o.seed, o.horizon);
    r.eval_env_steps += e.steps;
    r.history.push_back({static_cast<double>(r.episodes), e.mean});
    next_eval += eval_every;
    if (o.on_round) o.on_round(r.episodes, e.mean);
  };
  record();
  const Rng round_seeds = Rng(o.seed).stream(0x5eed5);
  while (true) {
    const zo::Round round = opt->ask();
    if (r.episodes + round.m() > o.episodes) break;
    const std::uint64_t start = round_seeds.stream(r.rounds)();
    const std::vector<std::uint64_t> seeds(static_cast<std::size_t>(round.m()), start);
    const std::vector<Episode> eps = pool.run(policy, round.points, seeds, o.horizon);
    std::vector<double> ret;
    double mean = 0;
    for (const auto& e : eps) {
      ret.push_back(e.ret);
      mean += e.ret / static_cast<double>(eps.size());
      r.env_steps += e.steps;
      r.failures += !e.failure.empty();
    }
    zo::Feedback fb;
    if (round.want == zo::Want::kValues) {
      fb = zo::Values{ret};
    } else {
      points = &round.points;
      returns = &ret;
      fb = oracle->answer(round);
    }
    opt->tell(round.id, fb);
    if (o.normalize) {
      RunningStat seen(env.obs_dim());
      for (const auto& e : eps)
        seen.merge(e.observations);  // in column order: the same bits at any thread count
      policy.update_normalizer(seen);
    }
    r.episodes += round.m();
    ++r.rounds;
    r.train_history.push_back({static_cast<double>(r.episodes), mean});
    if (r.episodes >= next_eval) record();
    if (opt->stop_reason()) break;
  }
  if (r.history.back()[0] != static_cast<double>(r.episodes)) record();
  r.params = opt->incumbent();
  r.normalizer = policy.normalizer();
  r.final_eval = evaluate(pool, policy, r.params, o.final_episodes, o.seed, o.horizon);
  r.eval_env_steps += r.final_eval.steps;
  r.seconds = sw.seconds();
  return r;
}

}  // namespace optidiff::rl
