// tests/feedback/http_fixture.hpp: a ranking server on a free loopback port in this process, and a
// cpp-httplib client that talks real HTTP to it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "optidiff/core/json.hpp"
#include "optidiff/feedback/server.hpp"

// After Eigen (via server.hpp): httplib.h pulls in <resolv.h>, whose `_res` macro breaks Eigen's
// headers.
#include <httplib.h>

namespace optidiff::feedback::testing {

struct Reply {
  int status = 0;
  Json body;
};

class RunningServer {
 public:
  RunningServer(const std::string& db, ImageRenderer* renderer, Limits limits = {}) {
    ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.db = db;
    o.limits = limits;
    o.threads = 24;
    server_ = std::make_unique<Server>(o, renderer);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
    // Wait until the listener accepts.
    httplib::Client c("127.0.0.1", port_);
    for (int i = 0; i < 500 && !c.Get("/api/status"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  Server& server() { return *server_; }
  std::string snapshot() { return server_->store().snapshot(); }

  Reply request(const std::string& method, const std::string& path, const std::string& token = "",
                const std::string& body = "") const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    httplib::Result r = method == "GET"    ? c.Get(path.c_str(), h)
                        : method == "POST" ? c.Post(path.c_str(), h, body, "application/json")
                                           : c.Delete(path.c_str(), h);
    Reply out;
    if (!r) {
      ADD_FAILURE() << method << " " << path << ": no reply (" << httplib::to_string(r.error())
                    << ")";
      return out;
    }
    out.status = r->status;
    try {
      out.body = Json::parse(r->body);
    } catch (const std::exception&) {
      ADD_FAILURE() << method << " " << path << ": reply is not JSON: " << r->body.substr(0, 200);
    }
    return out;
  }
  Reply post(const std::string& path, const std::string& token, const Json& body) const {
    return request("POST", path, token, body.dump());
  }
  Reply get(const std::string& path, const std::string& token = "") const {
    return request("GET", path, token);
  }

 private:
  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::thread thread_;
};

// Expects an error reply with this status and a message containing `fragment`.
inline void expect_error(const Reply& r, int status, const std::string& fragment) {
  EXPECT_EQ(r.status, status) << r.body.dump();
  ASSERT_TRUE(r.body.contains("error")) << r.body.dump();
  EXPECT_EQ(r.body["error"]["status"], status);
  const std::string message = r.body["error"]["message"].get<std::string>();
  EXPECT_NE(message.find(fragment), std::string::npos) << message;
}

}  // namespace optidiff::feedback::testing
