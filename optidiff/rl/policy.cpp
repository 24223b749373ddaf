#include "optidiff/rl/policy.hpp"

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::rl {

RunningStat::RunningStat(int dim)
    : mean_(Eigen::VectorXd::Zero(dim)), m2_(Eigen::VectorXd::Zero(dim)) {}

void RunningStat::push(const Eigen::VectorXd& x) {
  ++n_;
  const Eigen::VectorXd delta = x - mean_;
  mean_ += delta / static_cast<double>(n_);
  m2_ += delta.cwiseProduct(x - mean_);
}

void RunningStat::merge(const RunningStat& o) {
  if (o.n_ == 0) return;
  if (n_ == 0) {
    *this = o;
    return;
  }
  const double na = static_cast<double>(n_), nb = static_cast<double>(o.n_), n = na + nb;
  const Eigen::VectorXd delta = o.mean_ - mean_;
  mean_ += delta * (nb / n);
  m2_ += o.m2_ + delta.cwiseAbs2() * (na * nb / n);
  n_ += o.n_;
}

Eigen::VectorXd RunningStat::std() const {
  if (n_ < 2) return Eigen::VectorXd::Ones(mean_.size());
  return (m2_ / static_cast<double>(n_ - 1)).cwiseMax(0).cwiseSqrt();
}

void RunningStat::set(long long n, const Eigen::VectorXd& mean, const Eigen::VectorXd& m2) {
  n_ = n;
  mean_ = mean;
  m2_ = m2;
}

PolicyKind parse_policy_kind(const std::string& name) {
  if (name == "linear") return PolicyKind::kLinear;
  if (name == "mlp") return PolicyKind::kMlp;
  throw_invalid("--policy-kind is \"" + name + "\"; expected linear or mlp");
}

const char* policy_kind_name(PolicyKind kind) {
  return kind == PolicyKind::kLinear ? "linear" : "mlp";
}

Policy::Policy(const PolicySpec& spec) : spec_(spec), stat_(spec.obs_dim) {
  if (spec.obs_dim < 1 || spec.act_dim < 1)
    throw_invalid("policy sizes obs_dim = " + std::to_string(spec.obs_dim) +
                  ", act_dim = " + std::to_string(spec.act_dim) + "; expected >= 1");
  if (spec.kind == PolicyKind::kMlp && spec.hidden < 1)
    throw_invalid("--hidden is " + std::to_string(spec.hidden) + "; expected >= 1 hidden units");
  refresh();
}

int Policy::num_params() const {
  const int o = spec_.obs_dim, a = spec_.act_dim, h = spec_.hidden;
  return spec_.kind == PolicyKind::kLinear ? a * o : h * o + h + a * h + a;
}

Eigen::VectorXd Policy::initial_params(std::uint64_t seed) const {
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(num_params());
  if (spec_.kind == PolicyKind::kMlp) {
    Rng rng = Rng(seed).stream(0x9011c1);
    const double scale = 1.0 / std::sqrt(static_cast<double>(spec_.obs_dim));
    for (int i = 0; i < spec_.hidden * spec_.obs_dim; ++i) theta[i] = scale * rng.normal();
  }
  return theta;
}

Eigen::VectorXd Policy::act(const Eigen::VectorXd& theta, const Eigen::VectorXd& obs) const {
  OPTIDIFF_CHECK(theta.size() == num_params() && obs.size() == spec_.obs_dim);
  const Eigen::VectorXd z =
      spec_.normalize ? Eigen::VectorXd((obs - mean_).cwiseProduct(inv_std_)) : obs;
  const int o = spec_.obs_dim, a = spec_.act_dim, h = spec_.hidden;
  using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (spec_.kind == PolicyKind::kLinear) return Eigen::Map<const RowMat>(theta.data(), a, o) * z;
  const double* p = theta.data();
  Eigen::VectorXd hidden =
      Eigen::Map<const RowMat>(p, h, o) * z + Eigen::Map<const Eigen::VectorXd>(p + h * o, h);
  hidden = hidden.array().tanh();
  p += h * o + h;
  return Eigen::Map<const RowMat>(p, a, h) * hidden +
         Eigen::Map<const Eigen::VectorXd>(p + a * h, a);
}

void Policy::update_normalizer(const RunningStat& seen) {
  stat_.merge(seen);
  refresh();
}

void Policy::set_normalizer(const RunningStat& stat) {
  if (stat.dim() != spec_.obs_dim)
    throw_invalid("normaliser has " + std::to_string(stat.dim()) +
                  " entries; expected obs_dim = " + std::to_string(spec_.obs_dim));
  stat_ = stat;
  refresh();
}

void Policy::refresh() {
  mean_ = stat_.count() == 0 ? Eigen::VectorXd::Zero(spec_.obs_dim) : stat_.mean();
  const Eigen::VectorXd sd = stat_.std();
  inv_std_.resize(spec_.obs_dim);
  for (int i = 0; i < spec_.obs_dim; ++i) inv_std_[i] = sd[i] > 1e-8 ? 1.0 / sd[i] : 1.0;
}

namespace {

Json vec_json(const Eigen::VectorXd& v) {
  return std::vector<double>(v.data(), v.data() + v.size());
}

Eigen::VectorXd vec_from(const Json& j, const char* key, long long n, const std::string& what) {
  const auto v = json_get<std::vector<double>>(j, key, what);
  if (static_cast<long long>(v.size()) != n)
    throw_data_loss(what + ": \"" + key + "\" has " + std::to_string(v.size()) +
                    " numbers; expected " + std::to_string(n));
  for (double x : v)
    if (!std::isfinite(x)) throw_data_loss(what + ": \"" + key + "\" has a non-finite number");
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

}  // namespace

void save_policy(const std::string& path, const SavedPolicy& p) {
  const RunningStat& s = p.normalizer;
  write_json_file(path, Json{{"format", "optidiff-rl-policy"},
                             {"version", 1},
                             {"env", p.env},
                             {"kind", policy_kind_name(p.spec.kind)},
                             {"obs_dim", p.spec.obs_dim},
                             {"act_dim", p.spec.act_dim},
                             {"hidden", p.spec.hidden},
                             {"normalize", p.spec.normalize},
                             {"num_params", p.params.size()},
                             {"params", vec_json(p.params)},
                             {"obs_count", s.count()},
                             {"obs_mean", vec_json(s.mean())},
                             {"obs_m2", vec_json(s.m2())},
                             {"method", p.method},
                             {"final_return", p.final_return}});
}

SavedPolicy load_policy(const std::string& path, const std::string& expect_env) {
  const Json j = read_json_file(path);
  const std::string what = "policy file " + path;
  if (!j.is_object() || !j.contains("format") || j["format"] != "optidiff-rl-policy")
    throw_data_loss(
        what +
        ": not an optidiff policy (expected \"format\": \"optidiff-rl-policy\", written by "
        "optidiff rank rl --save-policy)");
  if (json_get<int>(j, "version", what) != 1)
    throw_data_loss(what + ": unsupported version; expected 1");
  SavedPolicy p;
  p.env = json_get<std::string>(j, "env", what);
  if (!expect_env.empty() && p.env != expect_env)
    throw_data_loss(what + " is for env \"" + p.env + "\"; expected a policy trained on \"" +
                    expect_env + "\"");
  try {
    p.spec.kind = parse_policy_kind(json_get<std::string>(j, "kind", what));
  } catch (const Error& e) {
    throw_data_loss(what + ": " + e.what());
  }
  p.spec.obs_dim = json_get<int>(j, "obs_dim", what);
  p.spec.act_dim = json_get<int>(j, "act_dim", what);
  p.spec.hidden = json_get<int>(j, "hidden", what);
  p.spec.normalize = json_get<bool>(j, "normalize", what);
  if (p.spec.obs_dim < 1 || p.spec.act_dim < 1 || p.spec.hidden < 1 || p.spec.obs_dim > 100000 ||
      p.spec.act_dim > 100000 || p.spec.hidden > 100000)
    throw_data_loss(what + ": sizes out of range");
  const Policy policy(p.spec);
  p.params = vec_from(j, "params", policy.num_params(), what);
  const long long n = json_get<long long>(j, "obs_count", what);
  if (n < 0) throw_data_loss(what + ": \"obs_count\" is negative");
  p.normalizer.set(n, vec_from(j, "obs_mean", p.spec.obs_dim, what),
                   vec_from(j, "obs_m2", p.spec.obs_dim, what));
  p.method = j.value("method", "");
  p.final_return = j.value("final_return", 0.0);
  return p;
}

}  // namespace optidiff::rl
