#include "text/truncation.h"

#include <algorithm>
#include <utility>

namespace winnow::text {

bool truncate_to(std::vector<std::int32_t>& ids, std::size_t length, TruncationDirection direction) {
  if (ids.size() <= length) return false;
  if (direction == TruncationDirection::kLeft) {
    ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(length));
  } else {
    ids.resize(length);
  }
  return true;
}

base::Result<bool> truncate_pair(std::vector<std::int32_t>& a, std::vector<std::int32_t>& b, std::size_t budget,
                                 Truncation strategy, TruncationDirection direction) {
  const std::size_t total = a.size() + b.size();
  if (budget == 0) {
    a.clear();
    b.clear();
    return total > 0;
  }
  if (total <= budget) return false;
  const std::size_t to_remove = total - budget;
  if (strategy == Truncation::kOnlySecond) {
    if (b.size() <= to_remove) {
      return base::invalid_argument("sequence to truncate too short: the second sequence has " +
                                    std::to_string(b.size()) + " tokens and " + std::to_string(to_remove) +
                                    " must be removed");
    }
    truncate_to(b, b.size() - to_remove, direction);
    return true;
  }
  std::size_t n1 = a.size();
  std::size_t n2 = b.size();
  const bool swapped = n1 > n2;
  if (swapped) std::swap(n1, n2);  // n1 is now the shorter length
  if (n1 > budget) {
    n2 = n1;
  } else {
    n2 = std::max(n1, budget - n1);
  }
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swapped) std::swap(n1, n2);
  truncate_to(a, n1, direction);
  truncate_to(b, n2, direction);
  return true;
}

}  // namespace winnow::text
