// optidiff/diffusion/gmm.cpp
#include "optidiff/diffusion/gmm.hpp"

#include <cmath>
#include <numbers>
#include <sstream>

#include "optidiff/core/error.hpp"
#include "optidiff/data/fashion_mnist.hpp"

namespace optidiff::diffusion {
namespace {

std::string component_name(std::size_t k) { return "mixture component " + std::to_string(k); }

torch::Tensor to_tensor(const Eigen::VectorXd& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {v.size()}, torch::kFloat64).clone();
}

// Column-major Eigen matrix -> row-major torch tensor.
torch::Tensor to_tensor(const Eigen::MatrixXd& m) {
  return torch::from_blob(const_cast<double*>(m.data()), {m.cols(), m.rows()}, torch::kFloat64).t().clone();
}

Eigen::VectorXd json_vector(const Json& j, const std::string& what) {
  if (!j.is_array()) throw_invalid(what + " must be an array of numbers");
  Eigen::VectorXd v(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number()) throw_invalid(what + "[" + std::to_string(i) + "] is not a number");
    v[static_cast<Eigen::Index>(i)] = j[i].get<double>();
  }
  return v;
}

}  // namespace

void validate_mixture_spec(const MixtureSpec& spec) {
  if (spec.dim < 1) throw_invalid("mixture dim is " + std::to_string(spec.dim) + "; expected >= 1");
  if (spec.num_classes < 1)
    throw_invalid("mixture num_classes is " + std::to_string(spec.num_classes) + "; expected >= 1");
  if (spec.components.empty()) throw_invalid("mixture has no components; expected at least one");
  std::vector<int> owned(spec.num_classes, 0);
  for (std::size_t k = 0; k < spec.components.size(); ++k) {
    const GaussianComponent& c = spec.components[k];
    const std::string name = component_name(k);
    if (c.label < 0 || c.label >= spec.num_classes)
      throw_invalid(name + ": class is " + std::to_string(c.label) + "; expected 0 <= class < " +
                    std::to_string(spec.num_classes));
    ++owned[c.label];
    if (!std::isfinite(c.weight) || c.weight <= 0)
      throw_invalid(name + ": weight is " + std::to_string(c.weight) + "; expected a finite number > 0");
    if (c.mean.size() != spec.dim)
      throw_invalid(name + ": mean has " + std::to_string(c.mean.size()) + " entries; expected dim = " +
                    std::to_string(spec.dim));
    if (!c.mean.allFinite()) throw_invalid(name + ": mean has non-finite entries");
    const bool diag = c.variances.size() > 0, full = c.covariance.size() > 0;
    if (diag == full) throw_invalid(name + ": give exactly one of variances (diagonal) or covariance (full)");
    if (diag) {
      if (c.variances.size() != spec.dim)
        throw_invalid(name + ": variances has " + std::to_string(c.variances.size()) +
                      " entries; expected dim = " + std::to_string(spec.dim));
      const double lo = c.variances.minCoeff();
      if (!c.variances.allFinite() || !(lo > 0))
        throw_invalid(name + ": covariance is not positive definite (smallest variance " + std::to_string(lo) +
                      "); expected every variance > 0");
    } else {
      if (c.covariance.rows() != spec.dim || c.covariance.cols() != spec.dim)
        throw_invalid(name + ": covariance is " + std::to_string(c.covariance.rows()) + "x" +
                      std::to_string(c.covariance.cols()) + "; expected " + std::to_string(spec.dim) + "x" +
                      std::to_string(spec.dim));
      if (!c.covariance.allFinite()) throw_invalid(name + ": covariance has non-finite entries");
      const double asym = (c.covariance - c.covariance.transpose()).cwiseAbs().maxCoeff();
      if (asym > 1e-9 * (1.0 + c.covariance.cwiseAbs().maxCoeff()))
        throw_invalid(name + ": covariance is not symmetric (max |S - S^T| = " + std::to_string(asym) + ")");
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(c.covariance, Eigen::EigenvaluesOnly);
      const double lo = es.eigenvalues().minCoeff();
      if (!(lo > 0))
        throw_invalid(name + ": covariance is not positive definite (smallest eigenvalue " + std::to_string(lo) +
                      "); expected a symmetric positive-definite matrix");
    }
  }
  for (int c = 0; c < spec.num_classes; ++c)
    if (owned[c] == 0) throw_invalid("mixture class " + std::to_string(c) + " owns no component; every class needs one");
}

MixtureSpec parse_mixture_spec(const Json& j) {
  if (!j.is_object()) throw_invalid("mixture spec must be a JSON object");
  MixtureSpec spec;
  spec.dim = json_get<int>(j, "dim", "mixture spec");
  spec.num_classes = j.contains("num_classes") ? json_get<int>(j, "num_classes", "mixture spec") : 1;
  if (!j.contains("components") || !j["components"].is_array())
    throw_invalid("mixture spec needs an array \"components\"");
  for (std::size_t k = 0; k < j["components"].size(); ++k) {
    const Json& cj = j["components"][k];
    const std::string name = component_name(k);
    if (!cj.is_object()) throw_invalid(name + " must be a JSON object");
    GaussianComponent c;
    c.label = cj.contains("class") ? json_get<int>(cj, "class", name) : 0;
    c.weight = cj.contains("weight") ? json_get<double>(cj, "weight", name) : 1.0;
    if (!cj.contains("mean")) throw_invalid(name + " needs a \"mean\"");
    c.mean = json_vector(cj["mean"], name + ".mean");
    const int given = cj.contains("std") + cj.contains("variances") + cj.contains("covariance");
    if (given != 1) throw_invalid(name + ": give exactly one of \"std\", \"variances\" or \"covariance\"");
    if (cj.contains("std")) {
      const double s = json_get<double>(cj, "std", name);
      c.variances = Eigen::VectorXd::Constant(c.mean.size(), s * s);
      if (!(s > 0)) throw_invalid(name + ": std is " + std::to_string(s) + "; expected > 0 (positive definite)");
    } else if (cj.contains("variances")) {
      c.variances = json_vector(cj["variances"], name + ".variances");
    } else {
      const Json& m = cj["covariance"];
      if (!m.is_array() || m.empty()) throw_invalid(name + ".covariance must be an array of rows");
      c.covariance.resize(static_cast<Eigen::Index>(m.size()), static_cast<Eigen::Index>(m[0].size()));
      for (std::size_t r = 0; r < m.size(); ++r) {
        const Eigen::VectorXd row = json_vector(m[r], name + ".covariance[" + std::to_string(r) + "]");
        if (row.size() != c.covariance.cols()) throw_invalid(name + ".covariance rows differ in length");
        c.covariance.row(static_cast<Eigen::Index>(r)) = row.transpose();
      }
    }
    spec.components.push_back(std::move(c));
  }
  validate_mixture_spec(spec);
  return spec;
}

Json mixture_spec_to_json(const MixtureSpec& spec) {
  Json j{{"dim", spec.dim}, {"num_classes", spec.num_classes}, {"components", Json::array()}};
  for (const GaussianComponent& c : spec.components) {
    Json cj{{"class", c.label}, {"weight", c.weight}};
    cj["mean"] = std::vector<double>(c.mean.data(), c.mean.data() + c.mean.size());
    if (c.variances.size() > 0) {
      cj["variances"] = std::vector<double>(c.variances.data(), c.variances.data() + c.variances.size());
    } else {
      Json rows = Json::array();
      for (Eigen::Index r = 0; r < c.covariance.rows(); ++r) {
        const Eigen::VectorXd row = c.covariance.row(r).transpose();
        rows.push_back(std::vector<double>(row.data(), row.data() + row.size()));
      }
      cj["covariance"] = rows;
    }
    j["components"].push_back(cj);
  }
  return j;
}

MixtureSpec toy_mixture_2d(int num_classes) {
  if (num_classes < 1) throw_invalid("toy mixture num_classes must be >= 1");
  MixtureSpec spec;
  spec.dim = 2;
  spec.num_classes = num_classes;
  for (int c = 0; c < num_classes; ++c) {
    const double theta = 2 * std::numbers::pi * c / num_classes;
    const Eigen::Vector2d radial(std::cos(theta), std::sin(theta)), tangent(-std::sin(theta), std::cos(theta));
    for (int side = -1; side <= 1; side += 2) {
      GaussianComponent g;
      g.label = c;
      g.weight = side < 0 ? 1.0 : 0.6;
      g.mean = 2.0 * radial + 0.25 * side * tangent;
      // Elongated along the tangent: a full, rotated covariance.
      g.covariance = 0.004 * radial * radial.transpose() + 0.012 * tangent * tangent.transpose();
      spec.components.push_back(g);
    }
  }
  validate_mixture_spec(spec);
  return spec;
}

MixtureSpec fashion_mixture(const std::string& data_dir, double min_variance) {
  const data::Dataset ds = data::load_fashion_mnist(data::resolve_data_dir(data_dir), data::Split::kTrain);
  const int d = ds.pixels();
  MixtureSpec spec;
  spec.dim = d;
  spec.num_classes = data::kFashionClasses;
  std::vector<Eigen::VectorXd> sum(spec.num_classes, Eigen::VectorXd::Zero(d)),
      sq(spec.num_classes, Eigen::VectorXd::Zero(d));
  std::vector<double> count(spec.num_classes, 0);
  for (std::size_t i = 0; i < ds.size(); ++i) {
    const int c = ds.labels[i];
    const std::uint8_t* img = ds.image(i);
    for (int p = 0; p < d; ++p) {
      const double v = img[p] / 127.5 - 1.0;  // [-1, 1], the images' convention
      sum[c][p] += v;
      sq[c][p] += v * v;
    }
    count[c] += 1;
  }
  for (int c = 0; c < spec.num_classes; ++c) {
    if (count[c] < 2) throw_data_loss("Fashion-MNIST training split has no images of class " + std::to_string(c));
    GaussianComponent g;
    g.label = c;
    g.weight = count[c];
    g.mean = sum[c] / count[c];
    g.variances = (sq[c] / count[c] - g.mean.cwiseProduct(g.mean)).cwiseMax(min_variance);
    spec.components.push_back(g);
  }
  validate_mixture_spec(spec);
  return spec;
}

// ---------------------------------------------------------------------------------------------------

struct GaussianMixtureDenoiser::Evaluation {
  torch::Tensor log_density;  // [B]
  torch::Tensor x0, score;    // [B, D], if requested
};

GaussianMixtureDenoiser::GaussianMixtureDenoiser(MixtureSpec spec, Schedule schedule, std::optional<Prediction> native)
    : spec_(std::move(spec)), schedule_(std::move(schedule)) {
  validate_mixture_spec(spec_);
  native_ = native ? *native : (schedule_.is_flow() ? Prediction::kVelocity : Prediction::kEpsilon);
  const int64_t k_count = static_cast<int64_t>(spec_.components.size()), d = spec_.dim;
  double total = 0;
  for (const auto& c : spec_.components) {
    total += c.weight;
    if (c.covariance.size() > 0) diagonal_ = false;
  }
  std::vector<double> logw(k_count);
  means_ = torch::empty({k_count, d}, torch::kFloat64);
  eigenvalues_ = torch::empty({k_count, d}, torch::kFloat64);
  class_mask_ = torch::full({spec_.num_classes + 1, k_count}, -INFINITY, torch::kFloat64);
  class_mask_[spec_.num_classes].fill_(0.0);
  for (int64_t k = 0; k < k_count; ++k) {
    const GaussianComponent& c = spec_.components[k];
    logw[k] = std::log(c.weight / total);
    means_[k] = to_tensor(c.mean);
    class_mask_[c.label][k] = 0.0;
    if (c.covariance.size() > 0) {
      // Sigma_k = Q_k diag(lambda_k) Q_k^T, once (as edm2's toy_example.py does).
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(c.covariance);
      eigenvalues_[k] = to_tensor(Eigen::VectorXd(es.eigenvalues()));
      rotations_.push_back(to_tensor(Eigen::MatrixXd(es.eigenvectors())));
    } else {
      eigenvalues_[k] = to_tensor(c.variances);
      if (!diagonal_) rotations_.push_back(torch::eye(d, torch::kFloat64));
    }
  }
  log_weights_ = torch::tensor(logw, torch::kFloat64);
}

std::string GaussianMixtureDenoiser::describe() const {
  std::ostringstream os;
  os << "Gaussian mixture (exact; " << spec_.components.size() << " components, " << spec_.num_classes
     << " classes, D = " << spec_.dim << ", " << (diagonal_ ? "diagonal" : "full") << " covariances, "
     << schedule_.name() << ", predicts " << prediction_name(native_) << ")";
  return os.str();
}

GaussianMixtureDenoiser::Evaluation GaussianMixtureDenoiser::evaluate(const torch::Tensor& x, const torch::Tensor& t,
                                                                      const torch::Tensor& labels,
                                                                      bool need_moments) const {
  const int64_t b = x.size(0);
  const torch::Tensor xf = x.reshape({b, -1}).to(torch::kCPU, torch::kFloat64);
  if (xf.size(1) != spec_.dim)
    throw_invalid("mixture input has " + std::to_string(xf.size(1)) + " values per row; expected D = " +
                  std::to_string(spec_.dim));
  const torch::Tensor tc = t.to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<double> alpha(b), sigma(b);
  for (int64_t i = 0; i < b; ++i) {
    const NoiseLevel lv = schedule_.at(tc.data_ptr<double>()[i]);
    alpha[i] = lv.alpha;
    sigma[i] = lv.sigma;
  }
  const torch::Tensor a = torch::tensor(alpha, torch::kFloat64).view({b, 1});
  const torch::Tensor s = torch::tensor(sigma, torch::kFloat64).view({b, 1});
  const torch::Tensor a2 = a * a, s2 = s * s;
  const int64_t k_count = means_.size(0);
  const double log_2pi = std::log(2 * std::numbers::pi);
  std::vector<torch::Tensor> y_over_a(k_count);
  torch::Tensor logits = torch::empty({b, k_count}, torch::kFloat64);
  for (int64_t k = 0; k < k_count; ++k) {
    const torch::Tensor diff = xf - a * means_[k];                           // x - alpha mu_k
    const torch::Tensor y = diagonal_ ? diff : diff.matmul(rotations_[k]);  // Q_k^T (x - alpha mu_k)
    const torch::Tensor big_a = a2 * eigenvalues_[k] + s2;                   // eigenvalues of C_k
    y_over_a[k] = y / big_a;
    logits.select(1, k).copy_(log_weights_[k] - 0.5 * (big_a.log().sum(1) + (y * y_over_a[k]).sum(1) +
                                                        static_cast<double>(spec_.dim) * log_2pi));
  }
  const torch::Tensor lab = labels.to(torch::kCPU, torch::kInt64);
  logits = logits + class_mask_.index_select(0, lab);
  // log p_c = logsumexp over class c's components minus log of the class prior (renormalisation).
  const torch::Tensor class_log_prior = torch::logsumexp(log_weights_.unsqueeze(0) + class_mask_, 1);
  Evaluation ev;
  ev.log_density = torch::logsumexp(logits, 1) - class_log_prior.index_select(0, lab);
  if (!need_moments) return ev;
  const torch::Tensor w = torch::softmax(logits, 1);  // [B, K]
  torch::Tensor x0 = w.matmul(means_);                 // sum_k w_k mu_k
  torch::Tensor score = torch::zeros_like(xf);
  for (int64_t k = 0; k < k_count; ++k) {
    const torch::Tensor wk = w.select(1, k).unsqueeze(1);
    torch::Tensor sc = wk * y_over_a[k];                // w_k A^{-1} y in the eigenbasis
    torch::Tensor lam = sc * eigenvalues_[k];           // w_k Lambda A^{-1} y
    if (!diagonal_) {
      sc = sc.matmul(rotations_[k].t());
      lam = lam.matmul(rotations_[k].t());
    }
    score -= sc;                                        // C_k^{-1} (alpha mu_k - x)
    x0 += a * lam;                                      // alpha Sigma_k C_k^{-1} (x - alpha mu_k)
  }
  ev.x0 = x0;
  ev.score = score;
  return ev;
}

GaussianMixtureDenoiser::Posterior GaussianMixtureDenoiser::posterior(const torch::Tensor& x, const torch::Tensor& t,
                                                                      const torch::Tensor& labels) const {
  const Evaluation ev = evaluate(x, t, labels, true);
  std::vector<double> sig(x.size(0));
  const torch::Tensor tc = t.to(torch::kCPU, torch::kFloat64).contiguous();
  for (int64_t i = 0; i < x.size(0); ++i) sig[i] = schedule_.at(tc.data_ptr<double>()[i]).sigma;
  const torch::Tensor s = torch::tensor(sig, torch::kFloat64).view({x.size(0), 1});
  return {ev.x0.view(x.sizes()), (-s * ev.score).view(x.sizes())};
}

torch::Tensor GaussianMixtureDenoiser::score(const torch::Tensor& x, const torch::Tensor& t,
                                             const torch::Tensor& labels) const {
  return evaluate(x, t, labels, true).score.view(x.sizes());
}

torch::Tensor GaussianMixtureDenoiser::log_density(const torch::Tensor& x, const torch::Tensor& t,
                                                   const torch::Tensor& labels) const {
  return evaluate(x, t, labels, false).log_density;
}

torch::Tensor GaussianMixtureDenoiser::forward(const torch::Tensor& x, const torch::Tensor& t,
                                               const torch::Tensor& labels) {
  const Posterior post = posterior(x, t, labels);
  const torch::Tensor tc = t.to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<double> c0(x.size(0)), ce(x.size(0));
  for (int64_t i = 0; i < x.size(0); ++i) {
    const AffineCoefficients g = prediction_from_x0_eps(native_, schedule_.at(tc.data_ptr<double>()[i]));
    c0[i] = g.x_coef;
    ce[i] = g.f_coef;
  }
  const torch::Tensor out = row_coefficients(c0, post.x0) * post.x0 + row_coefficients(ce, post.eps) * post.eps;
  return out.to(x.device());
}

void GaussianMixtureDenoiser::moments(int label, Eigen::VectorXd& mean, Eigen::MatrixXd& covariance) const {
  if (label < 0 || label > spec_.num_classes)
    throw_invalid("label is " + std::to_string(label) + "; expected 0 <= label <= " + std::to_string(spec_.num_classes));
  const int d = spec_.dim;
  double total = 0;
  mean = Eigen::VectorXd::Zero(d);
  Eigen::MatrixXd second = Eigen::MatrixXd::Zero(d, d);
  for (const GaussianComponent& c : spec_.components) {
    if (label != spec_.num_classes && c.label != label) continue;
    total += c.weight;
    mean += c.weight * c.mean;
    const Eigen::MatrixXd cov = c.covariance.size() > 0 ? c.covariance : Eigen::MatrixXd(c.variances.asDiagonal());
    second += c.weight * (cov + c.mean * c.mean.transpose());
  }
  mean /= total;
  covariance = second / total - mean * mean.transpose();
}

torch::Tensor GaussianMixtureDenoiser::sample_data(int64_t n, int label, Rng& rng) const {
  if (label < 0 || label > spec_.num_classes)
    throw_invalid("label is " + std::to_string(label) + "; expected 0 <= label <= " + std::to_string(spec_.num_classes));
  std::vector<int> members;
  std::vector<double> cum;
  double total = 0;
  for (std::size_t k = 0; k < spec_.components.size(); ++k) {
    if (label != spec_.num_classes && spec_.components[k].label != label) continue;
    total += spec_.components[k].weight;
    members.push_back(static_cast<int>(k));
    cum.push_back(total);
  }
  torch::Tensor out = torch::empty({n, spec_.dim}, torch::kFloat64);
  std::vector<double> z(spec_.dim);
  for (int64_t i = 0; i < n; ++i) {
    const double u = rng.uniform() * total;
    std::size_t j = 0;
    while (j + 1 < cum.size() && u >= cum[j]) ++j;
    const int k = members[j];
    rng.fill_normal(z.data(), z.size());
    torch::Tensor zt = torch::from_blob(z.data(), {spec_.dim}, torch::kFloat64) * eigenvalues_[k].sqrt();
    if (!diagonal_) zt = rotations_[k].matmul(zt);
    out[i] = means_[k] + zt;
  }
  return out;
}

}  // namespace optidiff::diffusion
