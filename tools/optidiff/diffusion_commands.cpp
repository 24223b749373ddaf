// optidiff diffusion train | eval: train the class-conditional DiT and measure its samples.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "optidiff/core/error.hpp"
#include "optidiff/core/image.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/diffusion/classifier.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
#include "optidiff/diffusion/eval.hpp"
#include "optidiff/diffusion/train.hpp"
#include "tools/optidiff/commands.hpp"

namespace optidiff::cli {
namespace {

void run_train(diffusion::TrainOptions o, const std::string& config_name, const std::string& objective,
               const std::string& data_dir, std::size_t limit, const std::string& json_path) {
  o.config = diffusion::dit_config(config_name);
  o.objective = diffusion::parse_objective(objective);
  o.validate();
  auto train = data::load_fashion_mnist(data::resolve_data_dir(data_dir), data::Split::kTrain);
  if (limit > 0 && limit < train.size()) {  // the first `limit` images (for quick experiments and tests)
    train.images.resize(limit * train.pixels());
    train.labels.resize(limit);
  }
  {
    diffusion::DiT probe(o.config);
    Table t({"config", "objective", "parameters", "tokens", "batch", "lr", "budget", "out"}, "diffusion train");
    std::string budget = o.steps > 0 ? std::to_string(o.steps) + " steps" : "";
    if (o.minutes > 0) budget += std::string(budget.empty() ? "" : ", ") + format_double(o.minutes, 4) + " min";
    t.add_row({o.config.name, objective, std::to_string(probe->parameter_count()), std::to_string(o.config.tokens()),
               std::to_string(o.batch), format_double(o.lr, 3), budget, o.out_dir});
    t.print(std::cout);
  }
  const auto r = diffusion::train_dit(train, o);
  Table t({"steps", "resumed from", "minutes", "loss (last 100)", "model"});
  t.add_row({std::to_string(r.steps), r.resumed_from < 0 ? "-" : std::to_string(r.resumed_from),
             format_fixed(r.seconds / 60, 2), format_double(r.loss, 4), r.model_path});
  t.print(std::cout);
  if (!json_path.empty())
    write_json_file(json_path, {{"steps", r.steps},
                                {"resumed_from", r.resumed_from},
                                {"seconds", r.seconds},
                                {"loss", r.loss},
                                {"model", r.model_path},
                                {"state", r.state_path},
                                {"config", diffusion::to_json(o.config)},
                                {"objective", objective}});
}

std::vector<double> parse_cfg_list(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double w = std::strtod(item.c_str(), &end);
    if (item.empty() || end == item.c_str() || *end != '\0')
      throw_invalid("--cfg is '" + text + "'; expected comma-separated numbers such as 1,1.5,2,3");
    diffusion::check_guidance_scale(w, "--cfg");
    out.push_back(w);
  }
  if (out.empty()) throw_invalid("--cfg is empty; expected comma-separated numbers such as 1,1.5,2,3");
  return out;
}

void run_eval(const std::string& model_path, const std::string& classifier_path, diffusion::EvalOptions o,
              const std::string& cfg_text, const std::string& sampler, const std::string& data_dir,
              const std::string& grid_path, const std::string& json_path) {
  o.cfg = parse_cfg_list(cfg_text);
  o.plan.sampler = diffusion::parse_sampler(sampler);
  o.validate();
  auto model = diffusion::load_denoiser(model_path.empty() ? diffusion::default_model_path() : model_path);
  const std::string cpath = classifier_path.empty() ? diffusion::default_classifier_path() : classifier_path;
  auto classifier = diffusion::load_classifier(cpath);
  const std::string dir = data::resolve_data_dir(data_dir);
  const auto train = data::load_fashion_mnist(dir, data::Split::kTrain);
  const auto test = data::load_fashion_mnist(dir, data::Split::kTest);
  std::cout << "model: " << model->describe() << "\nclassifier: " << cpath << "\n" << o.n << " samples per w, "
            << diffusion::sampler_name(o.plan.sampler) << " " << o.plan.steps << " steps, seed " << o.seed << "\n\n";
  Progress bar("eval", static_cast<std::int64_t>(o.cfg.size()) * o.n);
  const auto r = diffusion::evaluate_samples(*model, classifier, train, test, o,
                                             [&](std::int64_t done, std::int64_t) { bar.update(done); });
  bar.finish();
  Table t({"cfg w", "class accuracy", "confidence", "Frechet distance", "x floor", "NFE", "seconds"},
          "Samples judged by the classifier (floor: " + std::to_string(o.n) + " real train images vs test = " +
              format_double(r.floor, 4) + ")");
  Json rows = Json::array();
  for (const auto& row : r.rows) {
    t.add_row({format_double(row.cfg, 3), format_fixed(100 * row.class_accuracy, 1) + "%",
               format_fixed(row.confidence, 3), format_double(row.frechet_distance, 4),
               format_fixed(row.frechet_distance / r.floor, 2), std::to_string(row.nfe), format_fixed(row.seconds, 1)});
    rows.push_back(diffusion::to_json(row, r.floor));
  }
  t.print(std::cout);
  if (!grid_path.empty()) {
    std::vector<Image> images;
    std::vector<std::string> labels;
    const auto x = r.first_samples.contiguous();
    for (int64_t i = 0; i < x.size(0); ++i) {
      images.push_back(Image::from_gray(x[i].data_ptr<float>(), 28, 28, -1.0f, 1.0f));
      labels.emplace_back(data::fashion_short_names()[i % 10]);
    }
    write_png(grid_path, image_grid(images, {.columns = 10, .labels = labels, .scale = 2}));
    std::cout << "wrote " << grid_path << " (w = " << format_double(o.cfg.back(), 3) << ")\n";
  }
  if (!json_path.empty()) {
    const auto& last = r.rows.back();
    Json j = diffusion::to_json(last, r.floor);  // top level: the last (largest) w
    j["model"] = model->describe();
    j["n"] = o.n;
    j["steps"] = o.plan.steps;
    j["sampler"] = diffusion::sampler_name(o.plan.sampler);
    j["seed"] = o.seed;
    j["floor"] = r.floor;
    j["results"] = rows;
    write_json_file(json_path, j);
  }
}

void run_classifier_train(const diffusion::ClassifierTrainOptions& o, const std::string& out,
                          const std::string& data_dir, const std::string& json_path, const std::string& command) {
  o.validate();
  const std::string dir = data::resolve_data_dir(data_dir);
  const auto train = data::load_fashion_mnist(dir, data::Split::kTrain);
  const auto test = data::load_fashion_mnist(dir, data::Split::kTest);
  diffusion::Classifier model;
  const auto r = diffusion::train_classifier(model, train, test, o);
  if (const auto parent = std::filesystem::path(out).parent_path(); !parent.empty())
    std::filesystem::create_directories(parent);
  diffusion::save_classifier(out, model,
                             {{"command", command}, {"seed", o.seed}, {"epochs", o.epochs},
                              {"test_accuracy", r.test_accuracy}, {"seconds", r.seconds}});
  Table t({"epochs", "test accuracy", "seconds", "out"}, "classifier train");
  t.add_row({std::to_string(r.epochs), format_fixed(100 * r.test_accuracy, 2) + "%", format_fixed(r.seconds, 1), out});
  t.print(std::cout);
  if (!json_path.empty())
    write_json_file(json_path, {{"test_accuracy", r.test_accuracy}, {"epochs", r.epochs}, {"seconds", r.seconds},
                                {"out", out}, {"seed", o.seed}});
}

}  // namespace

void add_diffusion_commands(CLI::App& app) {
  auto* group = app.add_subcommand("diffusion", "Class-conditional DiT: train on Fashion-MNIST, evaluate samples");
  group->require_subcommand(1);

  struct TrainArgs {
    diffusion::TrainOptions options;
    std::string config = "small", objective = "flow", data_dir, json;
    std::size_t limit = 0;
  };
  auto ta = std::make_shared<TrainArgs>();
  ta->options.out_dir = "models/dit-flow-small";
  auto* train = group->add_subcommand(
      "train", "Train (or resume, if --out holds a train_state.ckpt) a DiT; writes OUT/model.ckpt");
  train->add_option("--config", ta->config, "Model size: tiny, small (~1.9M parameters) or base")
      ->capture_default_str();
  train->add_option("--objective", ta->objective, "flow (rectified flow, velocity) or eps (DDPM, noise)")
      ->capture_default_str();
  train->add_option("--steps", ta->options.steps, "Total training steps (0: no limit)")->capture_default_str();
  train->add_option("--minutes", ta->options.minutes, "Total training wall-clock minutes (0: no limit)")
      ->capture_default_str();
  train->add_option("--out", ta->options.out_dir, "Output directory (model.ckpt, train_state.ckpt)")
      ->capture_default_str();
  train->add_option("--batch", ta->options.batch, "Batch size")->capture_default_str();
  train->add_option("--lr", ta->options.lr, "AdamW learning rate after warm-up")->capture_default_str();
  train->add_option("--warmup", ta->options.warmup, "Linear warm-up steps")->capture_default_str();
  train->add_option("--weight-decay", ta->options.weight_decay, "AdamW weight decay")->capture_default_str();
  train->add_option("--ema", ta->options.ema_decay, "EMA decay of the sampled weights")->capture_default_str();
  train->add_option("--label-dropout", ta->options.label_dropout, "Probability of the null label (CFG training)")
      ->capture_default_str();
  train->add_option("--grad-clip", ta->options.grad_clip, "Max gradient norm (0: off)")->capture_default_str();
  train->add_option("--checkpoint-minutes", ta->options.checkpoint_minutes, "Checkpoint period in minutes")
      ->capture_default_str();
  train->add_option("--limit", ta->limit, "Use only the first N training images (0: all 60,000)")
      ->capture_default_str();
  train->add_option("--seed", ta->options.seed, "Seed of initialisation, batch order and noise")
      ->capture_default_str();
  add_data_dir_option(train, ta->data_dir);
  add_json_option(train, ta->json);
  train->callback([ta, train] {
    auto o = ta->options;
    o.command = "optidiff diffusion train --config " + ta->config + " --objective " + ta->objective +
                (o.steps > 0 ? " --steps " + std::to_string(o.steps) : "") +
                (o.minutes > 0 ? " --minutes " + format_double(o.minutes, 6) : "") + " --seed " +
                std::to_string(o.seed) + " --out " + o.out_dir;
    run_train(o, ta->config, ta->objective, ta->data_dir, ta->limit, ta->json);
  });

  struct EvalArgs {
    diffusion::EvalOptions options;
    std::string model, classifier, cfg = "1,1.5,2,3", sampler = "euler", data_dir, grid, json;
  };
  auto ea = std::make_shared<EvalArgs>();
  auto* eval = group->add_subcommand(
      "eval", "Sample n images per guidance scale; class accuracy, confidence and Frechet distance by the classifier");
  eval->add_option("--model", ea->model, "DiT checkpoint (default: the shipped models/dit-flow-small/model.ckpt)");
  eval->add_option("--classifier", ea->classifier,
                   "Classifier checkpoint (default: the shipped models/classifier/classifier.ckpt)");
  eval->add_option("--n", ea->options.n, "Samples per guidance scale (classes balanced)")->capture_default_str();
  eval->add_option("--steps", ea->options.plan.steps, "Sampler steps")->capture_default_str();
  eval->add_option("--sampler", ea->sampler, "ddim, ddpm, euler or heun")->capture_default_str();
  eval->add_option("--eta", ea->options.plan.eta, "DDIM eta")->capture_default_str();
  eval->add_option("--cfg", ea->cfg, "Guidance scales, comma-separated")->capture_default_str();
  eval->add_option("--batch", ea->options.batch, "Images per sampling batch")->capture_default_str();
  eval->add_option("--seed", ea->options.seed, "Seed of the sampling noise and of the floor's real images")
      ->capture_default_str();
  eval->add_option("--grid", ea->grid, "Also write the first 100 samples of the last scale as a PNG grid");
  add_data_dir_option(eval, ea->data_dir);
  add_json_option(eval, ea->json);
  eval->callback([ea] {
    run_eval(ea->model, ea->classifier, ea->options, ea->cfg, ea->sampler, ea->data_dir, ea->grid, ea->json);
  });

  auto* cgroup = app.add_subcommand("classifier", "The CNN that judges generated Fashion-MNIST images");
  cgroup->require_subcommand(1);
  struct ClassifierArgs {
    diffusion::ClassifierTrainOptions options;
    std::string out = "models/classifier/classifier.ckpt", data_dir, json;
  };
  auto ca = std::make_shared<ClassifierArgs>();
  auto* ctrain = cgroup->add_subcommand("train", "Train the evaluation classifier on Fashion-MNIST");
  ctrain->add_option("--epochs", ca->options.epochs, "Epochs")->capture_default_str();
  ctrain->add_option("--batch", ca->options.batch, "Batch size")->capture_default_str();
  ctrain->add_option("--lr", ca->options.lr, "Adam learning rate (cosine-decayed)")->capture_default_str();
  ctrain->add_option("--seed", ca->options.seed, "Seed of initialisation and batch order")->capture_default_str();
  ctrain->add_option("--out", ca->out, "Output checkpoint")->capture_default_str();
  add_data_dir_option(ctrain, ca->data_dir);
  add_json_option(ctrain, ca->json);
  ctrain->callback([ca] {
    const std::string command = "optidiff classifier train --epochs " + std::to_string(ca->options.epochs) +
                                " --seed " + std::to_string(ca->options.seed) + " --out " + ca->out;
    run_classifier_train(ca->options, ca->out, ca->data_dir, ca->json, command);
  });
}

}  // namespace optidiff::cli
