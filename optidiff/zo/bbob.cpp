#include "optidiff/zo/bbob.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

#include "optidiff/core/error.hpp"

namespace optidiff::zo {
namespace bbob_internal {

// Park-Miller minimal standard generator with a 32-entry shuffle table (Bays-Durham), as in the BBOB 2009
// legacy code; values in (0, 1).
std::vector<double> unif(std::size_t n, long seed) {
  long s = seed < 0 ? -seed : seed;
  if (s < 1) s = 1;
  long table[32];
  auto next = [&s] {
    const long tmp = static_cast<long>(std::floor(static_cast<double>(s) / 127773.0));
    s = 16807 * (s - tmp * 127773) - 2836 * tmp;
    if (s < 0) s += 2147483647;
  };
  for (int i = 39; i >= 0; --i) {
    next();
    if (i < 32) table[i] = s;
  }
  long current = table[0];
  std::vector<double> r(n);
  for (std::size_t i = 0; i < n; ++i) {
    next();
    const long slot = static_cast<long>(std::floor(static_cast<double>(current) / 67108865.0));
    current = table[slot];
    table[slot] = s;
    r[i] = static_cast<double>(current) / 2.147483647e9;
    if (r[i] == 0.0) r[i] = 1e-99;
  }
  return r;
}

std::vector<double> gauss(std::size_t n, long seed) {
  const std::vector<double> u = unif(2 * n, seed);
  std::vector<double> g(n);
  for (std::size_t i = 0; i < n; ++i) {
    g[i] = std::sqrt(-2 * std::log(u[i])) * std::cos(2 * std::numbers::pi * u[n + i]);
    if (g[i] == 0.0) g[i] = 1e-99;
  }
  return g;
}

Eigen::MatrixXd rotation(long seed, int dim) {
  const std::vector<double> g = gauss(static_cast<std::size_t>(dim) * dim, seed);
  // B(i, j) = g[j * dim + i]: column-major, then Gram-Schmidt on the columns in order.
  Eigen::MatrixXd B = Eigen::Map<const Eigen::MatrixXd>(g.data(), dim, dim);
  for (int i = 0; i < dim; ++i) {
    for (int j = 0; j < i; ++j) {
      double prod = 0;
      for (int k = 0; k < dim; ++k) prod += B(k, i) * B(k, j);
      for (int k = 0; k < dim; ++k) B(k, i) -= prod * B(k, j);
    }
    double prod = 0;
    for (int k = 0; k < dim; ++k) prod += B(k, i) * B(k, i);
    for (int k = 0; k < dim; ++k) B(k, i) /= std::sqrt(prod);
  }
  return B;
}

Eigen::VectorXd compute_xopt(long seed, int dim) {
  const std::vector<double> u = unif(static_cast<std::size_t>(dim), seed);
  Eigen::VectorXd x(dim);
  for (int i = 0; i < dim; ++i) {
    x[i] = 8 * std::floor(1e4 * u[i]) / 1e4 - 4;
    if (x[i] == 0.0) x[i] = -1e-5;
  }
  return x;
}

double compute_fopt(int function, int instance) {
  const long rseed = function == 4 ? 3 : function == 18 ? 17 : function;
  const long rrseed = rseed + 10000L * instance;
  const double g1 = gauss(1, rrseed)[0], g2 = gauss(1, rrseed + 1)[0];
  return std::min(1000.0, std::max(-1000.0, std::floor(100.0 * 100.0 * g1 / g2 + 0.5) / 100.0));
}

}  // namespace bbob_internal

namespace {
using namespace bbob_internal;
constexpr double kPi = std::numbers::pi;

// T_osz (RR-6829, Eq. 3), in COCO's arithmetic (pow of exp with alpha = 0.1).
double osz(double x) {
  constexpr double a = 0.1;
  if (x > 0) {
    const double t = std::log(x) / a;
    return std::pow(std::exp(t + 0.49 * (std::sin(t) + std::sin(0.79 * t))), a);
  }
  if (x < 0) {
    const double t = std::log(-x) / a;
    return -std::pow(std::exp(t + 0.49 * (std::sin(0.55 * t) + std::sin(0.31 * t))), a);
  }
  return 0.0;
}
Eigen::VectorXd osz(const Eigen::VectorXd& x) { return x.unaryExpr([](double v) { return osz(v); }); }

// T_asy^beta.
Eigen::VectorXd asy(Eigen::VectorXd x, double beta) {
  const double n1 = static_cast<double>(x.size()) - 1.0;
  for (Eigen::Index i = 0; i < x.size(); ++i)
    if (x[i] > 0) x[i] = std::pow(x[i], 1.0 + beta * static_cast<double>(i) / n1 * std::sqrt(x[i]));
  return x;
}

// f_pen: sum of squared excursions outside [-5, 5].
double penalty(const Eigen::VectorXd& x) {
  double p = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double t = std::fabs(x[i]) - 5.0;
    if (t > 0) p += t * t;
  }
  return p;
}

// Lambda^alpha: alpha^(0.5 i / (D - 1)), written as COCO writes each case.
Eigen::VectorXd scaling(int dim, double base_sqrt) {
  Eigen::VectorXd s(dim);
  for (int i = 0; i < dim; ++i) s[i] = std::pow(base_sqrt, static_cast<double>(i) / (dim - 1.0));
  return s;
}

double rastrigin(const Eigen::VectorXd& z) {
  double c = 0, s = 0;
  for (Eigen::Index i = 0; i < z.size(); ++i) {
    c += std::cos(2 * kPi * z[i]);
    s += z[i] * z[i];
  }
  return 10.0 * (static_cast<double>(z.size()) - c) + s;
}

double ellipsoid(const Eigen::VectorXd& z) {
  double r = 0;
  for (Eigen::Index i = 0; i < z.size(); ++i)
    r += std::pow(1e6, static_cast<double>(i) / (z.size() - 1.0)) * z[i] * z[i];
  return r;
}

double rosenbrock_raw(const Eigen::VectorXd& z) {
  double r = 0;
  for (Eigen::Index i = 0; i + 1 < z.size(); ++i) {
    const double a = z[i] * z[i] - z[i + 1], b = z[i] - 1.0;
    r += 100.0 * a * a + b * b;
  }
  return r;
}

double rosenbrock_factor(int dim) { return std::max(1.0, std::sqrt(static_cast<double>(dim)) / 8.0); }

// The composite R Lambda Q of COCO's rotated functions: rows of R, scaled columns, Q.
Eigen::MatrixXd composite(const Eigen::MatrixXd& R, const Eigen::VectorXd& lambda, const Eigen::MatrixXd& Q) {
  return R * lambda.asDiagonal() * Q;
}

}  // namespace

const char* Bbob::name(int f) {
  static const char* kNames[] = {"sphere",           "ellipsoid",          "rastrigin",
                                 "bueche-rastrigin", "linear-slope",       "attractive-sector",
                                 "step-ellipsoid",   "rosenbrock-original", "rosenbrock-rotated",
                                 "ellipsoid-rotated", "discus",            "bent-cigar",
                                 "sharp-ridge",      "different-powers",   "rastrigin-rotated",
                                 "weierstrass",      "schaffers-f7",       "schaffers-f7-ill",
                                 "griewank-rosenbrock", "schwefel",        "gallagher-101",
                                 "gallagher-21",     "katsuura",           "lunacek-bi-rastrigin"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == 24);
  if (f < 1 || f > 24) return "?";
  return kNames[f - 1];
}

Bbob::Bbob(int function, int dim, int instance) : function_(function), dim_(dim), instance_(instance) {
  if (function < 1 || function > 24)
    throw_invalid("BBOB function is f" + std::to_string(function) + "; expected f1..f24");
  if (dim < 2) throw_invalid("BBOB dimension is " + std::to_string(dim) + "; expected d >= 2");
  if (instance < 1) throw_invalid("BBOB instance is " + std::to_string(instance) + "; expected >= 1");
  const long rseed = function + 10000L * instance;
  const int d = dim;
  f_opt_ = compute_fopt(function, instance);
  const auto rot_pair = [&](double lambda_sqrt_base) {
    R_ = rotation(rseed + 1000000, d);
    Q_ = rotation(rseed, d);
    M_ = composite(R_, scaling(d, lambda_sqrt_base), Q_);
  };
  switch (function) {
    case 1: case 2: case 3:
      x_opt_ = compute_xopt(rseed, d);
      break;
    case 5:  // the optimum sits on the boundary, at 5 sign(x_opt); beyond it the slope is flat (see below)
      x_opt_ = compute_xopt(rseed, d).unaryExpr([](double v) { return v < 0 ? -5.0 : 5.0; });
      break;
    case 4:
      x_opt_ = compute_xopt(3 + 10000L * instance, d);
      for (int i = 0; i < d; i += 2) x_opt_[i] = std::fabs(x_opt_[i]);
      break;
    case 6: case 13:
      x_opt_ = compute_xopt(rseed, d);
      rot_pair(std::sqrt(10.0));
      break;
    case 7:
      x_opt_ = compute_xopt(rseed, d);
      R_ = rotation(rseed + 1000000, d);  // applied after rounding
      Q_ = rotation(rseed, d);            // applied first
      break;
    case 8:
      x_opt_ = 0.75 * compute_xopt(rseed, d);
      break;
    case 9:
    case 19:
      R_ = rotation(rseed, d);
      // z = factor R x + 1/2 is 1 at x = R^T 1 / (2 factor).
      x_opt_ = R_.transpose() * Eigen::VectorXd::Ones(d) / (2.0 * rosenbrock_factor(d));
      break;
    case 10: case 11: case 14:
      x_opt_ = compute_xopt(rseed, d);
      R_ = rotation(rseed + 1000000, d);
      break;
    case 12:
      x_opt_ = compute_xopt(rseed + 1000000, d);
      R_ = rotation(rseed + 1000000, d);
      break;
    case 15:
      x_opt_ = compute_xopt(rseed, d);
      rot_pair(std::sqrt(10.0));
      break;
    case 16:
      x_opt_ = compute_xopt(rseed, d);
      rot_pair(1.0 / std::sqrt(100.0));
      break;
    case 17: case 18: {
      const long s = function == 18 ? 17 + 10000L * instance : rseed;
      x_opt_ = compute_xopt(s, d);
      R_ = rotation(s + 1000000, d);
      Q_ = rotation(s, d);
      lambda_ = scaling(d, std::sqrt(function == 17 ? 10.0 : 1000.0));
      break;
    }
    case 20: {
      const std::vector<double> u = unif(static_cast<std::size_t>(d), rseed);
      x_opt_.resize(d);
      for (int i = 0; i < d; ++i) x_opt_[i] = (u[i] - 0.5 < 0 ? -1.0 : 1.0) * 0.5 * 4.2096874637;
      lambda_ = scaling(d, std::sqrt(10.0));
      break;
    }
    case 21: case 22: {
      const int peaks = function == 21 ? 101 : 21;
      const double b = function == 21 ? 10.0 : 9.8, c = function == 21 ? 5.0 : 4.9;
      const double max_condition = 1000.0, first_condition = function == 21 ? std::sqrt(1000.0) : 1000.0;
      R_ = rotation(rseed, d);
      const auto sorted_index = [](const std::vector<double>& v) {
        std::vector<int> idx(v.size());
        std::iota(idx.begin(), idx.end(), 0);
        std::sort(idx.begin(), idx.end(), [&](int a, int b2) { return v[a] < v[b2]; });
        return idx;  // idx[r] = index of the r-th smallest value
      };
      const std::vector<int> perm = sorted_index(unif(static_cast<std::size_t>(peaks - 1), rseed));
      std::vector<double> condition(peaks);
      condition[0] = first_condition;
      peak_values_.assign(peaks, 10.0);
      for (int i = 1; i < peaks; ++i) {
        condition[i] = std::pow(max_condition, static_cast<double>(perm[i - 1]) / (peaks - 2.0));
        peak_values_[i] = static_cast<double>(i - 1) / (peaks - 2.0) * (9.1 - 1.1) + 1.1;
      }
      arr_scales_.resize(peaks, d);
      for (int i = 0; i < peaks; ++i) {
        const std::vector<int> p = sorted_index(unif(static_cast<std::size_t>(d), rseed + 1000L * i));
        for (int j = 0; j < d; ++j) arr_scales_(i, j) = std::pow(condition[i], static_cast<double>(p[j]) / (d - 1.0) - 0.5);
      }
      const std::vector<double> r = unif(static_cast<std::size_t>(d) * peaks, rseed);
      x_opt_.resize(d);
      for (int i = 0; i < d; ++i) x_opt_[i] = 0.8 * (b * r[i] - c);
      x_local_.resize(d, peaks);
      for (int i = 0; i < d; ++i)
        for (int j = 0; j < peaks; ++j) {
          double s = 0;
          for (int k = 0; k < d; ++k) s += R_(i, k) * (b * r[static_cast<std::size_t>(j) * d + k] - c);
          x_local_(i, j) = j == 0 ? 0.8 * s : s;
        }
      break;
    }
    case 23:
      x_opt_ = compute_xopt(rseed, d);
      rot_pair(std::sqrt(100.0));
      break;
    case 24: {
      const std::vector<double> g = gauss(static_cast<std::size_t>(d), rseed);
      x_opt_.resize(d);
      for (int i = 0; i < d; ++i) x_opt_[i] = (g[i] < 0 ? -1.0 : 1.0) * 0.5 * 2.5;
      R_ = rotation(rseed, d);            // applied first, with the conditioning
      Q_ = rotation(rseed + 1000000, d);  // applied second
      lambda_ = scaling(d, std::sqrt(100.0));
      break;
    }
  }
}

double Bbob::operator()(const Eigen::VectorXd& x) const {
  if (x.size() != dim_)
    throw_invalid("BBOB f" + std::to_string(function_) + ": x has " + std::to_string(x.size()) +
                  " entries; expected " + std::to_string(dim_));
  const int d = dim_;
  const double n = static_cast<double>(d);
  switch (function_) {
    case 1:
      return (x - x_opt_).squaredNorm() + f_opt_;
    case 2:
      return ellipsoid(osz(Eigen::VectorXd(x - x_opt_))) + f_opt_;
    case 3:
      return rastrigin(scaling(d, std::sqrt(10.0)).cwiseProduct(asy(osz(Eigen::VectorXd(x - x_opt_)), 0.2))) + f_opt_;
    case 4: {
      Eigen::VectorXd z = osz(Eigen::VectorXd(x - x_opt_));
      for (int i = 0; i < d; ++i) {
        double factor = std::pow(std::sqrt(10.0), static_cast<double>(i) / (n - 1.0));
        if (z[i] > 0 && i % 2 == 0) factor *= 10.0;
        z[i] *= factor;
      }
      return rastrigin(z) + f_opt_ + 100.0 * penalty(x);
    }
    case 5: {
      double r = 0;
      for (int i = 0; i < d; ++i) {
        const double si = (x_opt_[i] > 0 ? 1.0 : -1.0) * std::pow(std::sqrt(100.0), static_cast<double>(i) / (n - 1));
        // RR-6829 f5: z_i = x_i if x_opt_i x_i < 5^2, else x_opt_i (the slope is flat beyond the boundary).
        const double zi = x_opt_[i] * x[i] < 25.0 ? x[i] : x_opt_[i];
        r += 5.0 * std::fabs(si) - si * zi;
      }
      return r + f_opt_;
    }
    case 6: {
      const Eigen::VectorXd z = M_ * (x - x_opt_);
      double r = 0;
      for (int i = 0; i < d; ++i) r += (x_opt_[i] * z[i] > 0 ? 100.0 * 100.0 : 1.0) * z[i] * z[i];
      return std::pow(osz(r), 0.9) + f_opt_;
    }
    case 7: {
      Eigen::VectorXd z = Eigen::VectorXd::Zero(d);
      for (int i = 0; i < d; ++i)
        z[i] = std::sqrt(std::pow(100.0 / 10.0, static_cast<double>(i) / (n - 1))) * Q_.row(i).dot(x - x_opt_);
      const double z1 = z[0];
      for (int i = 0; i < d; ++i)
        z[i] = std::fabs(z[i]) > 0.5 ? std::floor(z[i] + 0.5) : std::floor(10.0 * z[i] + 0.5) / 10.0;
      const Eigen::VectorXd zz = R_ * z;
      double r = 0;
      for (int i = 0; i < d; ++i) r += std::pow(100.0, static_cast<double>(i) / (n - 1.0)) * zz[i] * zz[i];
      return 0.1 * std::max(std::fabs(z1) * 1.0e-4, r) + penalty(x) + f_opt_;
    }
    case 8:
      return rosenbrock_raw((rosenbrock_factor(d) * (x - x_opt_)).array() + 1.0) + f_opt_;
    case 9:
      return rosenbrock_raw((rosenbrock_factor(d) * (R_ * x)).array() + 0.5) + f_opt_;
    case 10:
      return ellipsoid(osz(Eigen::VectorXd(R_ * (x - x_opt_)))) + f_opt_;
    case 11: {
      const Eigen::VectorXd z = osz(Eigen::VectorXd(R_ * (x - x_opt_)));
      return 1e6 * z[0] * z[0] + z.tail(d - 1).squaredNorm() + f_opt_;
    }
    case 12: {
      const Eigen::VectorXd z = R_ * asy(R_ * (x - x_opt_), 0.5);
      return z[0] * z[0] + 1e6 * z.tail(d - 1).squaredNorm() + f_opt_;
    }
    case 13: {
      const Eigen::VectorXd z = M_ * (x - x_opt_);
      return 100.0 * z.tail(d - 1).norm() + z[0] * z[0] + f_opt_;
    }
    case 14: {
      const Eigen::VectorXd z = R_ * (x - x_opt_);
      double s = 0;
      for (int i = 0; i < d; ++i) s += std::pow(std::fabs(z[i]), 2.0 + 4.0 * i / (n - 1.0));
      return std::sqrt(s) + f_opt_;
    }
    case 15:
      return rastrigin(M_ * asy(osz(Eigen::VectorXd(R_ * (x - x_opt_))), 0.2)) + f_opt_;
    case 16: {
      const Eigen::VectorXd z = M_ * osz(Eigen::VectorXd(R_ * (x - x_opt_)));
      double f0 = 0, r = 0;
      for (int k = 0; k < 12; ++k) f0 += std::pow(0.5, k) * std::cos(2 * kPi * std::pow(3.0, k) * 0.5);
      for (int i = 0; i < d; ++i)
        for (int k = 0; k < 12; ++k) r += std::cos(2 * kPi * (z[i] + 0.5) * std::pow(3.0, k)) * std::pow(0.5, k);
      return 10.0 * std::pow(r / n - f0, 3.0) + f_opt_ + 10.0 / n * penalty(x);
    }
    case 17: case 18: {
      const Eigen::VectorXd z = lambda_.asDiagonal() * (Q_ * asy(R_ * (x - x_opt_), 0.5));
      double r = 0;
      for (int i = 0; i + 1 < d; ++i) {
        const double t = z[i] * z[i] + z[i + 1] * z[i + 1];
        r += std::pow(t, 0.25) * (1.0 + std::pow(std::sin(50.0 * std::pow(t, 0.1)), 2.0));
      }
      return std::pow(r / (n - 1.0), 2.0) + f_opt_ + 10.0 * penalty(x);
    }
    case 19: {
      const Eigen::VectorXd z = (rosenbrock_factor(d) * (R_ * x)).array() + 0.5;
      double r = 0;
      for (int i = 0; i + 1 < d; ++i) {
        const double c1 = z[i] * z[i] - z[i + 1], c2 = 1.0 - z[i];
        const double t = 100.0 * c1 * c1 + c2 * c2;
        r += t / 4000.0 - std::cos(t);
      }
      return 10.0 + 10.0 * r / (n - 1.0) + f_opt_;
    }
    case 20: {
      // x_hat = 2 * sign(x_opt) * x; z_hat; z = 100 (Lambda^10 (z_hat - 2|x_opt|) + 2|x_opt|).
      Eigen::VectorXd xh(d), zh(d), z(d);
      for (int i = 0; i < d; ++i) xh[i] = 2.0 * (x_opt_[i] < 0 ? -x[i] : x[i]);
      zh[0] = xh[0];
      for (int i = 1; i < d; ++i) zh[i] = xh[i] + 0.25 * (xh[i - 1] - 2.0 * std::fabs(x_opt_[i - 1]));
      for (int i = 0; i < d; ++i)
        z[i] = 100.0 * (lambda_[i] * (zh[i] - 2 * std::fabs(x_opt_[i])) + 2 * std::fabs(x_opt_[i]));
      double pen = 0, s = 0;
      for (int i = 0; i < d; ++i) {
        const double t = std::fabs(z[i]) - 500.0;
        if (t > 0) pen += t * t;
        s += z[i] * std::sin(std::sqrt(std::fabs(z[i])));
      }
      return 0.01 * (pen + 418.9828872724339 - s / n) + f_opt_;
    }
    case 21: case 22: {
      const Eigen::VectorXd t = R_ * x;
      double f = 0;
      for (Eigen::Index i = 0; i < static_cast<Eigen::Index>(peak_values_.size()); ++i) {
        double s = 0;
        for (int j = 0; j < d; ++j) {
          const double diff = t[j] - x_local_(j, i);
          s += arr_scales_(i, j) * diff * diff;
        }
        f = std::max(f, peak_values_[i] * std::exp(-0.5 / n * s));
      }
      const double v = osz(10.0 - f);
      return v * v + penalty(x) + f_opt_;
    }
    case 23: {
      const Eigen::VectorXd z = M_ * (x - x_opt_);
      double prod = 1.0;
      for (int i = 0; i < d; ++i) {
        double s = 0;
        for (int j = 1; j < 33; ++j) {
          const double p = std::pow(2.0, j);
          s += std::fabs(p * z[i] - std::floor(p * z[i] + 0.5)) / p;
        }
        prod *= 1.0 + (i + 1.0) * s;
      }
      return 10.0 / n / n * (-1.0 + std::pow(prod, 10.0 / std::pow(n, 1.2))) + f_opt_ + penalty(x);
    }
    case 24: {
      constexpr double mu0 = 2.5, dd = 1.0;
      const double s = 1.0 - 0.5 / (std::sqrt(n + 20.0) - 4.1);
      const double mu1 = -std::sqrt((mu0 * mu0 - dd) / s);
      Eigen::VectorXd xh(d);
      for (int i = 0; i < d; ++i) xh[i] = 2.0 * (x_opt_[i] < 0 ? -x[i] : x[i]);
      const Eigen::VectorXd z = Q_ * (lambda_.asDiagonal() * (R_ * (xh.array() - mu0).matrix()));
      double s1 = 0, s2 = 0, s3 = 0;
      for (int i = 0; i < d; ++i) {
        s1 += (xh[i] - mu0) * (xh[i] - mu0);
        s2 += (xh[i] - mu1) * (xh[i] - mu1);
        s3 += std::cos(2 * kPi * z[i]);
      }
      return std::min(s1, dd * n + s * s2) + 10.0 * (n - s3) + 1e4 * penalty(x) + f_opt_;
    }
  }
  OPTIDIFF_CHECK(false);
  return 0;
}

}  // namespace optidiff::zo
