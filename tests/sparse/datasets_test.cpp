// Data for sparse coding: CSV parsing errors, scikit-learn's digits, corruptions and their parser.
#include <gtest/gtest.h>

#include <filesystem>

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/sparse/corruption.hpp"
#include "optidiff/sparse/datasets.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::sparse {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Csv, ParsesNumbersAndLabels) {
  testing::TempDir dir;
  write_text_atomic(dir.file("a.csv"), "x,y,label\n1, 2.5 ,0\n-3,4e-1,2\r\n\n");
  const auto d = load_csv(dir.file("a.csv"), true, true);
  ASSERT_EQ(d.X.rows(), 2);
  ASSERT_EQ(d.X.cols(), 2);
  EXPECT_EQ(d.X(1, 0), 2.5);
  EXPECT_EQ(d.X(1, 1), 0.4);
  EXPECT_EQ(d.labels, (std::vector<int>{0, 2}));
  EXPECT_EQ(d.classes, 3);
}

TEST(Csv, RejectsNonNumericRaggedAndEmptyInput) {
  EXPECT_NE(error_of([] { parse_numeric_csv("1,2\n3,abc\n", "f.csv", false); })
                .find("f.csv: line 2, column 2 is 'abc'; expected a finite number"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_numeric_csv("a,b\n1,2\n", "f.csv", false); }).find("--csv-header"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_numeric_csv("1,2,3\n4,5\n", "f.csv", false); })
                .find("line 2 has 2 fields; expected 3"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_numeric_csv("1,,3\n", "f.csv", false); }).find("column 2 is ''"), std::string::npos);
  EXPECT_NE(error_of([] { parse_numeric_csv("\n\n", "f.csv", false); }).find("no data lines"), std::string::npos);
  EXPECT_NE(error_of([] { parse_numeric_csv("1,nan\n", "f.csv", false); }).find("finite"), std::string::npos);
  try {
    parse_numeric_csv("1,x\n", "f.csv", false);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
  }
}

TEST(Digits, LoadsScikitLearnsDigits) {
  if (!std::filesystem::exists(kDigitsPath)) GTEST_SKIP() << "python3-sklearn's digits not installed";
  const auto d = load_digits();
  EXPECT_EQ(d.X.rows(), 64);
  EXPECT_EQ(d.X.cols(), 1797);
  EXPECT_EQ(d.classes, 10);
  EXPECT_EQ(d.X.minCoeff(), 0.0);
  EXPECT_EQ(d.X.maxCoeff(), 1.0);
  EXPECT_EQ(d.labels[0], 0);  // the first row of digits.csv is a zero
  const auto [train, test] = split_train_test(d, 0.25, 3);
  EXPECT_EQ(train.X.cols() + test.X.cols(), 1797);
  EXPECT_EQ(test.X.cols(), 449);
}

TEST(Corruption, ParsesKindAndFraction) {
  const auto c = parse_corruption("saltpepper:0.25");
  EXPECT_EQ(c.kind, CorruptionKind::kSaltPepper);
  EXPECT_EQ(c.fraction, 0.25);
  EXPECT_EQ(parse_corruption("none").kind, CorruptionKind::kNone);
  EXPECT_NE(error_of([] { parse_corruption("outlier:1"); }).find("expected 0 <= FRACTION < 1"), std::string::npos);
  EXPECT_NE(error_of([] { parse_corruption("outlier:-0.1"); }).find("expected 0 <= FRACTION < 1"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_corruption("outlier:abc"); }).find("not a number"), std::string::npos);
  EXPECT_NE(error_of([] { parse_corruption("fog:0.1"); }).find("kind is 'fog'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_corruption("outlier"); }).find("KIND:FRACTION"), std::string::npos);
}

TEST(Corruption, CorruptsTheRequestedAmount) {
  Rng rng(51);
  const Eigen::MatrixXd X = Eigen::MatrixXd::Constant(16, 50, 0.5);  // 4x4 images
  const auto outl = corrupt(X, {CorruptionKind::kOutlier, 0.2}, 4, 4, 0, 1, rng);
  EXPECT_EQ(std::count(outl.corrupted_samples.begin(), outl.corrupted_samples.end(), true), 10);
  const auto block = corrupt(X, {CorruptionKind::kBlock, 0.25}, 4, 4, 0, 1, rng);
  for (int i = 0; i < 50; ++i) EXPECT_EQ((block.data.col(i).array() == 1.0).count(), 4);  // a 2x2 block
  const auto sp = corrupt(X, {CorruptionKind::kSaltPepper, 0.3}, 4, 4, 0, 1, rng);
  EXPECT_NEAR(sp.corrupted_elements, 0.3, 0.05);
  const auto dead = corrupt(X, {CorruptionKind::kDeadPixel, 0.25}, 4, 4, 0, 1, rng);
  EXPECT_EQ((dead.data.rowwise().minCoeff().array() == 1.0).count(), 4);
  EXPECT_EQ(corrupt(X, {}, 4, 4, 0, 1, rng).data, X);
  EXPECT_THROW(corrupt(X, {CorruptionKind::kBlock, 0.25}, 3, 3, 0, 1, rng), Error);
}

}  // namespace
}  // namespace optidiff::sparse
