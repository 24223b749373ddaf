// optidiff rank rl | rl-eval: policy search from rankings of episodes (ZO-RankSGD, CMA-ES) and ARS
// on CartPole, Pendulum and MuJoCo's Swimmer, Hopper and HalfCheetah; replaying a saved policy.
#include <filesystem>
#include <iostream>

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/rl/render.hpp"
#include "optidiff/rl/search.hpp"
#include "tools/optidiff/commands.hpp"

namespace optidiff::cli {
namespace {

struct RlArgs {
  rl::TrainOptions o;
  std::string policy_kind = "linear", json, save_policy, video;
  bool no_normalize = false;
};

Json pairs_json(const std::vector<std::array<double, 2>>& h) {
  Json a = Json::array();
  for (const auto& p : h) a.push_back({static_cast<long long>(p[0]), p[1]});
  return a;
}

void write_video_and_log(rl::Env& env, const rl::Policy& policy, const Eigen::VectorXd& theta,
                         std::uint64_t seed, const std::string& dir) {
  const rl::VideoResult v = rl::write_video(env, policy, theta, seed, dir);
  std::cout << "video: " << v.frames << " frames in " << dir << "/ (episode return "
            << format_double(v.ret, 5) << ", " << v.steps << " steps); contact sheet " << v.sheet
            << "\n";
}

void run_rl(const RlArgs& a) {
  rl::TrainOptions o = a.o;
  o.policy = rl::parse_policy_kind(a.policy_kind);
  o.normalize = !a.no_normalize;
  o = rl::resolve(o);
  std::cerr << "optidiff rank rl: " << o.method << " on " << o.env << ", m = " << o.m
            << ", k = " << o.k << ", mu = " << format_double(o.mu)
            << ", step = " << format_double(o.step) << ", oracle " << o.noise << ", " << o.episodes
            << " episodes, seed " << o.seed << "\n";
  Progress bar("rl", o.episodes);
  o.on_round = [&](long long episodes, double ret) {
    bar.update(episodes, "eval return " + format_double(ret, 5));
  };
  const rl::TrainResult r = rl::train(o);
  bar.finish();
  Table t({"env", "method", "episodes", "final_return", "std", "env_steps", "steps/s", "seconds"});
  const double sps =
      static_cast<double>(r.env_steps + r.eval_env_steps) / std::max(r.seconds, 1e-9);
  t.add_row({r.env, r.method, std::to_string(r.episodes), format_double(r.final_eval.mean, 5),
             format_double(r.final_eval.stdev, 3), std::to_string(r.env_steps),
             format_double(sps, 4), format_fixed(r.seconds, 2)});
  t.print(std::cout);
  if (r.failures > 0)
    log_info(std::to_string(r.failures) + " training episodes ended by the failure rule (penalty " +
             format_double(rl::kFailurePenalty) + ")");
  if (!a.save_policy.empty()) {
    rl::save_policy(a.save_policy, {.env = r.env,
                                    .spec = r.spec,
                                    .params = r.params,
                                    .normalizer = r.normalizer,
                                    .method = r.method,
                                    .final_return = r.final_eval.mean});
    std::cout << "policy saved to " << a.save_policy << "; replay: optidiff rank rl-eval --env "
              << r.env << " --policy " << a.save_policy << "\n";
  }
  if (!a.video.empty()) {
    auto env = rl::make_env(o.env, o.model_file);
    rl::Policy policy(r.spec);
    policy.set_normalizer(r.normalizer);
    write_video_and_log(*env, policy, r.params, rl::eval_seed(o.seed, 0), a.video);
  }
  if (!a.json.empty())
    write_json_file(a.json, Json{{"env", r.env},
                                 {"method", r.method},
                                 {"noise", o.noise},
                                 {"m", r.m},
                                 {"k", r.k},
                                 {"mu", r.mu},
                                 {"step", r.step},
                                 {"policy", rl::policy_kind_name(r.spec.kind)},
                                 {"normalize", r.spec.normalize},
                                 {"num_params", r.params.size()},
                                 {"seed", o.seed},
                                 {"episodes", r.episodes},
                                 {"budget", o.episodes},
                                 {"rounds", r.rounds},
                                 {"final_return", r.final_eval.mean},
                                 {"final_return_std", r.final_eval.stdev},
                                 {"final_returns", r.final_eval.returns},
                                 {"history", pairs_json(r.history)},
                                 {"train_history", pairs_json(r.train_history)},
                                 {"env_steps", r.env_steps},
                                 {"eval_env_steps", r.eval_env_steps},
                                 {"failures", r.failures},
                                 {"seconds", r.seconds},
                                 {"steps_per_second", sps}});
}

struct EvalArgs {
  std::string env, policy, model, json, video;
  int episodes = 10, horizon = 0;
  std::uint64_t seed = 0;
};

void run_rl_eval(const EvalArgs& a) {
  const rl::SavedPolicy saved = rl::load_policy(a.policy, a.env);
  rl::RolloutPool pool(rl::env_factory(a.env, a.model));
  rl::Env& env = pool.env(0);
  if (saved.spec.obs_dim != env.obs_dim() || saved.spec.act_dim != env.act_dim())
    throw_data_loss("policy file " + a.policy + " has obs_dim " +
                    std::to_string(saved.spec.obs_dim) + ", act_dim " +
                    std::to_string(saved.spec.act_dim) + "; env " + a.env + " has " +
                    std::to_string(env.obs_dim()) + ", " + std::to_string(env.act_dim()));
  if (a.episodes < 1)
    throw_invalid("--episodes is " + std::to_string(a.episodes) + "; expected >= 1");
  rl::Policy policy(saved.spec);
  policy.set_normalizer(saved.normalizer);
  Stopwatch sw;
  const rl::EvalResult e = rl::evaluate(pool, policy, saved.params, a.episodes, a.seed, a.horizon);
  Table t({"env", "policy", "episodes", "mean_return", "std", "failures", "seconds"});
  t.add_row({a.env, a.policy, std::to_string(a.episodes), format_double(e.mean, 5),
             format_double(e.stdev, 3), std::to_string(e.failures), format_fixed(sw.seconds(), 2)});
  t.print(std::cout);
  if (!a.video.empty())
    write_video_and_log(env, policy, saved.params, rl::eval_seed(a.seed, 0), a.video);
  if (!a.json.empty())
    write_json_file(a.json, Json{{"env", a.env},
                                 {"policy", a.policy},
                                 {"method", saved.method},
                                 {"episodes", a.episodes},
                                 {"seed", a.seed},
                                 {"mean_return", e.mean},
                                 {"std", e.stdev},
                                 {"returns", e.returns},
                                 {"failures", e.failures}});
}

}  // namespace

void add_rl_commands(CLI::App& app) {
  CLI::App* rank = app.get_subcommand("rank");  // registered by add_zo_commands
  auto a = std::make_shared<RlArgs>();
  auto* rl = rank->add_subcommand(
      "rl", "Policy search from rankings of episodes (ZO-RankSGD, CMA-ES) vs ARS");
  rl->add_option("--env", a->o.env, "cartpole, pendulum, swimmer, hopper or halfcheetah")
      ->capture_default_str();
  rl->add_option("--method", a->o.method,
                 "ranksgd, ranksgd-ls, cmaes (ranks only), ars (V2-t), ars-v1 (V1-t)")
      ->capture_default_str();
  rl->add_option("--episodes", a->o.episodes, "Training budget in episodes")->capture_default_str();
  rl->add_option("--m", a->o.m, "Episodes per round (ars: 2N); 0: the env default")
      ->capture_default_str();
  rl->add_option("--k", a->o.k, "Episodes ranked per round (0: m); ars: b top directions (0: N/2)")
      ->capture_default_str();
  rl->add_option("--noise", a->o.noise, "Ranking oracle: exact, thurstone:SIGMA, pl:TAU, flip:P")
      ->capture_default_str();
  rl->add_option("--mu", a->o.mu, "Perturbation radius (ars nu, cmaes sigma0); 0: env default")
      ->capture_default_str();
  rl->add_option("--step", a->o.step, "Step size (ars alpha); 0: env default")
      ->capture_default_str();
  rl->add_option("--policy-kind", a->policy_kind, "linear or mlp")->capture_default_str();
  rl->add_option("--hidden", a->o.hidden, "mlp hidden units")->capture_default_str();
  rl->add_flag("--no-normalize", a->no_normalize, "No running observation normalisation (ARS V1)");
  rl->add_option("--horizon", a->o.horizon, "Steps per episode (0: the env's time limit)")
      ->capture_default_str();
  rl->add_option("--eval-points", a->o.eval_points, "Points of the return-vs-episodes history")
      ->capture_default_str();
  rl->add_option("--eval-episodes", a->o.eval_episodes, "Episodes per history point")
      ->capture_default_str();
  rl->add_option("--model", a->o.model_file,
                 "MJCF file instead of the shipped model (MuJoCo tasks)");
  rl->add_option("--seed", a->o.seed, "Random seed")->capture_default_str();
  rl->add_option("--save-policy", a->save_policy, "Write the final policy (JSON) for rl-eval");
  rl->add_option("--video", a->video,
                 "Write a rollout of the final policy as PNG frames into this directory");
  add_json_option(rl, a->json);
  rl->callback([a] { run_rl(*a); });

  auto e = std::make_shared<EvalArgs>();
  auto* ev = rank->add_subcommand(
      "rl-eval", "Replay a saved policy: mean return over episodes, optional video");
  ev->add_option("--env", e->env, "The env the policy was trained on")->required();
  ev->add_option("--policy", e->policy, "Policy file from optidiff rank rl --save-policy")
      ->required();
  ev->add_option("--episodes", e->episodes, "Evaluation episodes")->capture_default_str();
  ev->add_option("--horizon", e->horizon, "Steps per episode (0: the env's time limit)")
      ->capture_default_str();
  ev->add_option("--model", e->model, "MJCF file instead of the shipped model (MuJoCo tasks)");
  ev->add_option("--seed", e->seed, "Random seed of the evaluation start states")
      ->capture_default_str();
  ev->add_option("--video", e->video, "Write a rollout as PNG frames into this directory");
  add_json_option(ev, e->json);
  ev->callback([e] { run_rl_eval(*e); });
}

std::vector<TourRow> tour_rl(const TourContext& ctx) {
  Stopwatch sw;
  rl::TrainOptions o;
  o.env = "cartpole";
  o.method = "ranksgd";
  o.episodes = 400;
  o.eval_points = 5;
  o.seed = ctx.seed;
  const rl::TrainResult r = rl::train(o);
  auto env = rl::make_env("cartpole");
  rl::Policy policy(r.spec);
  policy.set_normalizer(r.normalizer);
  const rl::VideoResult v = rl::write_video(*env, policy, r.params, rl::eval_seed(ctx.seed, 0),
                                            ctx.out_dir + "/cartpole");
  return {{"rl",
           "ZO-RankSGD (8,8) from episode rankings on CartPole, " + std::to_string(r.episodes) +
               " episodes",
           "return " + format_double(r.history.front()[1], 4) + " -> " +
               format_double(r.final_eval.mean, 4) + " (max 500); frames in cartpole/",
           sw.seconds()}};
}

}  // namespace optidiff::cli
