#include "optidiff/zo/rank_estimator.hpp"

#include <algorithm>
#include <string>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::zo {
namespace {

std::string ids_text(const std::vector<int>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) s.push_back(',');
    s.append(std::to_string(ids[i]));
  }
  return s;
}

}  // namespace

RankWeights topk_weights(const TopK& answer, int m, int k, bool official_sd_compat) {
  const auto& ids = answer.ids;
  if (static_cast<int>(ids.size()) != k)
    throw_invalid("ranking " + ids_text(ids) + " has " + std::to_string(ids.size()) + " ids; expected exactly k = " +
                  std::to_string(k) + " ids (of " + std::to_string(m) + " candidates), best first");
  std::vector<char> seen(m, 0);
  for (int id : ids) {
    if (id < 0 || id >= m)
      throw_invalid("ranking " + ids_text(ids) + " contains id " + std::to_string(id) + "; expected ids in 0.." +
                    std::to_string(m - 1));
    if (seen[id]) throw_invalid("ranking " + ids_text(ids) + " repeats id " + std::to_string(id));
    seen[id] = 1;
  }
  RankWeights w;
  // Closed form of section 2.2: ranked at 1-based r: (r-1) better, (m-r) worse; unranked: k better.
  w.c.assign(m, static_cast<double>(k));
  for (int r = 1; r <= k; ++r) w.c[ids[r - 1]] = 2.0 * r - m - 1 - (official_sd_compat ? 1.0 : 0.0);
  w.edges = 0.5 * k * (k - 1) + static_cast<double>(k) * (m - k);
  w.best = ids.empty() ? -1 : ids[0];
  return w;
}

RankWeights edge_weights(const Edges& answer, int m) {
  const auto& e = answer.better_worse;
  if (e.empty()) throw_invalid("edge feedback is empty; expected at least one (better, worse) pair");
  std::vector<std::vector<int>> out(m);
  std::vector<int> indeg(m, 0);
  RankWeights w;
  w.c.assign(m, 0.0);
  for (const auto& [a, b] : e) {
    if (a < 0 || a >= m || b < 0 || b >= m)
      throw_invalid("edge (" + std::to_string(a) + ", " + std::to_string(b) + ") has an id outside 0.." +
                    std::to_string(m - 1));
    if (a == b) throw_invalid("edge (" + std::to_string(a) + ", " + std::to_string(b) + ") compares a candidate with itself");
    if (std::find(out[a].begin(), out[a].end(), b) != out[a].end())
      throw_invalid("edge (" + std::to_string(a) + ", " + std::to_string(b) + ") is given twice");
    out[a].push_back(b);
    ++indeg[b];
    w.c[b] += 1.0;  // b has one more better candidate
    w.c[a] -= 1.0;  // a has one more worse candidate
  }
  // Kahn's algorithm: the judgements must be consistent (a DAG), or they say "a > b > ... > a".
  std::vector<int> queue, deg = indeg;
  for (int i = 0; i < m; ++i)
    if (deg[i] == 0) queue.push_back(i);
  for (std::size_t q = 0; q < queue.size(); ++q)
    for (int b : out[queue[q]])
      if (--deg[b] == 0) queue.push_back(b);
  if (static_cast<int>(queue.size()) != m)
    throw_invalid("edge feedback contains a cycle (e.g. a better than b better than a); expected a DAG");
  w.edges = static_cast<double>(e.size());
  w.best = static_cast<int>(std::min_element(w.c.begin(), w.c.end()) - w.c.begin());
  return w;
}

RankWeights feedback_weights(const Feedback& feedback, int m, int k, bool official_sd_compat) {
  if (const auto* t = std::get_if<TopK>(&feedback)) return topk_weights(*t, m, k, official_sd_compat);
  if (const auto* e = std::get_if<Edges>(&feedback)) return edge_weights(*e, m);
  throw_invalid("function values were told to a rank-only optimiser; expected a ranking (TopK) or edges");
}

void fill_perturbation(std::uint64_t round_seed, int i, double* out, int d) {
  Rng rng = Rng(round_seed).stream(static_cast<std::uint64_t>(i));
  rng.fill_normal(out, static_cast<std::size_t>(d));
}

void rank_direction(const RankWeights& w, const Eigen::MatrixXd& xi, Eigen::VectorXd& g) {
  OPTIDIFF_CHECK(static_cast<Eigen::Index>(w.c.size()) == xi.cols());
  g.setZero(xi.rows());
  for (Eigen::Index i = 0; i < xi.cols(); ++i)
    if (w.c[i] != 0) g.noalias() += w.c[i] * xi.col(i);
  g /= w.edges;
}

void rank_direction(const RankWeights& w, std::uint64_t round_seed, Eigen::VectorXd& work, Eigen::VectorXd& g) {
  const int d = static_cast<int>(g.size());
  work.resize(d);
  g.setZero();
  for (std::size_t i = 0; i < w.c.size(); ++i) {
    if (w.c[i] == 0) continue;
    fill_perturbation(round_seed, static_cast<int>(i), work.data(), d);
    g.noalias() += w.c[i] * work;
  }
  g /= w.edges;
}

}  // namespace optidiff::zo
