#include "store/ids.h"

#include <chrono>
#include <mutex>
#include <random>

namespace winnow::store {

base::Status validate_id(std::string_view id, std::string_view what) {
  if (id.empty() || id.size() > 128) {
    return base::invalid_argument(std::string(what) + " must be 1 to 128 characters, got " +
                                  std::to_string(id.size()));
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) {
      return base::invalid_argument(std::string(what) + " '" + std::string(id) +
                                    "' may only contain letters, digits, '.', '_' and '-'");
    }
  }
  if (id == "." || id == "..") {
    return base::invalid_argument(std::string(what) + " '" + std::string(id) + "' is not allowed");
  }
  return {};
}

base::Status validate_document_id(std::string_view id) {
  if (id.empty() || id.size() > 512) {
    return base::invalid_argument("field 'id' must be 1 to 512 bytes, got " + std::to_string(id.size()));
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c == 0x7F) {
      return base::invalid_argument("field 'id' must not contain control characters (byte " + std::to_string(c) +
                                    " at offset " + std::to_string(i) + ")");
    }
  }
  return {};
}

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
