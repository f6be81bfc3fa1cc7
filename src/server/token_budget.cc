#include "server/token_budget.h"

#include <algorithm>
#include <utility>

namespace winnow::server {

bool TokenBudget::try_reserve(std::size_t tokens) {
  std::size_t admitted = admitted_.load();
  while (true) {
    if (capacity_ > 0 && admitted > 0 && admitted + tokens > capacity_) return false;
    if (admitted_.compare_exchange_weak(admitted, admitted + tokens)) return true;
  }
}

void TokenBudget::exchange(std::size_t from, std::size_t to) {
  if (to >= from) {
    admitted_.fetch_add(to - from);
  } else {
    admitted_.fetch_sub(from - to);
  }
}

TokenReservation& TokenReservation::operator=(TokenReservation&& other) noexcept {
  if (this != &other) {
    release();
    budget_ = std::exchange(other.budget_, nullptr);
    tokens_ = std::exchange(other.tokens_, 0);
  }
  return *this;
}

void TokenReservation::correct(std::size_t tokens) {
  if (!budget_) return;
  budget_->exchange(tokens_, tokens);
  tokens_ = tokens;
}

void TokenReservation::release() {
  if (!budget_) return;
  budget_->exchange(tokens_, 0);
  budget_ = nullptr;
  tokens_ = 0;
}

std::size_t estimate_tokens(std::size_t body_bytes) { return std::max<std::size_t>(1, body_bytes / kBytesPerToken); }

}  // namespace winnow::server
