#include "text/precompiled_charsmap.h"

#include "text/unicode.h"

namespace winnow::text {

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Darts-clone unit fields.
inline bool unit_has_leaf(std::uint32_t unit) { return ((unit >> 8) & 1u) == 1u; }
inline std::uint32_t unit_value(std::uint32_t unit) { return unit & ((1u << 31) - 1); }
inline std::uint32_t unit_label(std::uint32_t unit) { return unit & ((1u << 31) | 0xFFu); }
inline std::uint32_t unit_offset(std::uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

}  // namespace

base::Result<PrecompiledCharsmap> PrecompiledCharsmap::from_base64(std::string_view base64) {
  std::string bytes;
  bytes.reserve(base64.size() / 4 * 3);
  std::uint32_t accumulator = 0;
  int bits = 0;
  std::size_t i = 0;
  for (; i < base64.size(); ++i) {
    char c = base64[i];
    if (c == '=') break;
    int v = base64_value(c);
    if (v < 0) {
      return base::invalid_argument("precompiled_charsmap: invalid base64 character at offset " +
                                    std::to_string(i));
    }
    accumulator = (accumulator << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((accumulator >> bits) & 0xFFu));
    }
  }
  for (; i < base64.size(); ++i) {
    if (base64[i] != '=') {
      return base::invalid_argument("precompiled_charsmap: invalid base64 padding at offset " +
                                    std::to_string(i));
    }
  }
  return from_bytes(bytes);
}

base::Result<PrecompiledCharsmap> PrecompiledCharsmap::from_bytes(std::string_view blob) {
  if (blob.size() < 4) return base::invalid_argument("precompiled_charsmap: blob shorter than its header");
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(blob[k])); };
  std::uint32_t trie_size = byte(0) | (byte(1) << 8) | (byte(2) << 16) | (byte(3) << 24);
  std::size_t unit_count = trie_size / 4;
  if (4 + unit_count * 4 > blob.size()) {
    return base::invalid_argument("precompiled_charsmap: trie size " + std::to_string(trie_size) +
                                  " exceeds the blob (" + std::to_string(blob.size()) + " bytes)");
  }
  PrecompiledCharsmap map;
  map.units_.resize(unit_count);
  for (std::size_t u = 0; u < unit_count; ++u) {
    std::size_t k = 4 + u * 4;
    map.units_[u] = byte(k) | (byte(k + 1) << 8) | (byte(k + 2) << 16) | (byte(k + 3) << 24);
  }
  map.normalized_.assign(blob.substr(4 + unit_count * 4));
  std::size_t bad = unicode::find_invalid_utf8(map.normalized_);
  if (bad != std::string_view::npos) {
    return base::invalid_argument("precompiled_charsmap: replacement strings are not valid UTF-8 (byte " +
                                  std::to_string(bad) + ")");
  }
  if (map.units_.empty()) return base::invalid_argument("precompiled_charsmap: empty trie");
  map.ascii_.resize(128);
  for (int c = 0; c < 128; ++c) {
    char ch = static_cast<char>(c);
    auto t = map.transform(std::string_view(&ch, 1));
    if (t) map.ascii_[static_cast<std::size_t>(c)] = std::string(*t);
  }
  return map;
}

std::optional<std::string_view> PrecompiledCharsmap::transform(std::string_view chunk) const {
  const std::size_t n = units_.size();
  if (n == 0) return std::nullopt;
  std::size_t node = unit_offset(units_[0]);
  for (char ch : chunk) {
    auto c = static_cast<unsigned char>(ch);
    if (c == 0) break;
    node ^= c;
    if (node >= n) return std::nullopt;
    std::uint32_t unit = units_[node];
    if (unit_label(unit) != c) return std::nullopt;
    node ^= unit_offset(unit);
    if (unit_has_leaf(unit)) {
      if (node >= n) return std::nullopt;
      std::size_t begin = unit_value(units_[node]);
      if (begin >= normalized_.size()) return std::string_view();
      std::size_t end = normalized_.find('\0', begin);
      if (end == std::string::npos) end = normalized_.size();
      return std::string_view(normalized_).substr(begin, end - begin);
    }
  }
  return std::nullopt;
}

void PrecompiledCharsmap::normalize(std::string_view text, std::string& out) const {
  out.reserve(out.size() + text.size());
  thread_local std::vector<std::uint32_t> boundaries;
  unicode::grapheme_boundaries(text, boundaries);
  for (std::size_t g = 0; g + 1 < boundaries.size(); ++g) {
    std::string_view grapheme = text.substr(boundaries[g], boundaries[g + 1] - boundaries[g]);
    if (grapheme.size() == 1 && static_cast<unsigned char>(grapheme[0]) < 0x80) {
      const auto& t = ascii_[static_cast<unsigned char>(grapheme[0])];
      if (t) {
        out += *t;
      } else {
        out += grapheme;
      }
      continue;
    }
    if (grapheme.size() < 6) {
      if (auto t = transform(grapheme)) {
        out += *t;
        continue;
      }
    }
    for (std::size_t i = 0; i < grapheme.size();) {
      std::size_t len = unicode::sequence_length(static_cast<unsigned char>(grapheme[i]));
      std::string_view part = grapheme.substr(i, len);
      if (auto t = transform(part)) {
        out += *t;
      } else {
        out += part;
      }
      i += len;
    }
  }
}

}  // namespace winnow::text
