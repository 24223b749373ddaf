// tools/optidiff/commands.hpp: how command groups plug into the optidiff CLI.
//
// Each group lives in its own file (data_commands.cpp, ...) and exposes two functions:
//   void add_<group>_commands(CLI::App& app);            // registers subcommands and their flags
//   std::vector<TourRow> tour_<group>(const TourContext&);  // its showcase in `optidiff tour`
// main.cpp calls the first, tour.cpp lists the second. Commands throw optidiff::Error on bad input;
// main.cpp turns it into "optidiff: error: ..." and exit status 1 (CLI11 usage errors: exit 2).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace optidiff::cli {

struct TourContext {
  std::string out_dir;   // where the tour writes its images and JSON
  std::string data_dir;  // resolved Fashion-MNIST directory ("" if missing)
  std::uint64_t seed = 0;
};

struct TourRow {
  std::string module;    // "data", "zo", ...
  std::string what;      // what ran
  std::string measured;  // what it measured, human-readable
  double seconds = 0;
};

void add_data_commands(CLI::App& app);
std::vector<TourRow> tour_data(const TourContext& ctx);

// diffusion train | eval, classifier train (diffusion_commands.cpp)
void add_diffusion_commands(CLI::App& app);
// sample (sample_commands.cpp); tour_diffusion: a sample grid and the shipped model's eval numbers
void add_sample_commands(CLI::App& app);
std::vector<TourRow> tour_diffusion(const TourContext& ctx);

// sparse-code (sparse_commands.cpp)
void add_sparse_commands(CLI::App& app);
std::vector<TourRow> tour_sparse(const TourContext& ctx);

// rank minimize | init | ask | tell | bench (zo_commands.cpp, zo_bench.cpp)
void add_zo_commands(CLI::App& app);
std::vector<TourRow> tour_zo(const TourContext& ctx);

// rank rl | rl-eval (rl_commands.cpp): policy search from episode rankings; call after add_zo_commands
void add_rl_commands(CLI::App& app);
std::vector<TourRow> tour_rl(const TourContext& ctx);

// fed train (fed_commands.cpp) and fed bench (fed_bench.cpp)
void add_fed_commands(CLI::App& app);
void add_fed_bench_command(CLI::App* fed);
std::vector<TourRow> tour_fed(const TourContext& ctx);
// 1234567 bytes -> "1.235 MB" (the fed tables)
std::string megabytes(double bytes);

void add_recover_commands(CLI::App& app);
std::vector<TourRow> tour_matrix(const TourContext& ctx);

// serve: the ranking service, image steering and the HTTP ask/tell API (serve_commands.cpp)
void add_serve_commands(CLI::App& app);

void add_tour_command(CLI::App& app);

// Adds the --json FILE option shared by every command that writes a machine-readable result.
CLI::Option* add_json_option(CLI::App* cmd, std::string& path);
// Adds --data-dir (Fashion-MNIST location; else $OPTIDIFF_DATA, else Debian's path).
CLI::Option* add_data_dir_option(CLI::App* cmd, std::string& dir);

}  // namespace optidiff::cli
