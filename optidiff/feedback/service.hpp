// optidiff/feedback/service.hpp: the ranking service's logic, independent of HTTP: users, sessions,
// rounds and answers over the zo module's ask/tell optimisers, persisted in the Store.
//
// Two kinds of session share one life cycle (create -> ask -> tell -> ask ...):
//   experiment  the generic ask/tell API: any dimension, any method of zo/factory.hpp; a round's
//   points
//               are returned as numbers and candidate ids are column indices;
//   image       image steering (ZO-RankSGD with line search, research note section 3.3): the
//   optimised
//               point is the initial noise of the shipped DiT, every candidate is rendered to PNG,
//               and each round is shown in a shuffled order. Display ids are positions on the page;
//               the round stores the display -> candidate map, so answers can never be attributed
//               to the wrong candidate (the official code's defect, note 3.3).
// Every reply is built after the transaction that records it has committed. A request that fails
// (bad input, wrong owner, a round that is not open, a lost race) throws ApiError and writes
// nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "optidiff/core/json.hpp"
#include "optidiff/feedback/renderer.hpp"
#include "optidiff/feedback/store.hpp"

namespace optidiff::feedback {

// An HTTP-shaped error: status (4xx/5xx), a stable code ("invalid_argument", "not_owner", ...) and
// a message that names the input and what was expected.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

struct Limits {
  std::size_t max_body_bytes = 1 << 20;  // request bodies (413 beyond)
  int max_m = 64;                        // candidates per round, experiments
  int max_image_m = 16;    // candidates per round, image sessions (each is a sampler run)
  int max_dim = 10000;     // experiment dimension
  int max_steps = 100;     // sampler steps of image sessions
  int max_generating = 2;  // image requests generating at once (429 beyond)
  int max_sessions_per_user = 1000;
};

class Service {
 public:
  // renderer may be null: image sessions are then refused (501) and the generic API works alone.
  Service(Store& store, ImageRenderer* renderer, Limits limits, std::uint64_t default_seed = 0);

  // POST /api/sessions. token may be empty (a new user token is minted and returned once).
  Json create_session(const std::string& token, const Json& body);
  Json list_sessions(const std::string& token);                       // GET /api/sessions
  Json get_session(const std::string& token, const std::string& id);  // GET /api/sessions/ID
  Json ask(const std::string& token, const std::string& id);          // POST /api/sessions/ID/ask
  Json tell(const std::string& token, const std::string& id, const Json& body);  // POST .../tell
  Json history(const std::string& token, const std::string& id);                 // GET .../history
  Json export_session(const std::string& token, const std::string& id);          // GET .../export
  // Throws the 401/403/404 that any request on the session would get.
  void check_owner(const std::string& token, const std::string& id);
  Json config() const;  // GET /api/config
  Json status() const;  // GET /api/status

  const Limits& limits() const { return limits_; }
  int generating() const { return generating_.load(); }

 private:
  struct Loaded;
  Loaded load_owned(const std::string& token, const std::string& id);
  std::mutex& session_mutex(const std::string& id);
  Json round_json(const SessionRow& s, const RoundRow& r);
  Json session_json(const SessionRow& s);

  Store& store_;
  ImageRenderer* renderer_;
  Limits limits_;
  std::uint64_t default_seed_;
  std::atomic<int> generating_{0};
  std::mutex map_mutex_;
  std::map<std::string, std::unique_ptr<std::mutex>> session_mutexes_;
};

}  // namespace optidiff::feedback
