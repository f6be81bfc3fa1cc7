// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): they cut normalized text
// into the words the model tokenizes, as the Hugging Face tokenizers crate does.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::text {

// A piece of normalized text still to be split or tokenized.
struct Split {
  std::string text;
  // Whether the piece starts at offset 0 of the original input (the crate's
  // `offsets_original().0 == 0`, which Metaspace's "first" scheme tests).
  // Tracked per piece, not per character: when a normalizer deletes leading
  // characters and an earlier pre-tokenizer then cuts the text, the crate
  // would see an offset > 0 where this says true.
  bool at_origin = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces every split by the pieces it is cut into, in order; empty pieces
  // are dropped. Thread-safe.
  virtual void pre_tokenize(std::vector<Split>& splits) const = 0;
};

// Builds the pre-tokenizer described by `spec`: BertPreTokenizer, Metaspace,
// Whitespace, WhitespaceSplit, Split, Punctuation, Digits, ByteLevel and
// Sequence. Any other type is an error naming it; `file` starts every message.
base::Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const nlohmann::json& spec, std::string_view file);

}  // namespace winnow::text
