#include "optidiff/zo/problems.hpp"

#include <cctype>
#include <memory>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/zo/bbob.hpp"

namespace optidiff::zo {
namespace {

// "f8", "F08", "8" -> 8; a BBOB name -> its number; else 0.
int bbob_number(const std::string& name) {
  std::string s = name;
  if (!s.empty() && (s[0] == 'f' || s[0] == 'F')) s = s.substr(1);
  if (!s.empty() && s.size() <= 2 && std::isdigit(static_cast<unsigned char>(s[0])) &&
      std::isdigit(static_cast<unsigned char>(s.back()))) {
    const int n = std::stoi(s);
    return n >= 1 && n <= 24 ? n : -1;
  }
  for (int f = 1; f <= 24; ++f)
    if (name == Bbob::name(f)) return f;
  return 0;
}

}  // namespace

std::string problem_names() {
  std::string s = "quadratic, rosenbrock, f1..f24 (or 1..24)";
  for (int f = 1; f <= 24; ++f) s += std::string(f == 1 ? ", or " : ", ") + Bbob::name(f);
  return s;
}

Problem make_problem(const std::string& name, int dim, std::uint64_t instance) {
  if (dim < 1) throw_invalid("--dim is " + std::to_string(dim) + "; expected d >= 1");
  Problem p;
  p.dim = dim;
  if (name == "quadratic" || name == "rosenbrock") {
    Rng rng = Rng(instance).stream(0x9a7e5);
    p.x0.resize(dim);
    rng.fill_normal(p.x0.data(), dim);  // x0 ~ N(0, I), shared by all methods
    if (name == "rosenbrock") {
      p.name = "rosenbrock";
      p.x_opt = Eigen::VectorXd::Ones(dim);
      p.f_opt = 0;
      p.f = [](const Eigen::VectorXd& x) {
        double r = 0;
        for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
          const double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
          r += 100 * a * a + b * b;
        }
        return r;
      };
      return p;
    }
    p.name = "quadratic";
    Eigen::MatrixXd G(dim, 2 * dim);
    rng.fill_normal(G.data(), static_cast<std::size_t>(G.size()));
    auto A = std::make_shared<Eigen::MatrixXd>(G * G.transpose() / (2.0 * dim));
    auto xs = std::make_shared<Eigen::VectorXd>(dim);
    rng.fill_normal(xs->data(), dim);
    p.x_opt = *xs;
    p.f_opt = 0;
    p.f = [A, xs](const Eigen::VectorXd& x) {
      const Eigen::VectorXd e = x - *xs;
      return e.dot(*A * e);
    };
    return p;
  }
  const int f = bbob_number(name);
  if (f <= 0) throw_invalid("--function is \"" + name + "\"; expected one of " + problem_names());
  if (dim < 2) throw_invalid("--dim is " + std::to_string(dim) + "; BBOB functions need d >= 2");
  if (instance < 1 || instance > 1000000) throw_invalid("--instance is " + std::to_string(instance) + "; expected 1..1000000");
  auto b = std::make_shared<Bbob>(f, dim, static_cast<int>(instance));
  p.name = "bbob-f" + std::to_string(f) + "-i" + std::to_string(instance);
  p.f = [b](const Eigen::VectorXd& x) { return (*b)(x); };
  p.f_opt = b->f_opt();
  p.x_opt = b->x_opt();
  p.x0 = Eigen::VectorXd::Zero(dim);  // COCO's initial solution: the centre of [-5, 5]^d
  return p;
}

}  // namespace optidiff::zo
