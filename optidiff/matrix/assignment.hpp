// optidiff/matrix/assignment.hpp: exact linear assignment for dense double costs, and rounding of a
// soft transport plan to a permutation.
//
// solve_assignment(C) returns the permutation sigma minimising sum_i C(i, sigma(i)): the eps = 0
// Max-Oracle of M3O (research note section 2.2), the assignment step of the alternating baseline
// (section 2.7) and the final rounding of a Sinkhorn plan (section 2.8, pitfall 2).
//   Eigen::MatrixXd cost = ...;                        // n x m, finite, n <= m or n > m
//   matrix::Assignment a = matrix::solve_assignment(cost);
//   int j = a.row_to_col[i];                           // column of row i (-1 if unassigned, n > m)
//
// Algorithm: Jonker & Volgenant (1987), "A shortest augmenting path algorithm for dense and sparse
// linear assignment problems": column reduction, reduction transfer, two passes of augmenting row
// reduction, then Dijkstra-like shortest augmenting paths for the rows still free. O(n^3) worst
// case.
#pragma once

#include <Eigen/Core>
#include <vector>

namespace optidiff::matrix {

struct Assignment {
  std::vector<int> row_to_col;  // size rows; -1 for rows left unassigned (only when rows > cols)
  std::vector<int> col_to_row;  // size cols; -1 for columns left unassigned (only when cols > rows)
  double cost = 0;              // sum of the chosen entries
};

// Minimum-cost assignment of rows to columns; every row (rows <= cols) or every column (rows >
// cols) is assigned. Throws kInvalidArgument on an empty matrix or a non-finite entry (naming it).
Assignment solve_assignment(const Eigen::MatrixXd& cost);

// The permutation that keeps the most mass of a square soft plan: argmax_sigma sum_i plan(i,
// sigma(i)), i.e. solve_assignment(-plan). Unlike the official code's row-wise argmax it never
// picks a column twice.
std::vector<int> round_to_permutation(const Eigen::MatrixXd& plan);

// Number of rows whose row-wise argmax column is also the argmax of an earlier row: how far the
// official code's rounding (P[i, argmax_j plan(i, j)] = 1) is from a permutation.
int argmax_collisions(const Eigen::MatrixXd& plan);

}  // namespace optidiff::matrix
