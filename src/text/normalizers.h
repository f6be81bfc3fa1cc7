// Normalizers of tokenizer.json ("normalizer"), each rewriting the text the way
// the Hugging Face tokenizers crate does. Only the text is produced: Winnow
// needs token ids, not offsets, so no alignment to the original is kept.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::text {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites `text` (valid UTF-8) in place. Thread-safe.
  virtual void normalize(std::string& text) const = 0;
};

// Builds the normalizer described by `spec` (an object with a "type"):
// BertNormalizer, Precompiled, Replace, Strip, StripAccents, NFC, NFD, NFKC,
// NFKD, Lowercase, Prepend and Sequence. Any other type is an error naming it;
// `file` (e.g. "tokenizer.json") starts every message.
base::Result<std::unique_ptr<Normalizer>> make_normalizer(const nlohmann::json& spec, std::string_view file);

}  // namespace winnow::text
