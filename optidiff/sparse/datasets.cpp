#include "optidiff/sparse/datasets.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/data/idx.hpp"

namespace optidiff::sparse {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<Eigen::Index> shuffled(Eigen::Index n, std::uint64_t seed) {
  std::vector<Eigen::Index> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), Eigen::Index{0});
  Rng rng(seed);
  for (Eigen::Index i = n - 1; i > 0; --i) std::swap(idx[i], idx[static_cast<Eigen::Index>(rng.uniform_int(i + 1))]);
  return idx;
}

void set_square_shape(LabeledData& d) {
  const auto side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(d.X.rows()))));
  if (Eigen::Index(side) * side == d.X.rows()) d.image_rows = d.image_cols = side;
}

LabeledData from_rows(const std::vector<std::vector<double>>& rows, bool label_last, const std::string& what) {
  LabeledData d;
  const auto n = static_cast<Eigen::Index>(rows.size());
  const auto width = static_cast<Eigen::Index>(rows[0].size());
  const Eigen::Index m = width - (label_last ? 1 : 0);
  if (m < 1) throw_data_loss(what + ": needs at least one feature column besides the label");
  d.X.resize(m, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < m; ++j) d.X(j, i) = rows[i][j];
    if (label_last) {
      const double l = rows[i][m];
      if (l < 0 || l != std::floor(l) || l > 1e6)
        throw_data_loss(what + ": line " + std::to_string(i + 1) + " has label " + std::to_string(l) +
                        "; expected an integer class 0, 1, ... in the last column");
      d.labels.push_back(static_cast<int>(l));
      d.classes = std::max(d.classes, static_cast<int>(l) + 1);
    }
  }
  set_square_shape(d);
  return d;
}

}  // namespace

std::vector<std::vector<double>> parse_numeric_csv(const std::string& text, const std::string& what,
                                                   bool skip_header) {
  std::vector<std::vector<double>> rows;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line = trim(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line_no == 1 && skip_header) continue;
    if (line.empty()) continue;
    std::vector<double> row;
    std::size_t start = 0;
    for (int column = 1;; ++column) {
      const std::size_t comma = line.find(',', start);
      const std::string_view field = trim(line.substr(start, comma == std::string_view::npos ? comma : comma - start));
      double v = 0;
      const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
      if (field.empty() || ec != std::errc() || ptr != field.data() + field.size() || !std::isfinite(v))
        throw_data_loss(what + ": line " + std::to_string(line_no) + ", column " + std::to_string(column) + " is '" +
                        std::string(field) + "'; expected a finite number" +
                        (line_no == 1 ? " (if the first line is a header, pass --csv-header)" : ""));
      row.push_back(v);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (!rows.empty() && row.size() != rows[0].size())
      throw_data_loss(what + ": line " + std::to_string(line_no) + " has " + std::to_string(row.size()) +
                      " fields; expected " + std::to_string(rows[0].size()) + " like the first data line (ragged CSV)");
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw_data_loss(what + ": no data lines; expected comma-separated numbers, one sample per line");
  return rows;
}

LabeledData load_digits(const std::string& path) {
  const auto bytes = data::read_maybe_gzip(path);
  const auto rows = parse_numeric_csv(std::string(bytes.begin(), bytes.end()), path, false);
  if (rows[0].size() != 65) throw_data_loss(path + ": expected 65 columns (64 pixels and a label)");
  LabeledData d = from_rows(rows, true, path);
  d.name = "digits";
  d.X /= 16.0;
  d.image_rows = d.image_cols = 8;
  return d;
}

LabeledData load_csv(const std::string& path, bool skip_header, bool label_last) {
  const auto bytes = data::read_maybe_gzip(path);
  LabeledData d = from_rows(parse_numeric_csv(std::string(bytes.begin(), bytes.end()), path, skip_header),
                            label_last, path);
  d.name = path;
  return d;
}

LabeledData load_fashion_subset(const std::string& dir, data::Split split, int per_class, bool downsample,
                                std::uint64_t seed) {
  if (per_class < 1) throw_invalid("images per class is " + std::to_string(per_class) + "; expected >= 1");
  const data::Dataset full = data::load_fashion_mnist(dir, split);
  const int f = downsample ? 2 : 1, rows = full.rows / f, cols = full.cols / f;
  std::vector<Eigen::Index> chosen;
  std::vector<int> taken(data::kFashionClasses, 0);
  for (auto i : shuffled(static_cast<Eigen::Index>(full.size()), seed)) {
    const int l = full.labels[i];
    if (taken[l] < per_class) ++taken[l], chosen.push_back(i);
  }
  for (int c = 0; c < data::kFashionClasses; ++c)
    if (taken[c] < per_class)
      throw_invalid("Fashion-MNIST " + std::string(data::split_name(split)) + " has only " + std::to_string(taken[c]) +
                    " images of class " + std::to_string(c) + "; asked for " + std::to_string(per_class));
  std::sort(chosen.begin(), chosen.end());
  LabeledData d;
  d.name = downsample ? "fashion-14x14" : "fashion-28x28";
  d.classes = data::kFashionClasses;
  d.image_rows = rows;
  d.image_cols = cols;
  d.X.resize(Eigen::Index(rows) * cols, static_cast<Eigen::Index>(chosen.size()));
  for (std::size_t s = 0; s < chosen.size(); ++s) {
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        double sum = 0;
        for (int a = 0; a < f; ++a)
          for (int b = 0; b < f; ++b) sum += full.pixel(chosen[s], r * f + a, c * f + b);
        d.X(Eigen::Index(r) * cols + c, static_cast<Eigen::Index>(s)) = sum / (f * f);
      }
    d.labels.push_back(full.labels[chosen[s]]);
  }
  return d;
}

LabeledData select_columns(const LabeledData& d, const std::vector<Eigen::Index>& columns) {
  LabeledData out{d.name, Eigen::MatrixXd(d.X.rows(), static_cast<Eigen::Index>(columns.size())), {}, d.classes,
                  d.image_rows, d.image_cols};
  for (std::size_t s = 0; s < columns.size(); ++s) {
    out.X.col(static_cast<Eigen::Index>(s)) = d.X.col(columns[s]);
    if (!d.labels.empty()) out.labels.push_back(d.labels[columns[s]]);
  }
  return out;
}

LabeledData first_samples(const LabeledData& d, Eigen::Index n) {
  std::vector<Eigen::Index> keep(static_cast<std::size_t>(std::clamp<Eigen::Index>(n, 0, d.X.cols())));
  std::iota(keep.begin(), keep.end(), Eigen::Index{0});
  return select_columns(d, keep);
}

std::pair<LabeledData, LabeledData> split_train_test(const LabeledData& d, double test_fraction, std::uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1))
    throw_invalid("test fraction is " + std::to_string(test_fraction) + "; expected 0 < fraction < 1");
  const Eigen::Index n = d.X.cols();
  const auto n_test = static_cast<Eigen::Index>(std::llround(test_fraction * static_cast<double>(n)));
  if (n_test < 1 || n_test >= n)
    throw_invalid(d.name + " has " + std::to_string(n) + " samples: too few to hold out a test set");
  auto idx = shuffled(n, seed);
  std::vector<Eigen::Index> test(idx.begin(), idx.begin() + n_test), train(idx.begin() + n_test, idx.end());
  std::sort(test.begin(), test.end());
  std::sort(train.begin(), train.end());
  return {select_columns(d, train), select_columns(d, test)};
}

}  // namespace optidiff::sparse
