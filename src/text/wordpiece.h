// WordPiece (BERT): greedy longest-match-first subwords, continuation pieces
// prefixed with "##"; a word longer than max_input_chars_per_word, or one that
// cannot be covered by the vocabulary, becomes the single unknown token.
#pragma once

#include "text/subword_model.h"

namespace winnow::text {

class WordPiece final : public SubwordModel {
 public:
  static base::Result<std::unique_ptr<SubwordModel>> from_json(const nlohmann::json& spec, std::string_view where);

  base::Status tokenize(std::string_view word, std::vector<std::int32_t>& ids) const override;
  std::optional<std::int32_t> token_to_id(std::string_view token) const override;
  std::size_t vocab_size() const override { return vocab_.size(); }
  const TokenIdMap& vocab() const override { return vocab_; }

 private:
  base::Status push_unk(std::vector<std::int32_t>& ids) const;

  TokenIdMap vocab_;
  std::string unk_token_;
  std::string prefix_;
  std::size_t max_input_chars_per_word_ = 100;
  std::size_t max_token_bytes_ = 0;  // longest vocabulary entry; bounds the search
};

}  // namespace winnow::text
