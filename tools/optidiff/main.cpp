// The optidiff command-line tool: flags in, Options structs to the library, tables and JSON out.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string_view>
#include <thread>

#include "optidiff/core/error.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/threads.hpp"
#if OPTIDIFF_WITH_TORCH
#include "optidiff/core/torch_threads.hpp"
#endif
#include "tools/optidiff/commands.hpp"

#ifndef OPTIDIFF_VERSION
#define OPTIDIFF_VERSION "0.0.0"
#endif
#ifndef OPTIDIFF_GIT_COMMIT
#define OPTIDIFF_GIT_COMMIT "unknown"
#endif

#if OPTIDIFF_WITH_TORCH
namespace {
// The value of --threads N or --threads=N before the command line is parsed; else all cores (the
// flag's default). A malformed value is left to the parser, which reports it.
int threads_flag(int argc, char** argv) {
  int n = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--threads" && i + 1 < argc) n = std::atoi(argv[i + 1]);
    if (a.starts_with("--threads=")) n = std::atoi(argv[i] + 10);
  }
  return n > 0 ? n : int(std::max(1u, std::thread::hardware_concurrency()));
}
}  // namespace
#endif

int main(int argc, char** argv) {
  using namespace optidiff;
#if OPTIDIFF_WITH_TORCH
  // Commands that run libtorch get OpenMP's passive wait policy and as many OpenBLAS threads as
  // --threads (torch_threads.hpp).
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "sample" || a == "diffusion" || a == "classifier" || a == "serve" || a == "fed" ||
        a == "tour") {
      reexec_with_thread_environment(argv, threads_flag(argc, argv));
      break;
    }
  }
#endif
  CLI::App app{
      "optidiff: ranking-based zeroth-order optimisation, communication-efficient federated learning, "
      "parallel and guided diffusion sampling, and structured recovery.",
      "optidiff"};
  app.set_version_flag("--version", std::string("optidiff ") + OPTIDIFF_VERSION + " (commit " +
                                        OPTIDIFF_GIT_COMMIT + ")");
  // Global flags act as they are parsed, so they are in force before any command's callback runs.
#if OPTIDIFF_WITH_TORCH
  install_torch_thread_hook();
  keep_freed_tensor_memory();
#endif
  set_num_threads(0);
  app.add_option_function<int>("--threads", [](int n) { set_num_threads(n); },
                               "Threads for Eigen and libtorch (default 0: all cores)");
  app.add_flag_callback("--quiet,-q", [] {
    set_quiet(true);
    Progress::set_mode(Progress::Mode::kSilent);
  }, "No progress output or log lines on stderr");
  app.require_subcommand(1);
  app.fallthrough();

  cli::add_data_commands(app);
#if OPTIDIFF_WITH_DIFFUSION
  cli::add_diffusion_commands(app);
  cli::add_sample_commands(app);
#endif
#if OPTIDIFF_WITH_FED
  cli::add_fed_commands(app);
#endif
  cli::add_sparse_commands(app);
  cli::add_zo_commands(app);
  cli::add_rl_commands(app);  // adds rank rl and rank rl-eval to the group above
  cli::add_recover_commands(app);
  cli::add_serve_commands(app);
  cli::add_tour_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports an unknown command as a missing subcommand; name the word the user typed instead.
    std::string what = e.what();
    if (const auto rest = app.remaining(true); !rest.empty() && dynamic_cast<const CLI::RequiredError*>(&e))
      what = "unknown command or argument '" + rest.front() + "'";
    std::fprintf(stderr, "optidiff: error: %s\nRun 'optidiff --help' for usage.\n", what.c_str());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "optidiff: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "optidiff: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
