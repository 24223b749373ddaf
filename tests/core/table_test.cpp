#include "optidiff/core/table.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "optidiff/core/error.hpp"

namespace optidiff {
namespace {

TEST(Table, AlignsColumns) {
  Table t({"method", "f"});
  t.add_row({"ranksgd", "1e-07"});
  t.add_row({"cma", "12.5"});
  EXPECT_EQ(t.str(),
            "method   f    \n"
            "--------------\n"
            "ranksgd  1e-07\n"
            "cma       12.5\n");
  EXPECT_THROW(t.add_row({"too", "many", "cells"}), Error);
}

TEST(Table, FormatsSpecialValues) {
  EXPECT_EQ(format_double(std::nan("")), "nan");
  EXPECT_EQ(format_double(-INFINITY), "-inf");
  EXPECT_EQ(format_double(0.000123456, 3), "0.000123");
  EXPECT_EQ(format_fixed(2.0 / 3.0, 3), "0.667");
}

}  // namespace
}  // namespace optidiff
