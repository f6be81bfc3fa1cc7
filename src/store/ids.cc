#include "store/ids.h"

#include <chrono>
#include <mutex>
#include <random>

namespace winnow::store {

std::string generate_id() {
  static std::mutex mutex;
  static std::random_device device;
  static const char* kHex = "0123456789abcdef";
  std::string id(32, '0');
  std::lock_guard<std::mutex> lock(mutex);
  for (int word = 0; word < 4; ++word) {
    std::uint32_t bits = device();
    for (int i = 0; i < 8; ++i) {
      id[static_cast<std::size_t>(word * 8 + i)] = kHex[(bits >> (4 * i)) & 0xf];
    }
  }
  return id;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace winnow::store
