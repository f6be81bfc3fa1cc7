// Added tokens of tokenizer.json ("added_tokens"): strings such as [CLS] or
// <mask> that are cut out of the input before the model sees it.
//
// As in the crate, tokens with normalized:false are found in the raw input,
// the remaining pieces are normalized, and tokens with normalized:true are then
// found in those normalized pieces (matched against their own normalized form).
// Matching is leftmost-longest and non-overlapping; single_word, lstrip and
// rstrip are honoured. A token's id is the model's id for its content when the
// model has one, otherwise the next id after the model's vocabulary.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "text/subword_model.h"
#include "text/normalizers.h"

namespace winnow::text {

struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A piece of one input sequence after added tokens are cut out.
struct Segment {
  std::string text;             // normalized text (for a token: its matched text)
  std::int32_t token_id = -1;   // >= 0 when the piece is an added token
  bool at_origin = false;       // starts at offset 0 of the original input
};

class AddedVocabulary {
 public:
  // Parses the "added_tokens" array (entries in file order).
  static base::Result<std::vector<AddedToken>> parse(const nlohmann::json& added_tokens, std::string_view file);

  // Registers `tokens` as the crate's add_tokens does; `normalizer` (may be
  // null) prepares the patterns of normalized tokens.
  static AddedVocabulary build(const std::vector<AddedToken>& tokens, const SubwordModel& model,
                               const Normalizer* normalizer);

  // Cuts `text` into segments, normalizing the non-token pieces with
  // `normalizer` (may be null). Empty pieces are dropped. Thread-safe.
  void extract_and_normalize(std::string_view text, const Normalizer* normalizer,
                             std::vector<Segment>& out) const;

  std::optional<std::int32_t> token_to_id(std::string_view content) const;
  const std::unordered_map<std::int32_t, AddedToken>& tokens_by_id() const { return by_id_; }
  std::size_t size() const { return by_content_.size(); }

 private:
  struct Pattern {
    std::string text;
    std::int32_t id;
  };
  // Patterns bucketed by first byte, longest first within a bucket (then by
  // registration order), which makes the first hit at a position the
  // leftmost-longest match.
  struct Matcher {
    std::vector<Pattern> patterns;
    std::vector<std::vector<std::uint32_t>> buckets;  // 256 buckets of pattern indices
    bool empty() const { return patterns.empty(); }
  };
  struct Found {
    std::uint32_t start;
    std::uint32_t end;
    std::int32_t id;  // -1 for text between tokens
  };

  static Matcher make_matcher(std::vector<Pattern> patterns);
  void find_matches(std::string_view sentence, const Matcher& matcher, std::vector<Found>& out) const;

  std::unordered_map<std::string, std::int32_t> by_content_;
  std::unordered_map<std::int32_t, AddedToken> by_id_;
  Matcher raw_;         // normalized:false tokens, matched in the raw input
  Matcher normalized_;  // normalized:true tokens, matched after normalization
};

}  // namespace winnow::text
