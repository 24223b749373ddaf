// optidiff data info | grid | partition: look at Fashion-MNIST and at federated splits of it.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/image.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/data/partition.hpp"
#include "tools/optidiff/commands.hpp"

namespace optidiff::cli {
namespace {

struct SplitStats {
  std::size_t n = 0;
  int rows = 0, cols = 0;
  std::vector<std::size_t> class_counts;
  double mean = 0, std = 0;  // pixel intensity in [0, 1]
};

SplitStats split_stats(const data::Dataset& d) {
  SplitStats s;
  s.n = d.size();
  s.rows = d.rows;
  s.cols = d.cols;
  s.class_counts.assign(data::kFashionClasses, 0);
  for (auto l : d.labels) ++s.class_counts[l];
  double sum = 0, sq = 0;
  for (auto p : d.images) {
    const double v = p / 255.0;
    sum += v;
    sq += v * v;
  }
  const double count = static_cast<double>(d.images.size());
  s.mean = sum / count;
  s.std = std::sqrt(std::max(0.0, sq / count - s.mean * s.mean));
  return s;
}

void run_info(const std::string& data_dir, const std::string& json_path) {
  const std::string dir = data::resolve_data_dir(data_dir);
  Table t({"split", "images", "size", "pixel mean", "pixel std"}, "Fashion-MNIST in " + dir);
  Table classes({"class", "name", "train", "test"});
  Json out = {{"data_dir", dir}};
  std::vector<SplitStats> stats;
  for (auto split : {data::Split::kTrain, data::Split::kTest}) {
    const auto d = data::load_fashion_mnist(dir, split);
    const auto s = split_stats(d);
    t.add_row({std::string(data::split_name(split)), std::to_string(s.n),
               std::to_string(s.rows) + "x" + std::to_string(s.cols), format_fixed(s.mean, 4), format_fixed(s.std, 4)});
    out[std::string(data::split_name(split))] = {{"images", s.n},           {"rows", s.rows},
                                                  {"cols", s.cols},          {"class_counts", s.class_counts},
                                                  {"pixel_mean", s.mean},    {"pixel_std", s.std}};
    stats.push_back(s);
  }
  for (int k = 0; k < data::kFashionClasses; ++k)
    classes.add_row({std::to_string(k), std::string(data::fashion_class_names()[k]),
                     std::to_string(stats[0].class_counts[k]), std::to_string(stats[1].class_counts[k])});
  std::vector<std::string> names(data::fashion_class_names().begin(), data::fashion_class_names().end());
  out["class_names"] = names;
  t.print(std::cout);
  std::cout << "\n";
  classes.print(std::cout);
  if (!json_path.empty()) write_json_file(json_path, out);
}

void run_grid(const std::string& data_dir, const std::string& split_name, int n, int columns, int scale,
              std::uint64_t seed, const std::string& out_path) {
  const auto split = data::parse_split(split_name);
  const auto d = data::load_fashion_mnist(data::resolve_data_dir(data_dir), split);
  if (n < 1 || static_cast<std::size_t>(n) > d.size())
    throw_invalid("--n is " + std::to_string(n) + "; expected 1 <= n <= " + std::to_string(d.size()));
  // A seeded random sample without replacement (partial Fisher-Yates).
  std::vector<std::size_t> idx(d.size());
  std::iota(idx.begin(), idx.end(), 0);
  Rng rng(seed);
  for (int i = 0; i < n; ++i) std::swap(idx[i], idx[i + rng.uniform_int(d.size() - i)]);
  std::vector<Image> images;
  std::vector<std::string> labels;
  for (int i = 0; i < n; ++i) {
    Image img(d.cols, d.rows, 1);
    std::copy(d.image(idx[i]), d.image(idx[i]) + d.pixels(), img.pixels.begin());
    images.push_back(std::move(img));
    labels.emplace_back(data::fashion_short_names()[d.labels[idx[i]]]);
  }
  write_png(out_path, image_grid(images, {.columns = columns, .labels = labels, .scale = scale}));
  std::cout << "wrote " << out_path << ": " << n << " " << split_name << " images\n";
}

data::PartitionSummary run_partition(const std::string& data_dir, const data::PartitionOptions& o,
                                     const std::string& split_name, const std::string& json_path, bool print) {
  const auto d = data::load_fashion_mnist(data::resolve_data_dir(data_dir), data::parse_split(split_name));
  const auto p = data::make_partition(d.labels, data::kFashionClasses, o);
  const auto s = data::summarize(p, d.labels, data::kFashionClasses);
  if (print) {
    const auto [mn, mx] = std::minmax_element(s.samples.begin(), s.samples.end());
    Table t({"scheme", "clients", "samples", "min", "mean", "max", "empty", "mean TV"},
            "Partition of Fashion-MNIST " + split_name);
    t.add_row({std::string(data::partition_scheme_name(o.scheme)), std::to_string(o.clients), std::to_string(d.size()),
               std::to_string(*mn), format_fixed(double(d.size()) / o.clients, 1), std::to_string(*mx),
               std::to_string(s.empty_clients), format_fixed(s.mean_tv_distance, 4)});
    t.print(std::cout);
    std::vector<std::string> header = {"client", "samples"};
    for (auto name : data::fashion_short_names()) header.emplace_back(name);
    Table h(header, "\nLabel histogram (first 10 clients)");
    for (int c = 0; c < std::min(o.clients, 10); ++c) {
      std::vector<std::string> row = {std::to_string(c), std::to_string(s.samples[c])};
      for (auto v : s.histogram[c]) row.push_back(std::to_string(v));
      h.add_row(row);
    }
    h.print(std::cout);
  }
  if (!json_path.empty()) {
    Json j = data::to_json(s);
    j["scheme"] = data::partition_scheme_name(o.scheme);
    j["alpha"] = o.alpha;
    j["seed"] = o.seed;
    j["split"] = split_name;
    write_json_file(json_path, j);
  }
  return s;
}

}  // namespace

CLI::Option* add_json_option(CLI::App* cmd, std::string& path) {
  return cmd->add_option("--json", path, "Also write the result as JSON to this file");
}

CLI::Option* add_data_dir_option(CLI::App* cmd, std::string& dir) {
  return cmd->add_option("--data-dir", dir,
                         "Fashion-MNIST directory (default: $OPTIDIFF_DATA, else /usr/share/datasets/fashion-mnist)");
}

void add_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Fashion-MNIST: sizes, image grids, federated partitions");
  data->require_subcommand(1);

  struct Args {
    std::string data_dir, json, grid_split = "test", partition_split = "train", out = "grid.png", scheme = "iid";
    int n = 64, columns = 8, scale = 2;
    std::uint64_t seed = 0;
    data::PartitionOptions partition;
  };
  auto args = std::make_shared<Args>();

  auto* info = data->add_subcommand("info", "Sizes, class counts and pixel mean/std of both splits");
  add_data_dir_option(info, args->data_dir);
  add_json_option(info, args->json);
  info->callback([args] { run_info(args->data_dir, args->json); });

  auto* grid = data->add_subcommand("grid", "Write a labelled grid of real images as PNG");
  add_data_dir_option(grid, args->data_dir);
  grid->add_option("--split", args->grid_split, "train or test")->capture_default_str();
  grid->add_option("--n", args->n, "Number of images")->capture_default_str();
  grid->add_option("--columns", args->columns, "Images per row")->capture_default_str();
  grid->add_option("--scale", args->scale, "Integer upscaling")->capture_default_str();
  grid->add_option("--seed", args->seed, "Which images (seeded sample)")->capture_default_str();
  grid->add_option("--out", args->out, "Output PNG")->capture_default_str();
  grid->callback([args] {
    run_grid(args->data_dir, args->grid_split, args->n, args->columns, args->scale, args->seed, args->out);
  });

  auto* part = data->add_subcommand("partition", "Split the training set across federated clients");
  add_data_dir_option(part, args->data_dir);
  add_json_option(part, args->json);
  part->add_option("--clients", args->partition.clients, "Number of clients")->capture_default_str();
  part->add_option("--scheme", args->scheme, "iid, dirichlet or shards")->capture_default_str();
  part->add_option("--alpha", args->partition.alpha, "Dirichlet concentration (> 0)")->capture_default_str();
  part->add_option("--shards-per-client", args->partition.shards_per_client, "Shards per client")
      ->capture_default_str();
  part->add_option("--split", args->partition_split, "train or test")->capture_default_str();
  part->add_option("--seed", args->partition.seed, "Random seed")->capture_default_str();
  part->callback([args] {
    args->partition.scheme = data::parse_partition_scheme(args->scheme);
    run_partition(args->data_dir, args->partition, args->partition_split, args->json, true);
  });
}

std::vector<TourRow> tour_data(const TourContext& ctx) {
  std::vector<TourRow> rows;
  Stopwatch sw;
  const auto test = data::load_fashion_mnist(ctx.data_dir, data::Split::kTest);
  const auto s = split_stats(test);
  rows.push_back({"data", "read Fashion-MNIST test split (IDX, gzip)",
                  std::to_string(s.n) + " images, pixel mean " + format_fixed(s.mean, 3), sw.seconds()});
  sw.restart();
  const std::string grid = (std::filesystem::path(ctx.out_dir) / "data_grid.png").string();
  run_grid(ctx.data_dir, "test", 32, 8, 2, ctx.seed, grid);
  rows.push_back({"data", "labelled image grid", grid, sw.seconds()});
  for (double alpha : {0.1, 10.0}) {
    sw.restart();
    data::PartitionOptions o{.scheme = data::PartitionScheme::kDirichlet, .clients = 100, .alpha = alpha, .seed = ctx.seed};
    const auto ps = run_partition(ctx.data_dir, o, "train", "", false);
    rows.push_back({"data", "Dirichlet(" + format_double(alpha, 2) + ") split, 100 clients",
                    "mean TV from global labels " + format_fixed(ps.mean_tv_distance, 3), sw.seconds()});
  }
  return rows;
}

}  // namespace optidiff::cli
