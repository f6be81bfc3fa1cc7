#include "eval/agreement.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace winnow::eval {

namespace {

std::vector<double> ranks(const std::vector<float>& v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double average = (static_cast<double>(i) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k <= j; ++k) r[order[k]] = average;
    i = j + 1;
  }
  return r;
}

}  // namespace

double spearman(const std::vector<float>& a, const std::vector<float>& b) {
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(ra.size());
  const double mean = (n - 1) / 2.0;
  double cov = 0, va = 0, vb = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    cov += (ra[i] - mean) * (rb[i] - mean);
    va += (ra[i] - mean) * (ra[i] - mean);
    vb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (va == 0 || vb == 0) return va == vb ? 1.0 : 0.0;
  return cov / std::sqrt(va * vb);
}

std::vector<std::size_t> top_k(const std::vector<float>& scores, std::size_t k) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  order.resize(std::min(k, order.size()));
  return order;
}

Agreement measure_agreement(const std::vector<std::vector<float>>& reference,
                            const std::vector<std::vector<float>>& reduced) {
  Agreement out;
  out.queries = std::min(reference.size(), reduced.size());
  if (out.queries == 0) return out;
  double sum = 0, std_sum = 0;
  out.reference_top10_min_gap = 1e30;
  std::size_t identical = 0, same_set = 0;
  for (std::size_t q = 0; q < out.queries; ++q) {
    const auto& a = reference[q];
    const auto& b = reduced[q];
    const double rho = spearman(a, b);
    out.spearman_min = std::min(out.spearman_min, rho);
    sum += rho;
    std::vector<std::size_t> ta = top_k(a, 10), tb = top_k(b, 10);
    double mean = 0, var = 0;
    for (float v : a) mean += v;
    mean /= static_cast<double>(a.size());
    for (float v : a) var += (v - mean) * (v - mean);
    std_sum += std::sqrt(var / static_cast<double>(a.size()));
    for (std::size_t i = 0; i + 1 < ta.size(); ++i) {
      out.reference_top10_min_gap = std::min(out.reference_top10_min_gap, static_cast<double>(a[ta[i]] - a[ta[i + 1]]));
    }
    identical += ta == tb;
    std::sort(ta.begin(), ta.end());
    std::sort(tb.begin(), tb.end());
    same_set += ta == tb;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
      out.max_abs_diff = std::max(out.max_abs_diff, static_cast<double>(std::abs(a[i] - b[i])));
    }
  }
  const double n = static_cast<double>(out.queries);
  out.spearman_mean = sum / n;
  out.reference_std = std_sum / n;
  out.top10_identical = static_cast<double>(identical) / n;
  out.top10_same_set = static_cast<double>(same_set) / n;
  return out;
}

}  // namespace winnow::eval
