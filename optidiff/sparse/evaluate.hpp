// optidiff/sparse/evaluate.hpp: how learned codes are scored (research note section 3.6).
//   relative_reconstruction_error  ||X - B S||_F / ||X||_F, on clean held-out data
//   ridge_classifier_accuracy      a linear classifier (one-vs-all ridge regression) trained on codes
//   kmeans                         k-means++ seeding + Lloyd iterations, best of several restarts
//   clustering_accuracy            ACC: the best one-to-one match of clusters to classes (Hungarian)
//   normalized_mutual_information  NMI with the arithmetic-mean normaliser (scikit-learn's default)
// Points and codes are columns (d x n); labels are 0..classes-1.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "optidiff/core/rng.hpp"

namespace optidiff::sparse {

double relative_reconstruction_error(const Eigen::MatrixXd& B, const Eigen::MatrixXd& S, const Eigen::MatrixXd& X);

// Fits W = argmin ||Y - W [Z; 1]||^2 + ridge ||W||^2 on (train codes, one-hot labels) and returns the
// fraction of test columns whose largest score is their label.
double ridge_classifier_accuracy(const Eigen::MatrixXd& train, const std::vector<int>& train_labels,
                                 const Eigen::MatrixXd& test, const std::vector<int>& test_labels, int classes,
                                 double ridge = 1e-3);

struct KMeansOptions {
  int clusters = 10;
  int restarts = 10;
  int max_iterations = 100;
};
// Cluster index per column; the restart with the smallest within-cluster sum of squares wins.
std::vector<int> kmeans(const Eigen::MatrixXd& points, const KMeansOptions& options, Rng& rng);

// Minimum-cost perfect assignment of an n x n cost matrix: result[row] = column. O(n^3) Hungarian method
// with potentials (Kuhn 1955, Munkres 1957). Written here because DESIGN.md keeps sparse independent of
// matrix/ (which has the project's LAP solver); only 10 x 10 matrices pass through it.
std::vector<int> min_cost_assignment(const Eigen::MatrixXd& cost);

double clustering_accuracy(const std::vector<int>& labels, const std::vector<int>& clusters);
double normalized_mutual_information(const std::vector<int>& labels, const std::vector<int>& clusters);

// The protocol every method is scored by (CLI and bench alike), for a learned dictionary B:
// codes of the (possibly corrupted) training data and of the clean held-out data by the same lasso
// (FISTA, `lambda`, 200 iterations); the clean held-out reconstruction error; a ridge classifier trained
// on the training codes, tested on the held-out codes; k-means on the held-out codes, scored by ACC and NMI.
struct CodeScores {
  double clean_reconstruction_error = 0;
  double accuracy = 0;        // linear (ridge) classifier on codes; NaN without labels
  double kmeans_acc = 0;      // NaN without labels
  double nmi = 0;             // NaN without labels
  double mean_nonzeros = 0;   // per held-out code
};
CodeScores score_dictionary(const Eigen::MatrixXd& B, double lambda, const Eigen::MatrixXd& train,
                            const std::vector<int>& train_labels, const Eigen::MatrixXd& test,
                            const std::vector<int>& test_labels, int classes, std::uint64_t seed);

}  // namespace optidiff::sparse
