#include "optidiff/diffusion/train.hpp"

#include <cmath>
#include <cctype>
#include <deque>
#include <fstream>
#include <filesystem>
#include <numeric>
#include <cstring>
#include <sstream>

#include "optidiff/core/error.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/diffusion/checkpoint.hpp"

namespace optidiff::diffusion {
namespace fs = std::filesystem;

Objective parse_objective(const std::string& name) {
  if (name == "flow") return Objective::kFlow;
  if (name == "eps") return Objective::kEps;
  throw_invalid("--objective is '" + name + "'; expected flow or eps");
}

std::string objective_name(Objective o) { return o == Objective::kFlow ? "flow" : "eps"; }

Schedule objective_schedule(Objective o) {
  return o == Objective::kFlow ? Schedule::rectified_flow() : Schedule::vp(ScheduleKind::kLinear);
}

void TrainOptions::validate() const {
  config.validate();
  if (steps < 0) throw_invalid("--steps is " + std::to_string(steps) + "; expected >= 1");
  if (!(minutes >= 0) || !std::isfinite(minutes)) throw_invalid("--minutes must be a finite number >= 0");
  if (steps == 0 && minutes == 0) throw_invalid("give a training budget: --steps N (>= 1) or --minutes M (> 0)");
  if (batch < 1) throw_invalid("--batch is " + std::to_string(batch) + "; expected >= 1");
  if (!(lr > 0) || !std::isfinite(lr)) throw_invalid("--lr must be finite and > 0");
  if (warmup < 0) throw_invalid("--warmup is " + std::to_string(warmup) + "; expected >= 0");
  if (!(ema_decay >= 0 && ema_decay < 1)) throw_invalid("--ema must be in [0, 1)");
  if (!(label_dropout >= 0 && label_dropout <= 1)) throw_invalid("--label-dropout must be in [0, 1]");
  if (!(weight_decay >= 0) || !(grad_clip >= 0)) throw_invalid("--weight-decay and --grad-clip must be >= 0");
  if (!(checkpoint_minutes > 0)) throw_invalid("--checkpoint-minutes must be > 0");
  if (out_dir.empty()) throw_invalid("--out is empty; expected a directory for the checkpoints");
}

torch::Tensor dataset_images(const data::Dataset& d) {
  auto u8 = torch::from_blob(const_cast<std::uint8_t*>(d.images.data()),
                             {static_cast<int64_t>(d.size()), 1, d.rows, d.cols}, torch::kUInt8);
  return u8.to(torch::kFloat32).div(127.5).sub(1.0);
}

torch::Tensor dataset_labels(const data::Dataset& d) {
  auto u8 = torch::from_blob(const_cast<std::uint8_t*>(d.labels.data()), {static_cast<int64_t>(d.size())},
                             torch::kUInt8);
  return u8.to(torch::kInt64);
}

namespace {

// [B] -> [B,1,1,1] for broadcasting against images.
torch::Tensor per_row(const torch::Tensor& v, const torch::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = v.size(0);
  return v.reshape(shape);
}

}  // namespace

torch::Tensor diffusion_loss(DiT& model, Objective objective, const torch::Tensor& x0, const torch::Tensor& labels,
                             const torch::Tensor& t, const torch::Tensor& noise) {
  if (objective == Objective::kFlow) {
    const auto tt = per_row(t, x0);
    auto xt = (1 - tt) * x0 + tt * noise;
    return torch::mse_loss(model->forward(xt, t, labels), noise - x0);
  }
  const Schedule schedule = objective_schedule(objective);
  auto t64 = t.to(torch::kFloat64).contiguous();
  std::vector<float> alpha(t.size(0)), sigma(t.size(0));
  for (int64_t i = 0; i < t.size(0); ++i) {
    const auto lvl = schedule.at(t64.data_ptr<double>()[i]);
    alpha[i] = static_cast<float>(lvl.alpha);
    sigma[i] = static_cast<float>(lvl.sigma);
  }
  const auto a = per_row(torch::tensor(alpha), x0), s = per_row(torch::tensor(sigma), x0);
  return torch::mse_loss(model->forward(a * x0 + s * noise, t, labels), noise);
}

namespace {

std::vector<int64_t> epoch_order(std::uint64_t seed, std::int64_t epoch, std::size_t n) {
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  Rng rng = Rng(seed).stream(1, static_cast<std::uint64_t>(epoch));
  for (std::size_t i = n - 1; i > 0; --i) std::swap(idx[i], idx[rng.uniform_int(i + 1)]);
  return idx;
}

std::string optimizer_bytes(torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive archive;
  opt.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  return os.str();
}

void load_optimizer_bytes(torch::optim::Optimizer& opt, const torch::Tensor& bytes, const std::string& path) {
  std::istringstream is(std::string(static_cast<const char*>(bytes.data_ptr()), bytes.numel()));
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(is);
    opt.load(archive);
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::kDataLoss, "checkpoint " + path + ": the optimizer state does not load (" +
                                          std::string(e.what_without_backtrace()) + ")");
  }
}

torch::Tensor bytes_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr(), s.data(), s.size());
  return t;
}

// Copies a model file's weights into a fresh run's model and EMA (TrainOptions::init_from) and returns
// the lineage of the runs that made it: its meta.lineage, or for files written before lineages existed
// one entry made from its command, step and seconds.
Json warm_start(const TrainOptions& o, DiT& model, DiT& ema) {
  const Checkpoint ck = load_checkpoint(o.init_from);
  expect_kind(ck, {"dit-model"});
  const auto saved = dit_config_from_json(ck.config, "checkpoint " + o.init_from + " config");
  if (!(saved == o.config))
    throw Error(ErrorCode::kInvalidArgument, "--init-from " + o.init_from + " holds a DiT with config " +
                                                 to_json(saved).dump() + "; this run asks for " +
                                                 to_json(o.config).dump() + " (pass the matching --config)");
  const std::string objective = ck.meta.value("objective", std::string("?"));
  if (objective != objective_name(o.objective))
    throw Error(ErrorCode::kInvalidArgument, "--init-from " + o.init_from + " was trained with objective '" +
                                                 objective + "'; this run asks for " + objective_name(o.objective));
  load_into(*model, ck);
  load_into(*ema, ck);
  log_info("warm start from " + o.init_from + " (step " + ck.meta.value("step", Json(0)).dump() + " of its run)");
  if (ck.meta.contains("lineage")) return ck.meta["lineage"];
  return Json::array({{{"command", ck.meta.value("command", std::string())},
                       {"steps", ck.meta.value("step", Json(0))},
                       {"seconds", ck.meta.value("seconds", Json(0))},
                       {"commit", ck.meta.value("commit", std::string())}}});
}

// OUT/loss.csv: "step,loss,lr,seconds", one row per 10 steps (the mean loss of those steps). A resumed
// run first drops the rows past its checkpoint (steps it will redo); a fresh run starts the file anew.
class LossLog {
 public:
  LossLog(std::string path, std::int64_t resumed_step) : path_(std::move(path)) {
    std::vector<std::string> kept;
    if (resumed_step > 0) {
      std::ifstream in(path_);
      std::string line;
      while (std::getline(in, line))
        if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) &&
            std::stoll(line) <= resumed_step)
          kept.push_back(line);
    }
    std::ofstream out(path_, std::ios::trunc);
    out << "step,loss,lr,seconds\n";
    for (const auto& l : kept) out << l << "\n";
    if (!out) throw Error(ErrorCode::kUnavailable, "cannot write " + path_);
  }
  void add(std::int64_t step, double loss, double lr, double seconds) {
    sum_ += loss;
    if (++count_ < kEvery) return;
    pending_ << step << "," << sum_ / count_ << "," << lr << "," << seconds << "\n";
    sum_ = 0;
    count_ = 0;
  }
  void flush() {
    std::ofstream out(path_, std::ios::app);
    out << pending_.str();
    pending_.str("");
  }

 private:
  static constexpr int kEvery = 10;
  std::string path_;
  std::ostringstream pending_;
  double sum_ = 0;
  int count_ = 0;
};

}  // namespace

void save_dit(const std::string& path, DiT& model, Objective objective, const Json& meta) {
  Checkpoint ck;
  ck.kind = "dit-model";
  ck.config = to_json(model->config());
  ck.meta = meta;
  ck.meta["objective"] = objective_name(objective);
  ck.meta["schedule"] = objective_schedule(objective).name();
  add_module_tensors(ck, *model);
  save_checkpoint(path, ck);
}

LoadedDiT load_dit(const std::string& path) {
  const Checkpoint ck = load_checkpoint(path);
  expect_kind(ck, {"dit-model", "dit-train-state"});
  LoadedDiT out;
  out.meta = ck.meta;
  const auto config = dit_config_from_json(ck.config, "checkpoint " + path + " config");
  try {
    out.objective = parse_objective(ck.meta.value("objective", std::string("?")));
  } catch (const Error&) {
    throw Error(ErrorCode::kDataLoss, "checkpoint " + path + ": meta.objective is missing or not flow/eps");
  }
  out.model = DiT(config);
  load_into(*out.model, ck, ck.kind == "dit-train-state" ? "ema." : "");
  out.model->eval();
  return out;
}

TrainResult train_dit(const data::Dataset& train, const TrainOptions& o) {
  o.validate();
  fs::create_directories(o.out_dir);
  TrainResult result;
  result.state_path = (fs::path(o.out_dir) / "train_state.ckpt").string();
  result.model_path = (fs::path(o.out_dir) / "model.ckpt").string();

  torch::manual_seed(o.seed);  // weight initialisation
  DiT model(o.config), ema(o.config);
  {
    torch::NoGradGuard no_grad;
    auto src = model->parameters();
    auto dst = ema->parameters();
    for (std::size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  for (auto& p : ema->parameters()) p.set_requires_grad(false);
  torch::optim::AdamW opt(model->parameters(),
                          torch::optim::AdamWOptions(o.lr).betas({0.9, 0.999}).weight_decay(o.weight_decay));

  const Json run_settings = {{"objective", objective_name(o.objective)}, {"seed", o.seed}, {"batch", o.batch}};
  std::int64_t step = 0;
  double previous_seconds = 0;
  Json lineage = Json::array();  // the earlier runs of the chain this run continues (init_from)
  if (fs::exists(result.state_path)) {
    const Checkpoint ck = load_checkpoint(result.state_path);
    expect_kind(ck, {"dit-train-state"});
    const auto saved = dit_config_from_json(ck.config, "checkpoint " + result.state_path + " config");
    if (!(saved == o.config))
      throw Error(ErrorCode::kInvalidArgument,
                  "checkpoint " + result.state_path + " was made with config " + to_json(saved).dump() +
                      "; this run asks for " + to_json(o.config).dump() + " (use another --out to start afresh)");
    for (const auto& [key, value] : run_settings.items())
      if (ck.meta.value(key, Json()) != value)
        throw Error(ErrorCode::kInvalidArgument, "checkpoint " + result.state_path + " was made with " + key + " " +
                                                     ck.meta.value(key, Json()).dump() + "; this run asks for " +
                                                     value.dump() + " (use another --out to start afresh)");
    const std::string recorded_init = ck.meta.value("init_from", std::string());
    if (!o.init_from.empty() && o.init_from != recorded_init)
      throw Error(ErrorCode::kInvalidArgument,
                  "checkpoint " + result.state_path + " continues a run started from '" + recorded_init +
                      "'; this run asks for --init-from " + o.init_from +
                      " (drop --init-from to resume, or use another --out to start afresh)");
    lineage = ck.meta.value("lineage", Json::array());
    load_into(*model, ck, "model.");
    load_into(*ema, ck, "ema.");
    load_optimizer_bytes(opt, ck.tensor("optimizer"), result.state_path);
    step = json_get<std::int64_t>(ck.meta, "step", "checkpoint " + result.state_path);
    previous_seconds = json_get<double>(ck.meta, "seconds", "checkpoint " + result.state_path);
    result.resumed_from = step;
    log_info("resuming from " + result.state_path + " at step " + std::to_string(step) + " (" +
             format_fixed(previous_seconds / 60, 1) + " min trained)");
  } else if (!o.init_from.empty()) {
    lineage = warm_start(o, model, ema);
  }
  LossLog loss_log((fs::path(o.out_dir) / "loss.csv").string(), step);

  const auto images = dataset_images(train);
  const auto n = static_cast<std::int64_t>(train.size());
  if (n < o.batch)
    throw_invalid("--batch is " + std::to_string(o.batch) + "; the training set has only " + std::to_string(n) +
                  " images");
  const std::int64_t steps_per_epoch = n / o.batch;  // the last partial batch of an epoch is dropped
  const Schedule schedule = objective_schedule(o.objective);
  const Rng root(o.seed);
  const int pixels = static_cast<int>(images[0].numel());

  Stopwatch clock, since_checkpoint;
  auto elapsed = [&] { return previous_seconds + clock.seconds(); };
  auto save = [&] {
    Json meta = run_settings;
    meta["step"] = step;
    meta["seconds"] = elapsed();
    meta["command"] = o.command;
    meta["lr"] = o.lr;
    meta["warmup"] = o.warmup;
    meta["ema_decay"] = o.ema_decay;
    meta["label_dropout"] = o.label_dropout;
    meta["precision"] = precision_name(resolve_precision(o.precision));
    if (!o.init_from.empty()) meta["init_from"] = o.init_from;
    meta["lineage"] = lineage;
    meta["lineage"].push_back({{"command", o.command},
                               {"steps", step},
                               {"seconds", elapsed()},
                               {"commit", o.commit},
                               {"init_from", o.init_from}});
    Checkpoint ck;
    ck.kind = "dit-train-state";
    ck.config = to_json(o.config);
    ck.meta = meta;
    add_module_tensors(ck, *model, "model.");
    add_module_tensors(ck, *ema, "ema.");
    ck.tensors.emplace_back("optimizer", bytes_tensor(optimizer_bytes(opt)));
    save_checkpoint(result.state_path, ck);
    meta.erase("lr");
    save_dit(result.model_path, ema, o.objective, meta);
    loss_log.flush();
    since_checkpoint.restart();
  };
  auto done = [&] {
    return (o.steps > 0 && step >= o.steps) || (o.minutes > 0 && elapsed() >= o.minutes * 60);
  };

  Progress bar("train " + o.config.name + " " + objective_name(o.objective), o.steps, 30.0);
  std::deque<double> recent;
  std::int64_t epoch = -1;
  std::vector<int64_t> order;
  std::vector<float> noise_buf(static_cast<std::size_t>(o.batch) * pixels), t_buf(o.batch);
  std::vector<int64_t> idx(o.batch), y_buf(o.batch);
  Stopwatch rate_clock;
  std::int64_t rate_start = step;
  model->train();
  std::int64_t steps_this_run = 0;
  while (!done()) {
    Stopwatch step_clock;
    if (step / steps_per_epoch != epoch) {
      epoch = step / steps_per_epoch;
      order = epoch_order(o.seed, epoch, train.size());
    }
    const std::int64_t pos = (step % steps_per_epoch) * o.batch;
    Rng rng = root.stream(2, static_cast<std::uint64_t>(step));
    for (int i = 0; i < o.batch; ++i) {
      idx[i] = order[pos + i];
      y_buf[i] = train.labels[idx[i]];
    }
    rng.fill_normal(noise_buf.data(), noise_buf.size());
    for (int i = 0; i < o.batch; ++i) {
      if (o.objective == Objective::kFlow) {
        t_buf[i] = static_cast<float>(1.0 / (1.0 + std::exp(-rng.normal())));  // logit-normal(0, 1)
      } else {
        t_buf[i] = static_cast<float>(schedule.t_of_timestep(static_cast<int>(rng.uniform_int(1000))));
      }
      if (rng.uniform() < o.label_dropout) y_buf[i] = o.config.null_label();
    }
    const auto index = torch::tensor(idx);
    const auto x0 = images.index_select(0, index);
    const auto y = torch::tensor(y_buf);
    const auto t = torch::tensor(t_buf);
    const auto noise = torch::from_blob(noise_buf.data(), x0.sizes(), torch::kFloat32);

    const double lr = o.lr * std::min(1.0, (step + 1.0) / std::max(1, o.warmup));
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    opt.zero_grad();
    torch::Tensor loss;
    {
      AutocastScope autocast(o.precision);
      loss = diffusion_loss(model, o.objective, x0, y, t, noise);
    }
    loss.backward();
    if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), o.grad_clip);
    opt.step();
    {
      torch::NoGradGuard no_grad;
      const double d = std::min(o.ema_decay, (1.0 + step) / (10.0 + step));
      auto src = model->parameters();
      auto dst = ema->parameters();
      for (std::size_t i = 0; i < src.size(); ++i) dst[i].mul_(d).add_(src[i], 1.0 - d);
    }
    ++step;
    const double l = loss.item<double>();
    if (steps_this_run++ > 0) result.step_seconds += step_clock.seconds(), ++result.timed_steps;
    if (!std::isfinite(l))
      throw Error(ErrorCode::kFailedPrecondition, "training diverged at step " + std::to_string(step) +
                                                      " (loss " + std::to_string(l) +
                                                      "); the last checkpoint is kept; lower --lr");
    loss_log.add(step, l, lr, elapsed());
    recent.push_back(l);
    if (recent.size() > 100) recent.pop_front();
    const double mean = std::accumulate(recent.begin(), recent.end(), 0.0) / recent.size();
    const double rate = (step - rate_start) / std::max(1e-9, rate_clock.seconds());
    std::string status = "loss " + format_fixed(mean, 4) + "  " + format_fixed(rate, 2) + " steps/s";
    if (o.minutes > 0) status += "  " + format_fixed(elapsed() / 60, 1) + "/" + format_fixed(o.minutes, 1) + " min";
    if (o.steps == 0) status = "step " + std::to_string(step) + "  " + status;
    bar.update(step, status);
    result.loss = mean;
    if (since_checkpoint.seconds() >= o.checkpoint_minutes * 60) save();
  }
  save();
  loss_log.flush();
  bar.finish();
  result.steps = step;
  result.seconds = elapsed();
  return result;
}

}  // namespace optidiff::diffusion
