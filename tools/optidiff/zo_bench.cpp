// optidiff rank bench: ZO-RankSGD against CMA-ES (rank-only), ZO-SGD (values) and the (1+1)-ES.
//   paper: the quadratic and Rosenbrock of the paper (d = 100), m = 10, k in {1, 5, 10}, exact and noisy
//          oracles; best f against queries.
//   bbob:  f1-f24, 5 instances, budget 1000 d; COCO-style ECDF of (function, instance, target) pairs
//          solved against queries / d, targets f_opt + 10^{2..-8}; area under each curve.
//   speed: one ask + tell at d = 16384, m = 8 (a diffusion latent), and an optimiser loop on a cheap f,
//          in rounds per second, with CMA-ES (sep- and full) beside it.
// The plots are drawn with a small line-plot helper on core's Image (log axes, legend).
#include "tools/optidiff/zo_bench.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iostream>
#include <map>
#include <sstream>

#include "optidiff/core/error.hpp"
#include "optidiff/core/image.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/zo/driver.hpp"
#include "optidiff/zo/factory.hpp"
#include "optidiff/zo/oracle.hpp"
#include "optidiff/zo/problems.hpp"

namespace optidiff::cli {
namespace {

// ---- a small line plot ----------------------------------------------------------------------------

struct Series {
  std::string label;
  std::vector<std::pair<double, double>> points;
};

constexpr std::array<std::array<std::uint8_t, 3>, 8> kColors = {{{31, 119, 180},
                                                                 {214, 39, 40},
                                                                 {44, 160, 44},
                                                                 {255, 127, 14},
                                                                 {148, 103, 189},
                                                                 {140, 86, 75},
                                                                 {227, 119, 194},
                                                                 {23, 190, 207}}};

void put(Image& img, int x, int y, const std::array<std::uint8_t, 3>& c) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  std::uint8_t* p = img.at(x, y);
  p[0] = c[0], p[1] = c[1], p[2] = c[2];
}

void line(Image& img, int x0, int y0, int x1, int y1, const std::array<std::uint8_t, 3>& c, int width = 1) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    for (int w = 0; w < width; ++w) put(img, x0, y0 + w, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

std::string tick_label(double v, bool log) {
  if (log) {
    const int e = static_cast<int>(std::lround(v));
    return e == 0 ? "1" : e == 1 ? "10" : e == 2 ? "100" : "1e" + std::to_string(e);
  }
  return format_double(v, 6);
}

// y_range: {lo, hi} fixes the y axis (ECDFs: {0, 1}); empty: fitted to the data.
Image line_plot(const std::string& title, const std::vector<Series>& series, bool logx, bool logy,
                const std::string& xlabel, std::vector<double> y_range = {}, double ymin_clip = 1e-9) {
  const int W = 520, H = 360, L = 56, R = 12, T = 26, B = 40;
  Image img(W, H, 3, 255);
  const auto tx = [&](double v) { return logx ? std::log10(std::max(v, 1e-300)) : v; };
  const auto ty = [&](double v) { return logy ? std::log10(std::max(v, ymin_clip)) : v; };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      if (logx && x <= 0) continue;
      x0 = std::min(x0, tx(x)), x1 = std::max(x1, tx(x)), y0 = std::min(y0, ty(y)), y1 = std::max(y1, ty(y));
    }
  if (!(x1 > x0)) x1 = x0 + 1;
  if (!(y1 > y0)) y1 = y0 + 1;
  if (logy) y0 = std::floor(y0), y1 = std::ceil(y1);
  if (y_range.size() == 2) y0 = y_range[0], y1 = y_range[1];
  if (logx) x0 = std::floor(x0), x1 = std::ceil(x1);
  const auto px = [&](double v) { return L + static_cast<int>((tx(v) - x0) / (x1 - x0) * (W - L - R)); };
  const auto py = [&](double v) { return H - B - static_cast<int>((ty(v) - y0) / (y1 - y0) * (H - T - B)); };
  const std::array<std::uint8_t, 3> black{0, 0, 0}, grey{215, 215, 215};
  // Grid and ticks.
  const auto ticks = [](double lo, double hi, bool log) {
    std::vector<double> t;
    if (log) {
      const int step = std::max(1, static_cast<int>(std::ceil((hi - lo) / 6)));
      for (double v = lo; v <= hi + 1e-9; v += step) t.push_back(v);
    } else {  // multiples of 1, 2 or 5 x 10^k, about five of them
      const double raw = (hi - lo) / 5, p10 = std::pow(10.0, std::floor(std::log10(raw)));
      const double step = raw / p10 < 1.5 ? p10 : raw / p10 < 3.5 ? 2 * p10 : raw / p10 < 7.5 ? 5 * p10 : 10 * p10;
      for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) t.push_back(v);
    }
    return t;
  };
  for (double v : ticks(y0, y1, logy)) {
    const int y = H - B - static_cast<int>((v - y0) / (y1 - y0) * (H - T - B));
    line(img, L, y, W - R, y, grey);
    const std::string s = tick_label(v, logy);
    draw_text(img, L - 4 - text_width(s), y - 4, s);
  }
  for (double v : ticks(x0, x1, logx)) {
    const int x = L + static_cast<int>((v - x0) / (x1 - x0) * (W - L - R));
    line(img, x, T, x, H - B, grey);
    const std::string s = tick_label(v, logx);
    draw_text(img, std::min(x - text_width(s) / 2, W - 2 - text_width(s)), H - B + 5, s);
  }
  line(img, L, H - B, W - R, H - B, black);
  line(img, L, T, L, H - B, black);
  draw_text(img, L, 8, title);
  draw_text(img, (W - text_width(xlabel)) / 2, H - 16, xlabel);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& c = kColors[k % kColors.size()];
    const auto& pts = series[k].points;
    for (std::size_t i = 1; i < pts.size(); ++i) {
      if (logx && (pts[i - 1].first <= 0 || pts[i].first <= 0)) continue;
      line(img, px(pts[i - 1].first), py(pts[i - 1].second), px(pts[i].first), py(pts[i].second), c, 2);
    }
    const int ly = T + 6 + 12 * static_cast<int>(k), lx = W - R - 8 - text_width(series[k].label) - 24;
    line(img, lx, ly + 4, lx + 18, ly + 4, c, 2);
    draw_text(img, lx + 22, ly, series[k].label);
  }
  return img;
}

// ---- shared pieces ----------------------------------------------------------------------------------

struct Method {
  std::string label;
  zo::MethodSettings s;
};

std::vector<int> parse_ints(const std::string& text, const std::string& what) {
  std::vector<int> v;
  std::stringstream in(text);
  std::string piece;
  while (std::getline(in, piece, ',')) {
    try {
      std::size_t used = 0;
      v.push_back(std::stoi(piece, &used));
      if (used != piece.size()) throw std::invalid_argument(piece);
    } catch (const std::exception&) {
      throw_invalid(what + ": \"" + piece + "\" is not an integer");
    }
  }
  return v;
}

// Best f - f_opt after q queries, from a history of improvements.
double gap_at(const zo::RunResult& r, double f_opt, long long q) {
  double best = r.history.front().second;
  for (auto [hq, f] : r.history) {
    if (hq > q) break;
    best = f;
  }
  return best - f_opt;
}

// Runs one method; a diverging value-based run (f overflows to inf) ends where it was.
zo::RunResult run_one(const Method& m, const zo::Problem& p, const std::string& noise, long long budget,
                      std::uint64_t seed) {
  zo::MethodSettings s = m.s;
  s.seed = seed;
  auto opt = zo::make_optimizer(p.x0, s);
  auto oracle = zo::make_oracle(p.f, noise, seed ^ 0x0c0ffee, s.maximize);
  std::vector<std::pair<long long, double>> seen = {{0, p.f(p.x0)}};
  zo::RunResult r;
  try {
    r = zo::minimize(*opt, *oracle, p.f, {.budget = budget, .on_round = [&](const zo::RoundInfo& i) {
                                            if (i.f_best < seen.back().second) seen.emplace_back(i.queries, i.f_best);
                                            return false;
                                          }});
  } catch (const Error& e) {
    // Keep what was reached before the oracle saw a non-finite f (ZO-SGD with a too large step).
    r.stop = "diverged";
    r.history = seen;
    r.f0 = seen.front().second;
    r.f_best = r.f_final = seen.back().second;
    log_warning(m.label + " on " + p.name + ": " + e.what());
  }
  return r;
}

// ---- part 1: the paper's problems -----------------------------------------------------------------

Json bench_paper(const RankBenchOptions& o, std::vector<Image>& panels) {
  const int d = 100;
  const long long budget = o.quick ? 10000 : 30000;
  const int seeds = o.quick ? 1 : 3;
  const std::vector<int> ks = o.quick ? std::vector<int>{1, 10} : std::vector<int>{1, 5, 10};
  const std::vector<std::string> noises = {"exact", "thurstone:0.01"};
  Json out = Json::array();
  Table t({"problem", "oracle", "method", "k", "f-f* @10%", "f-f* @50%", "f-f* @100%"},
          "Paper problems, d = " + std::to_string(d) + ", m = 10, " + std::to_string(budget) + " queries, median of " +
              std::to_string(seeds) + " seed(s)");
  std::int64_t total = 2LL * noises.size() * (3 * ks.size() + 2) * seeds, done = 0;
  Progress bar("paper", total);
  for (const std::string problem : {"quadratic", "rosenbrock"}) {
    const double zosgd_step = problem == std::string("quadratic") ? 0.01 : 1e-5;
    const double ranksgd_step = problem == std::string("quadratic") ? 0.05 : 0.01;
    for (const auto& noise : noises) {
      std::vector<Method> methods;
      for (int k : ks) {
        methods.push_back({"ranksgd k=" + std::to_string(k), {.method = "ranksgd", .m = 10, .k = k, .mu = 0.01, .step = ranksgd_step}});
        methods.push_back({"ranksgd-ls k=" + std::to_string(k), {.method = "ranksgd-ls", .m = 10, .k = k, .mu = 0.01, .step = 1.0}});
        methods.push_back({"ranksgd-ls+adapt k=" + std::to_string(k),
                           {.method = "ranksgd-ls", .m = 10, .k = k, .mu = 0.01, .step = 1.0, .adapt_step = true}});
      }
      methods.push_back({"cmaes (top 5 of 10)", {.method = "cmaes", .m = 10, .sigma0 = 1.0}});
      methods.push_back({"zosgd (values)", {.method = "zosgd", .m = 10, .mu = 0.01, .step = zosgd_step}});
      std::vector<Series> curves;
      for (const auto& m : methods) {
        std::vector<std::vector<double>> gaps(3);
        std::vector<zo::RunResult> runs;
        for (int s = 0; s < seeds; ++s) {
          const zo::Problem p = zo::make_problem(problem, d, 1 + s);
          runs.push_back(run_one(m, p, noise, budget, o.seed + s));
          for (int j = 0; j < 3; ++j) gaps[j].push_back(gap_at(runs.back(), p.f_opt, std::array{budget / 10, budget / 2, budget}[j]));
          bar.update(++done, problem + " " + m.label);
        }
        std::array<double, 3> med{};
        for (int j = 0; j < 3; ++j) {
          std::sort(gaps[j].begin(), gaps[j].end());
          med[j] = gaps[j][gaps[j].size() / 2];
        }
        const int k = m.s.method == "cmaes" ? 5 : m.s.method == "zosgd" ? 0 : m.s.k;
        t.add_row({problem, noise, m.label.substr(0, m.label.find(" k=")), k ? std::to_string(k) : "values",
                   format_double(med[0], 3), format_double(med[1], 3), format_double(med[2], 3)});
        Json curve = Json::array();
        Series sr{m.label, {}};
        for (long long q = budget / 50; q <= budget; q += budget / 50) {
          std::vector<double> g;
          for (const auto& r : runs) g.push_back(gap_at(r, 0.0, q));
          std::sort(g.begin(), g.end());
          curve.push_back({q, g[g.size() / 2]});
          sr.points.emplace_back(static_cast<double>(q), g[g.size() / 2]);
        }
        out.push_back({{"problem", problem}, {"dim", d}, {"oracle", noise}, {"method", m.label}, {"k", k},
                       {"median_gap_10pct", med[0]}, {"median_gap_50pct", med[1]}, {"median_gap_final", med[2]},
                       {"curve", curve}});
        if (m.s.method != "ranksgd" || m.s.k == 10) {
          if (m.s.k == 10 || m.s.method == "cmaes" || m.s.method == "zosgd") curves.push_back(sr);
        }
      }
      panels.push_back(line_plot(problem + " d=100, " + noise + ", k=10", curves, false, true, "queries"));
    }
  }
  bar.finish();
  t.print(std::cout);
  std::cout << "\n";
  return out;
}

// ---- part 2: BBOB, COCO-style ECDF ------------------------------------------------------------------

Json bench_bbob(const RankBenchOptions& o, std::vector<Image>& panels) {
  const std::vector<int> dims = parse_ints(o.bbob_dims, "--bbob-dims");
  const int instances = 5;
  const std::vector<int> functions = [&] {
    std::vector<int> f;
    for (int i = 1; i <= 24; ++i) f.push_back(i);
    return f;
  }();
  std::vector<double> targets;  // 10^2 .. 10^-8 in steps of 10^0.2, as COCO's ECDFs
  for (int j = 0; j <= 50; ++j) targets.push_back(std::pow(10.0, 2.0 - 0.2 * j));
  const std::vector<Method> methods = {
      {"ranksgd-ls+adapt", {.method = "ranksgd-ls", .m = 10, .k = 10, .mu = 1e-3, .step = 2.0, .adapt_step = true}},
      {"ranksgd-ls", {.method = "ranksgd-ls", .m = 10, .k = 10, .mu = 1e-3, .step = 2.0}},
      {"cmaes-ipop", {.method = "cmaes", .sigma0 = 2.0, .restarts = 9, .restart_lo = -4, .restart_hi = 4}},
      {"oneplusone", {.method = "oneplusone", .sigma0 = 2.0}},
  };
  Json out = Json::object();
  Table t({"method", "d", "runs", "ECDF area", "targets hit at end", "median f-f* at end"},
          "BBOB f1-f24, 5 instances, budget " + std::to_string(o.bbob_budget_per_dim) + " d, targets 1e2..1e-8");
  for (int d : dims) {
    const long long budget = static_cast<long long>(o.bbob_budget_per_dim) * d;
    Progress bar("bbob d=" + std::to_string(d), static_cast<std::int64_t>(methods.size() * functions.size() * instances));
    std::int64_t done = 0;
    std::vector<Series> curves;
    Json jd = Json::object();
    for (const auto& m : methods) {
      std::vector<double> hit_at;  // queries/d at which each (f, instance, target) was first hit; inf if never
      std::vector<double> final_gaps;
      for (int f : functions)
        for (int inst = 1; inst <= instances; ++inst) {
          std::string name = "f";  // appended in steps: GCC 12 misreports "lit" + std::to_string() (-Wrestrict)
          name += std::to_string(f);
          const zo::Problem p = zo::make_problem(name, d, inst);
          const zo::RunResult r = run_one(m, p, "exact", budget, o.seed + 1000 * f + inst);
          for (double target : targets) {
            double at = INFINITY;
            for (auto [q, fb] : r.history)
              if (fb - p.f_opt <= target) {
                at = std::max(1.0, static_cast<double>(q)) / d;
                break;
              }
            hit_at.push_back(at);
          }
          final_gaps.push_back(r.f_best - p.f_opt);
          bar.update(++done, m.label + " f" + std::to_string(f));
        }
      // ECDF on a log grid of queries/d; the area is its mean over log10(queries/d) in [0, log10 budget/d].
      Series sr{m.label, {}};
      Json ecdf = Json::array();
      const double top = std::log10(static_cast<double>(o.bbob_budget_per_dim));
      double area = 0;
      const int grid = 100;
      for (int g = 0; g <= grid; ++g) {
        const double x = std::pow(10.0, top * g / grid);
        const double frac = static_cast<double>(std::count_if(hit_at.begin(), hit_at.end(), [&](double h) { return h <= x; })) /
                            static_cast<double>(hit_at.size());
        sr.points.emplace_back(x, frac);
        ecdf.push_back({x, frac});
        area += frac / (grid + 1);
      }
      const double hit_end = sr.points.back().second;
      std::sort(final_gaps.begin(), final_gaps.end());
      t.add_row({m.label, std::to_string(d), std::to_string(final_gaps.size()), format_fixed(area, 3),
                 format_fixed(hit_end, 3), format_double(final_gaps[final_gaps.size() / 2], 3)});
      jd[m.label] = {{"ecdf", ecdf}, {"area", area}, {"fraction_hit_at_budget", hit_end}, {"final_gaps", final_gaps}};
      curves.push_back(sr);
    }
    bar.finish();
    out["d" + std::to_string(d)] = jd;
    panels.push_back(line_plot("BBOB f1-f24 d=" + std::to_string(d) + ": fraction of (f, instance, target) solved", curves,
                               true, false, "queries / d", {0.0, 1.0}));
  }
  t.print(std::cout);
  std::cout << "\n";
  return out;
}

// ---- part 3: speed ------------------------------------------------------------------------------------

// CPU seconds of this process: on a shared machine, wall time measures the neighbours too.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Rounds per CPU-second of ask + tell (with the oracle's f when given).
double rounds_per_second(zo::AskTell& opt, const zo::Objective* f, double seconds) {
  std::unique_ptr<zo::ExactOracle> oracle;
  if (f) oracle = std::make_unique<zo::ExactOracle>(*f);
  const double start = cpu_seconds();
  long long rounds = 0;
  while (cpu_seconds() - start < seconds || rounds < 3) {
    const zo::Round r = opt.ask();
    if (oracle) {
      opt.tell(r.id, oracle->answer(r));
    } else {
      std::vector<int> ids(r.k);
      for (int i = 0; i < r.k; ++i) ids[i] = (i * 7 + static_cast<int>(r.id)) % r.m();  // a fixed, valid answer
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      for (int i = 0; static_cast<int>(ids.size()) < r.k; ++i)
        if (std::find(ids.begin(), ids.end(), i) == ids.end()) ids.push_back(i);
      opt.tell(r.id, zo::TopK{ids});
    }
    ++rounds;
  }
  return static_cast<double>(rounds) / (cpu_seconds() - start);
}

Json bench_speed(const RankBenchOptions& o) {
  const double secs = o.quick ? 0.5 : 2.0;
  const int d = 16384;
  const Eigen::VectorXd x0 = Eigen::VectorXd::Zero(d);
  const zo::Objective sphere = [](const Eigen::VectorXd& x) { return x.squaredNorm(); };
  struct Row {
    std::string what;
    int dim;
    std::unique_ptr<zo::AskTell> opt;
    bool with_f;
  };
  std::vector<Row> rows;
  rows.push_back({"ranksgd m=8 k=8 (xi regenerated)", d, zo::make_optimizer(x0, {.method = "ranksgd", .m = 8, .k = 8}), false});
  rows.push_back({"ranksgd-ls m=8 k=8", d, zo::make_optimizer(x0, {.method = "ranksgd-ls", .m = 8, .k = 8}), false});
  rows.push_back({"sep-cmaes lambda=8", d, zo::make_optimizer(x0, {.method = "cmaes", .m = 8, .diagonal = true}), false});
  rows.push_back({"sep-cmaes lambda=33 (default)", d, zo::make_optimizer(x0, {.method = "cmaes", .diagonal = true}), false});
  rows.push_back({"ranksgd m=8 on sphere (oracle incl.)", d, zo::make_optimizer(x0, {.method = "ranksgd", .m = 8, .k = 8}), true});
  rows.push_back({"sep-cmaes lambda=8 on sphere (oracle incl.)", d,
                  zo::make_optimizer(x0, {.method = "cmaes", .m = 8, .diagonal = true}), true});
  for (int fd : {256, 1024}) {
    const Eigen::VectorXd z = Eigen::VectorXd::Zero(fd);
    rows.push_back({"ranksgd m=8", fd, zo::make_optimizer(z, {.method = "ranksgd", .m = 8, .k = 8}), false});
    rows.push_back({"full cmaes lambda=8", fd, zo::make_optimizer(z, {.method = "cmaes", .m = 8}), false});
  }
  Table t({"optimiser", "d", "rounds/CPU-s", "ms/round", "vs ranksgd"},
          "Speed: one ask + tell (fixed ranking unless noted), per CPU-second of one thread");
  Json out = Json::array();
  std::map<int, double> ref;  // ranksgd m=8 k=8 at each d: the first row of each d
  for (auto& r : rows) {
    const double rps = rounds_per_second(*r.opt, r.with_f ? &sphere : nullptr, secs);
    if (!ref.count(r.dim)) ref[r.dim] = rps;
    t.add_row({r.what, std::to_string(r.dim), format_double(rps, 4), format_double(1000 / rps, 4),
               format_fixed(rps / ref[r.dim], 3) + "x"});
    out.push_back({{"optimiser", r.what}, {"dim", r.dim}, {"rounds_per_cpu_s", rps}});
  }
  t.print(std::cout);
  std::cout << "(full CMA-ES at d = 16384 would hold a 16384^2 covariance, 2 GiB, and an O(d^3) eigendecomposition;"
               " it is measured at d = 256 and 1024 instead)\n\n";
  return out;
}

}  // namespace

void run_rank_bench(const RankBenchOptions& o) {
  std::vector<std::string> parts;
  {
    std::stringstream in(o.parts);
    std::string p;
    while (std::getline(in, p, ','))
      if (p == "paper" || p == "bbob" || p == "speed")
        parts.push_back(p);
      else
        throw_invalid("--parts: \"" + p + "\" is not one of paper, bbob, speed");
  }
  if (o.bbob_budget_per_dim < 1) throw_invalid("--bbob-budget is " + std::to_string(o.bbob_budget_per_dim) + "; expected >= 1");
  Stopwatch total;
  Json out = {{"quick", o.quick}, {"seed", o.seed}};
  std::vector<Image> paper_panels, bbob_panels;
  for (const auto& p : parts) {
    if (p == "paper") out["paper"] = bench_paper(o, paper_panels);
    if (p == "bbob") out["bbob"] = bench_bbob(o, bbob_panels);
    if (p == "speed") out["speed"] = bench_speed(o);
  }
  out["seconds"] = total.seconds();
  if (!o.plot.empty()) {
    std::string stem = o.plot;
    if (stem.size() > 4 && stem.substr(stem.size() - 4) == ".png") stem = stem.substr(0, stem.size() - 4);
    if (!paper_panels.empty()) {
      write_png(stem + ".png", image_grid(paper_panels, {.columns = 2, .labels = {}, .padding = 6}));
      std::cout << "wrote " << stem << ".png\n";
    }
    if (!bbob_panels.empty()) {
      write_png(stem + "-bbob.png", image_grid(bbob_panels, {.columns = 2, .labels = {}, .padding = 6}));
      std::cout << "wrote " << stem << "-bbob.png\n";
    }
  }
  if (!o.json.empty()) write_json_file(o.json, out);
  std::cout << "total " << format_fixed(total.seconds(), 1) << " s\n";
}

}  // namespace optidiff::cli
