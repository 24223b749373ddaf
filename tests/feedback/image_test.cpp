// Image steering over real HTTP with the shipped DiT (few sampler steps, small m, so it stays
// quick): shuffled display mapped back to candidates, line-search rounds with marked incumbent, the
// best image, the limit on concurrent generation.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "optidiff/feedback/dit_renderer.hpp"
#include "optidiff/feedback/png.hpp"
#include "tests/feedback/http_fixture.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::feedback {
namespace {

using testing::expect_error;
using testing::Reply;
using testing::RunningServer;

std::string png_of(const Json& image) {
  // "data:image/png;base64,..." -> the base64 text (compared as text: same bytes, same text)
  const std::string url = image["png"].get<std::string>();
  EXPECT_EQ(url.rfind("data:image/png;base64,", 0), 0u);
  return url.substr(22);
}

// Largest pixel difference of two PNGs: the same latent rendered in batches of other sizes may
// differ in the last float32 bits, hence in a pixel level here and there.
int max_pixel_diff(const std::string& a, const std::string& b) {
  const Image x = decode_png(a), y = decode_png(b);
  if (x.pixels.size() != y.pixels.size()) return 256;
  int d = 0;
  for (std::size_t i = 0; i < x.pixels.size(); ++i)
    d = std::max(d, std::abs(int(x.pixels[i]) - int(y.pixels[i])));
  return d;
}

DitRenderer& renderer() {
  static DitRenderer r;  // loaded once for the suite
  return r;
}

TEST(FeedbackImage, RendererIsAFunctionOfTheLatent) {
  ImageSettings s{.label = 7, .sampler = "euler", .steps = 3, .cfg = 2.0, .noise_seed = 1};
  Eigen::MatrixXd z = Eigen::MatrixXd::Random(784, 2);
  z.col(1) = 3.0 * z.col(0);  // same direction: the projection onto the sphere makes them one image
  const std::vector<std::string> png = renderer().render_png(z, s);
  ASSERT_EQ(png.size(), 2u);
  EXPECT_EQ(png[0], png[1]);
  const Image img = decode_png(png[0]);
  EXPECT_EQ(img.width, 112);
  EXPECT_EQ(img.height, 112);
  // ddpm's per-step noise is fixed by the session seed: rendering twice gives the same image.
  s.sampler = "ddpm";
  EXPECT_EQ(renderer().render_png(z.col(0), s), renderer().render_png(z.col(0), s));
  s.sampler = "nope";
  EXPECT_THROW(renderer().render_png(z, s), Error);
}

TEST(FeedbackImage, SteeringRoundsOverHttp) {
  optidiff::testing::TempDir tmp;
  RunningServer s(tmp.file("img.db"), &renderer());
  Reply r = s.post("/api/sessions", "",
                   {{"kind", "image"},
                    {"class", "Sneaker"},
                    {"sampler", "euler"},
                    {"steps", 3},
                    {"m", 4},
                    {"k", 2},
                    {"seed", 5}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  const std::string token = r.body["token"], id = r.body["session"]["id"];
  const std::string base = "/api/sessions/" + id;
  EXPECT_EQ(r.body["session"]["settings"]["label"], 7);
  EXPECT_EQ(r.body["session"]["best"]["version"], 0);

  // Gradient round: 4 images, shown shuffled; the store maps display ids back to candidates.
  Json round = s.post(base + "/ask", token, Json::object()).body["round"];
  EXPECT_EQ(round["kind"], "gradient");
  ASSERT_EQ(round["images"].size(), 4u);
  const RoundRow row = *s.server().store().round(id, 1);
  const std::vector<int> display = Json::parse(row.display).get<std::vector<int>>();
  EXPECT_EQ(std::set<int>(display.begin(), display.end()), (std::set<int>{0, 1, 2, 3}));
  for (int pos = 0; pos < 4; ++pos)
    EXPECT_EQ(
        png_of(round["images"][static_cast<std::size_t>(pos)]),
        base64(s.server().store().candidate_png(id, 1, display[static_cast<std::size_t>(pos)])));
  r = s.post(base + "/tell", token, {{"round", 1}, {"ranking", {3, 0}}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  const Json answer = Json::parse(s.server().store().answer(id, 1)->feedback);
  EXPECT_EQ(answer["candidates"], Json({display[3], display[0]}));
  EXPECT_EQ(answer["ranking"], Json({3, 0}));

  // Line-search round: best of 4 (2 steps, the best sample **, the incumbent *).
  round = s.post(base + "/ask", token, Json::object()).body["round"];
  EXPECT_EQ(round["kind"], "line_search");
  EXPECT_EQ(round["k"], 1);
  int incumbent = -1, best_sample = -1, other = -1;
  for (const Json& img : round["images"]) {
    if (img["mark"] == "incumbent")
      incumbent = img["id"];
    else if (img["mark"] == "best_sample")
      best_sample = img["id"];
    else
      other = img["id"];
  }
  ASSERT_GE(incumbent, 0);
  ASSERT_GE(best_sample, 0);
  ASSERT_GE(other, 0);
  // The incumbent is the start image; the best sample is the image ranked first in round 1.
  Store& store = s.server().store();
  const std::vector<int> display2 =
      Json::parse(store.round(id, 2)->display).get<std::vector<int>>();
  auto png2 = [&](int shown) {
    return store.candidate_png(id, 2, display2[static_cast<std::size_t>(shown)]);
  };
  EXPECT_LE(max_pixel_diff(png2(incumbent), store.bests(id)[0].png), 2);
  EXPECT_LE(max_pixel_diff(png2(best_sample), store.candidate_png(id, 1, display[3])), 2);
  EXPECT_GT(max_pixel_diff(png2(other), store.bests(id)[0].png), 2);  // a step changes the image
  // Choosing a step moves the incumbent: the best image becomes that candidate's image.
  const std::string chosen = png_of(round["images"][static_cast<std::size_t>(other)]);
  r = s.post(base + "/tell", token, {{"round", 2}, {"ranking", {other}}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["session"]["best"]["version"], 1);
  EXPECT_EQ(r.body["session"]["best"]["after_round"], 2);
  EXPECT_EQ(png_of(r.body["session"]["best"]), chosen);
  // Round 3 is a gradient round again; choosing the incumbent in round 4 keeps the best image.
  round = s.post(base + "/ask", token, Json::object()).body["round"];
  EXPECT_EQ(round["kind"], "gradient");
  ASSERT_EQ(s.post(base + "/tell", token, {{"round", 3}, {"ranking", {1, 2}}}).status, 200);
  round = s.post(base + "/ask", token, Json::object()).body["round"];
  for (const Json& img : round["images"])
    if (img["mark"] == "incumbent") incumbent = img["id"];
  r = s.post(base + "/tell", token, {{"round", 4}, {"ranking", {incumbent}}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["session"]["best"]["version"], 1);
  const Json exported = s.get(base + "/export", token).body;
  EXPECT_EQ(exported["rounds"].size(), 4u);
  EXPECT_EQ(exported["bests"].size(), 2u);
  EXPECT_EQ(exported["rounds"][0]["candidate_png_base64"].size(), 4u);
}

TEST(FeedbackImage, BadImageSettings) {
  optidiff::testing::TempDir tmp;
  RunningServer s(tmp.file("img.db"), &renderer());
  const std::string before = s.snapshot();
  expect_error(s.post("/api/sessions", "", {{"kind", "image"}, {"class", "Dragon"}}), 400,
               "sneaker");
  expect_error(s.post("/api/sessions", "", {{"kind", "image"}, {"sampler", "rk45"}}), 400, "rk45");
  expect_error(s.post("/api/sessions", "", {{"kind", "image"}, {"m", 17}}), 400, "m <= 16");
  expect_error(s.post("/api/sessions", "", {{"kind", "image"}, {"m", 2}}), 400, "3 <= m");
  expect_error(s.post("/api/sessions", "", {{"kind", "image"}, {"steps", 101}}), 400,
               "steps <= 100");
  expect_error(s.post("/api/sessions", "", {{"kind", "image"}, {"cfg", -1}}), 400, "cfg");
  EXPECT_EQ(s.snapshot(), before);
}

TEST(FeedbackImage, ConcurrentGenerationIsLimited) {
  optidiff::testing::TempDir tmp;
  Limits limits;
  limits.max_generating = 1;
  RunningServer s(tmp.file("img.db"), &renderer(), limits);
  const Reply created = s.post("/api/sessions", "", {{"kind", "image"}, {"steps", 1}, {"m", 16}});
  ASSERT_EQ(created.status, 200) << created.body.dump();
  const std::string token = created.body["token"], id = created.body["session"]["id"];
  // A slower session: 8 images of 30 steps keep the one generation slot busy for a few seconds.
  const Reply slow =
      s.post("/api/sessions", token, {{"kind", "image"}, {"steps", 30}, {"m", 8}, {"seed", 1}});
  ASSERT_EQ(slow.status, 200);
  const std::string slow_id = slow.body["session"]["id"];
  const std::int64_t rounds_before = s.server().store().count("rounds");
  std::thread busy([&] {
    EXPECT_EQ(s.post("/api/sessions/" + slow_id + "/ask", token, Json::object()).status, 200);
  });
  bool saw_busy = false;
  for (int i = 0; i < 2000 && !saw_busy; ++i) {
    saw_busy = s.get("/api/status").body["generating"] == 1;
    if (!saw_busy) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(saw_busy);
  const Reply refused = s.post("/api/sessions/" + id + "/ask", token, Json::object());
  busy.join();
  expect_error(refused, 429, "retry");
  EXPECT_EQ(s.server().store().round_count(id), 0);
  EXPECT_EQ(s.server().store().count("rounds"),
            rounds_before + 1);  // only the slow session's round
}

}  // namespace
}  // namespace optidiff::feedback
