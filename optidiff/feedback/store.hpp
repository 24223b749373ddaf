// optidiff/feedback/store.hpp: the ranking service's SQLite store (sessions, rounds, shown
// candidates, answers, optimiser state, best images).
//
// One connection in WAL mode with synchronous=FULL: every write is a transaction that is committed
// (and fsynced) before the HTTP reply is sent, so a crash or restart loses no answer a person was
// told was saved. Readers in other processes (tests, `sqlite3`) see a consistent snapshot while the
// server writes. The connection is guarded by one recursive mutex: SQLite serialises writers
// anyway, and the service's requests are short except image generation, which runs outside any
// transaction.
//   Store store("ranking.db");
//   store.transaction([&] { store.insert_answer(a); store.set_round_status(id, n, "answered"); });
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace optidiff::feedback {

struct SessionRow {
  std::string id;        // 16 hex digits, random
  std::string owner;     // SHA-256 (hex) of the owner's token: the token itself is never stored
  std::string kind;      // "experiment" (generic ask/tell) or "image" (image steering)
  std::string settings;  // JSON: what the session was created with
  std::string state;     // JSON: the optimiser's save(), pending round included
  std::int64_t rounds_answered = 0;
  double created = 0, updated = 0;  // seconds since the epoch
};

struct RoundRow {
  std::string session;
  std::int64_t number = 0;      // 1, 2, ... per session
  std::uint64_t opt_round = 0;  // the optimiser's round id (zo::Round::id)
  std::string kind;             // "gradient", "line_search", ...
  std::string want;             // "top_k" or "values"
  int k = 0, m = 0, dim = 0;
  bool accepts_edges = false;
  std::string display;         // JSON array: display position -> candidate id
  std::string marks;           // JSON array per candidate: "", "incumbent" or "best_sample"
  std::vector<double> points;  // dim x m, column-major (candidate after candidate)
  std::string status;          // "open" or "answered"
  double created = 0;
};

struct AnswerRow {
  std::string session;
  std::int64_t round = 0;
  std::string feedback;  // JSON: {"ranking": [...]} or {"edges": ...} or {"values": ...}, in
                         // display ids, plus the candidate ids it maps to
  double answered = 0;
};

struct BestRow {
  std::string session;
  std::int64_t version = 0;      // 0: the start image; +1 each time the incumbent moves
  std::int64_t after_round = 0;  // the round whose answer moved it (0 for the start)
  std::string png;
  double created = 0;
};

class Store {
 public:
  // Opens (creating if needed) the database; throws Error(kUnavailable) naming the path if it
  // cannot.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs f inside BEGIN IMMEDIATE ... COMMIT; rolls back and rethrows if f throws.
  void transaction(const std::function<void()>& f);

  void add_user(const std::string& token_hash, double now);
  bool user_exists(const std::string& token_hash);

  void insert_session(const SessionRow& s);
  std::optional<SessionRow> session(const std::string& id);
  std::vector<SessionRow> sessions_of(const std::string& owner);
  void update_session(const std::string& id, const std::string& state, std::int64_t rounds_answered,
                      double now);

  void insert_round(const RoundRow& r);
  std::optional<RoundRow> round(const std::string& session, std::int64_t number);
  std::optional<RoundRow> open_round(const std::string& session);
  std::vector<RoundRow> rounds(const std::string& session);
  std::int64_t round_count(const std::string& session);
  void set_round_status(const std::string& session, std::int64_t number, const std::string& status);

  void insert_candidate_png(const std::string& session, std::int64_t round, int candidate,
                            const std::string& png);
  std::string candidate_png(const std::string& session, std::int64_t round, int candidate);

  void insert_answer(const AnswerRow& a);
  std::optional<AnswerRow> answer(const std::string& session, std::int64_t round);
  std::vector<AnswerRow> answers(const std::string& session);

  void insert_best(const BestRow& b);
  std::vector<BestRow> bests(const std::string& session);

  // Every row of every table in a canonical text form: tests compare it before and after a rejected
  // request to show the store is unchanged.
  std::string snapshot();
  std::int64_t count(const std::string& table);

  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::recursive_mutex mutex_;
};

double now_seconds();

}  // namespace optidiff::feedback
