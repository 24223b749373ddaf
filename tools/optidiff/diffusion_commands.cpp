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

// The judge at `path` (default: the shipped one), with a hint when the shipped judge is missing.
diffusion::ImageClassifier load_judge(const std::string& path) {
  const std::string jpath = path.empty() ? diffusion::default_judge_path() : path;
  if (path.empty() && !std::filesystem::exists(jpath))
    throw_not_found(
        "the shipped judge " + jpath +
        " does not exist; make it with `optidiff classifier train --arch resnet --out " + jpath +
        "` or pass --judge");
  return diffusion::load_image_classifier(jpath);
}

std::vector<std::string> eval_cells(const std::string& w, const diffusion::EvalRow& row) {
  return {w,
          format_fixed(100 * row.class_accuracy, 1) + "%",
          format_fixed(row.confidence, 3),
          format_double(row.frechet_distance, 4),
          format_fixed(row.floor > 0 ? row.frechet_distance / row.floor : 0.0, 2),
          format_fixed(row.precision, 3),
          format_fixed(row.recall, 3),
          format_double(row.kid, 3) + " +- " + format_double(row.kid_std, 2),
          format_fixed(100 * row.classifier_accuracy, 1) + "%",
          format_double(row.classifier_frechet_distance, 4),
          row.nfe > 0 ? std::to_string(row.nfe) : "-",
          row.nfe > 0
              ? format_fixed(row.seconds, 1) + " (" + format_fixed(row.metric_seconds, 1) + ")"
              : "-"};
}

void run_eval(const std::string& model_path, const std::string& judge_path,
              const std::string& classifier_path, diffusion::EvalOptions o,
              const std::string& cfg_text, const std::string& sampler, const std::string& precision,
              const std::string& data_dir, const std::string& grid_path,
              const std::string& json_path) {
  o.cfg = parse_cfg_list(cfg_text);
  o.plan.sampler = diffusion::parse_sampler(sampler);
  const auto p = diffusion::parse_precision(precision);
  o.validate();
  auto model =
      diffusion::load_denoiser(model_path.empty() ? diffusion::default_model_path() : model_path);
  model->set_precision(p);
  const std::string jpath = judge_path.empty() ? diffusion::default_judge_path() : judge_path;
  auto judge = load_judge(judge_path);
  const std::string cpath =
      classifier_path.empty() ? diffusion::default_classifier_path() : classifier_path;
  auto classifier = diffusion::load_image_classifier(cpath);
  const std::string dir = data::resolve_data_dir(data_dir);
  const auto train = data::load_fashion_mnist(dir, data::Split::kTrain);
  const auto test = data::load_fashion_mnist(dir, data::Split::kTest);
  std::cout << "model: " << model->describe() << " ("
            << diffusion::precision_name(model->precision()) << ")\njudge (C_B): " << jpath << " ("
            << judge->arch() << ")\nclassifier (C_A): " << cpath << " (" << classifier->arch()
            << ")\n"
            << o.n << " samples per w, " << diffusion::sampler_name(o.plan.sampler) << " "
            << o.plan.steps << " steps, seed " << o.seed << "\n\n";
  Progress bar("eval", static_cast<std::int64_t>(o.cfg.size()) * o.n);
  const auto r =
      diffusion::evaluate_samples(*model, *judge, *classifier, train, test, o,
                                  [&](std::int64_t done, std::int64_t) { bar.update(done); });
  bar.finish();
  Table t({"cfg w", "accuracy", "confidence", "Frechet", "x floor", "precision", "recall", "KID",
           "C_A accuracy", "C_A Frechet", "NFE", "seconds (metrics)"},
          "Samples judged by C_B (" + judge->arch() + "; Frechet floor: " + std::to_string(o.n) +
              " real train images vs test = " + format_double(r.floor, 4) +
              "; precision/recall k = " + std::to_string(o.k) + " against " +
              std::to_string(std::min<std::size_t>(o.n, test.size())) +
              " test images; KID against the test set), C_A beside it");
  t.add_row(eval_cells("real", r.real));
  Json rows = Json::array();
  for (const auto& row : r.rows) {
    t.add_row(eval_cells(format_double(row.cfg, 3), row));
    rows.push_back(diffusion::to_json(row));
  }
  t.print(std::cout);
  std::cout << "real: " << o.n
            << " real training images scored as a sample (what a perfect generator reads); "
            << "setup (test features of both networks, floors, real manifold) "
            << format_fixed(r.setup_seconds, 1) << " s\n";
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
    Json j = diffusion::to_json(r.rows.back());  // top level: the last (largest) w
    j["model"] = model->describe();
    j["precision_mode"] = diffusion::precision_name(model->precision());
    j["judge"] = jpath;
    j["judge_arch"] = judge->arch();
    j["classifier"] = cpath;
    j["classifier_arch"] = classifier->arch();
    j["n"] = o.n;
    j["steps"] = o.plan.steps;
    j["sampler"] = diffusion::sampler_name(o.plan.sampler);
    j["seed"] = o.seed;
    j["k"] = o.k;
    j["kid_subsets"] = o.kid.subsets;
    j["kid_subset_size"] = o.kid.subset_size;
    j["floor"] = r.floor;
    j["classifier_floor"] = r.classifier_floor;
    j["setup_seconds"] = r.setup_seconds;
    j["real"] = diffusion::to_json(r.real);
    j["results"] = rows;
    write_json_file(json_path, j);
  }
}

Json confusion_json(const std::vector<std::vector<std::int64_t>>& m) {
  Json j = Json::array();
  for (const auto& row : m) j.push_back(row);
  return j;
}

void print_confusion(const std::vector<std::vector<std::int64_t>>& m, const std::string& title) {
  std::vector<std::string> header = {"true \\ predicted"};
  for (const auto& name : data::fashion_short_names()) header.emplace_back(name);
  Table t(header, title);
  for (std::size_t i = 0; i < m.size(); ++i) {
    std::vector<std::string> cells = {std::string(data::fashion_short_names()[i])};
    for (auto v : m[i]) cells.push_back(std::to_string(v));
    t.add_row(cells);
  }
  t.print(std::cout);
}

void run_classifier_train(const std::string& arch, const diffusion::ClassifierTrainOptions& o,
                          const std::string& out, const std::string& data_dir, std::size_t limit,
                          const std::string& json_path, const std::string& command) {
  o.validate();
  // The judge's initial weights follow --seed. C_A's come from torch's default-seeded generator, as
  // when models/classifier was made, so that its recorded command still reproduces it.
  if (arch != "cnn") torch::manual_seed(o.seed);
  auto model = diffusion::make_image_classifier(arch);
  const std::string dir = data::resolve_data_dir(data_dir);
  auto train = data::load_fashion_mnist(dir, data::Split::kTrain);
  // The first `limit` images (for quick experiments and tests).
  if (limit > 0 && limit < train.size()) {
    train.images.resize(limit * train.pixels());
    train.labels.resize(limit);
  }
  const auto test = data::load_fashion_mnist(dir, data::Split::kTest);
  const auto r = diffusion::train_classifier(*model, train, test, o);
  const auto confusion = diffusion::confusion_matrix(*model, diffusion::dataset_images(test),
                                                     diffusion::dataset_labels(test));
  if (const auto parent = std::filesystem::path(out).parent_path(); !parent.empty())
    std::filesystem::create_directories(parent);
  diffusion::save_classifier(out, *model,
                             {{"command", command},
                              {"commit", OPTIDIFF_GIT_COMMIT},
                              {"seed", o.seed},
                              {"epochs", o.epochs},
                              {"augment", o.augment},
                              {"test_accuracy", r.test_accuracy},
                              {"epoch_test_accuracy", r.epoch_test_accuracy},
                              {"seconds", r.seconds}});
  print_confusion(confusion, "Test-set confusion (rows: true class)");
  Table t({"arch", "epochs", "test accuracy", "seconds", "out"}, "classifier train");
  t.add_row({model->arch(), std::to_string(r.epochs), format_fixed(100 * r.test_accuracy, 2) + "%",
             format_fixed(r.seconds, 1), out});
  t.print(std::cout);
  if (!json_path.empty())
    write_json_file(json_path, {{"arch", model->arch()},
                                {"test_accuracy", r.test_accuracy},
                                {"epoch_test_accuracy", r.epoch_test_accuracy},
                                {"confusion_matrix", confusion_json(confusion)},
                                {"epochs", r.epochs},
                                {"augment", o.augment},
                                {"seconds", r.seconds},
                                {"out", out},
                                {"seed", o.seed},
                                {"command", command}});
}

void run_classifier_eval(const std::string& path, const std::string& data_dir,
                         const std::string& json_path) {
  auto model = diffusion::load_image_classifier(path);
  const auto test = data::load_fashion_mnist(data::resolve_data_dir(data_dir), data::Split::kTest);
  const auto x = diffusion::dataset_images(test), y = diffusion::dataset_labels(test);
  const auto confusion = diffusion::confusion_matrix(*model, x, y);
  std::int64_t correct = 0, total = 0;
  for (std::size_t i = 0; i < confusion.size(); ++i)
    for (std::size_t j = 0; j < confusion[i].size(); ++j) {
      total += confusion[i][j];
      if (i == j) correct += confusion[i][j];
    }
  const double accuracy = total > 0 ? double(correct) / double(total) : 0.0;
  print_confusion(confusion, "Test-set confusion of " + path + " (rows: true class)");
  Table t({"model", "arch", "test accuracy"}, "classifier eval");
  t.add_row({path, model->arch(), format_fixed(100 * accuracy, 2) + "%"});
  t.print(std::cout);
  if (!json_path.empty())
    write_json_file(json_path, {{"model", path},
                                {"arch", model->arch()},
                                {"test_accuracy", accuracy},
                                {"confusion_matrix", confusion_json(confusion)}});
}

}  // namespace

void add_diffusion_commands(CLI::App& app) {
  auto* group = app.add_subcommand("diffusion", "Class-conditional DiT: train on Fashion-MNIST, evaluate samples");
  group->require_subcommand(1);

  struct TrainArgs {
    diffusion::TrainOptions options;
    std::string config = "small", objective = "flow", precision = "auto", data_dir, json;
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
  train->add_option("--init-from", ta->options.init_from,
                    "Warm start: a model file (e.g. models/dit-flow-small/model.ckpt) whose weights start a new run "
                    "(fresh optimiser, warm-up again); the chain of runs is kept in the model's lineage");
  train->add_option("--precision", ta->precision,
                    "fp32, bf16 (CPU autocast) or auto (bf16 only where the CPU has native bf16)")
      ->capture_default_str();
  add_data_dir_option(train, ta->data_dir);
  add_json_option(train, ta->json);
  train->callback([ta, train] {
    auto o = ta->options;
    o.precision = diffusion::parse_precision(ta->precision);
    o.commit = OPTIDIFF_GIT_COMMIT;
    o.command = "optidiff diffusion train --config " + ta->config + " --objective " + ta->objective +
                (o.steps > 0 ? " --steps " + std::to_string(o.steps) : "") +
                (o.minutes > 0 ? " --minutes " + format_double(o.minutes, 6) : "") + " --seed " +
                std::to_string(o.seed) + (o.init_from.empty() ? "" : " --init-from " + o.init_from) +
                " --precision " + ta->precision + " --out " + o.out_dir;
    run_train(o, ta->config, ta->objective, ta->data_dir, ta->limit, ta->json);
  });

  struct EvalArgs {
    diffusion::EvalOptions options;
    std::string model, judge, classifier, cfg = "1,1.5,2,3", sampler = "euler", precision = "auto",
                                          data_dir, grid, json;
  };
  auto ea = std::make_shared<EvalArgs>();
  auto* eval = group->add_subcommand("eval",
                                     "Sample n images per guidance scale; class accuracy, Frechet "
                                     "distance, precision/recall and KID by the judge");
  eval->add_option("--model", ea->model,
                   "DiT checkpoint (default: the shipped models/dit-flow-small/model.ckpt)");
  eval->add_option(
      "--judge", ea->judge,
      "Judge C_B, the classifier every headline number comes from (default: the shipped "
      "models/judge/judge.ckpt)");
  eval->add_option("--classifier", ea->classifier,
                   "Classifier C_A, reported beside the judge (default: the shipped "
                   "models/classifier/classifier.ckpt)");
  eval->add_option("--n", ea->options.n, "Samples per guidance scale (classes balanced); >= 10")
      ->capture_default_str();
  eval->add_option("--steps", ea->options.plan.steps, "Sampler steps")->capture_default_str();
  eval->add_option("--sampler", ea->sampler, "ddim, ddpm, euler or heun")->capture_default_str();
  eval->add_option("--eta", ea->options.plan.eta, "DDIM eta")->capture_default_str();
  eval->add_option("--cfg", ea->cfg, "Guidance scales, comma-separated")->capture_default_str();
  eval->add_option("--batch", ea->options.batch, "Images per sampling batch")
      ->capture_default_str();
  eval->add_option("--precision", ea->precision,
                   "The DiT's arithmetic: fp32, bf16 (CPU autocast) or auto (bf16 only where the "
                   "CPU has native bf16)")
      ->capture_default_str();
  eval->add_option("--k", ea->options.k, "Nearest neighbours of precision/recall")
      ->capture_default_str();
  eval->add_option("--kid-subsets", ea->options.kid.subsets, "KID: number of random subsets")
      ->capture_default_str();
  eval->add_option("--kid-subset-size", ea->options.kid.subset_size,
                   "KID: subset size (capped at n)")
      ->capture_default_str();
  eval->add_option("--seed", ea->options.seed,
                   "Seed of the sampling noise, of the floor's and precision/recall's real images "
                   "and of KID's subsets")
      ->capture_default_str();
  eval->add_option("--grid", ea->grid,
                   "Also write the first 100 samples of the last scale as a PNG grid");
  add_data_dir_option(eval, ea->data_dir);
  add_json_option(eval, ea->json);
  eval->callback([ea] {
    run_eval(ea->model, ea->judge, ea->classifier, ea->options, ea->cfg, ea->sampler, ea->precision,
             ea->data_dir, ea->grid, ea->json);
  });

  auto* cgroup = app.add_subcommand("classifier",
                                    "The networks that judge generated Fashion-MNIST images: C_A "
                                    "(cnn) and the judge C_B (resnet)");
  cgroup->require_subcommand(1);
  struct ClassifierArgs {
    diffusion::ClassifierTrainOptions options;
    std::string arch = "cnn", augment = "auto", out, data_dir, json;
    std::size_t limit = 0;
  };
  auto ca = std::make_shared<ClassifierArgs>();
  auto* ctrain = cgroup->add_subcommand(
      "train", "Train an evaluation classifier on the Fashion-MNIST training split");
  ctrain
      ->add_option("--arch", ca->arch,
                   "cnn (C_A, cnn32-64-fc128) or resnet (the judge C_B, resnet24-48-96)")
      ->capture_default_str();
  ctrain->add_option("--epochs", ca->options.epochs, "Epochs")->capture_default_str();
  ctrain->add_option("--batch", ca->options.batch, "Batch size")->capture_default_str();
  ctrain->add_option("--lr", ca->options.lr, "Adam learning rate (cosine-decayed)")
      ->capture_default_str();
  ctrain
      ->add_option("--augment", ca->augment,
                   "Random flips and shifts of the training images: on, off or auto (on for "
                   "resnet, off for cnn)")
      ->capture_default_str();
  ctrain->add_option("--shift", ca->options.shift, "Largest random shift in pixels when augmenting")
      ->capture_default_str();
  ctrain
      ->add_option("--seed", ca->options.seed,
                   "Seed of initialisation, batch order and augmentation")
      ->capture_default_str();
  ctrain->add_option("--out", ca->out,
                     "Output checkpoint (default: models/classifier/classifier.ckpt for cnn, "
                     "models/judge/judge.ckpt "
                     "for resnet)");
  ctrain->add_option("--limit", ca->limit, "Use only the first N training images (0: all 60,000)")
      ->capture_default_str();
  add_data_dir_option(ctrain, ca->data_dir);
  add_json_option(ctrain, ca->json);
  ctrain->callback([ca] {
    auto o = ca->options;
    if (ca->arch != "cnn" && ca->arch != "resnet")
      throw_invalid("--arch is '" + ca->arch + "'; expected cnn (C_A) or resnet (the judge C_B)");
    if (ca->augment == "auto")
      o.augment = ca->arch == "resnet";
    else if (ca->augment == "on" || ca->augment == "off")
      o.augment = ca->augment == "on";
    else
      throw_invalid("--augment is '" + ca->augment + "'; expected on, off or auto");
    const std::string out = !ca->out.empty() ? ca->out
                            : ca->arch == "resnet"
                                ? std::string("models/judge/judge.ckpt")
                                : std::string("models/classifier/classifier.ckpt");
    std::string command = "optidiff classifier train";
    if (ca->arch != "cnn") command += " --arch " + ca->arch;
    command += " --epochs " + std::to_string(o.epochs);
    if (ca->augment != "auto") command += " --augment " + ca->augment;
    const diffusion::ClassifierTrainOptions defaults;
    if (o.batch != defaults.batch) command += " --batch " + std::to_string(o.batch);
    if (o.lr != defaults.lr) command += " --lr " + format_double(o.lr, 6);
    if (o.shift != defaults.shift) command += " --shift " + std::to_string(o.shift);
    if (ca->limit > 0) command += " --limit " + std::to_string(ca->limit);
    command += " --seed " + std::to_string(o.seed) + " --out " + out;
    run_classifier_train(ca->arch, o, out, ca->data_dir, ca->limit, ca->json, command);
  });

  struct ClassifierEvalArgs {
    std::string model, data_dir, json;
  };
  auto ce = std::make_shared<ClassifierEvalArgs>();
  auto* ceval = cgroup->add_subcommand(
      "eval", "Test accuracy and confusion matrix of a classifier checkpoint");
  ceval->add_option("--model", ce->model, "Classifier checkpoint (either architecture)")
      ->required();
  add_data_dir_option(ceval, ce->data_dir);
  add_json_option(ceval, ce->json);
  ceval->callback([ce] { run_classifier_eval(ce->model, ce->data_dir, ce->json); });
}

}  // namespace optidiff::cli
