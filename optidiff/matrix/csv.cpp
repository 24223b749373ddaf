#include "optidiff/matrix/csv.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"

namespace optidiff::matrix {
namespace {
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}
}  // namespace

Eigen::MatrixXd read_csv_matrix(const std::string& path) {
  if (!std::filesystem::exists(path)) throw_not_found("CSV file '" + path + "' does not exist");
  std::ifstream in(path);
  if (!in) throw_not_found("cannot open CSV file '" + path + "'");
  std::vector<double> values;
  std::size_t cols = 0, rows = 0, line_no = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    std::vector<double> row;
    std::stringstream ss(line);
    std::string field;
    std::size_t field_no = 0;
    while (std::getline(ss, field, ',')) {
      ++field_no;
      const std::string f = trim(field);
      if (f.empty() || f == "NaN" || f == "nan" || f == "NA") {
        row.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(f.c_str(), &end);
      if (end != f.c_str() + f.size() || errno == ERANGE || !std::isfinite(v))
        throw_data_loss(path + ": line " + std::to_string(line_no) + ", field " +
                        std::to_string(field_no) + " is '" + f +
                        "'; expected a number (or NaN / an empty field for a missing entry)");
      row.push_back(v);
    }
    if (!line.empty() && trim(line).back() == ',')
      row.push_back(std::numeric_limits<double>::quiet_NaN());
    if (rows == 0)
      cols = row.size();
    else if (row.size() != cols)
      throw_data_loss(path + ": line " + std::to_string(line_no) + " has " +
                      std::to_string(row.size()) + " fields; expected " + std::to_string(cols) +
                      ", as the first row");
    values.insert(values.end(), row.begin(), row.end());
    ++rows;
  }
  if (rows == 0) throw_data_loss(path + ": no rows; expected a numeric CSV matrix");
  Eigen::MatrixXd m(rows, cols);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) m(i, j) = values[i * cols + j];
  return m;
}

void write_csv_matrix(const std::string& path, const Eigen::MatrixXd& m) {
  std::ostringstream out;
  out.precision(17);
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) out << (j ? "," : "") << m(i, j);
    out << "\n";
  }
  write_text_atomic(path, out.str());
}

}  // namespace optidiff::matrix
