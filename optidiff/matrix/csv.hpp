// optidiff/matrix/csv.hpp: numeric CSV matrices (comma-separated, one row per line, no header).
//   // "NaN", "nan" or an empty field reads as NaN:
//   Eigen::MatrixXd m = matrix::read_csv_matrix("M.csv");
// Throws kNotFound for a missing file and kDataLoss, naming the file, line and field, for a field
// that is not a number or a row whose field count differs from the first row's.
#pragma once

#include <Eigen/Core>
#include <string>

namespace optidiff::matrix {

Eigen::MatrixXd read_csv_matrix(const std::string& path);
void write_csv_matrix(const std::string& path, const Eigen::MatrixXd& m);

}  // namespace optidiff::matrix
