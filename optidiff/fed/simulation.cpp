#include "optidiff/fed/simulation.hpp"

#include <cmath>
#include <set>

#include "optidiff/core/error.hpp"
#include "optidiff/core/log.hpp"

namespace optidiff::fed {

Rng round_stream(std::uint64_t seed, int round, std::uint64_t key) {
  return Rng(seed).stream(std::uint64_t(round), key);
}

Json to_json(const HistoryPoint& p) {
  return {{"round", p.round},
          {"accuracy", p.accuracy},
          {"loss", p.loss},
          {"train_loss", p.train_loss},
          {"uplink_bytes", p.uplink_bytes},
          {"downlink_bytes", p.downlink_bytes},
          {"seconds", p.seconds}};
}

Federation::Federation(Task& task, Strategy& strategy, const FederationOptions& options, Json config)
    : task_(task), strategy_(strategy), options_(options), config_(std::move(config)) {
  const int n = task.num_clients();
  if (options.rounds < 0) throw_invalid("--rounds is " + std::to_string(options.rounds) + "; expected >= 0");
  if (options.eval_every < 1)
    throw_invalid("--eval-every is " + std::to_string(options.eval_every) + "; expected >= 1");
  if (!(options.dropout >= 0 && options.dropout < 1))
    throw_invalid("--dropout is " + std::to_string(options.dropout) + "; expected 0 <= dropout < 1");
  if (options.per_round < 1 || options.per_round > n)
    throw_invalid("--per-round is " + std::to_string(options.per_round) + "; expected 1 <= per-round <= --clients (" +
                  std::to_string(n) + ")");
  std::string empty;
  int empty_count = 0;
  for (int c = 0; c < n; ++c) {
    if (task.client(c).num_examples() > 0) {
      available_.push_back(c);
    } else if (++empty_count <= 10) {
      empty += (empty.empty() ? "" : ", ") + std::to_string(c);
    }
  }
  if (empty_count > 0)
    log_warning("the partition leaves " + std::to_string(empty_count) + " client(s) without data (" + empty +
                (empty_count > 10 ? ", ..." : "") + "); they are never sampled");
  if (options.per_round > int(available_.size()))
    throw_invalid("--per-round is " + std::to_string(options.per_round) + " but only " +
                  std::to_string(available_.size()) + " of " + std::to_string(n) +
                  " clients have data; lower --per-round or raise --alpha");
  strategy_.initialize(task.initial_model());
  executor_ = [this](int round, std::span<const int> clients, const Message& down, std::vector<Reply>& replies,
                     std::vector<Failure>& failures) { run_clients_in_process(round, clients, down, replies, failures); };
}

void Federation::run_clients_in_process(int round, std::span<const int> clients, const Message& downlink,
                                        std::vector<Reply>& replies, std::vector<Failure>& failures) {
  for (int c : clients) {
    Rng rng = round_stream(options_.seed, round, 2 + std::uint64_t(c));
    ClientContext ctx{round, c, task_.client(c), client_states_[c], rng};
    try {
      replies.push_back(strategy_.fit(downlink, ctx));
    } catch (const std::exception& e) {
      failures.push_back({c, std::string("local training failed: ") + e.what()});
    }
  }
}

RoundStats Federation::run_round() {
  const int t = next_round_;
  Stopwatch sw;
  RoundStats stats;
  stats.round = t;
  Rng sample_rng = round_stream(options_.seed, t, 0);
  const auto sampled = strategy_.configure_round(t, available_, options_.per_round, sample_rng);
  // Dropout: exactly round(dropout * K) of the K sampled clients fail after receiving the downlink.
  const auto k = sampled.size();
  const auto n_drop = std::size_t(std::llround(options_.dropout * double(k)));
  std::vector<std::size_t> order(k);
  for (std::size_t i = 0; i < k; ++i) order[i] = i;
  Rng drop_rng = round_stream(options_.seed, t, 1);
  for (std::size_t i = 0; i < n_drop; ++i) std::swap(order[i], order[i + drop_rng.uniform_int(k - i)]);
  std::set<std::size_t> dropped(order.begin(), order.begin() + std::ptrdiff_t(n_drop));
  std::vector<int> working;
  std::vector<Failure> failures;
  for (std::size_t i = 0; i < k; ++i) {
    if (dropped.count(i))
      failures.push_back({sampled[i], "dropped out (simulated, --dropout)"});
    else
      working.push_back(sampled[i]);
  }
  const Message down = strategy_.downlink(t);
  stats.downlink_bytes = std::uint64_t(message_bytes(down)) * k;

  std::vector<Reply> received;
  executor_(t, working, down, received, failures);
  std::vector<Reply> valid;
  double loss = 0;
  for (auto& r : received) {
    stats.uplink_bytes += message_bytes(r.uplink);
    try {
      strategy_.check_reply(r);
    } catch (const Error& e) {
      log_warning(std::string("round ") + std::to_string(t) + ": reply rejected: " + e.what());
      failures.push_back({r.client, e.what()});
      continue;
    }
    loss += r.train_loss;
    valid.push_back(std::move(r));
  }
  stats.replies = int(valid.size());
  stats.train_loss = valid.empty() ? 0.0 : loss / double(valid.size());
  strategy_.aggregate(t, valid, failures);
  stats.failures = std::move(failures);
  uplink_bytes_ += stats.uplink_bytes;
  downlink_bytes_ += stats.downlink_bytes;
  last_train_loss_ = stats.train_loss;
  ++next_round_;
  stats.seconds = sw.seconds();
  return stats;
}

void Federation::evaluate() {
  const auto e = task_.evaluate(strategy_.model());
  history_.push_back({next_round_ - 1, e.accuracy, e.loss, last_train_loss_, uplink_bytes_, downlink_bytes_,
                      clock_.seconds()});
}

void Federation::run(const std::function<void(const RoundStats&)>& on_round) {
  if (history_.empty() && next_round_ == 1) evaluate();  // round 0: the initial model
  while (next_round_ <= options_.rounds) {
    const auto stats = run_round();
    if (on_round) on_round(stats);
    if (stats.round % options_.eval_every == 0 || stats.round == options_.rounds) {
      evaluate();
      if (!options_.checkpoint_path.empty()) save(options_.checkpoint_path);
    }
  }
}

void Federation::save(const std::string& path) const {
  StateDict s;
  Json history = Json::array();
  for (const auto& p : history_) history.push_back(to_json(p));
  s.meta = {{"format", "optidiff-fed-checkpoint"}, {"config", config_},          {"next_round", next_round_},
            {"uplink_bytes", uplink_bytes_},      {"downlink_bytes", downlink_bytes_}, {"history", history},
            {"last_train_loss", last_train_loss_}};
  strategy_.save(s);
  for (const auto& [client, state] : client_states_)
    for (const auto& [name, values] : state) s.arrays["client/" + std::to_string(client) + "/" + name] = values;
  save_state(path, s);
}

void Federation::load(const std::string& path) {
  const StateDict s = load_state(path);
  const std::string what = "checkpoint " + path;
  if (json_get<std::string>(s.meta, "format", what) != "optidiff-fed-checkpoint")
    throw_data_loss(what + " is not a federation checkpoint");
  const Json saved = json_get<Json>(s.meta, "config", what);
  for (const auto& [key, value] : config_.items()) {
    if (key == "rounds") continue;
    const Json other = saved.contains(key) ? saved.at(key) : Json();
    if (other != value)
      throw Error(ErrorCode::kFailedPrecondition,
                  what + " was made with " + key + " = " + other.dump() + "; this run has " + key + " = " +
                      value.dump() + " (a checkpoint resumes only the configuration that made it)");
  }
  for (const auto& [key, value] : saved.items())
    if (key != "rounds" && !config_.contains(key))
      throw Error(ErrorCode::kFailedPrecondition, what + " has setting " + key + " that this run lacks");
  strategy_.load(s);
  client_states_.clear();
  for (const auto& [name, values] : s.arrays) {
    if (name.rfind("client/", 0) != 0) continue;
    const auto slash = name.find('/', 7);
    if (slash == std::string::npos) throw_data_loss(what + ": bad array name \"" + name + "\"");
    client_states_[std::stoi(name.substr(7, slash - 7))][name.substr(slash + 1)] = values;
  }
  next_round_ = json_get<int>(s.meta, "next_round", what);
  uplink_bytes_ = json_get<std::uint64_t>(s.meta, "uplink_bytes", what);
  downlink_bytes_ = json_get<std::uint64_t>(s.meta, "downlink_bytes", what);
  last_train_loss_ = json_get<double>(s.meta, "last_train_loss", what);
  history_.clear();
  for (const auto& p : json_get<Json>(s.meta, "history", what))
    history_.push_back({json_get<int>(p, "round", what), json_get<double>(p, "accuracy", what),
                        json_get<double>(p, "loss", what), json_get<double>(p, "train_loss", what),
                        json_get<std::uint64_t>(p, "uplink_bytes", what),
                        json_get<std::uint64_t>(p, "downlink_bytes", what), json_get<double>(p, "seconds", what)});
}

}  // namespace optidiff::fed
