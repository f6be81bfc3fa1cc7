// Generated document ids and wall-clock timestamps.
#pragma once

#include <cstdint>
#include <string>

namespace winnow::store {

// 32 lowercase hex digits from 128 random bits (std::random_device).
// Thread-safe.
std::string generate_id();

// Milliseconds since the Unix epoch (system clock).
std::int64_t now_ms();

}  // namespace winnow::store
