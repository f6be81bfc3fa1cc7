// The tokens of scoring work the server admitted and has not finished
// (--max-queued-tokens, server-wide; admission.h uses it): a budget that
// simultaneous arrivals reserve from atomically, and the reservation each
// admitted request holds until it ends, whatever way it ends.
#pragma once

#include <atomic>
#include <cstddef>
#include <utility>

namespace winnow::server {

// Tokens of scoring work admitted server-wide and not finished, against a
// capacity (0: no limit). Thread-safe, lock-free.
class TokenBudget {
 public:
  void set_capacity(std::size_t capacity) { capacity_ = capacity; }
  std::size_t capacity() const { return capacity_; }
  std::size_t admitted() const { return admitted_.load(); }
  // Reserves `tokens` when they fit under the capacity, or when nothing is
  // admitted (a request larger than the capacity still runs, alone). The
  // check and the reservation are one atomic step: of simultaneous
  // arrivals, only those that fit get in.
  bool try_reserve(std::size_t tokens);
  // Gives back `from` tokens and takes `to` (a correction): never refused,
  // the work is admitted already.
  void exchange(std::size_t from, std::size_t to);

 private:
  std::size_t capacity_ = 0;
  std::atomic<std::size_t> admitted_{0};
};

// A request's tokens in a TokenBudget, given back when it is destroyed or
// released (whatever way the request ends: answered, thrown, timed out,
// cancelled, or dropped unrun by a drain). Movable, not copyable.
class TokenReservation {
 public:
  TokenReservation() = default;
  TokenReservation(TokenBudget& budget, std::size_t tokens) : budget_(&budget), tokens_(tokens) {}
  TokenReservation(TokenReservation&& other) noexcept { *this = std::move(other); }
  TokenReservation& operator=(TokenReservation&& other) noexcept;
  ~TokenReservation() { release(); }

  // Holds `tokens` instead (the real count, once known).
  void correct(std::size_t tokens);
  void release();
  std::size_t tokens() const { return tokens_; }
  bool held() const { return budget_ != nullptr; }

 private:
  TokenBudget* budget_ = nullptr;
  std::size_t tokens_ = 0;
};

// The tokens a scoring request's body is estimated to bring before anything
// parsed it: one per kBytesPerToken bytes, at least one.
inline constexpr std::size_t kBytesPerToken = 4;
std::size_t estimate_tokens(std::size_t body_bytes);

}  // namespace winnow::server
