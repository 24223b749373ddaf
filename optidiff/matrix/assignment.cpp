// Jonker-Volgenant linear assignment (see assignment.hpp).
//
// Why hand-written: Debian 12 has no dense double-precision LAP library. dlib's max_cost_assignment
// (libdlib-dev) takes integer costs only, and LEMON (liblemon-dev 1.3.1) has min-cost flow and
// general matchings but no assignment API: the LAP would become a flow on a graph with n^2 arcs,
// which is far slower and larger than a dense solver at n = 3000. OR-tools is not packaged. So, as
// the research note (section 4.4) recommends, the project carries its own JV.
#include "optidiff/matrix/assignment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff::matrix {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Square JV on a row-major n x n cost `c`. Fills row_sol (column of each row) and col_sol.
void lap_jv(int n, const std::vector<double>& c, std::vector<int>& row_sol,
            std::vector<int>& col_sol) {
  auto cost = [&](int i, int j) { return c[std::size_t(i) * n + j]; };
  row_sol.assign(n, -1);
  col_sol.assign(n, -1);
  std::vector<double> v(n), d(n);
  std::vector<int> matches(n, 0), free_rows, col_list(n), pred(n);

  // Column reduction: v_j = min_i c_ij; each column goes to its minimising row if that row is new.
  for (int j = n - 1; j >= 0; --j) {
    int imin = 0;
    double vmin = cost(0, j);
    for (int i = 1; i < n; ++i)
      if (cost(i, j) < vmin) vmin = cost(i, j), imin = i;
    v[j] = vmin;
    if (++matches[imin] == 1) {
      row_sol[imin] = j;
      col_sol[j] = imin;
    } else if (v[j] < v[row_sol[imin]]) {
      const int j1 = row_sol[imin];
      row_sol[imin] = j;
      col_sol[j] = imin;
      col_sol[j1] = -1;
    }
  }
  // Reduction transfer: a row matched once passes its slack to its column's price.
  for (int i = 0; i < n; ++i) {
    if (matches[i] == 0) {
      free_rows.push_back(i);
    } else if (matches[i] == 1) {
      const int j1 = row_sol[i];
      double m = kInf;
      for (int j = 0; j < n; ++j)
        if (j != j1) m = std::min(m, cost(i, j) - v[j]);
      if (m < kInf) v[j1] -= m;
    }
  }
  // Augmenting row reduction, two passes. A guard bounds the steps: with near-ties the price
  // decrements can be tiny, and rows left over simply go to the augmentation phase below.
  for (int pass = 0; pass < 2 && !free_rows.empty(); ++pass) {
    std::vector<int> next;
    std::size_t k = 0;
    long long budget = 8LL * static_cast<long long>(free_rows.size()) + 16;
    while (k < free_rows.size()) {
      const int i = free_rows[k++];
      if (--budget < 0) {
        next.push_back(i);
        continue;
      }
      double umin = cost(i, 0) - v[0], usub = kInf;
      int j1 = 0, j2 = -1;
      for (int j = 1; j < n; ++j) {
        const double h = cost(i, j) - v[j];
        if (h < usub) {
          if (h >= umin) {
            usub = h;
            j2 = j;
          } else {
            usub = umin;
            umin = h;
            j2 = j1;
            j1 = j;
          }
        }
      }
      int i0 = col_sol[j1];
      const bool strict = umin < usub;
      if (strict) {
        v[j1] -= usub - umin;
      } else if (i0 >= 0 && j2 >= 0) {
        j1 = j2;
        i0 = col_sol[j2];
      }
      if (i0 >= 0) row_sol[i0] = -1;
      row_sol[i] = j1;
      col_sol[j1] = i;
      if (i0 >= 0) {
        if (strict)
          free_rows[--k] = i0;  // retry the evicted row at once
        else
          next.push_back(i0);
      }
    }
    free_rows.swap(next);
  }
  // Shortest augmenting paths (Dijkstra on reduced costs c_ij - v_j) from each free row.
  for (const int free_row : free_rows) {
    for (int j = 0; j < n; ++j) {
      d[j] = cost(free_row, j) - v[j];
      pred[j] = free_row;
      col_list[j] = j;
    }
    int low = 0, up = 0, last = 0, end_of_path = -1;
    double dmin = 0;
    while (end_of_path < 0) {
      if (up == low) {
        // Collect the columns at the new minimum distance into [low, up).
        last = low - 1;
        dmin = d[col_list[up++]];
        for (int k = up; k < n; ++k) {
          const int j = col_list[k];
          const double h = d[j];
          if (h <= dmin) {
            if (h < dmin) {
              up = low;
              dmin = h;
            }
            col_list[k] = col_list[up];
            col_list[up++] = j;
          }
        }
        for (int k = low; k < up; ++k)
          if (col_sol[col_list[k]] < 0) {
            end_of_path = col_list[k];
            break;
          }
      }
      if (end_of_path >= 0) break;
      // Scan the row assigned to the next column at minimum distance.
      const int j1 = col_list[low++];
      const int i = col_sol[j1];
      const double h = cost(i, j1) - v[j1] - dmin;
      for (int k = up; k < n; ++k) {
        const int j = col_list[k];
        const double v2 = cost(i, j) - v[j] - h;
        if (v2 < d[j]) {
          pred[j] = i;
          if (v2 == dmin) {
            if (col_sol[j] < 0) {
              end_of_path = j;
              last = low - 1;  // columns [0, low) were scanned
              break;
            }
            col_list[k] = col_list[up];
            col_list[up++] = j;
          }
          d[j] = v2;
        }
      }
    }
    // Price update of the scanned columns, then augment along pred.
    for (int k = 0; k <= last; ++k) {
      const int j1 = col_list[k];
      v[j1] += d[j1] - dmin;
    }
    for (;;) {
      const int i = pred[end_of_path];
      col_sol[end_of_path] = i;
      const int j1 = end_of_path;
      end_of_path = row_sol[i];
      row_sol[i] = j1;
      if (i == free_row) break;
    }
  }
}

}  // namespace

Assignment solve_assignment(const Eigen::MatrixXd& cost) {
  const Eigen::Index rows = cost.rows(), cols = cost.cols();
  if (rows == 0 || cols == 0)
    throw_invalid("assignment cost matrix is empty (" + std::to_string(rows) + "x" +
                  std::to_string(cols) + "); expected at least one row and one column");
  for (Eigen::Index j = 0; j < cols; ++j)
    for (Eigen::Index i = 0; i < rows; ++i)
      if (!std::isfinite(cost(i, j)))
        throw_invalid("assignment cost matrix has a non-finite entry at (" + std::to_string(i) +
                      ", " + std::to_string(j) + "); expected finite costs");
  // A rectangular problem is padded to square with zero-cost dummy rows or columns, which changes
  // every complete assignment's cost by the same amount (zero), so the optimum is unchanged.
  const int n = static_cast<int>(std::max(rows, cols));
  std::vector<double> c(std::size_t(n) * n, 0.0);
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) c[std::size_t(i) * n + j] = cost(i, j);
  std::vector<int> row_sol, col_sol;
  lap_jv(n, c, row_sol, col_sol);

  Assignment a;
  a.row_to_col.assign(rows, -1);
  a.col_to_row.assign(cols, -1);
  for (Eigen::Index i = 0; i < rows; ++i) {
    const int j = row_sol[i];
    OPTIDIFF_CHECK(j >= 0 && j < n);
    if (j < cols) {
      a.row_to_col[i] = j;
      a.col_to_row[j] = static_cast<int>(i);
      a.cost += cost(i, j);
    }
  }
  return a;
}

std::vector<int> round_to_permutation(const Eigen::MatrixXd& plan) {
  if (plan.rows() != plan.cols())
    throw_invalid("soft plan is " + std::to_string(plan.rows()) + "x" +
                  std::to_string(plan.cols()) + "; expected a square matrix");
  return solve_assignment(-plan).row_to_col;
}

int argmax_collisions(const Eigen::MatrixXd& plan) {
  std::vector<char> taken(plan.cols(), 0);
  int collisions = 0;
  for (Eigen::Index i = 0; i < plan.rows(); ++i) {
    Eigen::Index j = 0;
    plan.row(i).maxCoeff(&j);
    if (taken[j]) ++collisions;
    taken[j] = 1;
  }
  return collisions;
}

}  // namespace optidiff::matrix
