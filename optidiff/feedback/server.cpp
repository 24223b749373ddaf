#include "optidiff/feedback/server.hpp"

#include <httplib.h>

#include <cstdlib>
#include <filesystem>

#include "optidiff/core/error.hpp"
#include "optidiff/core/log.hpp"

#ifndef OPTIDIFF_WEB_DIR
#define OPTIDIFF_WEB_DIR "web"
#endif

namespace optidiff::feedback {

std::string default_web_dir() {
  if (const char* env = std::getenv("OPTIDIFF_WEB"); env && *env) return env;
  if (std::filesystem::exists("web/index.html")) return "web";
  return OPTIDIFF_WEB_DIR;
}

namespace {

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
  // Session data is private to its owner: never let a shared cache keep it.
  res.set_header("Cache-Control", "no-store");
}

void send_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message) {
  send_json(res, status, {{"error", {{"status", status}, {"code", code}, {"message", message}}}});
}

std::string bearer(const httplib::Request& req) {
  const std::string h = req.get_header_value("Authorization");
  constexpr std::string_view kPrefix = "Bearer ";
  if (h.size() > kPrefix.size() && h.compare(0, kPrefix.size(), kPrefix) == 0)
    return h.substr(kPrefix.size());
  return h.empty() ? std::string() : std::string("malformed");
}

Json parse_body(const httplib::Request& req) {
  if (req.body.empty()) return Json::object();
  try {
    return Json::parse(req.body);
  } catch (const Json::parse_error& e) {
    throw ApiError(400, "malformed_json",
                   std::string("the request body is not valid JSON: ") + e.what());
  }
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Store store;
  Service service;
  httplib::Server http;
  int port = -1;

  Impl(ServerOptions o, ImageRenderer* renderer)
      : options(std::move(o)),
        store(options.db),
        service(store, renderer, options.limits, options.seed) {}

  // Runs a handler, turning every failure into a JSON error reply.
  template <typename F>
  void guarded(httplib::Response& res, F&& f) {
    try {
      send_json(res, 200, f());
    } catch (const ApiError& e) {
      send_error(res, e.status(), e.code(), e.what());
    } catch (const Error& e) {
      send_error(res, 500, std::string(error_code_name(e.code())), e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, "internal", e.what());
    }
  }

  void routes() {
    const int threads = options.threads;
    http.new_task_queue = [threads] {
      return new httplib::ThreadPool(static_cast<std::size_t>(threads));
    };
    http.set_payload_max_length(options.limits.max_body_bytes);
    http.set_keep_alive_timeout(5);
    // Requests the routes did not answer (unknown paths, a body over the limit: 413 from
    // cpp-httplib) still get a JSON error; replies that already carry a body are left as they are.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413)
        send_error(res, 413, "body_too_large",
                   "the request body exceeds the limit of " +
                       std::to_string(options.limits.max_body_bytes) + " bytes");
      else if (res.status == 404)
        send_error(res, 404, "not_found", "no such resource: " + req.method + " " + req.path);
      else
        send_error(res, res.status, "http_error", "HTTP error " + std::to_string(res.status));
    });
    http.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown error";
          try {
            if (ep) std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          send_error(res, 500, "internal", what);
        });

    http.Get("/api/config", [this](const httplib::Request&, httplib::Response& res) {
      guarded(res, [&] { return service.config(); });
    });
    http.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) {
      guarded(res, [&] { return service.status(); });
    });
    http.Post("/api/sessions", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] { return service.create_session(bearer(req), parse_body(req)); });
    });
    http.Get("/api/sessions", [this](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] { return service.list_sessions(bearer(req)); });
    });
    // Session ids are matched loosely here so that a malformed id gets the service's JSON 404.
    http.Get(R"(/api/sessions/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               guarded(res, [&] { return service.get_session(bearer(req), req.matches[1]); });
             });
    http.Post(R"(/api/sessions/([^/]+)/ask)",
              [this](const httplib::Request& req, httplib::Response& res) {
                guarded(res, [&] { return service.ask(bearer(req), req.matches[1]); });
              });
    http.Post(R"(/api/sessions/([^/]+)/tell)",
              [this](const httplib::Request& req, httplib::Response& res) {
                // The token is checked before the body is parsed: a stranger learns nothing from
                // error messages.
                guarded(res, [&] {
                  service.check_owner(bearer(req), req.matches[1]);
                  return service.tell(bearer(req), req.matches[1], parse_body(req));
                });
              });
    http.Get(R"(/api/sessions/([^/]+)/history)",
             [this](const httplib::Request& req, httplib::Response& res) {
               guarded(res, [&] { return service.history(bearer(req), req.matches[1]); });
             });
    http.Get(R"(/api/sessions/([^/]+)/export)",
             [this](const httplib::Request& req, httplib::Response& res) {
               guarded(res, [&] {
                 res.set_header("Content-Disposition", "attachment; filename=\"session-" +
                                                           req.matches[1].str() + ".json\"");
                 return service.export_session(bearer(req), req.matches[1]);
               });
             });
    const std::string web = options.web_dir.empty() ? default_web_dir() : options.web_dir;
    if (!http.set_mount_point("/", web))
      log_info("optidiff serve: web directory " + web + " not found; serving the API only");
  }
};

Server::Server(ServerOptions options, ImageRenderer* renderer)
    : impl_(std::make_unique<Impl>(std::move(options), renderer)) {
  impl_->routes();
}

Server::~Server() { stop(); }

int Server::bind() {
  const ServerOptions& o = impl_->options;
  if (o.port == 0) {
    impl_->port = impl_->http.bind_to_any_port(o.host);
  } else if (impl_->http.bind_to_port(o.host, o.port)) {
    impl_->port = o.port;
  }
  if (impl_->port <= 0)
    throw Error(ErrorCode::kUnavailable, "cannot listen on " + o.host + ":" +
                                             std::to_string(o.port) +
                                             " (in use, or not a local address)");
  return impl_->port;
}

void Server::run() {
  if (impl_->port <= 0) bind();
  impl_->http.listen_after_bind();
}

void Server::stop() {
  if (impl_ && impl_->http.is_running()) impl_->http.stop();
}

Service& Server::service() { return impl_->service; }
Store& Server::store() { return impl_->store; }

}  // namespace optidiff::feedback
