// optidiff serve: the ranking service (optidiff/feedback): the image-steering page and the HTTP
// ask/tell API, on loopback unless --host says otherwise. SIGINT/SIGTERM stop it gracefully:
// requests in flight finish (each commits to the store before it replies), then the process exits
// 0.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "optidiff/core/error.hpp"
#include "optidiff/feedback/server.hpp"
#include "tools/optidiff/commands.hpp"
#if OPTIDIFF_WITH_DIFFUSION
#include "optidiff/feedback/dit_renderer.hpp"
#endif

namespace optidiff::cli {
namespace {

// Self-pipe: the handler only writes a byte (async-signal-safe); a thread reads it and stops the
// server. A handler rather than sigwait because libtorch's and OpenMP's threads exist before this
// command runs and would not have the signals blocked.
int g_stop_pipe[2] = {-1, -1};
extern "C" void on_stop_signal(int) {
  const char byte = 's';
  [[maybe_unused]] const ssize_t n = write(g_stop_pipe[1], &byte, 1);
}

struct ServeArgs {
  feedback::ServerOptions server;
  std::string model;
  bool no_images = false;
  long long max_body = 1 << 20;
};

void run_serve(ServeArgs a) {
  if (a.server.port < 0 || a.server.port > 65535)
    throw_invalid("--port is " + std::to_string(a.server.port) +
                  "; expected 0 (any free port) .. 65535");
  if (a.max_body < 1024)
    throw_invalid("--max-body is " + std::to_string(a.max_body) + "; expected >= 1024 bytes");
  a.server.limits.max_body_bytes = static_cast<std::size_t>(a.max_body);
  if (a.server.limits.max_generating < 1)
    throw_invalid("--max-generating is " + std::to_string(a.server.limits.max_generating) +
                  "; expected >= 1");

  if (pipe(g_stop_pipe) != 0) throw Error(ErrorCode::kUnavailable, "cannot create the stop pipe");
  struct sigaction sa = {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::unique_ptr<feedback::ImageRenderer> renderer;
#if OPTIDIFF_WITH_DIFFUSION
  if (!a.no_images)
    renderer = std::make_unique<feedback::DitRenderer>(
        feedback::DitRendererOptions{.model_path = a.model});
#endif
  feedback::Server server(a.server, renderer.get());
  const int port = server.bind();
  if (a.server.host != "127.0.0.1" && a.server.host != "localhost" && a.server.host != "::1")
    std::cerr << "optidiff serve: warning: listening on " << a.server.host
              << ", not loopback: anyone who can reach this address can create sessions\n";
  std::cout << "optidiff serve: listening on http://" << a.server.host << ":" << port << "/ (store "
            << a.server.db << ", image steering " << (renderer ? "on" : "off") << "); Ctrl-C stops"
            << std::endl;

  std::atomic<bool> done{false};
  std::thread waiter([&] {
    char byte = 0;
    // Returns on SIGINT/SIGTERM, or on the byte written below once run() has returned.
    while (read(g_stop_pipe[0], &byte, 1) < 0 && errno == EINTR) {
    }
    // run() may not have started listening yet when the signal arrives: keep asking until it
    // returns.
    while (!done.load()) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  try {
    server.run();
  } catch (...) {
    done = true;
    on_stop_signal(0);
    waiter.join();
    throw;
  }
  done = true;
  on_stop_signal(0);  // releases the waiter if run() ended for another reason
  waiter.join();
  std::cout << "optidiff serve: stopped; " << server.store().count("sessions") << " sessions, "
            << server.store().count("answers") << " answers in " << a.server.db << std::endl;
}

}  // namespace

void add_serve_commands(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd =
      app.add_subcommand("serve", "Ranking service: image-steering page and HTTP ask/tell API");
  cmd->add_option("--host", a->server.host, "Address to listen on (loopback by default)")
      ->capture_default_str();
  cmd->add_option("--port", a->server.port, "Port (0: any free port, printed)")
      ->capture_default_str();
  cmd->add_option("--db", a->server.db,
                  "SQLite store of sessions, rounds and answers (created if missing)")
      ->capture_default_str();
  cmd->add_option("--web", a->server.web_dir,
                  "Directory of the static page (default: the source tree's web/)");
  cmd->add_option("--model", a->model,
                  "DiT checkpoint for image steering (default: the shipped model)");
  cmd->add_flag("--no-images", a->no_images,
                "Serve the generic ask/tell API only (no model loaded)");
  cmd->add_option("--max-body", a->max_body, "Largest request body in bytes (413 beyond)")
      ->capture_default_str();
  cmd->add_option("--max-m", a->server.limits.max_m, "Most candidates per round, experiments")
      ->capture_default_str();
  cmd->add_option("--max-image-m", a->server.limits.max_image_m, "Most images per round")
      ->capture_default_str();
  cmd->add_option("--max-dim", a->server.limits.max_dim, "Largest experiment dimension")
      ->capture_default_str();
  cmd->add_option("--max-steps", a->server.limits.max_steps, "Most sampler steps per image")
      ->capture_default_str();
  cmd->add_option("--max-generating", a->server.limits.max_generating,
                  "Image requests generating at once (429 beyond)")
      ->capture_default_str();
  cmd->add_option("--http-threads", a->server.threads, "HTTP worker threads")
      ->capture_default_str();
  cmd->add_option("--seed", a->server.seed, "Seed of sessions created without one")
      ->capture_default_str();
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace optidiff::cli
