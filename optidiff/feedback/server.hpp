// optidiff/feedback/server.hpp: the ranking service over HTTP (cpp-httplib): the JSON API of
// service.hpp under /api and the static page of web/ at /.
//
//   Server server({.host = "127.0.0.1", .port = 0, .db = "ranking.db"}, renderer.get());
//   int port = server.bind();          // 0 picks a free port
//   std::thread t([&] { server.run(); });  ...  server.stop(); t.join();
//
// Routes (token: "Authorization: Bearer TOKEN"; every session route checks that the token owns it):
//   GET  /api/config                       methods, classes, samplers, limits (no token)
//   GET  /api/status                       image requests generating now (no token)
//   POST /api/sessions                     create; without a token, mints one (returned once)
//   GET  /api/sessions                     the caller's sessions
//   GET  /api/sessions/ID                  settings, open round, incumbent or best image
//   POST /api/sessions/ID/ask              the open round (opens one if none)
//   POST /api/sessions/ID/tell             {"round": N, "ranking": [...]} | "edges" | "values"
//   GET  /api/sessions/ID/history          rounds, answers, chosen and best images
//   GET  /api/sessions/ID/export           everything, as one JSON document
// Errors are {"error": {"status": S, "code": "...", "message": "..."}} with a 4xx/5xx status.
// stop() lets requests in flight finish (each has committed before its reply) and then returns from
// run().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "optidiff/feedback/renderer.hpp"
#include "optidiff/feedback/service.hpp"

namespace optidiff::feedback {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 8080;                 // 0: any free port (bind() returns it)
  std::string db = "optidiff-ranking.db";
  std::string web_dir;  // static files; "" = default_web_dir()
  Limits limits;
  int threads = 16;        // HTTP worker threads
  std::uint64_t seed = 0;  // seed of sessions created without one
};

// $OPTIDIFF_WEB if set, else ./web if it holds index.html, else the source tree's web/ (compiled
// in).
std::string default_web_dir();

class Server {
 public:
  Server(ServerOptions options, ImageRenderer* renderer);  // opens the store; throws Error
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int bind();   // binds host:port; returns the port; throws Error(kUnavailable) if it cannot
  void run();   // serves until stop(); bind() first
  void stop();  // thread-safe; idempotent
  Service& service();
  Store& store();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace optidiff::feedback
