// The subword model of tokenizer.json ("model": WordPiece, Unigram, BPE): turns one pre-tokenized
// word into token ids.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::text {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
// token → id, searchable with a std::string_view.
using TokenIdMap = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

class SubwordModel {
 public:
  virtual ~SubwordModel() = default;
  // Appends the ids of `word` (non-empty, valid UTF-8) to `ids`. Thread-safe.
  virtual base::Status tokenize(std::string_view word, std::vector<std::int32_t>& ids) const = 0;
  virtual std::optional<std::int32_t> token_to_id(std::string_view token) const = 0;
  // Entries in the model's vocabulary.
  virtual std::size_t vocab_size() const = 0;
  virtual const TokenIdMap& vocab() const = 0;
};

// Builds the model described by `spec`: WordPiece, Unigram or BPE. Any other type
// is an error naming it; `file` starts every message.
base::Result<std::unique_ptr<SubwordModel>> make_subword_model(const nlohmann::json& spec, std::string_view file);

}  // namespace winnow::text
