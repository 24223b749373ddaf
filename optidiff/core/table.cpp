#include "optidiff/core/table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "optidiff/core/error.hpp"

namespace optidiff {
namespace {
bool looks_numeric(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end != nullptr && *end == '\0';
}
}  // namespace

Table::Table(std::vector<std::string> header, std::string title)
    : title_(std::move(title)), header_(std::move(header)) {}

void Table::add_row(std::vector<std::string> row) {
  if (row.size() != header_.size())
    throw_invalid("Table::add_row: row has " + std::to_string(row.size()) + " cells; expected " +
                  std::to_string(header_.size()));
  rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> width(header_.size());
  for (std::size_t c = 0; c < header_.size(); ++c) {
    width[c] = header_[c].size();
    for (const auto& r : rows_) width[c] = std::max(width[c], r[c].size());
  }
  auto cell = [&](const std::string& s, std::size_t c, bool right) {
    const std::string pad(width[c] - s.size(), ' ');
    out << (right ? pad + s : s + pad);
  };
  if (!title_.empty()) out << title_ << "\n";
  std::size_t total = 0;
  for (std::size_t c = 0; c < header_.size(); ++c) {
    if (c) out << "  ";
    cell(header_[c], c, false);
    total += width[c] + (c ? 2 : 0);
  }
  out << "\n" << std::string(total, '-') << "\n";
  for (const auto& r : rows_) {
    for (std::size_t c = 0; c < r.size(); ++c) {
      if (c) out << "  ";
      cell(r[c], c, looks_numeric(r[c]));
    }
    out << "\n";
  }
}

std::string Table::str() const {
  std::ostringstream s;
  print(s);
  return s.str();
}

std::string format_double(double value, int digits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, value);
  return buf;
}

std::string format_fixed(double value, int decimals) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

}  // namespace optidiff
