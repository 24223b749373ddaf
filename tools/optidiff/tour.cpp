// optidiff tour: a short showcase of every module, ending with a table of what ran and what it measured.
// Each module adds one line to kSteps; the whole tour must stay under 5 minutes on 2 cores.
#include <filesystem>
#include <iostream>

#include "optidiff/core/json.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "tools/optidiff/commands.hpp"

namespace optidiff::cli {
namespace {

struct Step {
  const char* module;
  std::vector<TourRow> (*run)(const TourContext&);
};

// One entry per module, in dependency order.
constexpr Step kSteps[] = {
    {"data", tour_data},
#if OPTIDIFF_WITH_FED
    {"fed", tour_fed},
#endif
#if OPTIDIFF_WITH_DIFFUSION
    {"diffusion", tour_diffusion},
#endif
    {"matrix", tour_matrix},
    {"sparse", tour_sparse},
    {"zo", tour_zo},
    {"rl", tour_rl},
};

}  // namespace

void add_tour_command(CLI::App& app) {
  auto* tour = app.add_subcommand("tour", "Run a short showcase of every module and print what it measured");
  struct Args {
    std::string out_dir = "tour-output", data_dir, json;
    std::uint64_t seed = 0;
  };
  auto args = std::make_shared<Args>();
  tour->add_option("--out-dir", args->out_dir, "Where images and results go")->capture_default_str();
  tour->add_option("--seed", args->seed, "Random seed")->capture_default_str();
  add_data_dir_option(tour, args->data_dir);
  add_json_option(tour, args->json);
  tour->callback([args] {
    std::filesystem::create_directories(args->out_dir);
    TourContext ctx{.out_dir = args->out_dir, .data_dir = data::resolve_data_dir(args->data_dir), .seed = args->seed};
    Stopwatch total;
    std::vector<TourRow> rows;
    for (const auto& step : kSteps) {
      log_info(std::string("tour: ") + step.module);
      auto r = step.run(ctx);
      rows.insert(rows.end(), r.begin(), r.end());
    }
    Table t({"module", "what ran", "measured", "seconds"}, "\noptidiff tour");
    Json j = Json::array();
    for (const auto& r : rows) {
      t.add_row({r.module, r.what, r.measured, format_fixed(r.seconds, 2)});
      j.push_back({{"module", r.module}, {"what", r.what}, {"measured", r.measured}, {"seconds", r.seconds}});
    }
    t.print(std::cout);
    std::cout << "total " << format_fixed(total.seconds(), 1) << " s; outputs in " << args->out_dir << "/\n";
    if (!args->json.empty()) write_json_file(args->json, Json{{"steps", j}, {"seconds", total.seconds()}});
  });
}

}  // namespace optidiff::cli
