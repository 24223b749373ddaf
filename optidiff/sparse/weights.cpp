#include "optidiff/sparse/weights.hpp"

#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff::sparse {

Level parse_level(std::string_view name) {
  if (name == "none") return Level::kNone;
  if (name == "sample") return Level::kSample;
  if (name == "feature") return Level::kFeature;
  if (name == "element") return Level::kElement;
  throw_invalid("--level is '" + std::string(name) + "'; expected none, sample, feature or element");
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kNone: return "none";
    case Level::kSample: return "sample";
    case Level::kFeature: return "feature";
    case Level::kElement: return "element";
  }
  return "?";
}

Eigen::MatrixXd Weights::dense(Eigen::Index m, Eigen::Index n) const {
  switch (level) {
    case Level::kNone: return Eigen::MatrixXd::Ones(m, n);
    case Level::kSample: return Eigen::VectorXd::Ones(m) * sample.transpose();
    case Level::kFeature: return feature * Eigen::RowVectorXd::Ones(n);
    case Level::kElement: return element;
  }
  return {};
}

namespace {
void check_values(const Eigen::Ref<const Eigen::MatrixXd>& v, const char* what) {
  if (!v.allFinite() || (v.size() > 0 && v.minCoeff() < 0))
    throw_invalid(std::string(what) + " weights must be finite and >= 0");
}
}  // namespace

void Weights::check(Eigen::Index m, Eigen::Index n) const {
  auto shape_error = [&](const char* what, Eigen::Index got, const std::string& want) {
    throw_invalid(std::string(what) + " weights have " + std::to_string(got) + " entries; expected " + want);
  };
  switch (level) {
    case Level::kNone: return;
    case Level::kSample:
      if (sample.size() != n) shape_error("sample", sample.size(), std::to_string(n) + " (one per sample)");
      check_values(sample, "sample");
      return;
    case Level::kFeature:
      if (feature.size() != m) shape_error("feature", feature.size(), std::to_string(m) + " (one per feature)");
      check_values(feature, "feature");
      return;
    case Level::kElement:
      if (element.rows() != m || element.cols() != n)
        shape_error("element", element.size(), std::to_string(m) + " x " + std::to_string(n));
      check_values(element, "element");
      return;
  }
}

double weighted_objective(const Eigen::MatrixXd& B, const Eigen::MatrixXd& S, const Eigen::MatrixXd& X,
                          const Weights& w, double lambda) {
  const Eigen::MatrixXd r2 = (X - B * S).array().square().matrix();
  double fit = 0;
  switch (w.level) {
    case Level::kNone: fit = r2.sum(); break;
    case Level::kSample: fit = (r2.colwise().sum() * w.sample).value(); break;
    case Level::kFeature: fit = w.feature.dot(r2.rowwise().sum()); break;
    case Level::kElement: fit = w.element.cwiseProduct(r2).sum(); break;
  }
  return 0.5 * fit + lambda * S.cwiseAbs().sum();
}

}  // namespace optidiff::sparse
