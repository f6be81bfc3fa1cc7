// A Hugging Face `tokenizer.json` tokenizer that produces the same token ids as
// the `tokenizers` crate (0.22) for BERT-family (WordPiece), XLM-RoBERTa-
// family (SentencePiece Unigram) and byte-level BPE (ModernBERT, Qwen2/Qwen3,
// GPT-2/RoBERTa) models.
//
// Pipeline per sequence, as in the crate: added tokens are cut out of the raw
// text, the rest is normalized, pre-tokenized and tokenized by the model; the
// post-processor then adds the special tokens, after truncation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace winnow::text {

enum class Truncation { kLongestFirst, kOnlySecond };
// Which end of a sequence truncation cuts: kRight drops its last tokens (the
// default everywhere), kLeft its first ones, keeping the end.
enum class TruncationDirection { kRight, kLeft };

// How a (query, document) pair is fitted into max_length.
struct PairTruncation {
  std::size_t max_length = 0;  // tokens of the pair, special tokens included
  Truncation strategy = Truncation::kLongestFirst;
  TruncationDirection direction = TruncationDirection::kRight;
  // At most this many tokens of the second sequence (the document) are kept,
  // cut in `direction` before the pair is fitted to max_length (Cohere's
  // max_tokens_per_doc). Unset: no limit of its own.
  std::optional<std::size_t> max_second_tokens;
};

struct Encoding {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> type_ids;
  bool truncated = false;  // content tokens were dropped
  // Leading ids this sequence shares with the others of its call (a decoder
  // reranker's prompt up to the document), which the model may compute once
  // (model::TokenBatch::prefix_lengths); 0: none declared.
  std::size_t shared_prefix = 0;
};

class Tokenizer {
 public:
  // Loads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json
  // (model_max_length; values above 1e9 mean "unset", as transformers'
  // VERY_LARGE_INTEGER).
  static base::Result<Tokenizer> load_dir(const std::filesystem::path& dir);
  // `tokenizer_config` may be empty (no config).
  static base::Result<Tokenizer> load(const std::filesystem::path& tokenizer_json,
                                      const std::filesystem::path& tokenizer_config);
  // From the text of a tokenizer.json (and optionally of a tokenizer_config.json);
  // `source` names the file in error messages.
  static base::Result<Tokenizer> from_json_text(std::string_view tokenizer_json,
                                                std::string_view tokenizer_config = {},
                                                std::string_view source = "tokenizer.json");

  // Single text with the single template's special tokens; truncated to
  // max_length (which counts the special tokens) when given. InvalidArgument
  // for invalid UTF-8 ("invalid UTF-8 at byte 17") or a max_length smaller
  // than the special tokens. Thread-safe (const).
  base::Result<Encoding> encode(std::string_view text, std::optional<std::size_t> max_length = std::nullopt,
                                TruncationDirection direction = TruncationDirection::kRight) const;

  // The content tokens of `text`: its ids without special tokens and without
  // truncation (what counts against a budget). InvalidArgument for invalid
  // UTF-8. Thread-safe (const).
  base::Result<std::vector<std::int32_t>> tokenize(std::string_view text) const;

  // (query, document) through the pair template, truncated to max_length
  // (which counts the special tokens). With kOnlySecond, InvalidArgument when
  // the query plus the special tokens leave no room for the document.
  // Thread-safe (const).
  base::Result<Encoding> encode_pair(std::string_view first, std::string_view second, std::size_t max_length,
                                     Truncation truncation) const;
  // The same with a direction and a limit of the document's own.
  base::Result<Encoding> encode_pair(std::string_view first, std::string_view second,
                                     const PairTruncation& truncation) const;

  std::optional<std::size_t> model_max_length() const;
  // From the padding config, else the config's pad_token, else [PAD]/<pad>, else 0.
  std::int32_t pad_token_id() const;
  // Special tokens the template adds: 2/3 for BERT single/pair, 2/4 for XLM-R,
  // 0/0 for Qwen's files (no template).
  std::size_t special_tokens_count(bool pair) const;
  // Added tokens first, then the model's vocabulary.
  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  // Distinct tokens: the model's vocabulary plus added tokens it lacks.
  std::size_t vocab_size() const;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  base::Status encode_sequence(std::string_view text, std::vector<std::int32_t>& ids) const;

  std::shared_ptr<const Impl> impl_;
};

}  // namespace winnow::text
