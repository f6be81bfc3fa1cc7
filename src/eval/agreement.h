// How far a reduced precision's rankings are from fp32's: the bar a precision
// must meet to be chosen by `auto` (resolve_precision) or made a default.
#pragma once

#include <cstddef>
#include <vector>

namespace winnow::eval {

// Spearman's rank correlation of a and b (same length ≥ 2; average ranks for
// ties; 1 when either has no spread at all and both rank alike).
double spearman(const std::vector<float>& a, const std::vector<float>& b);

// Indices of the k highest scores, highest first (ties: lower index first).
std::vector<std::size_t> top_k(const std::vector<float>& scores, std::size_t k);

// Agreement of `reduced` with `reference`: per query, one score per document
// in the same order in both.
struct Agreement {
  std::size_t queries = 0;
  double spearman_min = 1;
  double spearman_mean = 1;
  double top10_identical = 1;  // fraction of queries whose 10 best are the same documents in the same order
  double top10_same_set = 1;   // ... the same documents in any order
  double max_abs_diff = 0;     // largest |reference − reduced| over every pair
  // How close the reference's scores are to each other, which is what makes
  // rankings fragile: the mean standard deviation of a query's scores, and
  // the smallest gap between consecutive scores of a reference top-10.
  double reference_std = 0;
  double reference_top10_min_gap = 0;

  // Spearman ≥ 0.99 for every query and identical top-10 for ≥ 99% of queries.
  bool meets_bar() const { return spearman_min >= 0.99 && top10_identical >= 0.99; }
};

Agreement measure_agreement(const std::vector<std::vector<float>>& reference,
                            const std::vector<std::vector<float>>& reduced);

}  // namespace winnow::eval
