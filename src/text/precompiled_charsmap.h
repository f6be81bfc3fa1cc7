// SentencePiece's precompiled normalization rules (`precompiled_charsmap`), as
// the `Precompiled` normalizer of Hugging Face tokenizers applies them.
//
// The blob is [u32 little-endian trie size in bytes][darts-clone double-array
// units][NUL-separated replacement strings]. Lookups return the replacement of
// the SHORTEST prefix of the key that is in the trie (the crate takes the first
// common-prefix-search result), and the normalizer applies them per extended
// grapheme cluster: a cluster under 6 bytes is replaced whole by the
// replacement of its shortest matching prefix (so trailing combining marks are
// dropped), longer clusters are looked up code point by code point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace winnow::text {

class PrecompiledCharsmap {
 public:
  // Decodes the base64 text of tokenizer.json's `precompiled_charsmap`.
  static base::Result<PrecompiledCharsmap> from_base64(std::string_view base64);
  static base::Result<PrecompiledCharsmap> from_bytes(std::string_view blob);

  // The replacement for the shortest prefix of `chunk` found in the trie, or
  // nullopt. Lookup stops at a NUL byte in `chunk`.
  std::optional<std::string_view> transform(std::string_view chunk) const;

  // Appends the normalization of `text` to `out`. Thread-safe.
  void normalize(std::string_view text, std::string& out) const;

 private:
  std::vector<std::uint32_t> units_;
  std::string normalized_;
  // transform() of each single ASCII byte, precomputed: the common case.
  std::vector<std::optional<std::string>> ascii_;
};

}  // namespace winnow::text
