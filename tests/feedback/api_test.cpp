// The generic ask/tell API over real HTTP on loopback: the loop works, state survives restarts, and
// every bad input of issue 11 gets a 4xx JSON error and leaves the store unchanged.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <thread>
#include <vector>

#include "optidiff/feedback/png.hpp"
#include "optidiff/feedback/token.hpp"
#include "tests/feedback/http_fixture.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::feedback {
namespace {

using testing::expect_error;
using testing::Reply;
using testing::RunningServer;

struct Created {
  std::string token, id;
};

Created create(const RunningServer& s, const Json& body, const std::string& token = "") {
  const Reply r = s.post("/api/sessions", token, body);
  EXPECT_EQ(r.status, 200) << r.body.dump();
  return {r.body.value("token", token), r.body["session"]["id"].get<std::string>()};
}

double sphere(const std::vector<double>& x) {
  double f = 0;
  for (double v : x) f += (v - 1) * (v - 1);
  return f;
}

// Ranks a round's points by f (smallest first) and returns the k best ids.
Json rank_points(const Json& round, int k) {
  std::vector<std::pair<double, int>> fs;
  for (std::size_t i = 0; i < round["points"].size(); ++i)
    fs.emplace_back(sphere(round["points"][i].get<std::vector<double>>()), static_cast<int>(i));
  std::sort(fs.begin(), fs.end());
  Json ids = Json::array();
  for (int i = 0; i < k; ++i) ids.push_back(fs[static_cast<std::size_t>(i)].second);
  return ids;
}

TEST(FeedbackTokens, RandomHashAndBase64) {
  const std::string a = new_token(), b = new_token();
  EXPECT_TRUE(is_hex(a, 32));
  EXPECT_NE(a, b);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  for (const std::string& text : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba",
                                                          "foobar", std::string("\0\xff\x10", 3)})
    EXPECT_EQ(unbase64(base64(text)), text);
  EXPECT_THROW(unbase64("Zm9v!A=="), Error);
  EXPECT_THROW(unbase64("Zm9"), Error);
  Image img(3, 2, 1);
  for (std::size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = static_cast<std::uint8_t>(40 * i);
  const Image back = decode_png(encode_png(img));
  EXPECT_EQ(back.width, 3);
  EXPECT_EQ(back.pixels, img.pixels);
  EXPECT_THROW(decode_png("not a png"), Error);
}

TEST(FeedbackApi, RankSgdLoopImprovesAndAskIsIdempotent) {
  optidiff::testing::TempDir tmp;
  RunningServer s(tmp.file("r.db"), nullptr);
  const Created c = create(s, {{"kind", "experiment"},
                               {"dim", 5},
                               {"method", "ranksgd"},
                               {"m", 6},
                               {"k", 3},
                               {"mu", 0.05},
                               {"step", 0.2},
                               {"seed", 3}});
  const std::string base = "/api/sessions/" + c.id;
  double f0 = 0;
  for (int t = 0; t < 40; ++t) {
    const Reply a = s.post(base + "/ask", c.token, Json::object());
    ASSERT_EQ(a.status, 200) << a.body.dump();
    const Json round = a.body["round"];
    if (t == 0) {
      const Reply again = s.post(base + "/ask", c.token, Json::object());
      EXPECT_EQ(again.body["round"], round);  // the same open round, same points
      f0 = sphere(s.get(base, c.token).body["session"]["incumbent"].get<std::vector<double>>());
    }
    EXPECT_EQ(round["round"], t + 1);
    EXPECT_EQ(round["m"], 6);
    const Reply told = s.post(base + "/tell", c.token,
                              {{"round", round["round"]}, {"ranking", rank_points(round, 3)}});
    ASSERT_EQ(told.status, 200) << told.body.dump();
  }
  const Json session = s.get(base, c.token).body["session"];
  EXPECT_EQ(session["rounds_answered"], 40);
  const double f1 = sphere(session["incumbent"].get<std::vector<double>>());
  EXPECT_LT(f1, 0.5 * f0) << "f0 " << f0 << " f1 " << f1;
  const Json history = s.get(base + "/history", c.token).body;
  ASSERT_EQ(history["rounds"].size(), 40u);
  EXPECT_EQ(history["rounds"][0]["answer"]["ranking"].size(), 3u);
  const Json exported = s.get(base + "/export", c.token).body;
  EXPECT_EQ(exported["format"], "optidiff-feedback-session/1");
  EXPECT_EQ(exported["rounds"].size(), 40u);
  EXPECT_EQ(exported["rounds"][39]["points"].size(), 6u);
  EXPECT_EQ(exported["session"]["optimizer_state"]["method"], "ranksgd");
}

TEST(FeedbackApi, EdgesValuesAndLineSearchRounds) {
  optidiff::testing::TempDir tmp;
  RunningServer s(tmp.file("r.db"), nullptr);
  // Edges (a DAG of pairwise judgements) in a ZO-RankSGD gradient round.
  Created c = create(s, {{"dim", 3}, {"method", "ranksgd"}, {"m", 4}, {"k", 2}});
  Json round = s.post("/api/sessions/" + c.id + "/ask", c.token, Json::object()).body["round"];
  EXPECT_TRUE(round["accepts_edges"].get<bool>());
  Reply r = s.post("/api/sessions/" + c.id + "/tell", c.token,
                   {{"round", 1}, {"edges", {{0, 1}, {2, 3}}}});
  EXPECT_EQ(r.status, 200) << r.body.dump();
  // Values for the value-based ZO-SGD baseline.
  c = create(s, {{"dim", 2}, {"method", "zosgd"}, {"m", 3}}, c.token);
  round = s.post("/api/sessions/" + c.id + "/ask", c.token, Json::object()).body["round"];
  EXPECT_EQ(round["want"], "values");
  expect_error(s.post("/api/sessions/" + c.id + "/tell", c.token, {{"round", 1}, {"ranking", {0}}}),
               400, "values");
  r = s.post("/api/sessions/" + c.id + "/tell", c.token,
             {{"round", 1}, {"values", {1.0, 2.0, 0.5}}});
  EXPECT_EQ(r.status, 200) << r.body.dump();
  // ranksgd-ls alternates a top-k gradient round and a best-of-n line-search round.
  c = create(s, {{"dim", 3}, {"method", "ranksgd-ls"}, {"m", 5}, {"k", 2}}, c.token);
  round = s.post("/api/sessions/" + c.id + "/ask", c.token, Json::object()).body["round"];
  EXPECT_EQ(round["kind"], "gradient");
  ASSERT_EQ(s.post("/api/sessions/" + c.id + "/tell", c.token, {{"round", 1}, {"ranking", {4, 0}}})
                .status,
            200);
  round = s.post("/api/sessions/" + c.id + "/ask", c.token, Json::object()).body["round"];
  EXPECT_EQ(round["kind"], "line_search");
  EXPECT_EQ(round["k"], 1);
  EXPECT_EQ(
      s.post("/api/sessions/" + c.id + "/tell", c.token, {{"round", 2}, {"ranking", {1}}}).status,
      200);
  // The three sessions belong to one token and are listed for it only.
  EXPECT_EQ(s.get("/api/sessions", c.token).body["sessions"].size(), 3u);
  const Created other = create(s, {{"dim", 1}});
  EXPECT_EQ(s.get("/api/sessions", other.token).body["sessions"].size(), 1u);
}

TEST(FeedbackApi, StateSurvivesRestartBetweenAskAndTell) {
  optidiff::testing::TempDir tmp;
  Created c;
  Json open_round;
  {
    RunningServer s(tmp.file("r.db"), nullptr);
    c = create(s, {{"dim", 4}, {"method", "cmaes"}, {"m", 6}, {"seed", 9}});
    ASSERT_EQ(s.post("/api/sessions/" + c.id + "/ask", c.token, Json::object()).status, 200);
    ASSERT_EQ(
        s.post("/api/sessions/" + c.id + "/tell", c.token, {{"round", 1}, {"ranking", {5, 4, 3}}})
            .status,
        200);
    open_round = s.post("/api/sessions/" + c.id + "/ask", c.token, Json::object()).body["round"];
  }  // the server stops here; a new one opens the same store
  RunningServer s(tmp.file("r.db"), nullptr);
  const Json again =
      s.post("/api/sessions/" + c.id + "/ask", c.token, Json::object()).body["round"];
  EXPECT_EQ(again, open_round);
  const Reply r =
      s.post("/api/sessions/" + c.id + "/tell", c.token, {{"round", 2}, {"ranking", {0, 1, 2}}});
  EXPECT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["session"]["rounds_answered"], 2);
  EXPECT_EQ(s.get("/api/sessions/" + c.id + "/history", c.token).body["rounds"].size(), 2u);
}

class FeedbackBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    Limits limits;
    limits.max_body_bytes = 4096;
    limits.max_m = 8;
    limits.max_dim = 100;
    server = std::make_unique<RunningServer>(tmp.file("r.db"), nullptr, limits);
    owner = create(*server, {{"dim", 3}, {"method", "ranksgd"}, {"m", 4}, {"k", 3}, {"seed", 1}});
    stranger = create(*server, {{"dim", 3}});
    base = "/api/sessions/" + owner.id;
    // Round 1 answered, round 2 open.
    EXPECT_EQ(server->post(base + "/ask", owner.token, Json::object()).status, 200);
    EXPECT_EQ(
        server->post(base + "/tell", owner.token, {{"round", 1}, {"ranking", {0, 1, 2}}}).status,
        200);
    EXPECT_EQ(server->post(base + "/ask", owner.token, Json::object()).status, 200);
    before = server->snapshot();
  }
  void TearDown() override {
    EXPECT_EQ(server->snapshot(), before) << "a rejected request changed the store";
  }

  optidiff::testing::TempDir tmp;
  std::unique_ptr<RunningServer> server;
  Created owner, stranger;
  std::string base, before;
};

TEST_F(FeedbackBadInput, MalformedJson) {
  expect_error(
      server->request("POST", base + "/tell", owner.token, "{\"round\": 2, \"ranking\": [0, 1"),
      400, "not valid JSON");
  expect_error(server->request("POST", "/api/sessions", "", "{dim: 3}"), 400, "not valid JSON");
  expect_error(server->request("POST", base + "/tell", owner.token, "[1, 2]"), 400, "JSON object");
  expect_error(server->post(base + "/tell", owner.token, {{"round", "2"}, {"ranking", {0, 1, 2}}}),
               400, "expected an integer");
}

TEST_F(FeedbackBadInput, RepeatedOrUnknownIds) {
  expect_error(server->post(base + "/tell", owner.token, {{"round", 2}, {"ranking", {1, 1, 0}}}),
               400, "repeats id 1");
  expect_error(server->post(base + "/tell", owner.token, {{"round", 2}, {"ranking", {0, 1, 7}}}),
               400, "unknown id");
  expect_error(server->post(base + "/tell", owner.token, {{"round", 2}, {"ranking", {-1, 1, 2}}}),
               400, "unknown id");
  expect_error(server->post(base + "/tell", owner.token, {{"round", 2}, {"ranking", {0, 1}}}), 400,
               "asks for the 3 best");
  expect_error(server->post(base + "/tell", owner.token, {{"round", 2}, {"edges", {{0, 0}}}}), 400,
               "with itself");
  expect_error(server->post(base + "/tell", owner.token, {{"round", 2}, {"edges", {{0, 9}}}}), 400,
               "unknown id");
  expect_error(server->post(base + "/tell", owner.token,
                            {{"round", 2}, {"edges", {{0, 1}, {1, 2}, {2, 0}}}}),
               400, "");
  expect_error(server->post(base + "/tell", owner.token, {{"round", 2}}), 400, "exactly one of");
  expect_error(server->post(base + "/tell", owner.token,
                            {{"round", 2}, {"ranking", {0, 1, 2}}, {"extra", 1}}),
               400, "unknown key");
}

TEST_F(FeedbackBadInput, RoundThatIsNotOpen) {
  expect_error(server->post(base + "/tell", owner.token, {{"round", 1}, {"ranking", {0, 1, 2}}}),
               409, "round 1 was already answered; the open round is 2");
  expect_error(server->post(base + "/tell", owner.token, {{"round", 3}, {"ranking", {0, 1, 2}}}),
               409, "round 3 does not exist");
}

TEST_F(FeedbackBadInput, TokenThatIsNotYours) {
  for (const std::string& path :
       std::vector<std::string>{base, base + "/history", base + "/export"})
    expect_error(server->get(path, stranger.token), 403, "belongs to another user");
  expect_error(server->post(base + "/ask", stranger.token, Json::object()), 403,
               "belongs to another user");
  expect_error(server->post(base + "/tell", stranger.token, {{"round", 2}, {"ranking", {0, 1, 2}}}),
               403, "belongs to another user");
  expect_error(server->get(base), 401, "token");
  expect_error(server->post(base + "/tell", "", {{"round", 2}, {"ranking", {0, 1, 2}}}), 401,
               "token");
  expect_error(server->get(base, "not-a-token"), 401, "hex");
  expect_error(server->get(base, new_token()), 403,
               "belongs to another user");  // well-formed, unknown
  expect_error(server->post("/api/sessions", new_token(), {{"dim", 3}}), 401, "not known");
  expect_error(server->get("/api/sessions", new_token()), 401, "not known");
}

TEST_F(FeedbackBadInput, BodyOverTheLimit) {
  Json big = {{"round", 2}, {"ranking", {0, 1, 2}}, {"pad", std::string(5000, 'x')}};
  expect_error(server->request("POST", base + "/tell", owner.token, big.dump()), 413, "4096 bytes");
  expect_error(server->request("POST", "/api/sessions", "", big.dump()), 413, "4096 bytes");
}

TEST_F(FeedbackBadInput, SessionThatDoesNotExist) {
  expect_error(server->get("/api/sessions/0123456789abcdef", owner.token), 404, "does not exist");
  expect_error(server->post("/api/sessions/0123456789abcdef/tell", owner.token,
                            {{"round", 1}, {"ranking", {0}}}),
               404, "does not exist");
  expect_error(server->post("/api/sessions/nothex/ask", owner.token, Json::object()), 404,
               "does not exist");
  expect_error(server->get("/api/nothing"), 404, "no such resource");
}

TEST_F(FeedbackBadInput, LimitsOnMAndDimension) {
  expect_error(server->post("/api/sessions", owner.token, {{"dim", 3}, {"m", 9}}), 400, "m <= 8");
  expect_error(server->post("/api/sessions", owner.token, {{"dim", 101}}), 400, "dim <= 100");
  expect_error(server->post("/api/sessions", owner.token, {{"x0", std::vector<double>(101, 0.0)}}),
               400, "1..100");
  expect_error(server->post("/api/sessions", owner.token, {{"dim", 3}, {"method", "nope"}}), 400,
               "nope");
  expect_error(server->post("/api/sessions", owner.token, {{"dim", 3}, {"m", 4}, {"k", 5}}), 400,
               "k");
  expect_error(server->post("/api/sessions", owner.token, {{"dim", 3}, {"stpes", 5}}), 400,
               "unknown key \"stpes\"");
  expect_error(server->post("/api/sessions", owner.token, {{"kind", "image"}}), 501,
               "without the diffusion");
  expect_error(server->post("/api/sessions", owner.token, {{"kind", "movie"}, {"dim", 3}}), 400,
               "\"kind\"");
}

TEST_F(FeedbackBadInput, TwoAnswersRacingForOneRound) {
  // Sixteen clients answer round 2 at once, each with another valid ranking: exactly one is
  // accepted.
  const std::vector<std::vector<int>> rankings = {{0, 1, 2}, {3, 2, 1}, {1, 0, 3}, {2, 3, 0}};
  std::atomic<int> ok{0}, conflict{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&, i] {
      const Reply r =
          server->post(base + "/tell", owner.token,
                       {{"round", 2}, {"ranking", rankings[static_cast<std::size_t>(i % 4)]}});
      (r.status == 200 ? ok : r.status == 409 ? conflict : other)++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflict.load(), 15);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(server->server().store().answers(owner.id).size(),
            2u);                // round 1 and one answer to round 2
  before = server->snapshot();  // the one accepted answer is the only change (checked in TearDown)
}

// `optidiff serve` as a process: prints its port, answers, stops cleanly on SIGTERM, and a second
// process continues from the same store.
struct ServeProcess {
  pid_t pid = -1;
  int port = 0;
  FILE* out = nullptr;  // kept open: the server prints again when it stops
  explicit ServeProcess(const std::string& db) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid = fork();
    if (pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      execl(OPTIDIFF_BIN, OPTIDIFF_BIN, "serve", "--no-images", "--port", "0", "--db", db.c_str(),
            nullptr);
      _exit(127);
    }
    close(fds[1]);
    out = fdopen(fds[0], "r");
    char line[512];
    if (fgets(line, sizeof line, out)) {
      const std::string l = line;
      const auto at = l.find("127.0.0.1:");
      if (at != std::string::npos) port = std::stoi(l.substr(at + 10));
    }
  }
  int stop() {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    fclose(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

TEST(FeedbackServe, SigtermStopsGracefullyAndNothingIsLost) {
  optidiff::testing::TempDir tmp;
  const std::string db = tmp.file("serve.db");
  ServeProcess p(db);
  ASSERT_GT(p.port, 0);
  httplib::Client c("127.0.0.1", p.port);
  auto r = c.Post("/api/sessions", R"({"dim": 2, "m": 3, "k": 1})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const Json created = Json::parse(r->body);
  const std::string token = created["token"], id = created["session"]["id"];
  const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  ASSERT_EQ(c.Post(("/api/sessions/" + id + "/ask").c_str(), auth, "", "application/json")->status,
            200);
  ASSERT_EQ(c.Post(("/api/sessions/" + id + "/tell").c_str(), auth,
                   R"({"round": 1, "ranking": [2]})", "application/json")
                ->status,
            200);
  EXPECT_EQ(p.stop(), 0);

  ServeProcess again(db);
  ASSERT_GT(again.port, 0);
  httplib::Client c2("127.0.0.1", again.port);
  r = c2.Get(("/api/sessions/" + id).c_str(), auth);
  ASSERT_TRUE(r);
  EXPECT_EQ(Json::parse(r->body)["session"]["rounds_answered"], 1);
  EXPECT_EQ(again.stop(), 0);
}

TEST(FeedbackServe, RejectsBadFlags) {
  optidiff::testing::expect_cli_error(
      optidiff::testing::run_cli({"serve", "--port", "70000", "--no-images"}), 1,
      "--port is 70000");
}

}  // namespace
}  // namespace optidiff::feedback
