// BPE (byte-pair encoding: GPT-2, RoBERTa, ModernBERT, Qwen2/Qwen3) as the
// tokenizers crate (0.22) applies it to one pre-tokenized word.
//
// The word starts as one symbol per code point (its vocabulary id; the
// continuing_subword_prefix is put before every symbol but the first and the
// end_of_word_suffix after the last when the file sets them). A code point
// that is not in the vocabulary becomes its bytes' "<0xXX>" tokens with
// byte_fallback (when all exist), else the unk token (runs of them fused into
// one with fuse_unk), else it is dropped. Then, as long as one applies, the
// adjacent pair with the lowest merge rank is merged, leftmost first. With
// ignore_merges a word that is itself in the vocabulary is that one token.
//
// Merge dropout makes the crate's output random: a file with a dropout above
// 0 is refused when loaded.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "text/subword_model.h"

namespace winnow::text {

class Bpe final : public SubwordModel {
 public:
  static base::Result<std::unique_ptr<SubwordModel>> from_json(const nlohmann::json& spec, std::string_view where);
  ~Bpe() override;

  // Thread-safe: words already seen come from a shared cache (as the crate's,
  // words under 256 bytes, up to 10,000 of them; it never changes a result).
  base::Status tokenize(std::string_view word, std::vector<std::int32_t>& ids) const override;
  std::optional<std::int32_t> token_to_id(std::string_view token) const override;
  std::size_t vocab_size() const override { return vocab_.size(); }
  const TokenIdMap& vocab() const override { return vocab_; }

 private:
  struct MergeRule {
    std::uint32_t rank;
    std::int32_t new_id;
  };
  class WordCache;

  Bpe();
  static std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
  }
  const MergeRule* find_merge(std::int32_t left, std::int32_t right) const {
    auto it = merges_.find(pair_key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
  }
  base::Status merge_word(std::string_view word, std::vector<std::int32_t>& ids) const;

  TokenIdMap vocab_;
  std::unordered_map<std::uint64_t, MergeRule> merges_;  // (left id, right id) -> rank, merged id
  std::optional<std::string> unk_token_;
  std::optional<std::string> prefix_;  // continuing_subword_prefix
  std::optional<std::string> suffix_;  // end_of_word_suffix
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::array<std::int32_t, 256> byte_ids_{};  // id of "<0xXX>", or -1
  // Id of each code point below U+0800 as a bare one-character token, or -1:
  // spares a hash lookup per character (byte-level alphabets live here).
  std::array<std::int32_t, 0x800> char_ids_{};
  std::unique_ptr<WordCache> cache_;
};

}  // namespace winnow::text
