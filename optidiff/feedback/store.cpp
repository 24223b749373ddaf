#include "optidiff/feedback/store.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <sstream>

#include "optidiff/core/error.hpp"

namespace optidiff::feedback {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS users(
  token_hash TEXT PRIMARY KEY,
  created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL REFERENCES users(token_hash),
  kind TEXT NOT NULL,
  settings TEXT NOT NULL,
  state TEXT NOT NULL,
  rounds_answered INTEGER NOT NULL,
  created REAL NOT NULL,
  updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_owner ON sessions(owner);
CREATE TABLE IF NOT EXISTS rounds(
  session TEXT NOT NULL REFERENCES sessions(id),
  number INTEGER NOT NULL,
  opt_round INTEGER NOT NULL,
  kind TEXT NOT NULL,
  want TEXT NOT NULL,
  k INTEGER NOT NULL, m INTEGER NOT NULL, dim INTEGER NOT NULL,
  accepts_edges INTEGER NOT NULL,
  display TEXT NOT NULL,
  marks TEXT NOT NULL,
  points BLOB NOT NULL,
  status TEXT NOT NULL CHECK(status IN ('open', 'answered')),
  created REAL NOT NULL,
  PRIMARY KEY(session, number));
CREATE TABLE IF NOT EXISTS candidates(
  session TEXT NOT NULL,
  round INTEGER NOT NULL,
  candidate INTEGER NOT NULL,
  png BLOB NOT NULL,
  PRIMARY KEY(session, round, candidate));
CREATE TABLE IF NOT EXISTS answers(
  session TEXT NOT NULL,
  round INTEGER NOT NULL,
  feedback TEXT NOT NULL,
  answered REAL NOT NULL,
  PRIMARY KEY(session, round));
CREATE TABLE IF NOT EXISTS bests(
  session TEXT NOT NULL,
  version INTEGER NOT NULL,
  after_round INTEGER NOT NULL,
  png BLOB NOT NULL,
  created REAL NOT NULL,
  PRIMARY KEY(session, version));
)sql";

// A prepared statement that finalises itself; errors name the database and SQLite's message.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& path, const char* sql) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind_blob(int i, const void* p, std::size_t n) {
    check(sqlite3_bind_blob(s_, i, n ? p : "", static_cast<int>(n), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  Stmt& bind(int i, double v) {
    check(sqlite3_bind_double(s_, i, v));
    return *this;
  }
  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("step");
  }
  void run() {
    while (step()) {
    }
  }
  std::string text(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, c)))
             : std::string();
  }
  std::string blob(int c) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, c)))
             : std::string();
  }
  std::int64_t integer(int c) const { return sqlite3_column_int64(s_, c); }
  double real(int c) const { return sqlite3_column_double(s_, c); }
  int columns() const { return sqlite3_column_count(s_); }
  int type(int c) const { return sqlite3_column_type(s_, c); }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail("bind");
  }
  [[noreturn]] void fail(const char* what) {
    const int code = sqlite3_extended_errcode(db_);
    const std::string msg =
        std::string("database ") + path_ + ": " + what + " failed: " + sqlite3_errmsg(db_);
    // A constraint violation is a request that raced another (two answers to one round): the caller
    // maps kFailedPrecondition to 409.
    if ((code & 0xff) == SQLITE_CONSTRAINT) throw Error(ErrorCode::kFailedPrecondition, msg);
    if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
      throw Error(ErrorCode::kUnavailable, msg);
    throw Error(ErrorCode::kInternal, msg);
  }
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* s_ = nullptr;
};

void exec(sqlite3* db, const std::string& path, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error(ErrorCode::kUnavailable, "database " + path + ": " + msg);
  }
}

SessionRow read_session(const Stmt& q) {
  return {q.text(0), q.text(1),    q.text(2), q.text(3),
          q.text(4), q.integer(5), q.real(6), q.real(7)};
}
constexpr const char* kSessionCols =
    "id, owner, kind, settings, state, rounds_answered, created, updated";

RoundRow read_round(const Stmt& q) {
  RoundRow r;
  r.session = q.text(0);
  r.number = q.integer(1);
  r.opt_round = static_cast<std::uint64_t>(q.integer(2));
  r.kind = q.text(3);
  r.want = q.text(4);
  r.k = static_cast<int>(q.integer(5));
  r.m = static_cast<int>(q.integer(6));
  r.dim = static_cast<int>(q.integer(7));
  r.accepts_edges = q.integer(8) != 0;
  r.display = q.text(9);
  r.marks = q.text(10);
  const std::string b = q.blob(11);
  r.points.resize(b.size() / sizeof(double));
  std::memcpy(r.points.data(), b.data(), r.points.size() * sizeof(double));
  r.status = q.text(12);
  r.created = q.real(13);
  return r;
}
constexpr const char* kRoundCols =
    "session, number, opt_round, kind, want, k, m, dim, accepts_edges, display, marks, points, "
    "status, created";

}  // namespace

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Store::Store(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(ErrorCode::kUnavailable, "--db " + path + ": cannot open the database: " + msg);
  }
  try {
    // WAL: readers never block the writer; FULL: a commit is on disk before the reply that reports
    // it.
    exec(db_, path_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    // Another process (a test reading the store, a second server by mistake) may hold the lock
    // briefly.
    sqlite3_busy_timeout(db_, 5000);
    exec(db_, path_, kSchema);
  } catch (const Error& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(ErrorCode::kUnavailable,
                std::string("--db ") + path + " is not a usable ranking store: " + e.what());
  }
}

Store::~Store() {
  if (db_) sqlite3_close(db_);
}

void Store::transaction(const std::function<void()>& f) {
  std::lock_guard lock(mutex_);
  exec(db_, path_, "BEGIN IMMEDIATE");
  try {
    f();
  } catch (...) {
    exec(db_, path_, "ROLLBACK");
    throw;
  }
  exec(db_, path_, "COMMIT");
}

void Store::add_user(const std::string& token_hash, double now) {
  std::lock_guard lock(mutex_);
  Stmt(db_, path_, "INSERT INTO users(token_hash, created) VALUES(?, ?)")
      .bind(1, token_hash)
      .bind(2, now)
      .run();
}

bool Store::user_exists(const std::string& token_hash) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_, "SELECT 1 FROM users WHERE token_hash = ?");
  q.bind(1, token_hash);
  return q.step();
}

void Store::insert_session(const SessionRow& s) {
  std::lock_guard lock(mutex_);
  Stmt(db_, path_,
       "INSERT INTO sessions(id, owner, kind, settings, state, rounds_answered, created, updated) "
       "VALUES(?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, s.id)
      .bind(2, s.owner)
      .bind(3, s.kind)
      .bind(4, s.settings)
      .bind(5, s.state)
      .bind(6, s.rounds_answered)
      .bind(7, s.created)
      .bind(8, s.updated)
      .run();
}

std::optional<SessionRow> Store::session(const std::string& id) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_,
         (std::string("SELECT ") + kSessionCols + " FROM sessions WHERE id = ?").c_str());
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_session(q);
}

std::vector<SessionRow> Store::sessions_of(const std::string& owner) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_,
         (std::string("SELECT ") + kSessionCols +
          " FROM sessions WHERE owner = ? ORDER BY created, id")
             .c_str());
  q.bind(1, owner);
  std::vector<SessionRow> out;
  while (q.step()) out.push_back(read_session(q));
  return out;
}

void Store::update_session(const std::string& id, const std::string& state,
                           std::int64_t rounds_answered, double now) {
  std::lock_guard lock(mutex_);
  Stmt(db_, path_, "UPDATE sessions SET state = ?, rounds_answered = ?, updated = ? WHERE id = ?")
      .bind(1, state)
      .bind(2, rounds_answered)
      .bind(3, now)
      .bind(4, id)
      .run();
}

void Store::insert_round(const RoundRow& r) {
  std::lock_guard lock(mutex_);
  Stmt(db_, path_,
       "INSERT INTO rounds(session, number, opt_round, kind, want, k, m, dim, accepts_edges, "
       "display, marks, "
       "points, status, created) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, r.session)
      .bind(2, r.number)
      .bind(3, static_cast<std::int64_t>(r.opt_round))
      .bind(4, r.kind)
      .bind(5, r.want)
      .bind(6, std::int64_t{r.k})
      .bind(7, std::int64_t{r.m})
      .bind(8, std::int64_t{r.dim})
      .bind(9, std::int64_t{r.accepts_edges})
      .bind(10, r.display)
      .bind(11, r.marks)
      .bind_blob(12, r.points.data(), r.points.size() * sizeof(double))
      .bind(13, r.status)
      .bind(14, r.created)
      .run();
}

std::optional<RoundRow> Store::round(const std::string& session, std::int64_t number) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_,
         (std::string("SELECT ") + kRoundCols + " FROM rounds WHERE session = ? AND number = ?")
             .c_str());
  q.bind(1, session).bind(2, number);
  if (!q.step()) return std::nullopt;
  return read_round(q);
}

std::optional<RoundRow> Store::open_round(const std::string& session) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_,
         (std::string("SELECT ") + kRoundCols +
          " FROM rounds WHERE session = ? AND status = 'open' ORDER BY number")
             .c_str());
  q.bind(1, session);
  if (!q.step()) return std::nullopt;
  return read_round(q);
}

std::vector<RoundRow> Store::rounds(const std::string& session) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_,
         (std::string("SELECT ") + kRoundCols + " FROM rounds WHERE session = ? ORDER BY number")
             .c_str());
  q.bind(1, session);
  std::vector<RoundRow> out;
  while (q.step()) out.push_back(read_round(q));
  return out;
}

std::int64_t Store::round_count(const std::string& session) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_, "SELECT COUNT(*) FROM rounds WHERE session = ?");
  q.bind(1, session);
  q.step();
  return q.integer(0);
}

void Store::set_round_status(const std::string& session, std::int64_t number,
                             const std::string& status) {
  std::lock_guard lock(mutex_);
  Stmt(db_, path_, "UPDATE rounds SET status = ? WHERE session = ? AND number = ?")
      .bind(1, status)
      .bind(2, session)
      .bind(3, number)
      .run();
}

void Store::insert_candidate_png(const std::string& session, std::int64_t round, int candidate,
                                 const std::string& png) {
  std::lock_guard lock(mutex_);
  Stmt(db_, path_, "INSERT INTO candidates(session, round, candidate, png) VALUES(?, ?, ?, ?)")
      .bind(1, session)
      .bind(2, round)
      .bind(3, std::int64_t{candidate})
      .bind_blob(4, png.data(), png.size())
      .run();
}

std::string Store::candidate_png(const std::string& session, std::int64_t round, int candidate) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_,
         "SELECT png FROM candidates WHERE session = ? AND round = ? AND candidate = ?");
  q.bind(1, session).bind(2, round).bind(3, std::int64_t{candidate});
  if (!q.step()) return {};
  return q.blob(0);
}

void Store::insert_answer(const AnswerRow& a) {
  std::lock_guard lock(mutex_);
  Stmt(db_, path_, "INSERT INTO answers(session, round, feedback, answered) VALUES(?, ?, ?, ?)")
      .bind(1, a.session)
      .bind(2, a.round)
      .bind(3, a.feedback)
      .bind(4, a.answered)
      .run();
}

std::optional<AnswerRow> Store::answer(const std::string& session, std::int64_t round) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_,
         "SELECT session, round, feedback, answered FROM answers WHERE session = ? AND round = ?");
  q.bind(1, session).bind(2, round);
  if (!q.step()) return std::nullopt;
  return AnswerRow{q.text(0), q.integer(1), q.text(2), q.real(3)};
}

std::vector<AnswerRow> Store::answers(const std::string& session) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_,
         "SELECT session, round, feedback, answered FROM answers WHERE session = ? ORDER BY round");
  q.bind(1, session);
  std::vector<AnswerRow> out;
  while (q.step()) out.push_back({q.text(0), q.integer(1), q.text(2), q.real(3)});
  return out;
}

void Store::insert_best(const BestRow& b) {
  std::lock_guard lock(mutex_);
  Stmt(db_, path_,
       "INSERT INTO bests(session, version, after_round, png, created) VALUES(?, ?, ?, ?, ?)")
      .bind(1, b.session)
      .bind(2, b.version)
      .bind(3, b.after_round)
      .bind_blob(4, b.png.data(), b.png.size())
      .bind(5, b.created)
      .run();
}

std::vector<BestRow> Store::bests(const std::string& session) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_,
         "SELECT session, version, after_round, png, created FROM bests WHERE session = ? ORDER BY "
         "version");
  q.bind(1, session);
  std::vector<BestRow> out;
  while (q.step()) out.push_back({q.text(0), q.integer(1), q.integer(2), q.blob(3), q.real(4)});
  return out;
}

std::string Store::snapshot() {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  for (const char* table : {"users", "sessions", "rounds", "candidates", "answers", "bests"}) {
    out << "[" << table << "]\n";
    Stmt q(db_, path_, (std::string("SELECT * FROM ") + table + " ORDER BY rowid").c_str());
    while (q.step()) {
      for (int c = 0; c < q.columns(); ++c) {
        if (c) out << "|";
        if (q.type(c) == SQLITE_BLOB) {
          const std::string b = q.blob(c);
          out << "blob:" << b.size() << ":" << std::hash<std::string>{}(b);
        } else {
          out << q.text(c);
        }
      }
      out << "\n";
    }
  }
  return out.str();
}

std::int64_t Store::count(const std::string& table) {
  std::lock_guard lock(mutex_);
  Stmt q(db_, path_, ("SELECT COUNT(*) FROM " + table).c_str());
  q.step();
  return q.integer(0);
}

}  // namespace optidiff::feedback
