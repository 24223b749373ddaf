// optidiff/core/table.hpp: a readable, column-aligned table for stdout.
//   Table t({"method", "queries", "f_best"});
//   t.add_row({"ranksgd", "1000", format_double(1e-7)});
//   t.print(std::cout);
// Numbers are right-aligned, text left-aligned; a title line and a rule under the header.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace optidiff {

class Table {
 public:
  explicit Table(std::vector<std::string> header, std::string title = "");
  void add_row(std::vector<std::string> row);  // must have as many cells as the header
  std::size_t rows() const { return rows_.size(); }
  void print(std::ostream& out) const;
  std::string str() const;

 private:
  std::string title_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "%.{digits}g", with "nan"/"inf" spelled out: the one number format of tables.
std::string format_double(double value, int digits = 4);
// Fixed-point "%.{decimals}f".
std::string format_fixed(double value, int decimals = 2);

}  // namespace optidiff
