#include "optidiff/feedback/service.hpp"

#include <cctype>
#include <cmath>
#include <set>

#include "optidiff/core/rng.hpp"
#include "optidiff/feedback/png.hpp"
#include "optidiff/feedback/token.hpp"
#include "optidiff/zo/factory.hpp"

namespace optidiff::feedback {

struct Service::Loaded {
  SessionRow session;
  Json settings;
};

namespace {

[[noreturn]] void bad(const std::string& message) {
  throw ApiError(400, "invalid_argument", message);
}

// Maps the library's error codes (core/error.hpp) to HTTP statuses.
[[noreturn]] void rethrow(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
      throw ApiError(400, "invalid_argument", e.what());
    case ErrorCode::kNotFound:
      throw ApiError(404, "not_found", e.what());
    case ErrorCode::kFailedPrecondition:
      throw ApiError(409, "conflict", e.what());
    case ErrorCode::kUnavailable:
      throw ApiError(503, "unavailable", e.what());
    case ErrorCode::kDataLoss:
      throw ApiError(500, "data_loss", e.what());
    case ErrorCode::kInternal:
      break;
  }
  throw ApiError(500, "internal", e.what());
}

// Unknown keys are rejected (a typo such as "stpes" would otherwise be silently ignored).
void check_keys(const Json& body, const std::set<std::string>& allowed, const std::string& what) {
  for (const auto& [key, value] : body.items()) {
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      bad(what + ": unknown key \"" + key + "\"; expected some of " + list);
    }
  }
}

long long get_int(const Json& body, const char* key, long long fallback, long long lo,
                  long long hi) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  const Json& v = body[key];
  if (!v.is_number_integer() && !v.is_number_unsigned())
    bad(std::string("\"") + key + "\" is " + v.dump() + "; expected an integer");
  const long long x =
      v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(hi)
          ? hi + 1
          : v.get<long long>();
  if (x < lo || x > hi)
    bad(std::string("\"") + key + "\" is " + v.dump() + "; expected " + std::to_string(lo) +
        " <= " + key + " <= " + std::to_string(hi));
  return x;
}

std::uint64_t get_seed(const Json& body, std::uint64_t fallback) {
  if (!body.contains("seed") || body["seed"].is_null()) return fallback;
  const Json& v = body["seed"];
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<long long>() >= 0)
    return static_cast<std::uint64_t>(v.get<long long>());
  bad("\"seed\" is " + v.dump() + "; expected an integer >= 0");
}

double get_double(const Json& body, const char* key, double fallback, double lo, double hi) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  const Json& v = body[key];
  if (!v.is_number()) bad(std::string("\"") + key + "\" is " + v.dump() + "; expected a number");
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    bad(std::string("\"") + key + "\" is " + v.dump() + "; expected " + std::to_string(lo) +
        " <= " + key + " <= " + std::to_string(hi));
  return x;
}

std::string get_string(const Json& body, const char* key, const std::string& fallback) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  if (!body[key].is_string())
    bad(std::string("\"") + key + "\" is " + body[key].dump() + "; expected a string");
  return body[key].get<std::string>();
}

bool get_bool(const Json& body, const char* key, bool fallback) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  if (!body[key].is_boolean())
    bad(std::string("\"") + key + "\" is " + body[key].dump() + "; expected true or false");
  return body[key].get<bool>();
}

// Counts image requests in flight; beyond the limit a request is refused at once (429) rather than
// queued behind minutes of sampling.
class GenerationSlot {
 public:
  GenerationSlot(std::atomic<int>& counter, int max) : counter_(counter) {
    if (++counter_ > max) {
      --counter_;
      throw ApiError(429, "busy",
                     "the server is already generating images for " + std::to_string(max) +
                         " requests (the limit); retry in a few seconds");
    }
  }
  ~GenerationSlot() { --counter_; }
  GenerationSlot(const GenerationSlot&) = delete;
  GenerationSlot& operator=(const GenerationSlot&) = delete;

 private:
  std::atomic<int>& counter_;
};

ImageSettings image_settings(const Json& s) {
  return {.label = s.at("label").get<int>(),
          .sampler = s.at("sampler").get<std::string>(),
          .steps = s.at("steps").get<int>(),
          .cfg = s.at("cfg").get<double>(),
          .noise_seed = s.at("seed").get<std::uint64_t>()};
}

Eigen::MatrixXd points_matrix(const RoundRow& r) {
  return Eigen::Map<const Eigen::MatrixXd>(r.points.data(), r.dim, r.m);
}

std::vector<int> display_of(const RoundRow& r) {
  return Json::parse(r.display).get<std::vector<int>>();
}

std::string token_hash_of(const std::string& token) {
  if (token.empty())
    throw ApiError(401, "missing_token",
                   "this request needs the session owner's token: Authorization: Bearer TOKEN");
  if (!is_hex(token, 32))
    throw ApiError(401, "bad_token",
                   "the token is not 32 lowercase hex digits as issued by this server");
  return sha256_hex(token);
}

}  // namespace

Service::Service(Store& store, ImageRenderer* renderer, Limits limits, std::uint64_t default_seed)
    : store_(store), renderer_(renderer), limits_(limits), default_seed_(default_seed) {}

std::mutex& Service::session_mutex(const std::string& id) {
  std::lock_guard lock(map_mutex_);
  auto& p = session_mutexes_[id];
  if (!p) p = std::make_unique<std::mutex>();
  return *p;
}

Service::Loaded Service::load_owned(const std::string& token, const std::string& id) {
  const std::string hash = token_hash_of(token);
  std::optional<SessionRow> s = is_hex(id, 16) ? store_.session(id) : std::nullopt;
  if (!s) throw ApiError(404, "no_session", "session " + id + " does not exist");
  if (!constant_time_equal(s->owner, hash))
    throw ApiError(
        403, "not_owner",
        "session " + id + " belongs to another user; your token cannot read or answer it");
  Loaded l{*s, Json::parse(s->settings)};
  return l;
}

void Service::check_owner(const std::string& token, const std::string& id) {
  load_owned(token, id);
}

Json Service::create_session(const std::string& token, const Json& body) {
  if (!body.is_object()) bad("the body must be a JSON object describing the session");
  std::string owner;
  std::string minted;
  if (token.empty()) {
    minted = new_token();
    owner = sha256_hex(minted);
  } else {
    owner = token_hash_of(token);
    if (!store_.user_exists(owner))
      throw ApiError(401, "unknown_token", "the token is not known to this server");
    if (static_cast<int>(store_.sessions_of(owner).size()) >= limits_.max_sessions_per_user)
      throw ApiError(429, "too_many_sessions",
                     "this user has " + std::to_string(limits_.max_sessions_per_user) +
                         " sessions (the limit)");
  }
  const std::string kind = get_string(body, "kind", "experiment");
  SessionRow row;
  row.id = new_session_id();
  row.owner = owner;
  row.kind = kind;
  row.created = row.updated = now_seconds();
  Json settings;
  std::string start_png;
  try {
    if (kind == "experiment") {
      check_keys(body,
                 {"kind", "dim", "method", "m", "k", "mu", "step", "seed", "x0", "schedule",
                  "adapt_step", "ls_points", "sigma0", "restarts", "diagonal", "maximize", "name"},
                 "experiment");
      if (!body.contains("dim") && !body.contains("x0"))
        bad("\"dim\" is missing; expected the dimension d >= 1");
      zo::MethodSettings ms;
      ms.method = get_string(body, "method", "ranksgd");
      ms.m = static_cast<int>(get_int(body, "m", 0, 0, limits_.max_m));
      ms.k = static_cast<int>(get_int(body, "k", 0, 0, limits_.max_m));
      ms.mu = get_double(body, "mu", 0, 0, 1e12);
      ms.step = get_double(body, "step", 0, 0, 1e12);
      ms.sigma0 = get_double(body, "sigma0", 0, 0, 1e12);
      ms.schedule = zo::parse_schedule(get_string(body, "schedule", "constant"));
      ms.adapt_step = get_bool(body, "adapt_step", false);
      ms.ls_points = static_cast<int>(get_int(body, "ls_points", 0, 0, limits_.max_m));
      ms.restarts = static_cast<int>(get_int(body, "restarts", 0, 0, 100));
      ms.diagonal = get_bool(body, "diagonal", false);
      ms.maximize = get_bool(body, "maximize", false);
      ms.seed = get_seed(body, default_seed_);
      Eigen::VectorXd x0;
      if (body.contains("x0")) {
        const Json& v = body["x0"];
        if (!v.is_array() || v.empty() || static_cast<int>(v.size()) > limits_.max_dim)
          bad("\"x0\" must be an array of 1.." + std::to_string(limits_.max_dim) + " numbers");
        x0.resize(static_cast<Eigen::Index>(v.size()));
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (!v[i].is_number() || !std::isfinite(v[i].get<double>()))
            bad("\"x0\"[" + std::to_string(i) + "] is " + v[i].dump() +
                "; expected a finite number");
          x0[static_cast<Eigen::Index>(i)] = v[i].get<double>();
        }
        if (body.contains("dim") && get_int(body, "dim", 0, 1, limits_.max_dim) != x0.size())
          bad("\"x0\" has " + std::to_string(x0.size()) + " numbers but \"dim\" is " +
              body["dim"].dump());
      } else {
        x0 = Eigen::VectorXd::Zero(get_int(body, "dim", 0, 1, limits_.max_dim));
      }
      // Full-covariance CMA-ES keeps d x d numbers in its state, which is stored on every answer.
      if (ms.method == "cmaes" && !ms.diagonal && x0.size() > 200)
        bad("method cmaes with dim " + std::to_string(x0.size()) +
            " > 200 stores a d x d covariance per answer; pass \"diagonal\": true (sep-CMA-ES)");
      auto opt = zo::make_optimizer(x0, ms);
      row.state = opt->save();
      settings = body;
      settings["method"] = opt->method();
      settings["seed"] = ms.seed;
      settings["dim"] = x0.size();
      settings.erase("x0");
    } else if (kind == "image") {
      check_keys(
          body,
          {"kind", "class", "sampler", "steps", "cfg", "m", "k", "mu", "step", "seed", "name"},
          "image");
      if (!renderer_)
        throw ApiError(
            501, "no_model",
            "this server was built without the diffusion module: image sessions are off");
      const std::vector<std::string> classes = renderer_->class_names();
      int label = -1;
      if (body.contains("class") && !body["class"].is_null()) {
        const Json& c = body["class"];
        if (c.is_number_integer()) {
          label = static_cast<int>(
              get_int(body, "class", -1, -1, static_cast<long long>(classes.size()) - 1));
        } else if (c.is_string()) {
          std::string name = c.get<std::string>();
          for (char& ch : name)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          if (name != "unconditional") {
            label = -2;
            for (std::size_t i = 0; i < classes.size(); ++i)
              if (classes[i] == name) label = static_cast<int>(i);
            if (label == -2) {
              std::string list;
              for (const auto& n : classes) list += n + ", ";
              bad("\"class\" is \"" + name + "\"; expected one of " + list +
                  "unconditional, or an index");
            }
          }
        } else {
          bad("\"class\" is " + c.dump() +
              "; expected a class name, an index or \"unconditional\"");
        }
      }
      const int m = static_cast<int>(get_int(body, "m", 6, 3, limits_.max_image_m));
      const int k = static_cast<int>(get_int(body, "k", std::min(3, m), 1, m));
      ImageSettings is{.label = label,
                       .sampler = get_string(body, "sampler", "euler"),
                       .steps = static_cast<int>(get_int(body, "steps", 20, 1, limits_.max_steps)),
                       .cfg = get_double(body, "cfg", 3.0, 0, 20),
                       .noise_seed = get_seed(body, default_seed_)};
      renderer_->validate(is);
      // Perturbation radius and longest step relative to the N(0, I) latent (norm sqrt(d) = 28):
      // after the projection onto the sphere (dit_renderer.hpp) mu = 0.5 turns the noise by about
      // 27 degrees, a visible variation. Reasoned, not tuned: docs/feedback.md, "Limits and
      // deviations".
      const double mu = get_double(body, "mu", 0.5, 1e-6, 100);
      const double step = get_double(body, "step", 1.0, 1e-6, 1e6);
      // The official human loop (note 3.3): gradient rounds ranked top-k, then a best-of-m line
      // search.
      zo::MethodSettings ms{
          .method = "ranksgd-ls", .m = m, .k = k, .mu = mu, .step = step, .seed = is.noise_seed};
      const int d = renderer_->latent_dim();
      Eigen::VectorXd x0(d);
      Rng latent_rng =
          Rng(is.noise_seed).stream(0x1a7e47);  // the start image: a plain sample of the model
      for (int i = 0; i < d; ++i) x0[i] = latent_rng.normal();
      auto opt = zo::make_optimizer(x0, ms);
      row.state = opt->save();
      settings = {{"class", label < 0 ? std::string("unconditional")
                                      : classes[static_cast<std::size_t>(label)]},
                  {"label", label},
                  {"sampler", is.sampler},
                  {"steps", is.steps},
                  {"cfg", is.cfg},
                  {"m", m},
                  {"k", k},
                  {"mu", mu},
                  {"step", step},
                  {"seed", is.noise_seed},
                  {"method", opt->method()},
                  {"dim", d}};
      if (body.contains("name")) settings["name"] = get_string(body, "name", "");
      GenerationSlot slot(generating_, limits_.max_generating);
      start_png = renderer_->render_png(x0, is).at(0);
    } else {
      bad("\"kind\" is \"" + kind +
          "\"; expected \"experiment\" (generic ask/tell) or \"image\" (image steering)");
    }
  } catch (const Error& e) {
    rethrow(e);
  } catch (const Json::exception& e) {
    bad(std::string("bad session settings: ") + e.what());
  }
  if (body.contains("name") &&
      (!body["name"].is_string() || body["name"].get<std::string>().size() > 200))
    bad("\"name\" must be a string of at most 200 characters");
  row.settings = settings.dump();
  try {
    store_.transaction([&] {
      if (!minted.empty()) store_.add_user(owner, row.created);
      store_.insert_session(row);
      if (kind == "image") store_.insert_best({row.id, 0, 0, start_png, row.created});
    });
  } catch (const Error& e) {
    rethrow(e);
  }
  Json reply = {{"session", session_json(row)}};
  if (!minted.empty()) reply["token"] = minted;
  return reply;
}

Json Service::session_json(const SessionRow& s) {
  Json j = {{"id", s.id},
            {"kind", s.kind},
            {"settings", Json::parse(s.settings)},
            {"rounds_answered", s.rounds_answered},
            {"created", s.created},
            {"updated", s.updated}};
  const std::optional<RoundRow> open = store_.open_round(s.id);
  j["open_round"] = open ? Json(open->number) : Json(nullptr);
  try {
    const auto opt = zo::load_optimizer(s.state);
    j["method"] = opt->method();
    j["dim"] = opt->dim();
    if (const auto stop = opt->stop_reason())
      j["stop"] = {{"code", stop->code}, {"message", stop->message}};
    if (s.kind == "experiment") {
      const Eigen::VectorXd x = opt->incumbent();
      j["incumbent"] = std::vector<double>(x.data(), x.data() + x.size());
    }
  } catch (const Error& e) {
    rethrow(e);
  }
  if (s.kind == "image") {
    const std::vector<BestRow> bests = store_.bests(s.id);
    if (!bests.empty())
      j["best"] = {{"version", bests.back().version},
                   {"after_round", bests.back().after_round},
                   {"png", png_data_url(bests.back().png)}};
  }
  return j;
}

Json Service::list_sessions(const std::string& token) {
  const std::string hash = token_hash_of(token);
  if (!store_.user_exists(hash))
    throw ApiError(401, "unknown_token", "the token is not known to this server");
  Json list = Json::array();
  for (const SessionRow& s : store_.sessions_of(hash))
    list.push_back({{"id", s.id},
                    {"kind", s.kind},
                    {"settings", Json::parse(s.settings)},
                    {"rounds_answered", s.rounds_answered},
                    {"created", s.created},
                    {"updated", s.updated}});
  return {{"sessions", list}};
}

Json Service::get_session(const std::string& token, const std::string& id) {
  const Loaded l = load_owned(token, id);
  return {{"session", session_json(l.session)}};
}

Json Service::round_json(const SessionRow& s, const RoundRow& r) {
  Json j = {{"session", s.id},   {"round", r.number},
            {"kind", r.kind},    {"want", r.want},
            {"k", r.k},          {"m", r.m},
            {"dim", r.dim},      {"accepts_edges", r.accepts_edges},
            {"status", r.status}};
  if (s.kind == "image") {
    const std::vector<int> display = display_of(r);
    const std::vector<std::string> marks = Json::parse(r.marks).get<std::vector<std::string>>();
    Json images = Json::array();
    for (int pos = 0; pos < r.m; ++pos) {
      const int c = display[static_cast<std::size_t>(pos)];
      Json img = {{"id", pos}, {"png", png_data_url(store_.candidate_png(s.id, r.number, c))}};
      img["mark"] = marks[static_cast<std::size_t>(c)].empty()
                        ? Json(nullptr)
                        : Json(marks[static_cast<std::size_t>(c)]);
      images.push_back(img);
    }
    j["images"] = images;
  } else {
    Json points = Json::array();
    for (int c = 0; c < r.m; ++c)
      points.push_back(
          std::vector<double>(r.points.begin() + static_cast<std::ptrdiff_t>(c) * r.dim,
                              r.points.begin() + static_cast<std::ptrdiff_t>(c + 1) * r.dim));
    j["points"] = points;
  }
  return j;
}

Json Service::ask(const std::string& token, const std::string& id) {
  std::lock_guard session_lock(session_mutex(id));
  const Loaded l = load_owned(token, id);
  const SessionRow& s = l.session;
  if (const std::optional<RoundRow> open = store_.open_round(id))
    return {{"round", round_json(s, *open)}};
  if (s.kind == "image" && !renderer_)
    throw ApiError(501, "no_model",
                   "this server was built without the diffusion module: image sessions are off");
  RoundRow row;
  std::vector<std::string> pngs;
  std::string state;
  try {
    auto opt = zo::load_optimizer(s.state);
    if (const auto stop = opt->stop_reason())
      throw ApiError(409, "stopped", "session " + id + " has stopped: " + stop->message);
    const zo::Round r = opt->ask();
    state = opt->save();
    row.session = id;
    row.number = store_.round_count(id) + 1;
    row.opt_round = r.id;
    row.kind = r.kind;
    row.want = r.want == zo::Want::kTopK ? "top_k" : "values";
    row.k = r.k;
    row.m = r.m();
    row.dim = r.dim();
    row.accepts_edges = r.accepts_edges;
    row.points.assign(r.points.data(), r.points.data() + r.points.size());
    row.status = "open";
    row.created = now_seconds();
    std::vector<int> display(static_cast<std::size_t>(row.m));
    for (int i = 0; i < row.m; ++i) display[static_cast<std::size_t>(i)] = i;
    std::vector<std::string> marks(static_cast<std::size_t>(row.m));
    if (s.kind == "image") {
      // Shuffled display (note 3.3): a person should not learn that, say, the incumbent is always
      // last.
      Rng shuffle = Rng(l.settings.at("seed").get<std::uint64_t>())
                        .stream(0xd15b1a, static_cast<std::uint64_t>(row.number));
      for (int i = row.m - 1; i > 0; --i)
        std::swap(display[static_cast<std::size_t>(i)],
                  display[shuffle.uniform_int(static_cast<std::uint64_t>(i) + 1)]);
      // RankSgd's line-search candidates end with the best perturbed sample and the incumbent
      // (ranksgd.hpp); the official page marks them "**" and "*".
      if (r.kind == "line_search" && row.m >= 3) {
        marks[static_cast<std::size_t>(row.m - 1)] = "incumbent";
        marks[static_cast<std::size_t>(row.m - 2)] = "best_sample";
      }
      GenerationSlot slot(generating_, limits_.max_generating);
      pngs = renderer_->render_png(r.points, image_settings(l.settings));
    }
    row.display = Json(display).dump();
    row.marks = Json(marks).dump();
  } catch (const Error& e) {
    rethrow(e);
  }
  try {
    store_.transaction([&] {
      store_.insert_round(row);
      for (std::size_t c = 0; c < pngs.size(); ++c)
        store_.insert_candidate_png(id, row.number, static_cast<int>(c), pngs[c]);
      store_.update_session(id, state, s.rounds_answered, row.created);
    });
  } catch (const Error& e) {
    rethrow(e);
  }
  return {{"round", round_json(s, row)}};
}

Json Service::tell(const std::string& token, const std::string& id, const Json& body) {
  std::lock_guard session_lock(session_mutex(id));
  const Loaded l = load_owned(token, id);
  const SessionRow& s = l.session;
  if (!body.is_object())
    bad("the body must be a JSON object: {\"round\": N, \"ranking\": [ids, best first]}");
  check_keys(body, {"round", "ranking", "edges", "values"}, "tell");
  if (!body.contains("round"))
    bad("\"round\" is missing; expected the number of the round being answered");
  const std::int64_t number = get_int(body, "round", 0, 1, 1LL << 53);
  const int forms = static_cast<int>(body.contains("ranking")) +
                    static_cast<int>(body.contains("edges")) +
                    static_cast<int>(body.contains("values"));
  if (forms != 1)
    bad("give exactly one of \"ranking\" (ids best first), \"edges\" ([better, worse] pairs) or "
        "\"values\"");

  const std::optional<RoundRow> found = store_.round(id, number);
  if (!found || found->status != "open") {
    const std::optional<RoundRow> open = store_.open_round(id);
    const std::string where =
        open ? "; the open round is " + std::to_string(open->number)
             : "; no round is open (POST /api/sessions/" + id + "/ask opens one)";
    if (found)
      throw ApiError(409, "round_not_open",
                     "round " + std::to_string(number) + " was already answered" + where);
    throw ApiError(409, "round_not_open",
                   "round " + std::to_string(number) + " does not exist" + where);
  }
  const RoundRow& r = *found;
  const std::vector<int> display = display_of(r);
  auto id_at = [&](const Json& v, const std::string& what) {
    if (!v.is_number_integer())
      bad(what + " is " + v.dump() + "; expected an id 0.." + std::to_string(r.m - 1));
    const long long x = v.get<long long>();
    if (x < 0 || x >= r.m)
      bad(what + " is " + v.dump() + ", an unknown id; round " + std::to_string(number) +
          " shows ids 0.." + std::to_string(r.m - 1));
    return static_cast<int>(x);
  };
  zo::Feedback feedback;
  Json record = body;
  if (body.contains("ranking")) {
    const Json& v = body["ranking"];
    if (!v.is_array()) bad("\"ranking\" is " + v.dump() + "; expected an array of ids, best first");
    if (r.want != "top_k")
      bad("round " + std::to_string(number) + " asks for \"values\", not a ranking");
    if (static_cast<int>(v.size()) != r.k)
      bad("\"ranking\" has " + std::to_string(v.size()) + " ids; round " + std::to_string(number) +
          " asks for the " + std::to_string(r.k) + " best, best first");
    zo::TopK top;
    std::set<int> seen;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const int shown = id_at(v[i], "\"ranking\"[" + std::to_string(i) + "]");
      if (!seen.insert(shown).second)
        bad("\"ranking\" repeats id " + std::to_string(shown) + "; each id may appear once");
      top.ids.push_back(display[static_cast<std::size_t>(shown)]);
    }
    record["candidates"] = top.ids;
    feedback = top;
  } else if (body.contains("edges")) {
    const Json& v = body["edges"];
    if (!v.is_array() || v.empty())
      bad("\"edges\" must be a non-empty array of [better, worse] id pairs");
    if (!r.accepts_edges)
      bad("round " + std::to_string(number) + " (" + r.kind + ") needs a \"ranking\", not edges");
    zo::Edges edges;
    std::set<std::pair<int, int>> seen;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string what = "\"edges\"[" + std::to_string(i) + "]";
      if (!v[i].is_array() || v[i].size() != 2)
        bad(what + " is " + v[i].dump() + "; expected [better, worse]");
      const int a = id_at(v[i][0], what + "[0]"), b = id_at(v[i][1], what + "[1]");
      if (a == b) bad(what + " compares id " + std::to_string(a) + " with itself");
      if (!seen.insert({a, b}).second) bad(what + " repeats the pair " + v[i].dump());
      edges.better_worse.emplace_back(display[static_cast<std::size_t>(a)],
                                      display[static_cast<std::size_t>(b)]);
    }
    Json cands = Json::array();
    for (auto [a, b] : edges.better_worse) cands.push_back({a, b});
    record["candidates"] = cands;
    feedback = edges;
  } else {
    const Json& v = body["values"];
    if (r.want != "values")
      bad("round " + std::to_string(number) + " asks for a \"ranking\", not values");
    if (!v.is_array() || static_cast<int>(v.size()) != r.m)
      bad("\"values\" must be an array of " + std::to_string(r.m) + " numbers, one per id");
    zo::Values values;
    values.f.assign(static_cast<std::size_t>(r.m), 0.0);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number() || !std::isfinite(v[i].get<double>()))
        bad("\"values\"[" + std::to_string(i) + "] is " + v[i].dump() +
            "; expected a finite number");
      values.f[static_cast<std::size_t>(display[i])] = v[i].get<double>();
    }
    feedback = values;
  }

  std::string state;
  std::optional<BestRow> best;
  try {
    auto opt = zo::load_optimizer(s.state);
    const Eigen::VectorXd before = opt->incumbent();
    opt->tell(r.opt_round,
              feedback);  // validates again (a DAG with a cycle, ...); throws before any write
    state = opt->save();
    const Eigen::VectorXd after = opt->incumbent();
    if (s.kind == "image" && after != before) {
      // A line-search winner is one of the round's candidates: reuse its image rather than sample
      // again.
      const Eigen::MatrixXd pts = points_matrix(r);
      std::string png;
      for (int c = 0; c < r.m && png.empty(); ++c)
        if (pts.col(c) == after) png = store_.candidate_png(id, number, c);
      if (png.empty() && renderer_) {
        GenerationSlot slot(generating_, limits_.max_generating);
        png = renderer_->render_png(after, image_settings(l.settings)).at(0);
      }
      const std::vector<BestRow> bests = store_.bests(id);
      best = BestRow{id, bests.empty() ? 0 : bests.back().version + 1, number, png, now_seconds()};
    }
  } catch (const Error& e) {
    rethrow(e);
  }
  const double now = now_seconds();
  try {
    store_.transaction([&] {
      store_.insert_answer({id, number, record.dump(), now});
      store_.set_round_status(id, number, "answered");
      store_.update_session(id, state, s.rounds_answered + 1, now);
      if (best && !best->png.empty()) store_.insert_best(*best);
    });
  } catch (const Error& e) {
    rethrow(e);
  }
  const std::optional<SessionRow> updated = store_.session(id);
  return {{"accepted", true}, {"round", number}, {"session", session_json(*updated)}};
}

Json Service::history(const std::string& token, const std::string& id) {
  const Loaded l = load_owned(token, id);
  Json rounds = Json::array();
  for (const RoundRow& r : store_.rounds(id)) {
    Json j = {{"round", r.number}, {"kind", r.kind}, {"k", r.k}, {"m", r.m}, {"status", r.status}};
    if (const std::optional<AnswerRow> a = store_.answer(id, r.number)) {
      const Json fb = Json::parse(a->feedback);
      j["answer"] = fb;
      j["answered"] = a->answered;
      if (l.session.kind == "image" && fb.contains("candidates") && fb.contains("ranking") &&
          !fb["candidates"].empty())
        j["chosen_png"] =
            png_data_url(store_.candidate_png(id, r.number, fb["candidates"][0].get<int>()));
    } else {
      j["answer"] = nullptr;
    }
    rounds.push_back(j);
  }
  Json bests = Json::array();
  for (const BestRow& b : store_.bests(id))
    bests.push_back(
        {{"version", b.version}, {"after_round", b.after_round}, {"png", png_data_url(b.png)}});
  return {{"session", id}, {"rounds", rounds}, {"bests", bests}};
}

Json Service::export_session(const std::string& token, const std::string& id) {
  const Loaded l = load_owned(token, id);
  const SessionRow& s = l.session;
  Json rounds = Json::array();
  for (const RoundRow& r : store_.rounds(id)) {
    Json points = Json::array();
    for (int c = 0; c < r.m; ++c)
      points.push_back(
          std::vector<double>(r.points.begin() + static_cast<std::ptrdiff_t>(c) * r.dim,
                              r.points.begin() + static_cast<std::ptrdiff_t>(c + 1) * r.dim));
    Json j = {{"round", r.number},
              {"optimizer_round", r.opt_round},
              {"kind", r.kind},
              {"want", r.want},
              {"k", r.k},
              {"m", r.m},
              {"dim", r.dim},
              {"accepts_edges", r.accepts_edges},
              {"display", Json::parse(r.display)},
              {"marks", Json::parse(r.marks)},
              {"points", points},
              {"status", r.status},
              {"created", r.created}};
    if (s.kind == "image") {
      Json pngs = Json::array();
      for (int c = 0; c < r.m; ++c) pngs.push_back(base64(store_.candidate_png(id, r.number, c)));
      j["candidate_png_base64"] = pngs;
    }
    const std::optional<AnswerRow> a = store_.answer(id, r.number);
    j["answer"] = a ? Json::parse(a->feedback) : Json(nullptr);
    if (a) j["answered"] = a->answered;
    rounds.push_back(j);
  }
  Json bests = Json::array();
  for (const BestRow& b : store_.bests(id))
    bests.push_back({{"version", b.version},
                     {"after_round", b.after_round},
                     {"png_base64", base64(b.png)},
                     {"created", b.created}});
  return {{"format", "optidiff-feedback-session/1"},
          {"session",
           {{"id", s.id},
            {"kind", s.kind},
            {"settings", l.settings},
            {"optimizer_state", Json::parse(s.state)},
            {"rounds_answered", s.rounds_answered},
            {"created", s.created},
            {"updated", s.updated}}},
          {"rounds", rounds},
          {"bests", bests}};
}

Json Service::config() const {
  Json j = {{"image_steering", renderer_ != nullptr},
            {"methods", zo::method_names()},
            {"limits",
             {{"max_body_bytes", limits_.max_body_bytes},
              {"max_m", limits_.max_m},
              {"max_image_m", limits_.max_image_m},
              {"max_dim", limits_.max_dim},
              {"max_steps", limits_.max_steps},
              {"max_generating", limits_.max_generating}}},
            {"image_defaults",
             {{"class", "unconditional"},
              {"sampler", "euler"},
              {"steps", 20},
              {"cfg", 3.0},
              {"m", 6},
              {"k", 3},
              {"mu", 0.5},
              {"step", 1.0}}}};
  if (renderer_) {
    j["classes"] = renderer_->class_names();
    j["samplers"] = renderer_->sampler_names();
  }
  return j;
}

Json Service::status() const {
  return {{"generating", generating_.load()}, {"max_generating", limits_.max_generating}};
}

}  // namespace optidiff::feedback
