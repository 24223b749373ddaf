// bench/feedback/load_bench.cpp: the ranking service under concurrent raters (issue 11).
//
// A server runs in this process on a free loopback port with a fresh SQLite store (WAL,
// synchronous=FULL: every answer is fsynced before its reply). R simulated raters (threads, one
// keep-alive HTTP connection each) answer ask/tell rounds of ZO-RankSGD experiments for a fixed
// time. Raters work in pairs on one session, so the two race for every round: one answer is
// accepted (200) and the other refused (409). Afterwards every accepted answer must be in the store
// exactly once, with the ranking its rater sent, and the store must hold no answer nobody was told
// was accepted. Usage: load_bench [--raters 8] [--seconds 20] [--dim 10] [--m 8] [--k 3] [--json
// out.json]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/feedback/server.hpp"

// After Eigen (via server.hpp): httplib.h pulls in <resolv.h>, whose `_res` macro breaks Eigen's
// headers.
#include <httplib.h>

using namespace optidiff;
using Clock = std::chrono::steady_clock;

namespace {

struct Accepted {
  std::string session;
  std::int64_t round;
  Json ranking;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i =
      std::min(v.size() - 1, static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  int raters = 8, dim = 10, m = 8, k = 3;
  double seconds = 20;
  std::string json_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], v = argv[i + 1];
    if (key == "--raters")
      raters = std::stoi(v);
    else if (key == "--seconds")
      seconds = std::stod(v);
    else if (key == "--dim")
      dim = std::stoi(v);
    else if (key == "--m")
      m = std::stoi(v);
    else if (key == "--k")
      k = std::stoi(v);
    else if (key == "--json")
      json_path = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  if (raters < 2 || raters % 2) {
    std::fprintf(stderr, "--raters must be even and >= 2 (raters work in pairs)\n");
    return 2;
  }
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("optidiff-load-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  feedback::ServerOptions options;
  options.port = 0;
  options.db = (dir / "load.db").string();
  options.threads = raters + 4;
  feedback::Server server(options, nullptr);
  const int port = server.bind();
  std::thread serving([&] { server.run(); });

  // One session per pair of raters, created over HTTP like any client would.
  std::vector<std::pair<std::string, std::string>> sessions;  // (token, id)
  {
    httplib::Client c("127.0.0.1", port);
    for (int s = 0; s < raters / 2; ++s) {
      auto r =
          c.Post("/api/sessions",
                 Json{{"dim", dim}, {"method", "ranksgd"}, {"m", m}, {"k", k}, {"seed", s}}.dump(),
                 "application/json");
      if (!r || r->status != 200) {
        std::fprintf(stderr, "cannot create a session\n");
        return 1;
      }
      const Json j = Json::parse(r->body);
      sessions.emplace_back(j["token"], j["session"]["id"]);
    }
  }

  std::mutex mu;
  std::vector<double> ask_ms, tell_ms;
  std::vector<Accepted> accepted;
  std::atomic<long> n_ok{0}, n_conflict{0}, n_error{0}, n_requests{0};
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < raters; ++t) {
    threads.emplace_back([&, t] {
      const auto& [token, id] = sessions[static_cast<std::size_t>(t / 2)];
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
      Rng rng(1000 + static_cast<std::uint64_t>(t));
      std::vector<double> my_ask, my_tell;
      std::vector<Accepted> mine;
      while (Clock::now() < deadline) {
        auto t0 = Clock::now();
        auto a = c.Post(("/api/sessions/" + id + "/ask").c_str(), auth, "", "application/json");
        my_ask.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        ++n_requests;
        if (!a || a->status != 200) {
          ++n_error;
          continue;
        }
        const Json round = Json::parse(a->body)["round"];
        // A noisy rater: ranks f(x) = |x - 1|^2 plus its own noise, so the two raters of a pair
        // disagree.
        std::vector<std::pair<double, int>> f;
        for (int i = 0; i < m; ++i) {
          double v = 0;
          for (double x : round["points"][static_cast<std::size_t>(i)].get<std::vector<double>>())
            v += (x - 1) * (x - 1);
          f.emplace_back(v + 0.01 * rng.normal(), i);
        }
        std::sort(f.begin(), f.end());
        Json ranking = Json::array();
        for (int i = 0; i < k; ++i) ranking.push_back(f[static_cast<std::size_t>(i)].second);
        t0 = Clock::now();
        auto r = c.Post(("/api/sessions/" + id + "/tell").c_str(), auth,
                        Json{{"round", round["round"]}, {"ranking", ranking}}.dump(),
                        "application/json");
        my_tell.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        ++n_requests;
        if (r && r->status == 200) {
          ++n_ok;
          mine.push_back({id, round["round"].get<std::int64_t>(), ranking});
        } else if (r && r->status == 409) {
          ++n_conflict;
        } else {
          ++n_error;
        }
      }
      std::lock_guard lock(mu);
      ask_ms.insert(ask_ms.end(), my_ask.begin(), my_ask.end());
      tell_ms.insert(tell_ms.end(), my_tell.begin(), my_tell.end());
      accepted.insert(accepted.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  // Every accepted answer is in the store exactly once, with its ranking; nothing else is.
  feedback::Store& store = server.store();
  std::map<std::pair<std::string, std::int64_t>, int> seen;
  long missing = 0, wrong = 0, duplicate = 0;
  for (const Accepted& a : accepted) {
    if (++seen[{a.session, a.round}] > 1) ++duplicate;
    const auto row = store.answer(a.session, a.round);
    if (!row)
      ++missing;
    else if (Json::parse(row->feedback)["ranking"] != a.ranking)
      ++wrong;
  }
  long stored = 0, unreported = 0;
  for (const auto& [token, id] : sessions)
    for (const auto& row : store.answers(id)) {
      ++stored;
      if (!seen.count({id, row.round})) ++unreported;
    }
  server.stop();
  serving.join();
  std::filesystem::remove_all(dir);

  const bool exact = missing == 0 && wrong == 0 && duplicate == 0 && unreported == 0 &&
                     stored == static_cast<long>(accepted.size());
  Table t({"raters", "seconds", "requests", "req/s", "answers ok", "409 (lost race)", "errors",
           "ask p50 ms", "ask p99 ms", "tell p50 ms", "tell p99 ms", "store exact"});
  t.add_row({std::to_string(raters), format_fixed(wall, 1), std::to_string(n_requests.load()),
             format_fixed(static_cast<double>(n_requests.load()) / wall, 1),
             std::to_string(n_ok.load()), std::to_string(n_conflict.load()),
             std::to_string(n_error.load()), format_fixed(percentile(ask_ms, 50), 2),
             format_fixed(percentile(ask_ms, 99), 2), format_fixed(percentile(tell_ms, 50), 2),
             format_fixed(percentile(tell_ms, 99), 2), exact ? "yes" : "NO"});
  t.print(std::cout);
  if (!json_path.empty()) {
    Json pct = Json::object();
    for (double p : {50.0, 90.0, 95.0, 99.0, 100.0}) {
      pct["ask_p" + std::to_string(static_cast<int>(p))] = percentile(ask_ms, p);
      pct["tell_p" + std::to_string(static_cast<int>(p))] = percentile(tell_ms, p);
    }
    write_json_file(json_path,
                    {{"raters", raters},
                     {"sessions", raters / 2},
                     {"seconds", wall},
                     {"dim", dim},
                     {"m", m},
                     {"k", k},
                     {"requests", n_requests.load()},
                     {"requests_per_second", static_cast<double>(n_requests.load()) / wall},
                     {"answers_accepted", n_ok.load()},
                     {"answers_refused_409", n_conflict.load()},
                     {"errors", n_error.load()},
                     {"answers_in_store", stored},
                     {"missing", missing},
                     {"wrong_ranking", wrong},
                     {"duplicate", duplicate},
                     {"unreported_in_store", unreported},
                     {"store_exact", exact},
                     {"latency_ms", pct},
                     {"ask_ms", ask_ms},
                     {"tell_ms", tell_ms}});
  }
  return exact && n_error.load() == 0 ? 0 : 1;
}
