// Unigram (SentencePiece): the segmentation of a word that maximizes the sum
// of piece scores (summed in double), found by the crate's Viterbi pass.
//
// Ties keep the first candidate found (candidates are tried by start position,
// then by increasing length, with the unknown-character candidate last). A code
// point with no single-character piece gets the unknown id with score
// min_score - 10, and consecutive unknown pieces are fused into one token.
// With byte_fallback, an unknown piece becomes its bytes' <0xXX> pieces when
// all of them exist.
#pragma once

#include <array>

#include "text/subword_model.h"

namespace winnow::text {

// Byte trie over the vocabulary: the pieces that are prefixes of a text.
class PieceTrie {
 public:
  // `keys[i]` gets value i; for duplicate keys the last index wins.
  void build(const std::vector<std::string>& keys);

  // Calls visit(length_in_bytes, value) for every key that is a prefix of
  // `text`, shortest first.
  template <typename Visit>
  void common_prefix_search(std::string_view text, Visit visit) const {
    if (text.empty() || nodes_.empty()) return;
    std::int32_t node = root_children_[static_cast<unsigned char>(text[0])];
    std::size_t depth = 1;
    while (node >= 0) {
      const Node& n = nodes_[static_cast<std::size_t>(node)];
      if (n.value >= 0) visit(depth, n.value);
      if (depth >= text.size()) return;
      node = child(n, static_cast<unsigned char>(text[depth]));
      ++depth;
    }
  }

 private:
  struct Node {
    std::uint32_t first_child = 0;
    std::uint32_t child_count = 0;
    std::int32_t value = -1;
  };
  std::int32_t child(const Node& n, unsigned char label) const;

  std::vector<Node> nodes_;            // nodes_[0] is the root
  std::vector<unsigned char> labels_;  // label of the edge into each node
  std::array<std::int32_t, 256> root_children_{};
};

class Unigram final : public SubwordModel {
 public:
  static base::Result<std::unique_ptr<SubwordModel>> from_json(const nlohmann::json& spec, std::string_view where);

  base::Status tokenize(std::string_view word, std::vector<std::int32_t>& ids) const override;
  std::optional<std::int32_t> token_to_id(std::string_view token) const override;
  std::size_t vocab_size() const override { return scores_.size(); }
  const TokenIdMap& vocab() const override { return vocab_; }

 private:
  base::Status push_unknown_piece(std::string_view piece, std::vector<std::int32_t>& ids) const;

  TokenIdMap vocab_;
  std::vector<double> scores_;
  PieceTrie trie_;
  double min_score_ = 0.0;
  std::optional<std::int32_t> unk_id_;
  bool byte_fallback_ = false;
  std::array<std::int32_t, 256> byte_ids_{};  // id of "<0xXX>", or -1
};

}  // namespace winnow::text
