#include "optidiff/sparse/corruption.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/table.hpp"

namespace optidiff::sparse {

std::string_view corruption_name(CorruptionKind kind) {
  switch (kind) {
    case CorruptionKind::kNone: return "none";
    case CorruptionKind::kOutlier: return "outlier";
    case CorruptionKind::kSaltPepper: return "saltpepper";
    case CorruptionKind::kBlock: return "block";
    case CorruptionKind::kDeadPixel: return "deadpixel";
  }
  return "?";
}

std::string Corruption::str() const {
  return kind == CorruptionKind::kNone ? "none" : std::string(corruption_name(kind)) + ":" + format_double(fraction, 3);
}

Corruption parse_corruption(std::string_view spec) {
  const std::string s(spec);
  const std::string expected = "; expected none or KIND:FRACTION with KIND outlier, saltpepper, block or deadpixel "
                               "and 0 <= FRACTION < 1 (e.g. outlier:0.2)";
  if (s == "none") return {};
  const auto colon = s.find(':');
  if (colon == std::string::npos) throw_invalid("--corrupt is '" + s + "'" + expected);
  const std::string kind = s.substr(0, colon), value = s.substr(colon + 1);
  Corruption c;
  if (kind == "outlier") c.kind = CorruptionKind::kOutlier;
  else if (kind == "saltpepper") c.kind = CorruptionKind::kSaltPepper;
  else if (kind == "block") c.kind = CorruptionKind::kBlock;
  else if (kind == "deadpixel") c.kind = CorruptionKind::kDeadPixel;
  else if (kind == "none") c.kind = CorruptionKind::kNone;
  else throw_invalid("--corrupt kind is '" + kind + "'" + expected);
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, c.fraction);
  if (value.empty() || ec != std::errc() || ptr != end)
    throw_invalid("--corrupt fraction is '" + value + "', not a number" + expected);
  if (!(c.fraction >= 0 && c.fraction < 1))
    throw_invalid("--corrupt fraction is " + value + "; expected 0 <= FRACTION < 1");
  return c;
}

CorruptedData corrupt(const Eigen::MatrixXd& X, const Corruption& c, int image_rows, int image_cols, double lo,
                      double hi, Rng& rng) {
  if (!(c.fraction >= 0 && c.fraction < 1))
    throw_invalid("corruption fraction is " + format_double(c.fraction) + "; expected 0 <= fraction < 1");
  const Eigen::Index m = X.rows(), n = X.cols();
  CorruptedData out{X, std::vector<bool>(static_cast<std::size_t>(n), false), 0};
  Eigen::MatrixXd& Y = out.data;
  auto random_subset = [&](Eigen::Index total, Eigen::Index count) {
    std::vector<Eigen::Index> idx(static_cast<std::size_t>(total));
    std::iota(idx.begin(), idx.end(), Eigen::Index{0});
    for (Eigen::Index i = 0; i < count; ++i)
      std::swap(idx[i], idx[i + static_cast<Eigen::Index>(rng.uniform_int(total - i))]);
    idx.resize(static_cast<std::size_t>(count));
    return idx;
  };
  switch (c.kind) {
    case CorruptionKind::kNone: break;
    case CorruptionKind::kOutlier:
      for (auto i : random_subset(n, std::llround(c.fraction * static_cast<double>(n)))) {
        for (Eigen::Index j = 0; j < m; ++j) Y(j, i) = rng.uniform(lo, hi);
        out.corrupted_samples[i] = true;
      }
      break;
    case CorruptionKind::kSaltPepper:
      for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = 0; j < m; ++j)
          if (rng.uniform() < c.fraction) {
            Y(j, i) = rng.uniform() < 0.5 ? lo : hi;
            out.corrupted_samples[i] = true;
          }
      break;
    case CorruptionKind::kBlock: {
      if (image_rows < 1 || image_cols < 1 || Eigen::Index(image_rows) * image_cols != m)
        throw_invalid("block corruption needs image-shaped samples; the data have " + std::to_string(m) +
                      " features and no matching image shape");
      // h x w with h ~ sqrt(f) rows and w chosen so that h w is as close to f rows cols as whole pixels allow
      // (on 8x8 digits sqrt-rounding alone gives the same 4x4 block for f = 0.2 and 0.3).
      const int h = static_cast<int>(std::lround(std::sqrt(c.fraction) * image_rows));
      const int w = h == 0 ? 0
                           : std::clamp(static_cast<int>(std::lround(c.fraction * image_rows * image_cols / h)), 1,
                                        image_cols);
      if (h == 0 || w == 0) break;
      for (Eigen::Index i = 0; i < n; ++i) {
        const int r0 = static_cast<int>(rng.uniform_int(image_rows - h + 1));
        const int c0 = static_cast<int>(rng.uniform_int(image_cols - w + 1));
        for (int r = r0; r < r0 + h; ++r)
          for (int q = c0; q < c0 + w; ++q) Y(Eigen::Index(r) * image_cols + q, i) = hi;
        out.corrupted_samples[i] = true;
      }
      break;
    }
    case CorruptionKind::kDeadPixel: {
      const auto pixels = random_subset(m, std::llround(c.fraction * static_cast<double>(m)));
      for (auto j : pixels) Y.row(j).setConstant(hi);
      if (!pixels.empty()) std::fill(out.corrupted_samples.begin(), out.corrupted_samples.end(), true);
      break;
    }
  }
  out.corrupted_elements = static_cast<double>((Y.array() != X.array()).count()) / static_cast<double>(X.size());
  return out;
}

}  // namespace optidiff::sparse
